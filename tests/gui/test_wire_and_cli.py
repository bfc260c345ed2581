"""Wire facts shown in the inspector, and the `smartzone gui` command's guard rails."""

from __future__ import annotations

from typing import Any

import pytest
from smartzone_gui.wire import modbus_registers, mqtt_topics

from smartzone.cli import gui_cmd, main
from smartzone.core.device import DeviceInfo


def test_street_light_registers_follow_the_declared_order(catalog: Any) -> None:
    regs = {(r.table, r.name): r for r in modbus_registers(catalog.types["street-light"])}
    assert regs[("input", "type code")].address == 0
    assert regs[("input", "level")].address == 10
    assert regs[("input", "power")].address == 11 and regs[("input", "power")].scale == 10
    energy = regs[("input", "energy")]
    assert energy.address == 12 and energy.address_text == "12-13"
    assert regs[("holding", "state.level")].address == 0 and regs[("holding", "state.level")].writes == "dim(level)"
    assert regs[("coils", "state.on")].address == 0 and regs[("coils", "state.on")].writes == "switch(on)"
    assert not regs[("input", "level")].writable


def test_topics_of_a_sensor_have_no_command_channel(catalog: Any) -> None:
    info = DeviceInfo("p-0001", "parking-spot", "comune", "centro", "P", 0, 0, "", "", "", "", "lora", 3600)
    topics = {t.channel: t for t in mqtt_topics("testville", info, catalog.types["parking-spot"])}
    assert topics["telemetry"].topic == "sz/v2/testville/comune/parking-spot/p-0001/telemetry"
    assert topics["status"].retained and "cmd" not in topics and "state" not in topics


def test_gui_without_pyside_says_what_to_install(monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setattr(gui_cmd, "gui_available", lambda: False)
    assert main(["gui", "testville"]) == 2
    err = capsys.readouterr().err
    assert "install smartzone[gui]" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["gui", "--speed", "0"], ["gui", "--seed", "-1"]])
def test_gui_bad_options_exit_2(argv: list[str], capsys: Any) -> None:
    assert main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err
