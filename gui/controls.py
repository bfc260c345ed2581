"""Actuator controls generated from a device type's commands, and fault injection.

Each command becomes a row: a bool parameter is a switch, an int range a slider, an enum a
combo box, a float a spin box; single-parameter commands send on interaction, others have a
Send button. Every action is a DeviceCommand(source="gui") or SetOnline sent through the
runtime; the widgets follow the device's live state, never the other way round.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)
from smartzone_gui.pending import PendingCommands

from smartzone.core.commands import DeviceCommand, SetOnline
from smartzone.core.events import CommandResult
from smartzone.core.faults.commands import ClearFault, FaultCommand, InjectFault
from smartzone.definitions.device_type import Command, DeviceType, Param

Submit = Callable[[DeviceCommand | SetOnline | FaultCommand], Any]


def _nothing() -> None:
    """The change callback of an editor that sends nothing on its own (a command with several parameters)."""


_ids = itertools.count(1)
DEBOUNCE_MS = 300  # a slider's clicks, wheel and key steps within this window become one command


class ParamEditor:
    """One parameter's widget, with get/set and a 'changed by the user' hook."""

    def __init__(self, name: str, spec: Param, on_commit: Callable[[], None]) -> None:
        self.name, self.spec = name, spec
        self._on_commit = on_commit
        self._shown: Any = None  # the value the widget last showed from the device or last sent
        self.widget: QWidget
        self.value_label: QLabel | None = None
        if spec.type == "bool":
            box = QCheckBox("on")
            box.clicked.connect(lambda _checked: on_commit())
            self.widget = box
        elif spec.type == "enum":
            combo = QComboBox()
            combo.addItems(spec.values or [])
            combo.activated.connect(lambda _i: on_commit())
            self.widget = combo
        elif spec.type == "int" and spec.min is not None and spec.max is not None:
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(int(spec.min), int(spec.max))
            slider.setPageStep(max(1, int((spec.max - spec.min) / 10)))
            self.value_label = QLabel(f"{slider.value()} {spec.unit}".strip())
            self.value_label.setMinimumWidth(48)
            slider.valueChanged.connect(lambda v: self.value_label.setText(f"{v} {spec.unit}".strip()))  # type: ignore[union-attr]
            # One user action, one command: a drag sends on release; a track click, the wheel or
            # the keys restart a short timer, so a burst of steps (or a click that Qt reports both
            # as a page step and as a press/release) becomes one command with the final value.
            self._debounce = QTimer(slider)
            self._debounce.setSingleShot(True)
            self._debounce.setInterval(DEBOUNCE_MS)
            self._debounce.timeout.connect(self._commit_if_moved)
            slider.sliderReleased.connect(self._commit_if_moved)
            slider.actionTriggered.connect(lambda _a: None if slider.isSliderDown() else self._debounce.start())
            self._press = _PressWatch(slider, self._debounce)  # a held track click waits for its release
            slider.installEventFilter(self._press)
            self.widget = slider
        else:
            spin = QDoubleSpinBox()
            spin.setDecimals(0 if spec.type == "int" else 2)
            spin.setRange(spec.min if spec.min is not None else -1e9, spec.max if spec.max is not None else 1e9)
            spin.setSuffix(f" {spec.unit}" if spec.unit else "")
            self.widget = spin

    def _commit_if_moved(self) -> None:
        """Send the slider's value once, unless it is what the device already has (or was sent)."""
        self._debounce.stop()
        if self._press.pressed:
            return  # the mouse is still down on the track (page steps repeat): the release sends
        value = self.get()
        if value != self._shown:
            self._shown = value
            self._on_commit()

    def get(self) -> Any:
        w = self.widget
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            return w.currentText()
        if isinstance(w, QSlider):
            return w.value()
        assert isinstance(w, QDoubleSpinBox)
        return int(w.value()) if self.spec.type == "int" else w.value()

    def set(self, value: Any) -> None:
        w = self.widget
        if isinstance(w, QSlider) and w.isSliderDown():
            return  # never fight the user's hand
        w.blockSignals(True)
        try:
            if isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, QComboBox):
                w.setCurrentText(str(value))
            elif isinstance(w, QSlider):
                if self._debounce.isActive():
                    return  # the user's step is about to be sent: do not snap back to the old value
                w.setValue(int(value))
                self._shown = int(value)
                if self.value_label is not None:
                    self.value_label.setText(f"{int(value)} {self.spec.unit}".strip())
            elif isinstance(w, QDoubleSpinBox):
                w.setValue(float(value))
        finally:
            w.blockSignals(False)


class _PressWatch(QObject):
    """Whether the mouse button is down on a slider; its release (re)starts the send timer."""

    def __init__(self, slider: QSlider, debounce: QTimer) -> None:
        super().__init__(slider)
        self.pressed = False
        self._debounce = debounce

    def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.MouseButtonPress:
            self.pressed = True
        elif event.type() == QEvent.Type.MouseButtonRelease:
            self.pressed = False
            self._debounce.start()
        return False


class ControlPanel(QWidget):
    """Commands and faults for one device; rebuilt when the selection changes."""

    def __init__(self, submit: Submit) -> None:
        super().__init__()
        self._submit = submit
        self.device: str | None = None
        self.dtype: DeviceType | None = None
        self.editors: dict[str, dict[str, ParamEditor]] = {}
        self._feeds: list[tuple[str, ParamEditor]] = []  # (state var, editor) kept in sync with the device
        self.online = True
        self.fault_buttons: dict[str, QPushButton] = {}
        self.sent: list[tuple[str, dict[str, Any]]] = []  # what this panel sent for its device (tests, history)
        self._pending = PendingCommands()  # commands sent from here, until they settle or time out
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(8, 8, 8, 8)
        self._layout.setSpacing(10)
        self._no_button = QPushButton("Take offline", self)  # stands in for the button while no device is shown
        self._no_button.hide()
        self.online_button = self._no_button
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setProperty("muted", True)

    def load(self, device: str | None, dtype: DeviceType | None, state: Mapping[str, Any], online: bool) -> None:
        """Rebuild the rows for `device` (None: an empty panel after a new city was opened)."""
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None and widget is not self.result_label:
                widget.hide()  # at once: deleteLater waits for the event loop, the old rows must not show
                widget.deleteLater()
        self.device, self.dtype, self.editors, self._feeds = device, dtype, {}, []
        self.fault_buttons = {}
        self._pending.clear()
        self.sent = []
        if dtype is None:
            self.online_button = self._no_button  # the old one is being deleted; update_state stays safe
            note = QLabel("No device selected.")
            note.setProperty("muted", True)
            self._layout.addWidget(note)
            self._layout.addWidget(self.result_label)
            self._layout.addStretch(1)
            self.result_label.setText("")
            return
        if dtype.commands:
            box = QGroupBox("Commands")
            form = QFormLayout(box)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
            form.setHorizontalSpacing(12)
            form.setVerticalSpacing(10)
            for name, command in dtype.commands.items():
                form.addRow(self._label(name, command), self._row(name, command))
            self._layout.addWidget(box)
        else:
            note = QLabel("This device is a sensor: it takes no commands.")
            note.setProperty("muted", True)
            self._layout.addWidget(note)
        self._layout.addWidget(self._faults_box(dtype))
        self._layout.addWidget(self.result_label)
        self._layout.addStretch(1)
        self.result_label.setText("")
        self.update_state(state, online)

    def _label(self, name: str, command: Command) -> QLabel:
        label = QLabel(name.replace("_", " "))
        label.setToolTip(command.description)
        return label

    def _row(self, action: str, command: Command) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        editors: dict[str, ParamEditor] = {}
        single = len(command.params) == 1
        for pname, spec in command.params.items():
            send: Callable[[], None] = functools.partial(self.send_from_editors, action) if single else _nothing
            ed = ParamEditor(pname, spec, send)
            editors[pname] = ed
            if not single:
                layout.addWidget(QLabel(pname))
            layout.addWidget(ed.widget, 1)
            if ed.value_label is not None:
                layout.addWidget(ed.value_label)
            for var, src in command.set.items():
                if src == f"param.{pname}":
                    self._feeds.append((var, ed))
        spin = any(isinstance(ed.widget, QDoubleSpinBox) for ed in editors.values())
        if not single or spin:  # a spin box is typed into: send it explicitly
            button = QPushButton("Send" if command.params else action.replace("_", " ").capitalize())
            button.clicked.connect(lambda _c=False, a=action: self.send_from_editors(a))
            layout.addWidget(button)
        self.editors[action] = editors
        return row

    def _faults_box(self, dtype: DeviceType) -> QGroupBox:
        box = QGroupBox("Fault injection")
        layout = QVBoxLayout(box)
        self.online_button = QPushButton("Take offline")
        self.online_button.setToolTip("Switch the device off the network (SetOnline) until brought back")
        self.online_button.clicked.connect(self.toggle_online)
        layout.addWidget(self.online_button)
        for name, fault in dtype.faults.items():
            b = QPushButton()
            b.setCheckable(True)
            b.setToolTip(fault.description or f"{fault.effect} fault declared by {dtype.type}")
            b.clicked.connect(lambda checked, n=name: self.set_fault(n, checked))
            layout.addWidget(b)
            self.fault_buttons[name] = b
        self.update_faults(set())
        return box

    # --- actions --------------------------------------------------------------------------
    def send(self, action: str, params: Mapping[str, Any]) -> None:
        if self.device is None:
            return
        cid = f"gui-{next(_ids)}"
        future = self._submit(DeviceCommand(self.device, action, dict(params), id=cid, source="gui"))
        self._pending.add(action, future, key=cid)
        self.sent.append((action, dict(params)))
        self.result_label.setText(f"sent {action} {_fmt(params)} …")

    def send_from_editors(self, action: str) -> None:
        self.send(action, {n: ed.get() for n, ed in self.editors.get(action, {}).items()})

    def toggle_online(self) -> None:
        if self.device is not None:
            what = "bring online" if not self.online else "take offline"
            self._pending.add(what, self._submit(SetOnline(self.device, not self.online, reason="gui")))
            self.result_label.setText(f"sent {what} …")

    def clear(self) -> None:
        """Forget the device (a new city was opened): no controls, nothing pending."""
        self.load(None, None, {}, True)

    def set_fault(self, fault: str, active: bool) -> None:
        """Inject (or clear) a fault the device type declares; the button follows the bus."""
        if self.device is None:
            return
        cmd = InjectFault(self.device, fault, source="gui") if active else ClearFault(self.device, fault, "gui")
        self._pending.add(f"{'inject' if active else 'clear'} {fault}", self._submit(cmd))
        self.result_label.setText(f"sent {'inject' if active else 'clear'} {fault} …")

    def poll(self) -> None:
        """Show the outcome of fault commands whose future is done (GUI thread, per frame)."""
        text = self._pending.poll()
        if text is not None:
            self.result_label.setText(text)

    def update_faults(self, active: set[str]) -> None:
        for name, b in self.fault_buttons.items():
            on = name in active
            b.setChecked(on)
            effect = self.dtype.faults[name].effect if self.dtype else ""
            label = name.replace("_", " ")
            detail = "" if effect == name else f" ({effect})"
            b.setText(f"{'Clear' if on else 'Inject'} {label} fault{detail}")

    # --- following the device -------------------------------------------------------------
    def update_state(self, state: Mapping[str, Any], online: bool, values: Mapping[str, Any] | None = None) -> None:
        """Move the widgets to the device's real state, without sending anything.

        A signal named like the state variable (a street light's `level` reading) is what the
        device really does (in auto mode the lamp follows dusk and dawn, not the last command),
        so it wins over the commanded state variable.
        """
        self.online = online
        self.online_button.setText("Take offline" if online else "Bring online")
        for var, ed in self._feeds:
            if values is not None and var in values and values[var] is not None:
                ed.set(values[var])
            elif var in state:
                ed.set(state[var])

    def show_result(self, result: CommandResult) -> None:
        self._pending.settle(result.command_id)
        if result.ok:
            self.result_label.setText(f"✓ {result.action} applied · state {_fmt(result.state)}")
        else:
            self.result_label.setText(f"✗ {result.action} rejected ({result.error_code}): {result.error_message}")


def _fmt(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())
