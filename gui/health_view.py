"""Health of the open city's endpoints and workers: a table, a status-bar line and a fatal banner.

The runtime's `Health` (smartzone.runtime.health) is written by endpoint and worker threads;
its listeners run on those threads. The window therefore never subscribes a Qt slot to it: it
reads `snapshot()` (copies taken under the Health lock) from its frame timer, twice a second,
and compares with the previous snapshot to notice outages, recoveries and fatal failures.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QWidget

from smartzone.runtime.health import ComponentHealth

HEADERS = ["Component", "State", "Since", "Outages", "Down for", "Errors survived", "Last cause"]


def since_text(part: ComponentHealth, now_mono: float, now_wall: float) -> str:
    """Wall-clock time the current outage began (down_since is monotonic: convert)."""
    if part.down_since is None:
        return ""
    return time.strftime("%H:%M:%S", time.localtime(now_wall - (now_mono - part.down_since)))


def health_rows(
    parts: Mapping[str, ComponentHealth],
    services: Sequence[str],
    now_mono: float | None = None,
    now_wall: float | None = None,
) -> list[tuple[Any, ...]]:
    """One row per reported component, plus an `ok` row per running service nothing was reported for."""
    mono = time.monotonic() if now_mono is None else now_mono
    wall = time.time() if now_wall is None else now_wall
    rows = []
    for name, p in sorted(parts.items()):
        down_for = p.downtime_s + (mono - p.down_since if p.down_since is not None else 0.0)
        rows.append(
            (
                name,
                p.state,
                since_text(p, mono, wall),
                p.outages,
                f"{down_for:.1f} s" if p.outages else "",
                p.survived,
                p.last_cause,
            )
        )
    for service in services:
        if not any(name.lower().startswith(service.lower()) for name in parts):
            rows.append((service, "ok", "", 0, "", 0, ""))
    return rows


def status_text(
    parts: Mapping[str, ComponentHealth], now_mono: float | None = None, now_wall: float | None = None
) -> str:
    """One line for the status bar: the worst state first."""
    mono = time.monotonic() if now_mono is None else now_mono
    wall = time.time() if now_wall is None else now_wall
    failed = [n for n, p in parts.items() if p.state == "failed"]
    down = [(n, p) for n, p in parts.items() if p.state == "down"]
    outages = sum(p.outages for p in parts.values())
    if failed:
        return "endpoints: FAILED " + ", ".join(failed)
    if down:
        return "endpoints: " + ", ".join(
            f"{n} down since {since_text(p, mono, wall)} (outage {p.outages})" for n, p in down
        )
    return f"endpoints: ok · {outages} outage(s) recovered" if outages else "endpoints: ok"


class HealthTable(QTableWidget):
    """The health rows, coloured by state (theme colours given by the window)."""

    def __init__(self) -> None:
        super().__init__(0, len(HEADERS))
        self.setHorizontalHeaderLabels(HEADERS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setMaximumHeight(150)
        self.colours = {"ok": "", "down": "#d97706", "failed": "#dc2626"}

    def show_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                item = QTableWidgetItem(str(value))
                if c == 1 and self.colours.get(str(value)):
                    item.setForeground(_colour(self.colours[str(value)]))
                if c == len(row) - 1:
                    item.setToolTip(str(value))
                self.setItem(r, c, item)


def _colour(name: str) -> Any:
    from PySide6.QtGui import QColor

    return QColor(name)


class FatalBanner(QWidget):
    """A red strip above the map when a part of the city died for good; dismissable."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("fatalBanner")
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setStyleSheet("color: white; font-weight: 600;")
        close = QPushButton("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.setStyleSheet("#fatalBanner { background: #b91c1c; }")
        self.setAutoFillBackground(True)
        self.hide()

    def show_failures(self, causes: Sequence[str]) -> None:
        self.label.setText(
            "Stopped working: "
            + "; ".join(causes)
            + ". Apps can no longer rely on this city: Reset restarts it (and its endpoints)."
        )
        self.show()
