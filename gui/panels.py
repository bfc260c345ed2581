"""The bottom panels: endpoints (how to connect, with copy buttons), network, traffic.

They read the runtime's services (smartzone.runtime.services: each has describe() and may
offer stats() / clients()) and the LiveFeed's counters. A service that is absent makes its
panel say "not running" instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from smartzone_gui.feed import NetStats
from smartzone_gui.log_view import LogPanel

from smartzone.definitions.scenario import Scenario
from smartzone.runtime.services import Service


def table(headers: Sequence[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(list(headers))
    t.verticalHeader().setVisible(False)
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

    def load(self, services: Sequence[tuple[str, Service]], errors: Mapping[str, str],
             scenario: Scenario | None) -> None:
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
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
                text = QLabel(line)
                text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                text.setStyleSheet("font-family: monospace;")
                self.grid.addWidget(text, row, 0)
                copy = QPushButton("Copy")
                copy.setToolTip("Copy this line to the clipboard")
                copy.clicked.connect(lambda _c=False, s=line: QGuiApplication.clipboard().setText(_command_part(s)))
                self.grid.addWidget(copy, row, 1)
                self.lines.append(line)
                row += 1
        for name, error in errors.items():
            self.grid.addWidget(note(f"{name}: could not start: {error}"), row, 0, 1, 2)
            row += 1
        if not services and not errors:
            self.grid.addWidget(note(
                "No endpoint is running: this installation has no MQTT or Modbus service registered "
                "(or the GUI was started with them disabled). The simulation still runs; the map, "
                "inspector and event log work from the runtime."), row, 0, 1, 2)
            row += 1
        self.grid.setRowStretch(row, 1)
        self.grid.setColumnStretch(0, 1)
        users = scenario.users if scenario is not None else []
        fill(self.users, [(u.name, u.password, u.role, u.tenant or "", ", ".join(u.grants.read),
                           ", ".join(u.grants.command)) for u in users])


def _command_part(line: str) -> str:
    """For 'label: command' lines, the command (what a user pastes)."""
    for marker in ("mosquitto_sub ", "mosquitto_pub ", "mbpoll ", "mqtt://"):
        at = line.find(marker)
        if at >= 0:
            return line[at:].strip()
    return line.strip()


class NetworkPanel(QWidget):
    """Per network profile: devices, readings delivered, lost (seq gaps) and latency."""

    def __init__(self) -> None:
        super().__init__()
        self.status = note("")
        self.table = table(["Profile", "Devices", "Delivered", "Lost", "Loss %", "Mean latency", "Max latency"])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        self.devices_per_profile: dict[str, int] = {}

    def load(self, devices_per_profile: Mapping[str, int], emulation: str | None) -> None:
        self.devices_per_profile = dict(devices_per_profile)
        self.status.setText(
            emulation or "Network emulation: not running (readings arrive without simulated delay or loss). "
            "Counters below come from the readings the platform received."
        )
        self.update_stats({})

    def update_stats(self, stats: Mapping[str, NetStats]) -> None:
        rows = []
        for profile in sorted(set(self.devices_per_profile) | set(stats)):
            s = stats.get(profile, NetStats())
            sent = s.delivered + s.lost
            rows.append((profile, self.devices_per_profile.get(profile, 0), s.delivered, s.lost,
                         f"{100.0 * s.lost / sent:.2f}" if sent else "–",
                         f"{s.latency_mean * 1000:.0f} ms", f"{s.latency_max * 1000:.0f} ms"))
        fill(self.table, rows)


class TrafficPanel(QWidget):
    """Endpoint counters and clients (when a service offers them) and the live message log."""

    def __init__(self) -> None:
        super().__init__()
        self.status = note("")
        self.counters = table(["Service", "Counter", "Value"])
        self.clients = table(["Client", "User", "Since", "Subscriptions", "In", "Out", "Denied"])
        self.log = LogPanel(["Sim time", "Topic", "Payload"], "Filter messages (topic, device, value)…")
        self.log.set_widths([190, 420])
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(6, 6, 0, 6)
        lv.addWidget(self.status)
        lv.addWidget(self.counters, 1)
        lv.addWidget(self.clients, 1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(self.log)
        split.setSizes([420, 800])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self.services: list[tuple[str, Service]] = []

    def load(self, services: Sequence[tuple[str, Service]]) -> None:
        self.services = list(services)
        watched = [n for n, s in services if hasattr(s, "stats") or hasattr(s, "clients")]
        self.status.setText(
            f"Live counters from: {', '.join(watched)}" if watched else
            "Endpoint traffic: not running (no MQTT/Modbus service offers counters). "
            "The message log shows the device uplinks the platform publishes."
        )
        self.clients.setVisible(any(hasattr(s, "clients") for _, s in services))
        self.refresh()

    def refresh(self) -> None:
        counters: list[tuple[str, str, Any]] = []
        clients: list[Sequence[Any]] = []
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
            lister = getattr(service, "clients", None)
            if callable(lister):
                try:
                    clients.extend(_client_row(c) for c in lister())
                except Exception:  # pragma: no cover - endpoint-side failure
                    pass
        fill(self.counters, counters)
        fill(self.clients, clients)


def _client_row(c: Any) -> tuple[Any, ...]:
    get = c.get if isinstance(c, Mapping) else (lambda k, d="": getattr(c, k, d))
    subs = get("subscriptions", [])
    return (get("client_id", ""), get("user", ""), get("since", ""),
            ", ".join(subs) if isinstance(subs, (list, tuple, set)) else subs,
            get("msgs_in", ""), get("msgs_out", ""), get("denied", ""))
