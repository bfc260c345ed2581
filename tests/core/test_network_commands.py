"""Commands cross the device's downlink: late on NB-IoT, retried when lost, acked when applied."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from netkit import scenario_with

from smartzone.core.commands import DeviceCommand, SetOnline
from smartzone.core.events import CommandResult, StateChanged
from smartzone.core.faults import DegradeLink
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog
from smartzone.runtime.api import Runtime


def _lights(tmp_path: Path, catalog: Catalog, network: str, **networks: object) -> World:
    sc = scenario_with(
        tmp_path,
        catalog,
        fleets=[{"type": "street-light", "tenant": "comune", "count": 3, "id_prefix": "l", "network": network}],
        networks=networks or {},
    )
    return World(sc, catalog)


def _command_delays(world: World, n: int) -> list[float]:
    delays: list[float] = []
    for i in range(n):
        sent = world.now
        results: list[CommandResult | None] = []
        assert world.execute(DeviceCommand("l-0001", "dim", {"level": 10 + i % 80}, id=f"c{i}"), results.append) is None
        assert results == []  # not applied yet: it is on its way
        world.run(sent + 120.0)
        assert len(results) == 1 and results[0] is not None and results[0].ok
        delays.append(results[0].t - sent)
    return delays


def test_nbiot_command_arrives_seconds_late(tmp_path: Path, catalog: Catalog) -> None:
    world = _lights(tmp_path, catalog, "nbiot")
    world.run(60)
    delays = _command_delays(world, 200)
    # DRX paging (up to 10.24 s) + ~0.8 s network latency
    assert min(delays) > 0.0 and max(delays) < 10.24 + 10.0 + 1.0
    assert 4.0 < statistics.mean(delays) < 8.0
    assert sum(d > 2.0 for d in delays) > 100


def test_lorawan_class_c_command_is_fast(tmp_path: Path, catalog: Catalog) -> None:
    world = _lights(tmp_path, catalog, "lorawan-sf9")
    world.run(60)
    delays = _command_delays(world, 50)
    assert all(0.1 < d < 0.4 for d in delays)  # airtime 144 ms + ~50 ms


def test_result_and_state_carry_the_time_the_device_applied_it(tmp_path: Path, catalog: Catalog) -> None:
    world = _lights(tmp_path, catalog, "nbiot")
    events: list = []
    world.bus.subscribe(events.append, (StateChanged, CommandResult))
    world.run(60)
    world.execute(DeviceCommand("l-0002", "dim", {"level": 25}, id="x", source="test"))
    assert world.devices["l-0002"].state["level"] != 25
    world.run(200)
    state, result = events
    assert isinstance(state, StateChanged) and state.cause == "test:x" and state.values["level"] == 25
    assert isinstance(result, CommandResult) and result.ok and result.t == state.t > 60.0


def test_invalid_command_is_rejected_at_once(tmp_path: Path, catalog: Catalog) -> None:
    world = _lights(tmp_path, catalog, "nbiot")
    world.run(60)
    result = world.execute(DeviceCommand("l-0001", "dim", {"level": 101}))
    assert result is not None and result.error_code == "invalid_params" and result.t == 60.0


def test_lost_command_is_retried_then_reported(tmp_path: Path, catalog: Catalog) -> None:
    world = _lights(tmp_path, catalog, "lte-m")
    world.run(60)
    world.execute(DegradeLink("lte-m", {"loss": "100%"}))
    results: list[CommandResult | None] = []
    world.execute(DeviceCommand("l-0001", "dim", {"level": 30}, id="lost"), results.append)
    world.run(600)
    (result,) = results
    assert result is not None and not result.ok and result.error_code == "device_offline"
    assert "after 4 attempts" in (result.error_message or "")
    assert world.devices["l-0001"].state["level"] != 30
    assert world.network.down["lte-m"].drops == {"loss": 4}


def test_some_loss_is_hidden_by_retries(tmp_path: Path, catalog: Catalog) -> None:
    world = _lights(tmp_path, catalog, "lte-m", profiles={"lte-m": {"loss": "30%"}})
    world.run(60)
    results: list[CommandResult | None] = []
    for i in range(300):
        world.execute(DeviceCommand("l-0001", "dim", {"level": 10 + i % 80}, id=f"c{i}"), results.append)
        world.run(world.now + 60.0)
    failed = [r for r in results if r is not None and not r.ok]
    assert len(results) == 300 and len(failed) <= 10  # expected 300 * 0.3**4 = 2.4
    down = world.network.down["lte-m"]
    assert down.drops["loss"] / down.sent == pytest.approx(0.3, abs=0.04)
    assert down.delivered == 300 - len(failed)


def test_device_that_goes_offline_meanwhile_rejects(tmp_path: Path, catalog: Catalog) -> None:
    world = _lights(tmp_path, catalog, "nbiot")
    world.run(60)
    results: list[CommandResult | None] = []
    world.execute(DeviceCommand("l-0003", "dim", {"level": 30}), results.append)
    world.execute(SetOnline("l-0003", False, "test"))
    world.run(200)
    assert results[0] is not None and results[0].error_code == "device_offline"


def test_runtime_future_resolves_when_the_device_applies(tmp_path: Path, catalog: Catalog) -> None:
    sc = scenario_with(
        tmp_path,
        catalog,
        fleets=[{"type": "street-light", "tenant": "comune", "count": 1, "id_prefix": "l", "network": "nbiot"}],
    )
    rt = Runtime(sc, catalog, fast=True, duration=600)
    try:
        fut = rt.submit(DeviceCommand("l-0001", "dim", {"level": 40}, id="f"))
        assert not fut.done()
        rt.start()
        assert rt.wait(30)
        result = fut.result(5)
        assert result is not None and result.ok and result.t > 0
    finally:
        rt.stop()


def test_emulation_off_applies_at_once(tmp_path: Path, catalog: Catalog) -> None:
    world = _lights(tmp_path, catalog, "nbiot", enabled=False)
    world.run(60)
    result = world.execute(DeviceCommand("l-0001", "dim", {"level": 30}))
    assert result is not None and result.ok and result.t == 60.0
    assert world.network.summary_lines() == ["network emulation off"]


@pytest.mark.parametrize("network", ["4g", "wifi", "fibre", "ethernet"])
def test_every_builtin_profile_carries_commands(tmp_path: Path, catalog: Catalog, network: str) -> None:
    world = _lights(tmp_path, catalog, network)
    world.run(60)
    assert all(d < 1.0 for d in _command_delays(world, 5))
