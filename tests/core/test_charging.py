"""EV charging sessions: vehicles draw their on-board charger's power until full, then idle."""

from __future__ import annotations

import statistics
from pathlib import Path

from netkit import scenario_with

from smartzone.core.commands import DeviceCommand
from smartzone.core.events import Reading
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog

DAY = 86400.0


def test_sessions_deliver_their_need_then_idle(tmp_path: Path, catalog: Catalog) -> None:
    fleets = [{"type": "ev-charger", "tenant": "comune", "count": 40, "id_prefix": "ev", "report_interval": "1min"}]
    world = World(scenario_with(tmp_path, catalog, fleets=fleets, dropouts={"fraction": 0}), catalog, network=False)
    rows: list[Reading] = []
    world.bus.subscribe(lambda e: rows.append(e) if isinstance(e, Reading) else None)
    world.run(3 * DAY)
    sessions: list[float] = []
    idle = full_power = 0
    levels: set[float] = set()
    for device in world.devices:
        mine = [r for r in rows if r.device == device]
        start = None
        for r in mine:
            plugged = r.values["status"] == "occupied"
            if plugged and start is None:
                start = r.values["energy"]
            elif not plugged and start is not None:
                sessions.append(r.values["energy"] - start)
                start = None
            assert r.values["power"] <= r.values["power_limit"] + 0.5
            if plugged and r.values["power"] == 0.0:
                idle += 1
            if plugged and r.values["power"] > 0:
                full_power += 1
                levels.add(round(r.values["power"]))
    assert len(sessions) > 100
    # a 12 kWh mean need, cut short when the car leaves first (2.5 h mean stay at 3.7-11 kW)
    assert 4.0 < statistics.mean(sessions) < 12.0, statistics.mean(sessions)
    assert max(sessions) < 60.0
    assert 0.1 * (idle + full_power) < idle < 0.6 * (idle + full_power)  # full cars stay plugged in
    assert {4, 7, 11} <= levels  # 3.7, 7.4 and 11 kW on-board chargers


def test_a_power_cap_and_a_disabled_point_hold(tmp_path: Path, catalog: Catalog) -> None:
    fleets = [{"type": "ev-charger", "tenant": "comune", "count": 10, "id_prefix": "ev", "report_interval": "1min"}]
    world = World(scenario_with(tmp_path, catalog, fleets=fleets, dropouts={"fraction": 0}), catalog, network=False)
    world.run(3600)
    for n in range(1, 11):
        world.execute(DeviceCommand(f"ev-{n:04d}", "set_power_limit", {"limit": 3.0}, id="c"))
    world.execute(DeviceCommand("ev-0001", "enable", {"enabled": False}, id="d"))
    rows: list[Reading] = []
    world.bus.subscribe(lambda e: rows.append(e) if isinstance(e, Reading) else None)
    world.run(DAY)
    assert max(r.values["power"] for r in rows) <= 3.5
    assert max(r.values["power"] for r in rows if r.device == "ev-0001") == 0.0
