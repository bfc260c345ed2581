"""Controls generated from every shipped device type send only commands the type accepts."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QPushButton, QSlider
from smartzone_gui.controls import DEBOUNCE_MS, ControlPanel

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


def _light_panel(catalog: Any, qtbot: Any) -> tuple[ControlPanel, QSlider, list[Any]]:
    sent: list[Any] = []
    panel = ControlPanel(sent.append)
    qtbot.addWidget(panel)
    panel.load("l-1", catalog.types["street-light"], {"mode": "auto", "on": False, "level": 100}, True)
    panel.resize(420, 400)
    panel.show()
    qtbot.waitExposed(panel)
    return panel, panel.editors["dim"]["level"].widget, sent


def _dims(sent: list[Any]) -> list[int]:
    return [c.params["level"] for c in sent if isinstance(c, DeviceCommand) and c.action == "dim"]


def test_a_click_on_the_slider_track_sends_exactly_one_command(catalog: Any, qtbot: Any) -> None:
    panel, slider, sent = _light_panel(catalog, qtbot)
    slider.setValue(50)  # as if the device were at 50 %: the handle sits in the middle
    panel.editors["dim"]["level"]._shown = 50
    track = QPoint(slider.width() - 4, slider.height() // 2)
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=track)
    qtbot.wait(700)  # a slow click: Qt auto-repeats the page step after 500 ms
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=track)
    qtbot.waitUntil(lambda: len(_dims(sent)) == 1, timeout=5000)
    qtbot.wait(2 * DEBOUNCE_MS)  # nothing else follows (a page step, its repeats, a press and a release)
    assert len(_dims(sent)) == 1 and _dims(sent)[0] == slider.value() != 50


def test_a_burst_of_key_steps_sends_one_command_with_the_final_value(catalog: Any, qtbot: Any) -> None:
    _panel, slider, sent = _light_panel(catalog, qtbot)
    slider.setFocus()
    for _ in range(5):
        qtbot.keyClick(slider, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: len(_dims(sent)) == 1, timeout=5000)
    qtbot.wait(2 * DEBOUNCE_MS)
    assert _dims(sent) == [95]


def test_a_drag_sends_once_on_release_and_not_when_unchanged(catalog: Any, qtbot: Any) -> None:
    panel, slider, sent = _light_panel(catalog, qtbot)
    slider.setSliderDown(True)
    for v in (90, 70, 40):
        slider.setSliderPosition(v)
    panel.update_state({"level": 100}, True)  # a reading arriving mid-drag does not move the handle
    assert _dims(sent) == [] and slider.value() == 40
    slider.setSliderDown(False)  # release
    assert _dims(sent) == [40]
    slider.setSliderDown(True)
    slider.setSliderDown(False)  # a click on the handle that moves nothing sends nothing
    assert _dims(sent) == [40]


def test_the_controls_show_the_real_level_not_the_commanded_one(catalog: Any, qtbot: Any) -> None:
    panel, slider, sent = _light_panel(catalog, qtbot)
    panel.update_state({"mode": "auto", "on": True, "level": 100}, True, {"level": 60, "power": 57.0})
    assert slider.value() == 60  # auto mode at night: the lamp burns at 60 % whatever was last commanded
    panel.update_state({"mode": "auto", "on": True, "level": 100}, True, {"power": 57.0})
    assert slider.value() == 100  # no reading of the level: the state variable is the best we know
    assert sent == []


def test_clearing_the_panel_leaves_no_controls_and_stays_usable(catalog: Any, qtbot: Any) -> None:
    panel, _slider, sent = _light_panel(catalog, qtbot)
    for _ in range(3):  # a new city, again and again: nothing piles up
        panel.clear()
        qtbot.wait(1)  # let deleteLater run
        assert panel.device is None and panel.editors == {} and panel.fault_buttons == {}
        assert not [b for b in panel.findChildren(QPushButton) if b.isVisibleTo(panel)]
        panel.update_state({"level": 10}, False)  # a late frame for the old device is harmless
        panel.toggle_online()
        panel.load("l-1", catalog.types["street-light"], {"level": 100}, True)
    assert len(panel.findChildren(QPushButton)) <= 6 and sent == []
