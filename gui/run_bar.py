"""The run toolbar: open, start/pause, step, reset, speed, seed and the simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy, QSpinBox, QStyle, QToolBar, QWidget

SPEEDS = [0.5, 1, 2, 5, 10, 30, 60, 300, 600, 3600]


def city_zone(name: str) -> tzinfo:
    """The scenario's time zone (UTC if the name is unknown to this system's tz database)."""
    try:
        return ZoneInfo(name)
    except Exception:  # a missing tzdata package must not stop the window
        return UTC


def clock_text(epoch_s: float, zone: tzinfo) -> str:
    """`2026-11-23 01:00:00 CET · 00:00 UTC`: the city's local time first (what its lamps and
    traffic follow), UTC beside it (what every payload timestamp carries)."""
    utc = datetime.fromtimestamp(epoch_s, UTC)
    local = utc.astimezone(zone)
    if local.utcoffset() == utc.utcoffset():
        return utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} · {utc:%H:%M} UTC"


class RunBar(QToolBar):
    speed_changed = Signal(float)

    def __init__(self) -> None:
        super().__init__("Run")
        self.setMovable(False)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        icon = self.style().standardIcon
        px = QStyle.StandardPixmap
        self._play, self._pause = icon(px.SP_MediaPlay), icon(px.SP_MediaPause)
        self.open_action = QAction(
            icon(px.SP_DialogOpenButton), "Open…", self, shortcut=QKeySequence(QKeySequence.StandardKey.Open)
        )
        self.run_action = QAction(self._play, "Start", self, shortcut=QKeySequence("Space"))
        self.step_action = QAction(icon(px.SP_MediaSkipForward), "Step", self, shortcut=QKeySequence("Ctrl+."))
        self.step_action.setToolTip("Advance one minute of simulated time, then stay paused")
        self.reset_action = QAction(icon(px.SP_BrowserReload), "Reset", self, shortcut=QKeySequence("Ctrl+R"))
        self.reset_action.setToolTip("Reload the scenario from time zero with the seed shown")
        self.addAction(self.open_action)
        self.addSeparator()
        self.addAction(self.run_action)
        self.widgetForAction(self.run_action).setObjectName("primary")
        self.addAction(self.step_action)
        self.addAction(self.reset_action)
        self.addSeparator()
        self.addWidget(QLabel(" Speed "))
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(SPEEDS.index(1))
        self.speed.setToolTip("Simulated seconds per wall-clock second")
        self.speed.currentIndexChanged.connect(lambda i: self.speed_changed.emit(float(self.speed.itemData(i))))
        self.addWidget(self.speed)
        self.addWidget(QLabel("  Seed "))
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Master random seed: applied when you press Reset")
        self.seed.setMinimumWidth(110)
        self.addWidget(self.seed)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        self.state_label = QLabel("no scenario")
        self.state_label.setObjectName("muted")
        self.addWidget(self.state_label)
        self.clock = QLabel("––––-––-–– ––:––:––")
        self.clock.setObjectName("clock")
        self.clock.setToolTip("Simulated time: the city's local time, and UTC (the time in every payload)")
        self.addWidget(self.clock)

    def set_state(self, state: str) -> None:
        running = state == "running"
        self.run_action.setText("Pause" if running else ("Start" if state == "ready" else "Resume"))
        self.run_action.setIcon(self._pause if running else self._play)
        self.run_action.setEnabled(state != "finished")
        self.step_action.setEnabled(state in ("ready", "paused"))
        self.state_label.setText(state)

    def set_speed(self, speed: float) -> None:
        if speed not in SPEEDS:
            SPEEDS.append(speed)
            SPEEDS.sort()
            self.speed.blockSignals(True)
            self.speed.clear()
            for s in SPEEDS:
                self.speed.addItem(f"{s:g}×", s)
            self.speed.blockSignals(False)
        self.speed.blockSignals(True)
        self.speed.setCurrentIndex(SPEEDS.index(speed))
        self.speed.blockSignals(False)
