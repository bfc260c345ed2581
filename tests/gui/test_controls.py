"""Controls generated from every shipped device type send only commands the type accepts."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QPushButton, QSlider
from smartzone_gui.controls import ControlPanel

from smartzone.core.commands import DeviceCommand, resolve
from smartzone.definitions.catalog import Catalog

ACTUATORS = [t for t, d in Catalog.builtin().types.items() if d.commands]


@pytest.mark.parametrize("type_name", ACTUATORS)
def test_every_command_gets_a_widget_and_sends_valid_params(type_name: str, catalog: Any, qtbot: Any) -> None:
    dtype = catalog.types[type_name]
    sent: list[Any] = []
    panel = ControlPanel(sent.append)
    qtbot.addWidget(panel)
    panel.load("dev-1", dtype, {n: v.default for n, v in dtype.state.items()}, True)
    assert set(panel.editors) == set(dtype.commands)
    for action, command in dtype.commands.items():
        for name, spec in command.params.items():
            widget = panel.editors[action][name].widget
            expected = {"bool": QCheckBox, "enum": QComboBox}.get(spec.type)
            if expected is None:
                expected = QSlider if spec.type == "int" and spec.min is not None else QDoubleSpinBox
            assert isinstance(widget, expected), (action, name)
        panel.send_from_editors(action)
    commands = [c for c in sent if isinstance(c, DeviceCommand)]
    assert [c.action for c in commands] == list(dtype.commands)
    for c in commands:
        assert c.source == "gui" and c.device == "dev-1" and c.id
        resolve(dtype, c.action, c.params)  # raises CommandRejected if the GUI built a bad command


def test_a_float_parameter_has_a_send_button(catalog: Any, qtbot: Any) -> None:
    sent: list[Any] = []
    panel = ControlPanel(sent.append)
    qtbot.addWidget(panel)
    dtype = catalog.types["ev-charger"]
    panel.load("ev-1", dtype, {n: v.default for n, v in dtype.state.items()}, True)
    spin = panel.editors["set_power_limit"]["limit"].widget
    spin.setValue(7.4)
    row = spin.parentWidget()
    send = next(b for b in row.findChildren(QPushButton) if b.text() == "Send")
    send.click()
    assert sent[-1].action == "set_power_limit" and sent[-1].params == {"limit": 7.4}


def test_state_updates_move_the_widgets_without_sending(catalog: Any, qtbot: Any) -> None:
    sent: list[Any] = []
    panel = ControlPanel(sent.append)
    qtbot.addWidget(panel)
    dtype = catalog.types["street-light"]
    panel.load("l-1", dtype, {"mode": "auto", "on": False, "level": 100}, True)
    panel.update_state({"mode": "manual", "on": True, "level": 25}, True)
    assert panel.editors["dim"]["level"].widget.value() == 25
    assert panel.editors["switch"]["on"].widget.isChecked()
    assert panel.editors["set_mode"]["mode"].widget.currentText() == "manual"
    assert sent == []
