"""Command validation against device types, and that a rejected command changes nothing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# --- odd values from the network: validation rejects them and never raises anything else ---------

HUGE = 10**5000  # beyond float range and beyond str()'s 4,300-digit limit
ODD = [
    ("dim", {"level": HUGE}, "an integer of about 5001 digits"),
    ("dim", {"level": -HUGE}, "'level' must be an integer"),
    ("dim", {"level": 10**400}, "'level' must be an integer"),
    ("dim", {"level": float("inf")}, "got inf"),
    ("dim", {"level": float("nan")}, "got nan"),
    ("dim", {"level": {"a": {"b": 1}}}, "got an object of 1 item(s)"),
    ("dim", {"level": [1] * 100_000}, "got an array of 100000 item(s)"),
    ("dim", {"level": "x" * 1_000_000}, "got 'xxxxxxxx"),
    ("dim", {"level": None}, "got None"),
    ("switch", {"on": HUGE}, "'on' must be true or false"),
    ("switch", {"on": {"x": 1}}, "'on' must be true or false"),
    ("set_mode", {"mode": ["auto"]}, "'mode' must be one of"),
    ("set_mode", {"mode": {"auto": 1}}, "'mode' must be one of"),
    ("dim", {"x" * 100_000: 1, "level": 5}, "unknown parameter 'xxx"),
]


@pytest.mark.parametrize(("action", "params", "text"), ODD, ids=[f"{a}-{i}" for i, (a, _, _) in enumerate(ODD)])
def test_odd_values_are_rejected_with_a_short_message(light, action, params, text) -> None:
    with pytest.raises(CommandRejected) as info:
        resolve(light, action, params)
    assert info.value.code == "invalid_params"
    assert text in info.value.message
    assert len(info.value.message) < 200


@pytest.mark.parametrize("action", [None, 5, ["dim"], {"dim": 1}, "x" * 1_000_000])
def test_odd_actions_are_unknown_actions(light, action) -> None:
    with pytest.raises(CommandRejected) as info:
        resolve(light, action, {})
    assert info.value.code == "unknown_action" and len(info.value.message) < 200


@pytest.mark.parametrize(
    ("value", "ok"),
    [(22, True), (0.5, True), (22.0001, False), (True, False), (float("-inf"), False), (2**60, False), (-1, False)],
)
def test_float_parameter_bounds_and_odd_values(catalog: Catalog, value, ok) -> None:
    charger = catalog.types["ev-charger"]
    if ok:
        assert resolve(charger, "set_power_limit", {"limit": value}) == {"power_limit_kw": value}
    else:
        with pytest.raises(CommandRejected):
            resolve(charger, "set_power_limit", {"limit": value})


JSON_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    action=st.sampled_from(["dim", "switch", "set_mode", "explode"]) | JSON_LIKE,
    params=st.dictionaries(st.sampled_from(["level", "on", "mode", "x"]) | st.text(max_size=8), JSON_LIKE, max_size=4)
    | JSON_LIKE,
)
def test_resolve_raises_only_command_rejected(light, action, params) -> None:
    try:
        updates = resolve(light, action, params)
    except CommandRejected as exc:
        assert exc.code in ("unknown_action", "invalid_params") and len(exc.message) < 300
        return
    # accepted: only values within the device type's schema reach the state
    assert set(updates) <= {"level", "on", "mode"}
    level = updates.get("level")
    assert level is None or (type(level) is int and 0 <= level <= 100)


def test_odd_command_in_the_world_changes_nothing(small_scenario: Scenario, catalog: Catalog) -> None:
    world = World(small_scenario, catalog)
    world.run(60)
    before = world.snapshot(["l-0001"])["l-0001"]
    for i, (action, params, _) in enumerate(ODD):
        result = world.execute(DeviceCommand("l-0001", action, params, id=f"odd-{i}"))
        assert result is not None and not result.ok and result.error_code == "invalid_params"
    after = world.snapshot(["l-0001"])["l-0001"]
    assert (before.state, before.values, before.seq) == (after.state, after.values, after.seq)
