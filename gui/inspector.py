"""The inspector: everything about the selected device.

Live values with units, a scrolling history plot (pyqtgraph), its MQTT topics and Modbus
registers (copyable), actuator controls and fault injection (controls.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from smartzone_gui.controls import ControlPanel, Submit
from smartzone_gui.endpoint_info import with_fresh_client_id
from smartzone_gui.theme import LIGHT, Theme
from smartzone_gui.wire import modbus_registers, mqtt_topics

from smartzone.core.device import DeviceInfo
from smartzone.definitions.device_type import DeviceType

PLOT_WINDOW_S = 6 * 3600.0  # simulated seconds shown in the history plot
DISCRETE = frozenset({"int", "enum", "bool"})  # plotted as steps: no value lies between two readings


def _cell(table: QTableWidget, row: int, column: int) -> QTableWidgetItem:
    """The item at (row, column), created empty if the cell has none yet."""
    item = table.item(row, column)
    if item is None:
        item = QTableWidgetItem("")
        table.setItem(row, column, item)
    return item


def _table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().setVisible(False)
    t.verticalHeader().setDefaultSectionSize(24)
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    t.setAlternatingRowColors(True)
    t.horizontalHeader().setStretchLastSection(True)
    t.setShowGrid(False)
    return t


def _scrolling(widget: QWidget) -> QScrollArea:
    """A tab page in a frameless scroll area, so the tallest page does not set the dock's minimum height."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return str(value)


class Inspector(QWidget):
    def __init__(self, submit: Submit) -> None:
        super().__init__()
        self.info: DeviceInfo | None = None
        self.dtype: DeviceType | None = None
        self.theme = LIGHT
        self.title = QLabel("No device selected")
        self.title.setObjectName("title")
        self.subtitle = QLabel("Click a marker on the map or a device in the tree.")
        self.subtitle.setObjectName("muted")
        # one line, elided by the dock: a wrapped label would make the dock's scroll area size by height-for-width
        self.subtitle.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.details = QWidget()
        self.details_grid = QGridLayout(self.details)
        self.details_grid.setContentsMargins(0, 2, 0, 4)
        self.details_grid.setHorizontalSpacing(10)
        self.details_grid.setVerticalSpacing(2)
        self.detail_labels: dict[str, QLabel] = {}
        for n, key in enumerate(("Id", "Type", "Owner", "Address", "Hardware", "Network")):
            k = QLabel(key)
            k.setObjectName("muted")
            v = QLabel("")
            v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            v.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # no dock widening
            self.details_grid.addWidget(k, n // 2, (n % 2) * 2)
            self.details_grid.addWidget(v, n // 2, (n % 2) * 2 + 1)
            self.detail_labels[key] = v
        self.details_grid.setColumnStretch(1, 1)
        self.details_grid.setColumnStretch(3, 1)
        self.details.setVisible(False)
        self.badge = QLabel("")
        self.badge.setObjectName("badge")
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.badge)
        self.values = _table(["Signal", "Value", "Unit"])
        self.values.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.values.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.values.horizontalHeader().setStretchLastSection(False)
        self.signal_combo = QComboBox()
        self.time_axis = pg.DateAxisItem(utcOffset=0)
        self.plot = pg.PlotWidget(axisItems={"bottom": self.time_axis})
        self.plot.setMinimumHeight(100)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.time_label = "simulated time (UTC)"
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#1e88e5", width=2), stepMode=None)
        self.controls = ControlPanel(submit)
        self.topics = _table(["Channel", "Topic"])
        self.topics.setToolTip("Double-click a row to copy the topic")
        self.topics.cellDoubleClicked.connect(lambda r, _c: self._copy(_cell(self.topics, r, 1).text()))
        self.registers = _table(["Table", "Address", "Name", "Type", "Scale", "A write runs"])
        live = QWidget()
        lv = QVBoxLayout(live)
        lv.setContentsMargins(6, 8, 6, 6)
        self.values.verticalHeader().setDefaultSectionSize(24)
        lv.addWidget(self.values, 3)
        row = QHBoxLayout()
        row.addWidget(QLabel("History"))
        row.addWidget(self.signal_combo, 1)
        lv.addLayout(row)
        # an empty plot shows a sentence instead of axes with made-up ticks
        self.plot_empty = QLabel("No device selected")
        self.plot_empty.setObjectName("muted")
        self.plot_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # never widens the dock; no word wrap: a wrapping label made the whole inspector height-for-width
        # and it then asked for more height than the dock has
        self.plot_empty.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.plot_empty.setMinimumHeight(100)
        self.plot_stack = QStackedWidget()
        self.plot_stack.addWidget(self.plot)
        self.plot_stack.addWidget(self.plot_empty)
        self.plot_stack.setCurrentWidget(self.plot_empty)
        lv.addWidget(self.plot_stack, 3)
        wire = QWidget()
        wv = QVBoxLayout(wire)
        wv.setContentsMargins(6, 8, 6, 6)
        self.reach: dict[str, tuple[QLabel, QPushButton]] = {}
        reach = QGridLayout()
        reach.setHorizontalSpacing(8)
        for r, key in enumerate(("MQTT", "Modbus")):
            name = QLabel(key)
            name.setObjectName("muted")
            line = QLabel("")
            line.setWordWrap(True)
            line.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            line.setStyleSheet("font-family: monospace;")
            copy = QPushButton("Copy")
            copy.clicked.connect(lambda _c=False, w=line: self._copy_line(w))
            reach.addWidget(name, r, 0)
            reach.addWidget(line, r, 1)
            reach.addWidget(copy, r, 2)
            self.reach[key] = (line, copy)
        reach.setColumnStretch(1, 1)
        wv.addLayout(reach)
        wv.addWidget(QLabel("MQTT topics (double-click to copy)"))
        wv.addWidget(self.topics, 2)
        self.modbus_label = QLabel("Modbus registers")
        self.modbus_label.setWordWrap(True)
        self.modbus_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # no dock widening
        wv.addWidget(self.modbus_label)
        wv.addWidget(self.registers, 3)
        self.tabs = QTabWidget()
        self.tabs.addTab(live, "Live")
        self.tabs.addTab(_scrolling(self.controls), "Control")  # long command lists scroll, the dock keeps its size
        self.tabs.addTab(_scrolling(wire), "Wire")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 6)
        layout.setSpacing(6)
        layout.addLayout(head)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.details)
        layout.addWidget(self.tabs, 1)
        self.tabs.setEnabled(False)
        self._history_key = ""

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.plot.setBackground(theme.base)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setPen(theme.muted)
            self.plot.getAxis(axis).setTextPen(theme.text)  # tick labels in the text colour: readable on both
        self.curve.setPen(pg.mkPen(theme.highlight, width=2))
        self._label_axes()

    def set_time_zone(self, zone: tzinfo, epoch: float) -> None:
        """Label the time axis in the city's local time (its offset at the scenario's start)."""
        start = datetime.fromtimestamp(epoch, UTC).astimezone(zone)
        offset = start.utcoffset() or timedelta(0)
        self.time_axis.utcOffset = -offset.total_seconds()  # pyqtgraph: seconds west of UTC
        hours = offset.total_seconds() / 3600
        self.time_label = f"simulated local time ({start.tzname()}, UTC{hours:+g})" if hours else "simulated time (UTC)"
        self._label_axes()

    def _label_axes(self) -> None:
        """Axis titles with units (the signal's unit on the y axis), in the theme's text colour."""
        style = {"color": self.theme.text}
        self.plot.setLabel("bottom", self.time_label, **style)
        name = self.signal_combo.currentText()
        sig = self.dtype.signals.get(name) if self.dtype is not None and name else None
        if sig is None:
            self.plot.setLabel("left", "", **style)
            return
        unit = sig.unit or ("state" if sig.datatype in ("enum", "bool") else "")
        self.plot.setLabel("left", f"{name} ({unit})" if unit else name, **style)
        axis = self.plot.getAxis("left")
        if sig.datatype == "enum":
            axis.setTicks([[(float(i), v) for i, v in enumerate(sig.values or [])]])
        elif sig.datatype == "bool":
            axis.setTicks([[(0.0, "false"), (1.0, "true")]])
        else:
            axis.setTicks(None)

    # --- selection ------------------------------------------------------------------------
    def clear(self) -> None:
        """Back to "no device selected" (a new city replaced the old one): no stale controls or values."""
        self.info, self.dtype = None, None
        self.title.setText("No device selected")
        self.subtitle.setVisible(True)
        self.details.setVisible(False)
        self.badge.setText("")
        self.badge.setStyleSheet("")
        self.values.setRowCount(0)
        self.topics.setRowCount(0)
        self.registers.setRowCount(0)
        self.signal_combo.blockSignals(True)
        self.signal_combo.clear()
        self.signal_combo.blockSignals(False)
        self.curve.setData([], [])
        self._show_empty("No device selected")
        self._label_axes()
        for line, copy in self.reach.values():
            line.setText("")
            copy.setEnabled(False)
        self.controls.clear()
        self.tabs.setEnabled(False)
        self._history_key = ""

    def show_device(
        self,
        info: DeviceInfo,
        dtype: DeviceType,
        city: str,
        values: Mapping[str, Any],
        state: Mapping[str, Any],
        online: bool,
        mqtt_line: str | None = None,
        modbus_line: str | None = None,
        gateway: str | None = None,
    ) -> None:
        self.info, self.dtype = info, dtype
        self.tabs.setEnabled(True)
        self.title.setText(info.name)
        self.subtitle.setVisible(False)
        self.details.setVisible(True)
        for key, text in (
            ("Id", info.id),
            ("Type", dtype.name),
            ("Owner", f"{info.tenant} · {info.district}"),
            ("Address", info.address),
            ("Hardware", f"{info.vendor} {info.model} · SN {info.serial}"),
            ("Network", f"{info.network} · every {info.report_interval:g} s"),
        ):
            self.detail_labels[key].setText(text)
            self.detail_labels[key].setToolTip(text)
        rows = list(dtype.signals.items())
        state_rows = [(f"state.{n}", v) for n, v in dtype.state.items()]
        self.values.setRowCount(len(rows) + len(state_rows))
        for r, (name, sig) in enumerate(rows):
            self._set_row(r, name, "–", sig.unit)
        for r, (name, var) in enumerate(state_rows, start=len(rows)):
            self._set_row(r, name, "–", var.unit)
        self.signal_combo.blockSignals(True)
        self.signal_combo.clear()
        self.signal_combo.addItems([n for n, s in rows if s.datatype in ("float", "int", "enum", "bool")])
        self.signal_combo.blockSignals(False)
        topics = mqtt_topics(city, info, dtype)
        self.topics.setRowCount(len(topics))
        for r, t in enumerate(topics):
            channel = QTableWidgetItem(t.channel + (" (retained)" if t.retained else ""))
            channel.setToolTip(t.direction)
            self.topics.setItem(r, 0, channel)
            self.topics.setItem(r, 1, QTableWidgetItem(t.topic))
        self.topics.resizeColumnToContents(0)
        regs = modbus_registers(dtype)
        self.registers.setRowCount(len(regs))
        for r, reg in enumerate(regs):
            cells = [
                reg.table,
                reg.address_text,
                reg.name,
                reg.datatype,
                f"×{reg.scale:g}" if reg.scale != 1 else "",
                reg.writes,
            ]
            for c, text in enumerate(cells):
                self.registers.setItem(r, c, QTableWidgetItem(text))
        self.registers.resizeColumnsToContents()
        self.modbus_label.setText(
            f"Modbus registers · type code {dtype.modbus.type_code}, map v{dtype.modbus.map_version}"
            + (f" · {gateway}" if gateway else " · gateway: Modbus endpoint not running")
        )
        for key, command in (("MQTT", mqtt_line), ("Modbus", modbus_line)):
            line, copy = self.reach[key]
            line.setText(command or f"{key} endpoint not running")
            copy.setEnabled(bool(command))
        self.controls.load(info.id, dtype, state, online)
        self.update_live(values, state, online, False)
        self._history_key = ""

    def _set_row(self, r: int, name: str, value: str, unit: str) -> None:
        for c, text in enumerate((name, value, unit)):
            item = QTableWidgetItem(text)
            if c == 1:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.values.setItem(r, c, item)

    # --- live -----------------------------------------------------------------------------
    def update_live(self, values: Mapping[str, Any], state: Mapping[str, Any], online: bool, fault: bool) -> None:
        if self.dtype is None:
            return
        r = 0
        for name in self.dtype.signals:
            if name in values:
                _cell(self.values, r, 1).setText(_fmt(values[name]))
            r += 1
        for name in self.dtype.state:
            if name in state:
                _cell(self.values, r, 1).setText(_fmt(state[name]))
            r += 1
        text, colour = (
            ("FAULT", self.theme.fault)
            if fault
            else (("ONLINE", self.theme.online) if online else ("OFFLINE", self.theme.offline))
        )
        self.badge.setText(text)
        self.badge.setStyleSheet(f"background: {colour};")
        self.controls.update_state(state, online, values)

    def _show_empty(self, why: str | None) -> None:
        """The plot, or (with `why`) a sentence saying why there is nothing to draw."""
        if why is None:
            self.plot_stack.setCurrentWidget(self.plot)
        else:
            self.plot_empty.setText(why)
            self.plot_stack.setCurrentWidget(self.plot_empty)

    def update_history(
        self, history: list[tuple[float, Mapping[str, Any]]], now: float, epoch: Callable[[float], float] = float
    ) -> None:
        name = self.signal_combo.currentText()
        if not name or self.dtype is None:
            self._show_empty("No signal to plot" if self.dtype is not None else "No device selected")
            return
        key = f"{name}:{len(history)}:{history[-1][0] if history else 0}:{int(now) // 60}"
        if key == self._history_key:
            return
        if not self._history_key.startswith(f"{name}:"):
            self._label_axes()  # another signal: its unit and ticks
        self._history_key = key
        sig = self.dtype.signals[name]
        index = {v: i for i, v in enumerate(sig.values or [])}
        xs: list[float] = []
        ys: list[float] = []
        for t, vals in history:
            if t < now - PLOT_WINDOW_S or name not in vals:
                continue
            v = vals[name]
            xs.append(epoch(t))
            ys.append(float(index.get(v, 0)) if isinstance(v, str) else float(v))
        if sig.datatype in DISCRETE:
            # a discrete signal holds its value until the next reading: steps, the last one up to "now"
            self.curve.setData([*xs, epoch(now)] if xs else [], ys, stepMode="center")
        else:
            if xs:  # hold the last value up to "now" so the plot scrolls with the clock
                xs.append(epoch(now))
                ys.append(ys[-1])
            self.curve.setData(xs, ys, stepMode=None)
        hours = PLOT_WINDOW_S / 3600
        self._show_empty(None if xs else f"No readings of {name} in the last {hours:g} hours yet")
        self.plot.setXRange(epoch(max(0.0, now - PLOT_WINDOW_S)), epoch(max(now, 60.0)), padding=0)

    def _copy_line(self, label: QLabel) -> None:
        """Copy a connection line with a client id of its own, and show what was copied."""
        text = with_fresh_client_id(label.text())
        label.setText(text)
        self._copy(text)

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
