"""Heterogeneous fleets: per-device battery, jitter and calibration; spontaneous dropouts."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from netkit import scenario_with

from smartzone.core.events import FaultChanged, Reading, StatusChanged
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog

H = 3600.0
DAY = 86400.0


def test_devices_of_one_type_differ_and_adding_one_changes_no_other(tmp_path: Path, catalog: Catalog) -> None:
    fleets: list[dict[str, Any]] = [
        {"type": "weather-station", "tenant": "comune", "count": 5, "id_prefix": "w"},
        {"type": "water-meter", "tenant": "comune", "count": 5, "id_prefix": "m"},
    ]
    world = World(scenario_with(tmp_path, catalog, fleets=fleets), catalog, network=False)
    meters = [world.devices[f"m-000{n}"] for n in range(1, 6)]
    stations = [world.devices[f"w-000{n}"] for n in range(1, 6)]
    assert len({m.battery_drain for m in meters}) == 5 and all(0.3 < m.battery_drain < 2.0 for m in meters)
    assert len({round(m.jitter, 6) for m in meters}) == 5
    assert all(30.0 <= m.jitter <= 90.0 for m in meters)  # 0.5-1.5 x the type's 1 min
    assert len({s.calibration["temperature"] for s in stations}) == 5 and not meters[0].calibration
    bigger = World(
        scenario_with(tmp_path, catalog, fleets=[*fleets, {**fleets[0], "id_prefix": "z", "count": 3}]),
        catalog,
        network=False,
    )
    for old in (*meters, *stations):
        new = bigger.devices[old.id]
        assert (new.battery_drain, new.jitter, new.calibration) == (old.battery_drain, old.jitter, old.calibration)


def test_calibration_offsets_show_in_readings(tmp_path: Path, catalog: Catalog) -> None:
    fleets = [{"type": "weather-station", "tenant": "comune", "count": 2, "id_prefix": "w", "report_interval": "10min"}]
    world = World(scenario_with(tmp_path, catalog, fleets=fleets, dropouts={"fraction": 0}), catalog, network=False)
    temps: dict[str, dict[int, float]] = {"w-0001": {}, "w-0002": {}}
    world.bus.subscribe(
        lambda e: (
            temps[e.device].__setitem__(int(e.t // 600), e.values["temperature"]) if isinstance(e, Reading) else None
        )
    )
    world.run(2 * DAY)
    common = sorted(set(temps["w-0001"]) & set(temps["w-0002"]))
    diff = statistics.mean(temps["w-0001"][k] - temps["w-0002"][k] for k in common)
    cal = world.devices["w-0001"].calibration["temperature"] - world.devices["w-0002"].calibration["temperature"]
    assert abs(cal) > 0.05
    assert abs(diff - cal) < 0.1, (diff, cal)


def _offline_share(tmp_path: Path, catalog: Catalog, dropouts: dict[str, Any], days: float) -> tuple[float, list[Any]]:
    fleets = [{"type": "water-meter", "tenant": "comune", "count": 200, "id_prefix": "m", "report_interval": "2h"}]
    world = World(scenario_with(tmp_path, catalog, fleets=fleets, dropouts=dropouts), catalog, network=False)
    events: list[Any] = []
    world.bus.subscribe(lambda e: events.append(e) if isinstance(e, (StatusChanged, FaultChanged)) else None)
    samples = []
    for k in range(1, int(days * 24) + 1):
        world.run(k * H)
        if k > 24:  # after a day the process is near its long-run state
            samples.append(sum(not d.online for d in world.devices.values()) / len(world.devices))
    return statistics.mean(samples), events


def test_spontaneous_dropouts_keep_the_declared_share_offline(tmp_path: Path, catalog: Catalog) -> None:
    share, events = _offline_share(tmp_path, catalog, {"fraction": 0.05, "mean_duration": "2h"}, 12)
    assert 0.03 < share < 0.07, share
    faults = [e for e in events if isinstance(e, FaultChanged)]
    assert faults and {e.fault for e in faults} == {"dropout"}
    downs = [e for e in events if isinstance(e, StatusChanged) and not e.online]
    ups = [e for e in events if isinstance(e, StatusChanged) and e.online]
    assert len(downs) > 50 and len(ups) >= len(downs) - 20
    none, quiet = _offline_share(tmp_path, catalog, {"fraction": 0}, 2)
    assert none == 0.0 and not quiet


def test_site_factors_spread_traffic_exposure_around_the_district_weight(tmp_path: Path, catalog: Catalog) -> None:
    fleets = [
        {"type": "traffic-counter", "tenant": "comune", "count": 300, "id_prefix": "t"},
        {"type": "parking-spot", "tenant": "comune", "count": 3, "id_prefix": "p"},
    ]
    world = World(scenario_with(tmp_path, catalog, fleets=fleets), catalog, network=False)
    weights = [d.traffic_weight for d in world.devices.values() if d.info.type == "traffic-counter"]
    assert 0.9 < statistics.mean(weights) < 1.1  # testville's district weight is 1.0
    assert max(weights) / min(weights) > 2.5  # a side street and an arterial
    assert {d.traffic_weight for d in world.devices.values() if d.info.type == "parking-spot"} == {1.0}
