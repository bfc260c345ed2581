"""Run a shipped city headless and keep what the fidelity checks need (not every reading).

The world runs in fast mode without the simulated network (the model, not the radio, is
under test), one simulated hour at a time so that the share of devices offline can be
sampled. Readings are checked against the declared ranges as they arrive and folded into
a few small aggregates: traffic counts per local date and hour, water flow per day type
and half hour, street-light switching edges, one weather station's temperature.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from smartzone.core.events import FaultChanged, Reading, StatusChanged, TimelineChanged
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.scenario import Scenario

H = 3600.0


@dataclass
class WeekStats:
    """Aggregates of one run."""

    world: World
    violations: list[tuple[str, str, Any]] = field(default_factory=list)
    readings: int = 0
    counts: dict[tuple[date, int], list[int]] = field(default_factory=lambda: defaultdict(list))
    count_max: int = 0
    flow: dict[tuple[str, float], list[float]] = field(default_factory=lambda: defaultdict(list))
    light_edges: dict[str, list[tuple[float, bool]]] = field(default_factory=lambda: defaultdict(list))
    offline: dict[str, list[list[float]]] = field(default_factory=lambda: defaultdict(list))
    temps: list[tuple[float, float]] = field(default_factory=list)
    rain_mm: float = 0.0
    timeline: list[tuple[str, float, bool]] = field(default_factory=list)
    offline_share: list[float] = field(default_factory=list)
    flagged: set[str] = field(default_factory=set)
    queued: dict[tuple[str, int], list[bool]] = field(default_factory=lambda: defaultdict(list))
    flow_vs_kv: list[tuple[float, float]] = field(default_factory=list)  # (count x 12, density x speed)
    ozone: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))  # by local hour
    plans: dict[tuple[str, int], list[int]] = field(default_factory=lambda: defaultdict(list))
    parked: dict[str, str] = field(default_factory=dict)  # last reported status of each parking bay
    occupancy: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))


def run_city(scenario: Scenario, catalog: Catalog, hours: int) -> WeekStats:
    """Run *hours* simulated hours and return the aggregates."""
    world = World(scenario, catalog, network=False)
    stats = WeekStats(world)
    clock = world.clock
    bounds = {
        name: [(s_name, s.min, s.max, s.values) for s_name, s in dt.signals.items()]
        for name, dt in catalog.types.items()
    }
    lit: dict[str, bool] = {}
    first_station = next((d.id for d in world.devices.values() if d.info.type == "weather-station"), None)
    active_flags: dict[str, int] = defaultdict(int)

    def on(e: Any) -> None:
        if isinstance(e, Reading):
            stats.readings += 1
            dev = world.devices[e.device]
            kind = dev.info.type
            if not active_flags[e.device]:
                for name, low, high, values in bounds[kind]:
                    v = e.values.get(name)
                    if values is not None:
                        bad = v not in values
                    else:
                        bad = (low is not None and v < low) or (high is not None and v > high)
                    if bad and len(stats.violations) < 50:
                        stats.violations.append((e.device, name, v))
            if kind == "traffic-counter":
                stats.counts[(clock.date(e.t), int(clock.hour(e.t)))].append(e.values["count"])
                stats.count_max = max(stats.count_max, e.values["count"])
                v = e.values
                stats.queued[(clock.day_type(e.t), int(clock.hour(e.t)))].append(v["occupancy"] > 25.0)
                if v["count"] >= 20 and len(stats.flow_vs_kv) < 20000:
                    stats.flow_vs_kv.append((v["count"] * 12.0, v["occupancy"] * 10.0 / 6.5 * v["speed"]))
            elif kind == "water-meter":
                stats.flow[(clock.day_type(e.t), int(clock.hour(e.t) * 2) / 2)].append(e.values["flow"])
            elif kind == "street-light":
                on_now = e.values["level"] > 0
                if e.device in lit and lit[e.device] != on_now:
                    stats.light_edges[e.device].append((e.t, on_now))
                lit[e.device] = on_now
            elif kind == "air-quality":
                stats.ozone[int(clock.hour(e.t))].append(e.values["o3"])
            elif kind == "traffic-signal":
                stats.plans[(clock.day_type(e.t), int(clock.hour(e.t)))].append(e.values["plan"])
            elif kind == "parking-spot":
                stats.parked[e.device] = e.values["status"]
            elif e.device == first_station:
                stats.temps.append((e.t, e.values["temperature"]))
                stats.rain_mm += e.values["precipitation"] * dev.interval / H
        elif isinstance(e, StatusChanged):
            spans = stats.offline[e.device]
            if not e.online:
                spans.append([e.t, float("inf")])
            elif spans and spans[-1][1] == float("inf"):
                spans[-1][1] = e.t
        elif isinstance(e, FaultChanged):
            dev = world.devices.get(e.device)
            declared = dev.dtype.faults.get(e.fault) if dev is not None else None
            if declared is not None and declared.out_of_range:
                active_flags[e.device] += 1 if e.active else -1
                stats.flagged.add(e.device)
        elif isinstance(e, TimelineChanged):
            stats.timeline.append((e.name, e.t, e.active))

    world.bus.subscribe(on)
    for hour in range(1, hours + 1):
        world.run(hour * H)
        stats.offline_share.append(sum(not d.online for d in world.devices.values()) / len(world.devices))
        by_use: dict[str, list[bool]] = defaultdict(list)
        for dev_id, status in stats.parked.items():
            by_use[world.devices[dev_id].land_use].append(status == "occupied")
        for use, bays in by_use.items():  # share occupied at the top of each local hour
            stats.occupancy[(use, int(clock.hour(hour * H)))].append(sum(bays) / len(bays))
    return stats


def subset(scenario: Scenario, per_fleet: int) -> Scenario:
    """The scenario with at most *per_fleet* devices per fleet (per-device streams: the same devices)."""
    fleets = [f.model_copy(update={"count": min(f.count, per_fleet)}) for f in scenario.fleets]
    return scenario.model_copy(update={"fleets": fleets})
