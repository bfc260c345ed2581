"""The timeline of a replay: a slider over the recording's simulated span, and a box to go to a time.

Shown only while a recording plays. The slider's ends and the position read in the city's local
time. Releasing the handle (or a click, a key, or a time typed in the box: what `smartzone replay
--from` accepts, counted from the recording's start) asks to seek there (`seek_requested`, in
simulated seconds after the start); the window hands it to the Session. While the handle is held
the position label previews its time and the replay's own progress leaves the slider alone.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QSizePolicy, QSlider, QToolBar

from smartzone.definitions.units import format_duration, parse_offset

DAY_S = 86400.0


class TimelineBar(QToolBar):
    seek_requested = Signal(float)  # simulated seconds after the recording's start

    def __init__(self) -> None:
        super().__init__("Timeline")
        self.setObjectName("timeline")
        self.setMovable(False)
        self._start, self._span = 0.0, 0.0
        self._zone: tzinfo = UTC
        self.start_label, self.end_label, self.position = QLabel(), QLabel(), QLabel()
        self.position.setObjectName("clock")
        self.position.setToolTip("Where the replay is: the city's local time, and how long after the recording began")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setTracking(False)  # a drag seeks once, on release
        self.slider.setMinimumWidth(260)
        self.slider.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.slider.setToolTip("Drag to seek: forward fast-forwards, backward plays again from the recording")
        self.go_to = QLineEdit()
        self.go_to.setPlaceholderText("go to 1:30 or 90min")
        self.go_to.setToolTip(
            "A time after the recording's start, as `smartzone replay --from` takes it: 90min, 1h30min, 1:30:00"
        )
        self.go_to.setMaximumWidth(150)
        self.problem = QLabel("")
        self.problem.setStyleSheet("color: #dc2626;")
        self.addWidget(QLabel(" Replay "))
        self.addWidget(self.start_label)
        self.addWidget(self.slider)
        self.addWidget(self.end_label)
        self.addWidget(self.position)
        self.addWidget(self.go_to)
        self.addWidget(self.problem)
        self.slider.valueChanged.connect(lambda v: self.seek_requested.emit(float(v)))
        self.slider.sliderMoved.connect(lambda v: self._show_position(float(v)))
        self.go_to.returnPressed.connect(self._typed)

    def load(self, span: float, start_epoch: float, zone: tzinfo) -> None:
        """A new recording: `span` simulated seconds from `start_epoch` (UTC seconds), in `zone`."""
        self._start, self._span, self._zone = start_epoch, span, zone
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(1, math.ceil(span)))
        self.slider.setPageStep(max(1, round(span / 20)))
        self.slider.setSingleStep(60 if span > 600 else 1)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.start_label.setText(self.local_text(0.0))
        self.end_label.setText(self.local_text(span))
        self.problem.setText("")
        self._show_position(0.0)

    def local_text(self, t: float) -> str:
        """The city's local time `t` seconds after the start (with the date on spans over a day)."""
        local = datetime.fromtimestamp(self._start + t, UTC).astimezone(self._zone)
        return f"{local:%d %b %H:%M}" if self._span > DAY_S else f"{local:%H:%M:%S}"

    def show_time(self, t: float) -> None:
        """The replay is at `t`: move the handle (unless the user holds it)."""
        if self.slider.isSliderDown():
            return
        self.slider.blockSignals(True)
        self.slider.setValue(int(t))
        self.slider.blockSignals(False)
        self._show_position(t)

    def _show_position(self, t: float) -> None:
        self.position.setText(f" {self.local_text(t)} (+{format_duration(t) if t >= 1 else '0s'}) ")

    def _typed(self) -> None:
        text = self.go_to.text().strip()
        try:
            t = parse_offset(text)
        except ValueError as exc:
            self.problem.setText(" not a time")
            self.problem.setToolTip(str(exc))
            return
        if t > self._span:
            self.problem.setText(f" after the end (+{format_duration(self._span)})")
            self.problem.setToolTip("")
            return
        self.problem.setText("")
        self.go_to.clear()
        self.seek_requested.emit(t)
