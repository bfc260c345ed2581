"""Bridged (real) devices in the model: readings as inputs, commands out and their answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartzone.core.bridged import BridgedAnswer, BridgedCommand, BridgedReading
from smartzone.core.commands import DeviceCommand, SetOnline
from smartzone.core.events import CommandResult, Event, Reading, StateChanged
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog, load_scenario

CITY = Path(__file__).parents[1] / "fixtures" / "bridged" / "bridged-city.yaml"


@pytest.fixture
def world() -> World:
    catalog = Catalog.builtin().copy()
    return World(load_scenario(CITY, catalog), catalog, network=False)


def record(world: World) -> list[Event]:
    events: list[Event] = []
    world.bus.subscribe(events.append)
    return events


def test_a_reading_goes_out_as_the_devices_reading_with_its_own_seq(world: World) -> None:
    events = record(world)
    world.start()
    world.execute(SetOnline("pm3-real-mqtt", True, "real device reached"))
    world.execute(BridgedReading("pm3-real-mqtt", {"voltage": 231.04, "current": 3.2}, {"relay": False}))
    world.execute(BridgedReading("pm3-real-mqtt", {"current": 3.3}))
    readings = [e for e in events if isinstance(e, Reading) and e.device == "pm3-real-mqtt"]
    assert [r.seq for r in readings] == [1, 2]
    assert readings[0].values == {"voltage": 231.0, "current": 3.2}  # the type's decimals
    assert readings[1].values == {"voltage": 231.0, "current": 3.3}  # the last value of each signal is kept
    assert [e.values for e in events if isinstance(e, StateChanged)] == [{"relay": False}]


def test_an_unreached_device_sends_nothing_and_refuses_commands(world: World) -> None:
    events = record(world)
    world.start()
    world.execute(BridgedReading("pm3-real-modbus", {"current": 1.0}))
    result = world.execute(DeviceCommand("pm3-real-modbus", "set_relay", {"closed": False}, id="c1"))
    assert not [e for e in events if isinstance(e, Reading)]
    assert isinstance(result, CommandResult) and result.error_code == "device_offline"


def test_a_command_waits_for_the_real_devices_answer(world: World) -> None:
    events = record(world)
    world.start()
    world.execute(SetOnline("pm3-real-modbus", True, "reached"))
    results: list[CommandResult | None] = []
    world.execute(DeviceCommand("pm3-real-modbus", "set_relay", {"closed": False}, id="c1"), results.append)
    out = [e for e in events if isinstance(e, BridgedCommand)]
    assert [(e.ref, e.command_id, e.action, dict(e.params)) for e in out] == [(1, "c1", "set_relay", {"closed": False})]
    assert results == []  # no ack before the real device answered
    world.execute(BridgedAnswer("pm3-real-modbus", 1, True))
    assert len(results) == 1 and results[0] is not None and results[0].ok and results[0].state == {"relay": False}
    world.execute(BridgedAnswer("pm3-real-modbus", 1, False, "timeout", "late"))  # a second answer: ignored
    assert len([e for e in events if isinstance(e, CommandResult)]) == 1


def test_no_answer_is_a_timeout_ack_and_changes_nothing(world: World) -> None:
    world.start()
    world.execute(SetOnline("pm3-real-modbus", True, "reached"))
    results: list[CommandResult | None] = []
    world.execute(DeviceCommand("pm3-real-modbus", "set_relay", {"closed": False}, id="c2"), results.append)
    world.execute(BridgedAnswer("pm3-real-modbus", 1, False, "timeout", "no answer within 1 s"))
    assert results[0] is not None and (results[0].ok, results[0].error_code) == (False, "timeout")
    assert world.snapshot(["pm3-real-modbus"])["pm3-real-modbus"].state == {"relay": True}


def test_invalid_params_are_refused_before_the_real_device_sees_them(world: World) -> None:
    events = record(world)
    world.start()
    world.execute(SetOnline("pm3-real-modbus", True, "reached"))
    result = world.execute(DeviceCommand("pm3-real-modbus", "set_relay", {"closed": 3}, id="c3"))
    assert isinstance(result, CommandResult) and result.error_code == "invalid_params"
    assert not [e for e in events if isinstance(e, BridgedCommand)]


def test_real_devices_do_not_change_the_simulated_ones() -> None:
    catalog = Catalog.builtin().copy()
    sc = load_scenario(CITY, catalog)
    with_real = World(sc, catalog)
    without = World(sc.model_copy(update={"bridged_devices": []}), catalog)
    for w in (with_real, without):
        w.run(6 * 3600)
    assert with_real.snapshot(["em-0001"]) == without.snapshot(["em-0001"])


def test_a_real_device_over_lora_sf12_crosses_the_simulated_link() -> None:
    catalog = Catalog.builtin().copy()
    sc = load_scenario(CITY, catalog)
    lora = [d.model_copy(update={"network": "lorawan-sf12"}) for d in sc.bridged_devices]
    world = World(sc.model_copy(update={"bridged_devices": lora}), catalog)
    events = record(world)
    world.start()
    world.execute(SetOnline("pm3-real-mqtt", True, "reached"))
    world.execute(BridgedReading("pm3-real-mqtt", {"current": 1.0}))
    world.execute(BridgedReading("pm3-real-mqtt", {"current": 2.0}))  # within the 1 % duty cycle: not sent
    world.run(600)
    readings = [e for e in events if isinstance(e, Reading) and e.device == "pm3-real-mqtt"]
    assert len(readings) <= 1
    assert all(r.t > r.measured_at for r in readings)  # time on air and the network server's delay
    assert world.snapshot(["pm3-real-mqtt"])["pm3-real-mqtt"].seq == 1
