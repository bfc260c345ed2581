"""Sandbox devices in the core: created and deleted at run time, in the trace, deterministic."""

from __future__ import annotations

from typing import Any

from smartzone.core.commands import DeviceCommand
from smartzone.core.events import DeviceAdded, DeviceRemoved, Event, Reading, SandboxResult
from smartzone.core.sandbox import AddDevice, RemoveDevice, ResetSandbox
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.scenario import Scenario


def _world(sc: Scenario, catalog: Catalog) -> tuple[World, list[Event]]:
    world = World(sc, catalog)
    events: list[Event] = []
    world.bus.subscribe(events.append)
    world.start()
    return world, events


def _results(events: list[Event]) -> list[SandboxResult]:
    return [e for e in events if isinstance(e, SandboxResult)]


def test_added_device_reports_takes_commands_and_is_removed(sandbox_scenario: Scenario, catalog: Catalog) -> None:
    world, events = _world(sandbox_scenario, catalog)
    world.run(600)
    world.execute(AddDevice("lab-a", "a-light-1", "street-light", "porto", source="test"))
    assert [type(e) for e in events[-2:]] == [DeviceAdded, SandboxResult]
    assert _results(events)[-1].ok and world.devices["a-light-1"].info.district == "porto"
    world.run(3 * 3600)
    assert any(isinstance(e, Reading) and e.device == "a-light-1" for e in events)
    result = world.execute(DeviceCommand("a-light-1", "dim", {"level": 30}))
    assert result is None or result.ok  # a command crosses the downlink; the ack follows
    world.run(3 * 3600 + 60)
    world.execute(RemoveDevice("lab-a", "a-light-1"))
    assert "a-light-1" not in world.devices
    assert isinstance(events[-2], DeviceRemoved) and _results(events)[-1].ok
    n = len(events)
    world.run(6 * 3600)
    assert not any(getattr(e, "device", None) == "a-light-1" for e in events[n + 5 :])


def _refusal(world: World, events: list[Event], command: Any) -> tuple[str | None, int]:
    before = set(world.devices)
    world.execute(command)
    assert set(world.devices) == before, "a refused request changed nothing"
    result = _results(events)[-1]
    assert not result.ok
    return result.error_code, len(world.devices)


def test_bad_requests_change_nothing(sandbox_scenario: Scenario, catalog: Catalog) -> None:
    world, events = _world(sandbox_scenario, catalog)
    assert _refusal(world, events, AddDevice("lab-a", "x1", "no-such-type"))[0] == "unknown_type"
    assert _refusal(world, events, AddDevice("lab-a", "cp-0001", "parking-spot"))[0] == "duplicate"
    assert _refusal(world, events, AddDevice("comune", "x1", "parking-spot"))[0] == "forbidden"
    assert _refusal(world, events, AddDevice("lab-a", "x1", "parking-spot", "nowhere"))[0] == "invalid_params"
    assert _refusal(world, events, AddDevice("lab-a", "Bad_Id", "parking-spot"))[0] == "invalid_params"
    assert _refusal(world, events, AddDevice("lab-a", "x1", "parking-spot", lat=44.0))[0] == "invalid_params"
    assert _refusal(world, events, RemoveDevice("lab-a", "lb-0001"))[0] == "not_found"
    assert _refusal(world, events, RemoveDevice("lab-b", "cp-0001"))[0] == "not_found"


def test_device_quota_and_reset_of_one_owner_only(sandbox_scenario: Scenario, catalog: Catalog) -> None:
    world, events = _world(sandbox_scenario, catalog)
    for i in (1, 2):
        world.execute(AddDevice("lab-a", f"a{i}", "parking-spot"))
    world.execute(AddDevice("lab-b", "b1", "parking-spot"))
    assert _refusal(world, events, AddDevice("lab-a", "a3", "parking-spot"))[0] == "quota_exceeded"
    world.execute(ResetSandbox("lab-a", "r1"))
    reset = _results(events)[-1]
    assert reset.ok and reset.devices == ("a1", "a2") and reset.request == "r1"
    assert "b1" in world.devices and "lb-0001" in world.devices and "a1" not in world.devices


def _trace(sc: Scenario, catalog: Catalog) -> list[dict[str, Any]]:
    world, events = _world(sc, catalog)
    world.run(1800)
    world.execute(AddDevice("lab-a", "a1", "street-light"))
    world.execute(AddDevice("lab-b", "b1", "parking-spot", "centro", 44.495, 11.34))
    world.run(4 * 3600)
    world.execute(RemoveDevice("lab-b", "b1"))
    world.run(8 * 3600)
    return [e.record() for e in events]


def test_same_requests_at_same_times_give_the_same_trace(sandbox_scenario: Scenario, catalog: Catalog) -> None:
    first = _trace(sandbox_scenario, catalog)
    assert first == _trace(sandbox_scenario, catalog)
    kinds = {r["kind"] for r in first}
    assert {"device_added", "device_removed", "sandbox"} <= kinds
