"""The bottom panels: endpoints (how to connect, with copy buttons), network, traffic.

They read the runtime's services (smartzone.runtime.services: each has describe() and may
offer stats() / clients()) and the LiveFeed's counters. A service that is absent makes its
panel say "not running" instead of failing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from smartzone_gui.clients_view import HEADERS, TIPS, client_rows
from smartzone_gui.endpoint_info import with_fresh_client_id
from smartzone_gui.feed import NetStats
from smartzone_gui.pending import PendingCommands
from smartzone_gui.traffic_log import TrafficLog

from smartzone.core.faults.commands import CutBackhaul, DegradeLink, RestoreLink
from smartzone.definitions.scenario import Scenario
from smartzone.runtime.clients import ClientRegistry
from smartzone.runtime.services import Service


def table(headers: Sequence[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(list(headers))
    t.verticalHeader().setVisible(False)
    t.verticalHeader().setDefaultSectionSize(24)
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    t.setAlternatingRowColors(True)
    t.setShowGrid(False)
    t.horizontalHeader().setStretchLastSection(True)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return t


def fill(t: QTableWidget, rows: Sequence[Sequence[Any]]) -> None:
    t.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = t.item(r, c)
            text = str(value)
            if item is None:
                item = QTableWidgetItem(text)
                if isinstance(value, (int, float)):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                t.setItem(r, c, item)
            elif item.text() != text:
                item.setText(text)


def note(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("muted")
    label.setWordWrap(True)
    return label


class EndpointsPanel(QWidget):
    """Each service's describe() lines, one copy button per line; users and credentials."""

    def __init__(self) -> None:
        super().__init__()
        self.body = QWidget()
        self.grid = QGridLayout(self.body)
        self.grid.setContentsMargins(10, 8, 10, 8)
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(4)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.body)
        self.users = table(["User", "Password", "Role", "Tenant", "Reads", "Commands"])
        split = QSplitter()
        split.addWidget(scroll)
        split.addWidget(self.users)
        split.setSizes([700, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self.lines: list[str] = []

    def load(
        self, services: Sequence[tuple[str, Service]], errors: Mapping[str, str], scenario: Scenario | None
    ) -> None:
        while self.grid.count():
            taken = self.grid.takeAt(0)
            w = taken.widget() if taken is not None else None
            if w is not None:
                w.deleteLater()
        self.lines = []
        row = 0
        for name, service in services:
            head = QLabel(name)
            head.setStyleSheet("font-weight: 600;")
            self.grid.addWidget(head, row, 0, 1, 2)
            row += 1
            try:
                lines = list(service.describe())
            except Exception as exc:  # a broken describe() must not break the window
                lines = [f"(describe failed: {exc})"]
            for line in lines:
                command = _command_part(line)
                # shown with an id of its own too: a line selected by hand must not share the printed id
                text = QLabel(line.replace(command, with_fresh_client_id(command)) if command else line)
                text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                text.setStyleSheet("font-family: monospace;")
                text.setWordWrap(True)  # long lines wrap: the Copy buttons stay in view
                text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
                self.grid.addWidget(text, row, 0)
                copy = QPushButton("Copy")
                copy.setToolTip("Copy this line to the clipboard")
                copy.clicked.connect(lambda _c=False, s=line: QGuiApplication.clipboard().setText(copy_line(s)))
                self.grid.addWidget(copy, row, 1)
                self.lines.append(line)
                row += 1
        for name, error in errors.items():
            self.grid.addWidget(note(f"{name}: could not start: {error}"), row, 0, 1, 2)
            row += 1
        if not services and not errors:
            self.grid.addWidget(
                note(
                    "No endpoint is running: this installation has no MQTT or Modbus service registered "
                    "(or the GUI was started with them disabled). The simulation still runs; the map, "
                    "inspector and event log work from the runtime."
                ),
                row,
                0,
                1,
                2,
            )
            row += 1
        self.grid.setRowStretch(row, 1)
        self.grid.setColumnStretch(0, 1)
        users = scenario.users if scenario is not None else []
        fill(
            self.users,
            [
                (u.name, u.password, u.role, u.tenant or "", ", ".join(u.grants.read), ", ".join(u.grants.command))
                for u in users
            ],
        )


def copy_line(line: str) -> str:
    """What a Copy button puts on the clipboard: the command, with a client id of its own."""
    return with_fresh_client_id(_command_part(line))


def _command_part(line: str) -> str:
    """For 'label: command' lines, the command (what a user pastes)."""
    for marker in ("mosquitto_sub ", "mosquitto_pub ", "mbpoll ", "mqtt://"):
        at = line.find(marker)
        if at >= 0:
            return line[at:].strip()
    return line.strip()


class NetworkPanel(QWidget):
    """Link profiles and backhauls: live counters, LinkStats, live edits and cuts.

    Live columns come from the readings the platform received (seq gaps = losses, arrival
    minus measurement = latency); the link table from the emulator's LinkStats events.
    Edits go through the runtime as DegradeLink / RestoreLink / CutBackhaul commands.
    """

    def __init__(self, submit: Callable[[Any], Any]) -> None:
        super().__init__()
        self._submit = submit
        self.status = note("")
        self.table = table(
            ["Profile", "Devices", "Delivered", "Lost (seq gaps)", "Loss %", "Mean latency", "Max latency"]
        )
        self.links = table(
            [
                "Link",
                "Scope",
                "Sent",
                "Delivered",
                "Dropped",
                "Duplicated",
                "Throttled",
                "p50",
                "p95",
                "Drops by reason",
            ]
        )
        self.profile = QComboBox()
        self.delay, self.jitter, self.loss = QLineEdit(), QLineEdit(), QLineEdit()
        self.delay.setPlaceholderText("delay e.g. 2s")
        self.jitter.setPlaceholderText("jitter e.g. 500ms")
        self.loss.setPlaceholderText("loss e.g. 20%")
        apply_b, restore_b = QPushButton("Degrade"), QPushButton("Restore")
        apply_b.clicked.connect(self.degrade)
        restore_b.clicked.connect(
            lambda: self._send(
                RestoreLink(self.profile.currentText(), source="gui"), f"restore {self.profile.currentText()}"
            )
        )
        self.backhaul = QComboBox()
        cut_b, heal_b = QPushButton("Cut"), QPushButton("Restore")
        cut_b.clicked.connect(lambda: self._cut(True))
        heal_b.clicked.connect(lambda: self._cut(False))
        self.result = note("")
        edit = self.edit = QGroupBox("Edit live")  # disabled while a recording plays
        form = QGridLayout(edit)
        form.addWidget(QLabel("Profile"), 0, 0)
        form.addWidget(self.profile, 0, 1, 1, 3)
        for r, (label, w) in enumerate((("Delay", self.delay), ("Jitter", self.jitter), ("Loss", self.loss))):
            form.addWidget(QLabel(label), 1 + r, 0)
            form.addWidget(w, 1 + r, 1, 1, 3)
        form.addWidget(apply_b, 4, 1)
        form.addWidget(restore_b, 4, 2)
        form.addWidget(QLabel("Backhaul"), 5, 0)
        form.addWidget(self.backhaul, 5, 1, 1, 3)
        form.addWidget(cut_b, 6, 1)
        form.addWidget(heal_b, 6, 2)
        form.addWidget(self.result, 7, 0, 1, 4)
        form.setRowStretch(8, 1)
        tables = QWidget()
        tv = QVBoxLayout(tables)
        tv.setContentsMargins(0, 0, 0, 0)
        tv.addWidget(self.status)
        tv.addWidget(self.table, 1)
        tv.addWidget(self.links, 1)
        split = QSplitter()
        split.addWidget(tables)
        split.addWidget(edit)
        split.setSizes([900, 320])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(split)
        self.devices_per_profile: dict[str, int] = {}
        self._links: dict[tuple[str, str], Any] = {}
        self._pending = PendingCommands()

    def load(self, devices_per_profile: Mapping[str, int], scenario: Scenario | None) -> None:
        self.devices_per_profile = dict(devices_per_profile)
        self._links = {}
        nets = getattr(scenario, "networks", None)
        enabled = bool(getattr(nets, "enabled", False))
        profiles = sorted(set(devices_per_profile) | set(getattr(nets, "profiles", {}) or {}))
        backhauls = [b.id for b in getattr(nets, "backhauls", []) or []]
        self.profile.clear()
        self.profile.addItems(profiles)
        self.backhaul.clear()
        self.backhaul.addItems(backhauls)
        self.backhaul.setEnabled(bool(backhauls))
        interval = getattr(nets, "stats_interval", 0) or 0
        self.status.setText(
            f"Network emulation on: link counters every {interval / 3600:g} h of simulated time; "
            f"{len(backhauls)} backhaul(s)."
            if enabled
            else "Network emulation: not running (readings arrive at once, nothing is lost)."
        )
        self.result.setText("")
        self._pending.clear()  # commands sent to the previous city never answer
        self.update_stats({})
        fill(self.links, [])

    def update_stats(self, stats: Mapping[str, NetStats]) -> None:
        rows = []
        for profile in sorted(set(self.devices_per_profile) | set(stats)):
            s = stats.get(profile, NetStats())
            sent = s.delivered + s.lost
            rows.append(
                (
                    profile,
                    self.devices_per_profile.get(profile, 0),
                    s.delivered,
                    s.lost,
                    f"{100.0 * s.lost / sent:.2f}" if sent else "–",
                    f"{s.latency_mean * 1000:.0f} ms",
                    f"{s.latency_max * 1000:.0f} ms",
                )
            )
        fill(self.table, rows)
        self._poll()

    def update_link(self, event: Any) -> None:
        """A LinkStats event (cumulative counters of one link or backhaul)."""
        self._links[(event.link, event.scope)] = event
        rows = []
        for (link, scope), e in sorted(self._links.items()):
            lat = dict(e.latency or {})
            rows.append(
                (
                    link,
                    scope,
                    e.sent,
                    e.delivered,
                    e.dropped,
                    e.duplicated,
                    e.throttled,
                    _ms(lat.get("p50")),
                    _ms(lat.get("p95")),
                    ", ".join(f"{k} {v}" for k, v in dict(e.drops or {}).items()),
                )
            )
        fill(self.links, rows)

    def degrade(self) -> None:
        params = {
            k: w.text().strip()
            for k, w in (("delay", self.delay), ("jitter", self.jitter), ("loss", self.loss))
            if w.text().strip()
        }
        if not params:
            self.result.setText("Type at least one of delay, jitter, loss.")
            return
        profile = self.profile.currentText()
        self._send(DegradeLink(profile, params, source="gui"), f"degrade {profile}")

    def _cut(self, cut: bool) -> None:
        hop = self.backhaul.currentText()
        if hop:
            self._send(CutBackhaul(hop, cut, source="gui"), f"{'cut' if cut else 'restore'} {hop}")

    def _send(self, cmd: Any, what: str) -> None:
        self._pending.add(what, self._submit(cmd))
        self.result.setText(f"sent: {what} …")

    def _poll(self) -> None:
        text = self._pending.poll()
        if text is not None:
            self.result.setText(text)


def _ms(seconds: Any) -> str:
    return f"{float(seconds) * 1000:.0f} ms" if isinstance(seconds, (int, float)) else "–"


class TrafficPanel(QWidget):
    """Connected MQTT and Modbus clients, endpoint counters and the live message log.

    Clients come from the session's ClientRegistry (smartzone.runtime.clients), read as a
    snapshot on each refresh (a few times per second); the message log gets the device
    uplinks and, when clients are watched, the apps' publishes and Modbus writes.
    """

    def __init__(self) -> None:
        super().__init__()
        self.status = note("")
        self.counters = table(["Service", "Counter", "Value", "per s"])
        self._last: dict[tuple[str, str], tuple[float, float]] = {}
        self.clients = table(HEADERS)
        for col, name in enumerate(HEADERS):
            head = self.clients.horizontalHeaderItem(col)
            if head is not None and name in TIPS:
                head.setToolTip(TIPS[name])
        self.registry: ClientRegistry | None = None
        self.log = TrafficLog()  # uplinks and app traffic, each in its own buffer and limit
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(6, 6, 0, 6)
        lv.addWidget(self.status)
        lv.addWidget(self.clients, 3)
        lv.addWidget(self.counters, 2)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(self.log)
        split.setSizes([800, 500])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self.services: list[tuple[str, Service]] = []

    def load(self, services: Sequence[tuple[str, Service]], registry: ClientRegistry | None = None) -> None:
        self.services = list(services)
        self.registry = registry
        watched = [n for n, s in services if hasattr(s, "stats")]
        if registry is not None:
            text = (
                "Clients of the MQTT broker and the Modbus gateways, and live counters. The message log "
                "shows device uplinks and what apps publish or write (denied in red)."
            )
        elif watched:
            text = (
                f"Live counters from: {', '.join(watched)} (clients are listed for the brokers and "
                "gateways SmartZone runs itself)."
            )
        else:
            text = (
                "Endpoint traffic: not running (no MQTT/Modbus service offers counters). "
                "The message log shows the device uplinks the platform publishes."
            )
        self.status.setText(text)
        self.clients.setVisible(registry is not None)
        fill(self.clients, [])
        self.refresh()

    def refresh(self) -> None:
        counters: list[tuple[str, str, Any]] = []
        for name, service in self.services:
            stats = getattr(service, "stats", None)
            if callable(stats):
                try:
                    for k, v in dict(stats()).items():
                        if isinstance(v, Mapping):
                            counters.extend((name, f"{k}: {k2}", v2) for k2, v2 in v.items())
                        else:
                            counters.append((name, k, v))
                except Exception as exc:  # shown, not raised: the endpoint owns its errors
                    counters.append((name, "error", str(exc)))
        now = time.monotonic()
        rows = []
        for name, key, value in counters:
            rate: float | str = ""
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                prev = self._last.get((name, key))
                if prev is not None and now > prev[0]:
                    rate = round((value - prev[1]) / (now - prev[0]), 1)
                self._last[(name, key)] = (now, float(value))
            rows.append((name, key, value, rate))
        fill(self.counters, rows)
        if self.registry is not None:
            rows = client_rows(self.registry.snapshot())
            fill(self.clients, rows)
            last = len(HEADERS) - 1
            for r, row in enumerate(rows):  # subscriptions can be long: the whole list as a tooltip
                item = self.clients.item(r, last)
                if item is not None and item.toolTip() != str(row[last]):
                    item.setToolTip(str(row[last]))
