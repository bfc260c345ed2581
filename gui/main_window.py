"""The SmartZone main window: map in the centre, devices left, inspector right, logs below.

All live data arrives as one Frame per timer tick from the Session; only devices named in
the frame are redrawn. Every action goes through the Session to the runtime API.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from smartzone_gui import theme as themes
from smartzone_gui.class_board import ClassBoard
from smartzone_gui.clients_view import app_message_row
from smartzone_gui.device_tree import DeviceTree
from smartzone_gui.endpoint_info import mbpoll_line, modbus_place, mqtt_sub_line
from smartzone_gui.feed import Frame
from smartzone_gui.health_view import FatalBanner, HealthTable, health_rows, status_text
from smartzone_gui.help_menu import HelpMenu
from smartzone_gui.inspector import Inspector
from smartzone_gui.log_view import LogPanel
from smartzone_gui.map_view import CityMap
from smartzone_gui.panels import EndpointsPanel, NetworkPanel, TrafficPanel
from smartzone_gui.rows import event_row, message_row
from smartzone_gui.run_bar import RunBar, city_zone, clock_text
from smartzone_gui.sandbox_menu import SOURCE as SANDBOX_SOURCE
from smartzone_gui.sandbox_menu import SandboxMenu
from smartzone_gui.session import FRAME_HZ, Session
from smartzone_gui.timeline_bar import TimelineBar

from smartzone.core.events import CommandResult, DeviceAdded, DeviceRemoved, SandboxResult
from smartzone.definitions.errors import DefinitionError
from smartzone.runtime.clients import AppMessage
from smartzone.runtime.recording import RecordingError
from smartzone.runtime.replay import REPLAY_REFUSED

MAX_RECENT = 8
MIN_WIDTH, MIN_HEIGHT = 960, 560  # well inside 1366 x 768 minus a title bar and a desktop panel
DEFAULT_SIZE = QSize(1500, 920)
QUIET_KINDS = frozenset({"netstats"})
STEP_SECONDS = 60.0


def initial_size() -> QSize:
    """DEFAULT_SIZE, shrunk to the screen's free area (a 1366 x 768 laptop gets a window that fits)."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return DEFAULT_SIZE
    free = screen.availableGeometry()
    return QSize(
        max(MIN_WIDTH, min(DEFAULT_SIZE.width(), free.width())),
        max(MIN_HEIGHT, min(DEFAULT_SIZE.height(), free.height() - 32)),
    )  # 32: the title bar


def scrolling(widget: QWidget) -> QScrollArea:
    """`widget` in a frameless scroll area: a dock whose content needs more room scrolls instead of
    raising the window's minimum size (which made the window grow by itself and overflow small screens)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


class MainWindow(QMainWindow):
    def __init__(self, session: Session, settings: QSettings | None = None) -> None:
        super().__init__()
        self.session = session
        self.settings = settings if settings is not None else QSettings("SmartZone", "SmartZone")
        self.setWindowTitle("SmartZone")
        # Fits a 1366 x 768 laptop (docks scroll rather than push the window); never grows on its own
        self.setMinimumSize(MIN_WIDTH, MIN_HEIGHT)
        self.resize(initial_size())
        self.online: dict[str, bool] = {}
        self.state: dict[str, dict[str, Any]] = {}
        self.values: dict[str, Any] = {}  # latest readings of actuators (their level colours the marker)
        self.faults: dict[str, set[str]] = {}
        self.selected: str | None = None
        self.zone: tzinfo = UTC  # the open city's time zone (clock, plot axis)
        self._ticks = 0
        self._rate_mark = (time.monotonic(), 0)
        self.frame_ms = 0.0
        self._fatal_shown: list[str] = []  # failures the banner shows
        self._recovered: dict[str, int] = {}  # outages per component that were over at the last look
        self._shown = False
        self._live_tips: dict[QWidget, str] = {}  # tooltips of the controls a replay disables
        self._build()
        dark = self.settings.value("dark", False, type=bool)
        self.dark_action.setChecked(bool(dark))
        self.apply_theme(bool(dark))
        session.loaded.connect(self._on_loaded)
        session.frame.connect(self._on_frame)
        session.run_state.connect(self.bar.set_state)
        session.services_changed.connect(self._on_services)
        session.rewound.connect(self._on_rewound)
        session.types.changed.connect(self.reload_types)
        session.types.invalid.connect(self._types_invalid)
        self.bar.set_state("ready")

    # --- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.bar = RunBar()
        self.addToolBar(self.bar)
        self.addToolBarBreak()
        self.timeline = TimelineBar()  # its own row, shown while a recording plays
        self.addToolBar(self.timeline)
        self.timeline.hide()
        self.timeline.seek_requested.connect(self.seek)
        self.map = CityMap()
        self.tenant_f, self.type_f, self.district_f = QComboBox(), QComboBox(), QComboBox()
        filters = QHBoxLayout()
        filters.setContentsMargins(10, 6, 10, 6)
        filters.setSpacing(6)
        for label, combo in (("tenant", self.tenant_f), ("type", self.type_f), ("district", self.district_f)):
            # no separate labels ("All tenants" says it) and eliding combos: the map keeps a small minimum width
            filters.addWidget(combo, 1)
            combo.setToolTip(f"Show only the devices of one {label}")
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)
            combo.addItem(f"All {label}s", None)
            combo.currentIndexChanged.connect(self._apply_filter)
        fit = QPushButton("Fit")
        fit.setToolTip("Show the whole city")
        fit.clicked.connect(self.map.fit)
        filters.addWidget(fit)
        centre = QWidget()
        cv = QVBoxLayout(centre)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.setSpacing(0)
        self.banner = FatalBanner()  # a part of the city died for good: say so above the map
        cv.addWidget(self.banner)
        # the owner's device types changed and do not validate: the problems, above the running city
        self.types_banner = QLabel()
        self.types_banner.setWordWrap(True)
        self.types_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.types_banner.setStyleSheet("background: #fff3cd; color: #664d03; padding: 6px;")
        self.types_banner.hide()
        cv.addWidget(self.types_banner)
        cv.addLayout(filters)
        cv.addWidget(self.map, 1)
        self.setCentralWidget(centre)
        self.tree = DeviceTree()
        self.inspector = Inspector(self.session.submit)
        self.events = LogPanel(["Sim time", "Kind", "Device", "Detail"], "Filter events (kind, device, text)…")
        self.events.set_widths([150, 80, 130])
        self.traffic, self.endpoints = TrafficPanel(), EndpointsPanel()
        self.network = NetworkPanel(self.session.submit)
        self.health_table = HealthTable()
        endpoints_layout = self.endpoints.layout()
        assert isinstance(endpoints_layout, QBoxLayout)  # EndpointsPanel is a column
        endpoints_layout.insertWidget(0, self.health_table)
        self.class_board = ClassBoard()  # follows a class folder, not the open city (docs/courses.md)
        self.bottom = QTabWidget()
        self.bottom.setDocumentMode(True)
        for widget, title in (
            (self.events, "Event log"),
            (scrolling(self.traffic), "Traffic"),
            (scrolling(self.network), "Network"),
            (scrolling(self.endpoints), "Endpoints"),
            (self.class_board, "Class"),  # its table scrolls
        ):
            self.bottom.addTab(widget, title)  # the tall forms scroll: the short Logs dock never does
        self.docks = {
            "Devices": self._dock("Devices", self.tree, Qt.DockWidgetArea.LeftDockWidgetArea),
            "Inspector": self._dock("Inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea),
            "Logs": self._dock("Logs and endpoints", self.bottom, Qt.DockWidgetArea.BottomDockWidgetArea),
        }
        self.docks["Devices"].setMinimumWidth(200)
        self.docks["Inspector"].setMinimumWidth(320)
        self.resizeDocks([self.docks["Devices"], self.docks["Inspector"]], [290, 460], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["Logs"]], [250], Qt.Orientation.Vertical)
        self.status_scenario, self.status_online, self.status_rate = QLabel(), QLabel(), QLabel()
        self.status_health = QLabel("")
        for w in (self.status_health, self.status_scenario, self.status_online, self.status_rate):
            self.statusBar().addPermanentWidget(w)
        self._menus()
        self.map.device_clicked.connect(self.select_device)
        self.tree.device_selected.connect(self.select_device)
        self.bar.open_action.triggered.connect(self.open_dialog)
        self.bar.run_action.triggered.connect(self.session.toggle)
        self.bar.step_action.triggered.connect(lambda: self.session.step(STEP_SECONDS))
        self.bar.reset_action.triggered.connect(self.reset)
        self.bar.speed_changed.connect(self.session.set_speed)
        self.inspector.signal_combo.currentIndexChanged.connect(lambda _i: self._refresh_history(force=True))

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(scrolling(widget))
        features = QDockWidget.DockWidgetFeature
        dock.setFeatures(features.DockWidgetMovable | features.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _menus(self) -> None:
        file = self.menuBar().addMenu("&File")
        file.addAction(self.bar.open_action)
        self.recent_menu = file.addMenu("Open &Recent")
        self.class_action = QAction("Open &class folder…", self)
        self.class_action.setToolTip("Follow a class started with `smartzone class start` (its --out folder)")
        self.class_action.triggered.connect(self.open_class_dialog)
        self.recording_action = QAction("Open r&ecording…", self)
        self.recording_action.setToolTip("Play a recording (`--record FILE`) with a timeline to seek")
        self.recording_action.triggered.connect(self.open_recording_dialog)
        file.addAction(self.recording_action)
        file.addAction(self.class_action)
        file.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence(QKeySequence.StandardKey.Quit))
        quit_action.triggered.connect(self.close)
        file.addAction(quit_action)
        sim = self.menuBar().addMenu("&Simulation")
        for a in (self.bar.run_action, self.bar.step_action, self.bar.reset_action):
            sim.addAction(a)
        view = self.menuBar().addMenu("&View")
        self.dark_action = QAction("&Dark theme", self, checkable=True, shortcut=QKeySequence("Ctrl+Shift+D"))
        self.dark_action.toggled.connect(self.apply_theme)
        view.addAction(self.dark_action)
        fit = QAction("&Fit map", self, shortcut=QKeySequence("Ctrl+0"))
        fit.triggered.connect(self.map.fit)
        view.addAction(fit)
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        self.sandbox = SandboxMenu(self, lambda: self.session.runtime, lambda: self.selected)
        self.menuBar().addMenu(self.sandbox.menu)
        self.help = HelpMenu(self)
        self._refresh_recent()

    def apply_theme(self, dark: bool) -> None:
        theme = themes.DARK if dark else themes.LIGHT
        app = QApplication.instance()
        if isinstance(app, QApplication):
            themes.apply(app, theme)
        self.settings.setValue("dark", dark)
        self.map.apply_theme(theme)
        self.inspector.apply_theme(theme)
        for device in self.map.markers:
            self._redraw(device)

    # --- scenario -------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = str(Path(self.session.path).parent) if self.session.path else str(Path.cwd())
        path, _ = QFileDialog.getOpenFileName(self, "Open scenario", start, "Scenarios (*.yaml *.yml)")
        if path:
            self.open_scenario(path)

    def open_recording_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open recording", str(Path.cwd()), "Recordings (*.jsonl.gz *.gz);;All files (*)"
        )
        if path:
            self.open_recording(path)

    def open_recording(self, path: str | Path) -> bool:
        """Play the recording at `path`; a file that is not one says why and the open city runs on."""
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # reading it through takes a moment
        try:
            self.session.open_replay(path)
        except (RecordingError, DefinitionError, OSError) as exc:
            QApplication.restoreOverrideCursor()
            problem = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            QMessageBox.critical(self, "Cannot open the recording", problem)
            return False
        QApplication.restoreOverrideCursor()
        return True

    def seek(self, t: float) -> None:
        """Move the open replay to `t` seconds after the recording's start (the timeline asked)."""
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.session.seek(t)
        except Exception as exc:  # the engine stopped (a failure the banner shows) or a catch-up too long
            QApplication.restoreOverrideCursor()
            QMessageBox.warning(self, "Cannot seek", f"The replay cannot move to that time: {exc}")
            return
        QApplication.restoreOverrideCursor()
        rt = self.session.runtime
        if rt is not None:
            self.timeline.show_time(rt.sim_time)
            self.bar.clock.setText(clock_text(rt.scenario.start.timestamp() + rt.sim_time, self.zone))

    def open_class_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open class folder", str(Path.cwd()))
        if folder:
            self.open_class(folder)

    def open_class(self, folder: str | Path) -> bool:
        """Show the class board of `folder` in the Class tab (False, with the reason shown there, if none)."""
        ok = self.class_board.open(folder)
        self.docks["Logs"].show()
        self.bottom.setCurrentIndex(self.bottom.count() - 1)
        return ok

    def open_scenario(self, path: str | None, seed: int | None = None) -> bool:
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # building a city takes a moment
        try:
            self.session.open(path, seed=seed)
        except DefinitionError as exc:
            QApplication.restoreOverrideCursor()
            QMessageBox.critical(self, "Invalid scenario", str(exc))
            return False
        QApplication.restoreOverrideCursor()
        self.remember_recent()
        return True

    def remember_recent(self) -> None:
        """Put the open scenario first in File > Open Recent (kept in QSettings)."""
        if self.session.path:
            recent = [p for p in self._recent() if p != self.session.path]
            self.settings.setValue("recent", [self.session.path, *recent][:MAX_RECENT])
            self._refresh_recent()

    def set_speed(self, speed: float) -> None:
        self.session.set_speed(speed)
        self.bar.set_speed(speed)

    def reset(self) -> None:
        """Reload the city from time zero with the seed shown, after the user agreed (a replay: to its start)."""
        if self.session.replay is not None:
            self.seek(0.0)
            return
        if self.session.path is None or not self.confirm_reset():
            return
        self.session.reset(seed=self.bar.seed.value())

    def _types_invalid(self, problems: str) -> None:
        """Show what is wrong with the edited types; the city keeps running on the old ones."""
        self.types_banner.setText(f"Your device types changed but do not validate (the city runs on):\n{problems}")
        self.types_banner.show()

    def reload_types(self) -> None:
        """The owner's types changed and validate: restart the city on them if the user agrees."""
        self.types_banner.hide()
        if self.session.path is None or not self.confirm_reload():
            return
        self.session.reset(seed=self.bar.seed.value())

    def confirm_reload(self) -> bool:
        """Ask before applying changed device types: like Reset, it restarts the city and its endpoints."""
        answer = QMessageBox.question(
            self,
            "Reload device types?",
            "Your device types changed. Restart the city from time zero with them? Connected clients are "
            "disconnected, as with Reset.",
            QMessageBox.StandardButton.Reset | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Reset

    def confirm_reset(self) -> bool:
        """Ask before a reset: it also restarts the endpoints, which drops every connected client."""
        endpoints = "its MQTT broker and Modbus gateways" if self.session.services else "the simulation"
        answer = QMessageBox.question(
            self,
            "Reset the city?",
            f"Reset restarts the city from time zero with seed {self.bar.seed.value()}, and restarts "
            f"{endpoints}: every connected app, mosquitto_sub or Modbus client is disconnected and must "
            "reconnect. Commands, faults and link changes made so far are lost.",
            QMessageBox.StandardButton.Reset | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Reset

    def _recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [str(v) for v in (value if isinstance(value, list) else [value] if value else [])]

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_scenario(p))
        self.recent_menu.setEnabled(bool(self._recent()))

    def _on_loaded(self) -> None:
        rt = self.session.runtime
        assert rt is not None
        sc = rt.scenario
        replay = self.session.replay
        self.setWindowTitle(
            f"SmartZone — {sc.name} ({f'replay of {Path(replay).name}' if replay else Path(rt.source).name})"
        )
        kinds = {t: dt.kind for t, dt in rt.catalog.types.items()}
        previous = self.selected  # reselected below if the new city has it (Reset keeps the device)
        self.online, self.state, self.faults, self.values, self.selected = {}, {}, {}, {}, None
        self.inspector.clear()
        self._ticks, self._rate_mark, self.frame_ms = 0, (time.monotonic(), 0), 0.0
        self._fatal_shown, self._recovered = [], {}
        self.banner.hide()
        for device in rt.devices:
            live = rt.live.get(device)
            self.online[device] = live.online if live else True
            self.state[device] = dict(live.state) if live else {}
            if live and kinds.get(rt.devices[device].type) == "actuator":
                self.values[device] = dict(live.values)
        self.map.load(sc, rt.devices.values(), kinds, rt.network_routes())
        self.tree.load(
            rt.devices.values(),
            {t.id: t.name for t in sc.tenants},
            {d.id: d.name for d in sc.districts},
            {t: dt.name for t, dt in rt.catalog.types.items()},
        )
        for combo, label, values in (
            (self.tenant_f, "tenants", sorted({d.tenant for d in rt.devices.values()})),
            (self.type_f, "types", sorted({d.type for d in rt.devices.values()})),
            (self.district_f, "districts", sorted({d.district for d in rt.devices.values()})),
        ):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(f"All {label}", None)
            for v in values:
                combo.addItem(v, v)
            combo.blockSignals(False)
        for device in rt.devices:
            self._redraw(device)
        iso, city, devices = rt.iso_time, sc.city, rt.devices
        self.events.model.clear()
        self.events.model.formatter = lambda e: event_row(e, iso)
        self.traffic.log.model.clear()
        self.traffic.log.model.formatter = lambda r: (
            app_message_row(r, iso) if isinstance(r, AppMessage) else message_row(r, devices.get(r.device), city, iso)
        )
        self.network.load(Counter(d.network for d in rt.devices.values()), sc)
        self.bar.seed.setValue(min(rt.seed, self.bar.seed.maximum()))
        self.bar.set_speed(self.session.speed)
        self.status_scenario.setText(f"{sc.name} · {len(rt.devices):,} devices · seed {rt.seed}")
        self.zone = city_zone(sc.timezone)
        self.inspector.set_time_zone(self.zone, sc.start.timestamp())
        self.bar.clock.setText(clock_text(sc.start.timestamp(), self.zone))
        self.status_online.setText(f"{sum(self.online.values()):,} / {len(self.online):,} online")
        self.status_rate.setText("")
        self._refresh_health()
        self._replay_mode(replay is not None)
        self.sandbox.load(rt, replay is not None)
        if previous is not None and previous in rt.devices:
            self.select_device(previous)

    def _replay_mode(self, replay: bool) -> None:
        """A recording plays: show its timeline; what a replay cannot honour (commands, faults, link
        edits, a new seed) is disabled and says why."""
        rt = self.session.runtime
        self.timeline.setVisible(replay)
        if replay and rt is not None:
            self.timeline.load(self.session.span, rt.scenario.start.timestamp(), self.zone)
        for widget in (self.inspector.controls, self.network.edit, self.bar.seed):
            live_tip = self._live_tips.setdefault(widget, widget.toolTip())
            widget.setEnabled(not replay)
            widget.setToolTip(f"{REPLAY_REFUSED} (docs/recording.md)" if replay else live_tip)
        self.bar.reset_action.setToolTip(
            "Go back to the start of the recording"
            if replay
            else "Reload the scenario from time zero with the seed shown"
        )

    def _on_rewound(self) -> None:
        """The replay went back in time: every device as the runtime's live state now has it, logs cleared."""
        rt = self.session.runtime
        if rt is None:
            return
        kinds = self.map.kinds
        for device, info in rt.devices.items():
            live = rt.live.get(device)
            if live is None:
                continue
            self.online[device], self.state[device], self.faults[device] = (
                live.online,
                dict(live.state),
                set(live.faults),
            )
            if kinds.get(info.type) == "actuator":
                self.values[device] = dict(live.values)
            self._redraw(device)
            self.tree.set_online(device, live.online, bool(live.faults))
        self.events.model.clear()
        self.traffic.log.model.clear()
        self.bar.clock.setText(clock_text(rt.scenario.start.timestamp() + rt.sim_time, self.zone))
        selected, self.selected = self.selected, None
        if selected is not None:
            self.select_device(selected)

    def _on_services(self) -> None:
        rt = self.session.runtime
        self.endpoints.load(self.session.services, self.session.service_errors, rt.scenario if rt else None)
        self.traffic.load(self.session.services, self.session.clients)

    def _apply_filter(self) -> None:
        self.map.set_filter(self.tenant_f.currentData(), self.type_f.currentData(), self.district_f.currentData())

    # --- selection ------------------------------------------------------------------------
    def select_device(self, device: str) -> None:
        rt = self.session.runtime
        if rt is None or device not in rt.devices or device == self.selected:
            return
        previous, self.selected = self.selected, device
        self.map.select(device)
        for d in (previous, device):
            if d is not None:
                self._redraw(d)
        self.tree.select(device)
        info = rt.devices[device]
        dtype = rt.catalog.types[info.type]
        live = rt.live.get(device)
        services = self.session.services
        place = modbus_place(services, device)
        self.inspector.show_device(
            info,
            dtype,
            rt.scenario.city,
            live.values if live else {},
            self.state.get(device, {}),
            self.online.get(device, True),
            mqtt_line=mqtt_sub_line(services, rt.scenario, info),
            modbus_line=mbpoll_line(place, dtype) if place else None,
            gateway=f"gateway {place.gateway}, port {place.port}, unit {place.unit}" if place else None,
        )
        self.inspector.controls.update_faults(self.faults.get(device, set()))
        self._refresh_history(force=True)
        self.sandbox.update()

    def _redraw(self, device: str) -> None:
        self.map.update_marker(
            device,
            self.online.get(device, True),
            bool(self.faults.get(device)),
            self.state.get(device, {}),
            self.values.get(device),
        )

    # --- frames ---------------------------------------------------------------------------
    def _on_frame(self, frame: Frame) -> None:
        t0 = time.perf_counter()
        rt = self.session.runtime
        if rt is None:
            return
        self.bar.clock.setText(clock_text(rt.scenario.start.timestamp() + frame.sim_time, self.zone))
        if self.session.replay is not None:
            self.timeline.show_time(frame.sim_time)
        if any(isinstance(e, (DeviceAdded, DeviceRemoved, SandboxResult)) for e in frame.events):
            self._sandbox_facts(rt, frame.events)
        self.online.update(frame.online)
        self.map.poll_network(rt)  # gateways' and backhauls' live load (asks at most twice a second)
        for device, values in frame.states.items():
            self.state[device] = dict(values)
        for device, faults in frame.faults.items():
            active = self.faults.setdefault(device, set())
            for name, on in faults.items():
                (active.add if on else active.discard)(name)
        kinds = self.map.kinds
        moved_level = []
        for device, values in frame.values.items():
            info = rt.devices.get(device)
            if info is not None and kinds.get(info.type) == "actuator":
                self.values[device] = values
                moved_level.append(device)
        for device in moved_level:
            self._redraw(device)
        for device in set(frame.online) | set(frame.states) | set(frame.faults):
            self._redraw(device)
            self.tree.set_online(device, self.online.get(device, True), bool(self.faults.get(device)))
        if frame.events or frame.dropped_events:  # link counters go to the network panel, not the log
            self.events.add([e for e in frame.events if e.kind not in QUIET_KINDS], frame.dropped_events)
        if frame.messages or frame.dropped_messages:
            self.traffic.log.add(frame.messages, frame.dropped_messages)
        for e in frame.events:
            if e.kind == "netstats":
                self.network.update_link(e)
        sel = self.selected
        if sel is not None:
            self.inspector.controls.poll()
            if sel in frame.faults:
                self.inspector.controls.update_faults(self.faults.get(sel, set()))
            for e in frame.events:
                if isinstance(e, CommandResult) and e.device == sel and e.source == "gui":
                    self.inspector.controls.show_result(e)
            if sel in frame.changed_devices:
                live = rt.live.get(sel)
                if live is not None:
                    self.inspector.update_live(
                        live.values,
                        self.state.get(sel, live.state),
                        self.online.get(sel, True),
                        bool(self.faults.get(sel)),
                    )
        self._ticks += 1
        if self._ticks % max(1, FRAME_HZ // 4) == 0:
            self._refresh_history()
        if self._ticks % max(1, FRAME_HZ // 2) == 0:
            self._slow_refresh()
        self.frame_ms = (time.perf_counter() - t0) * 1000.0

    def _sandbox_facts(self, rt: Any, events: list[Any]) -> None:
        """Devices created or deleted in a sandbox while the city runs: on the map and in the tree."""
        kinds = {t: dt.kind for t, dt in rt.catalog.types.items()}
        changed = False
        for e in events:
            if isinstance(e, DeviceAdded) and e.device in rt.devices:
                info = rt.devices[e.device]
                live = rt.live.get(e.device)
                self.online[e.device] = live.online if live else True
                self.state[e.device] = dict(live.state) if live else {}
                self.map.add_device(info, kinds.get(info.type, "sensor"))
                self._redraw(e.device)
                changed = True
            elif isinstance(e, DeviceRemoved):
                for table in (self.online, self.state, self.values, self.faults):
                    table.pop(e.device, None)
                self.map.remove_device(e.device)
                if self.selected == e.device:
                    self.selected = None
                    self.inspector.clear()
                changed = True
            elif isinstance(e, SandboxResult) and e.source == SANDBOX_SOURCE:
                self.sandbox.show_result(e)
        if changed:
            devices = dict(rt.devices)  # one copy: the engine thread may add the next one meanwhile
            self.tree.load(
                devices.values(),
                {t.id: t.name for t in rt.scenario.tenants},
                {d.id: d.name for d in rt.scenario.districts},
                {t: dt.name for t, dt in rt.catalog.types.items()},
            )
            for device in devices:
                self.tree.set_online(device, self.online.get(device, True), bool(self.faults.get(device)))
            if self.selected is not None:
                self.tree.select(self.selected)
            sc = rt.scenario
            self.status_scenario.setText(f"{sc.name} · {len(devices):,} devices · seed {rt.seed}")
            self.sandbox.update()

    def _refresh_history(self, force: bool = False) -> None:
        if self.selected is None or self.session.feed is None or self.session.runtime is None:
            return
        if force:
            self.inspector._history_key = ""
        rt = self.session.runtime
        start = rt.scenario.start.timestamp()
        self.inspector.update_history(self.session.feed.history(self.selected), rt.sim_time, lambda t: start + t)

    def _slow_refresh(self) -> None:
        feed = self.session.feed
        if feed is None:
            return
        self.network.update_stats(feed.network_stats())
        self.traffic.refresh()
        self._refresh_health()
        now = time.monotonic()
        mark_t, mark_n = self._rate_mark
        rate = (feed.total_readings - mark_n) / max(1e-6, now - mark_t)
        self._rate_mark = (now, feed.total_readings)
        online = sum(1 for v in self.online.values() if v)
        self.status_online.setText(f"{online:,} / {len(self.online):,} online")
        self.status_rate.setText(f"{rate:,.1f} readings/s · frame {self.frame_ms:.1f} ms")

    def _refresh_health(self) -> None:
        """Endpoint health from the runtime's snapshot (never from its listener: that runs on other threads)."""
        rt = self.session.runtime
        if rt is None:
            return
        parts = rt.health.snapshot()
        self.health_table.show_rows(health_rows(parts, [name for name, _ in self.session.services]))
        running = bool(self.session.services)
        self.status_health.setText(status_text(parts) if running or parts else "endpoints: not running")
        worst = (
            "failed"
            if any(p.state == "failed" for p in parts.values())
            else ("down" if any(p.state == "down" for p in parts.values()) else "ok")
        )
        self.status_health.setStyleSheet(
            {"failed": "color: #dc2626; font-weight: 600;", "down": "color: #d97706; font-weight: 600;"}.get(worst, "")
        )
        failed = [f"{name}: {p.last_cause}" for name, p in sorted(parts.items()) if p.state == "failed"]
        if failed and failed != self._fatal_shown:
            self.banner.show_failures(failed)
        self._fatal_shown = failed
        recovered = {name: p.outages for name, p in parts.items() if p.state == "ok"}
        if any(n > self._recovered.get(name, 0) for name, n in recovered.items()):
            self._endpoint_restarted()
        self._recovered = recovered

    def _endpoint_restarted(self) -> None:
        """An endpoint came back (maybe on a new process): reload what shows how to reach it."""
        self._on_services()
        selected, self.selected = self.selected, None
        if selected is not None:
            self.select_device(selected)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._shown:
            self._shown = True
            QTimer.singleShot(0, self._initial_dock_sizes)  # after the first layout pass

    def _initial_dock_sizes(self) -> None:
        """Share the width and height by proportion, so 1366 x 768 and 1920 x 1080 both look balanced."""
        w, h = self.width(), self.height()
        self.resizeDocks(
            [self.docks["Devices"], self.docks["Inspector"]],
            [max(200, int(w * 0.19)), max(320, int(w * 0.34))],
            Qt.Orientation.Horizontal,
        )
        self.resizeDocks([self.docks["Logs"]], [max(140, int(h * 0.26))], Qt.Orientation.Vertical)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.class_board.close_class()
        self.session.close()
        super().closeEvent(event)
