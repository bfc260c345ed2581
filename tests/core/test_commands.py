"""Command validation against device types, and that a rejected command changes nothing."""

from __future__ import annotations

import pytest

from smartzone.core.commands import CommandRejected, DeviceCommand, SetOnline, resolve
from smartzone.core.events import CommandResult, StateChanged
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.scenario import Scenario


@pytest.fixture
def light(catalog: Catalog):
    return catalog.types["street-light"]


def test_dim_sets_level_on_and_manual(light) -> None:
    assert resolve(light, "dim", {"level": 40}) == {"level": 40, "on": True, "mode": "manual"}


def test_integral_float_is_accepted_for_int(light) -> None:
    assert resolve(light, "dim", {"level": 40.0})["level"] == 40


@pytest.mark.parametrize(
    ("action", "params", "code", "text"),
    [
        ("explode", {}, "unknown_action", "unknown action 'explode' for street-light; known: dim, set_mode, switch"),
        ("dim", {"level": 140}, "invalid_params", "'level' must be an integer from 0 to 100, got 140"),
        ("dim", {"level": 4.5}, "invalid_params", "'level' must be an integer from 0 to 100, got 4.5"),
        ("dim", {"level": True}, "invalid_params", "'level' must be an integer"),
        ("dim", {}, "invalid_params", "missing parameter 'level'"),
        ("dim", {"level": 5, "x": 1}, "invalid_params", "unknown parameter 'x'; allowed: level"),
        ("dim", [1], "invalid_params", "'params' must be an object"),
        ("switch", {"on": 1}, "invalid_params", "'on' must be true or false, got 1"),
        ("set_mode", {"mode": "party"}, "invalid_params", "'mode' must be one of ['auto', 'manual'], got 'party'"),
    ],
)
def test_rejections_name_the_parameter_and_range(light, action, params, code, text) -> None:
    with pytest.raises(CommandRejected) as info:
        resolve(light, action, params)
    assert info.value.code == code
    assert text in info.value.message


def test_rejected_command_changes_nothing(small_scenario: Scenario, catalog: Catalog) -> None:
    world = World(small_scenario, catalog)
    events: list = []
    world.bus.subscribe(events.append, (StateChanged, CommandResult))
    world.run(600)
    before = world.snapshot(["l-0001"])["l-0001"]
    result = world.execute(DeviceCommand("l-0001", "dim", {"level": 101}, id="c1"))
    after = world.snapshot(["l-0001"])["l-0001"]
    assert result is not None and not result.ok and result.error_code == "invalid_params"
    assert (before.state, before.values, before.seq) == (after.state, after.values, after.seq)
    assert [type(e) for e in events] == [CommandResult]


def test_accepted_command_publishes_state_and_result(small_scenario: Scenario, catalog: Catalog) -> None:
    world = World(small_scenario, catalog, network=False)  # downlink delay: tests/core/test_network_commands.py
    events: list = []
    world.bus.subscribe(events.append, (StateChanged, CommandResult))
    world.run(600)
    result = world.execute(DeviceCommand("l-0001", "dim", {"level": 30}, id="c2", source="test"))
    assert result is not None and result.ok and result.state["level"] == 30
    assert isinstance(events[0], StateChanged) and events[0].cause == "test:c2"
    assert world.devices["l-0001"].values["level"] == 30
    assert world.devices["l-0001"].values["power"] < 40


def test_offline_device_rejects_commands(small_scenario: Scenario, catalog: Catalog) -> None:
    world = World(small_scenario, catalog)
    world.run(60)
    world.execute(SetOnline("l-0002", False, "test"))
    result = world.execute(DeviceCommand("l-0002", "dim", {"level": 30}))
    assert result is not None and result.error_code == "device_offline"
    assert world.devices["l-0002"].state["mode"] == "auto"
