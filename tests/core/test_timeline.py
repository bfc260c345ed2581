"""Timeline events fire and end at the right simulated times and undo exactly what they did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from netkit import scenario_file, scenario_with

from smartzone.core.events import FaultChanged, Reading, StatusChanged, TimelineChanged
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.errors import DefinitionError

# testville starts 2026-11-23T00:00Z = 01:00 in Europe/Rome: local HH:MM is at t = (HH:MM - 1 h)
H = 3600.0
FLEETS = [
    {"type": "parking-spot", "tenant": "comune", "count": 20, "id_prefix": "p", "report_interval": "5min"},
    {"type": "street-light", "tenant": "comune", "count": 4, "id_prefix": "l", "report_interval": "5min"},
]
TIMELINE = [
    {"name": "rush-hour", "at": "07:30", "end": "09:30", "daily": True, "multiply": {"traffic": 1.5, "demand": 1.5}},
    {"name": "concert", "at": "20:00", "duration": "3h", "multiply": {"demand:centro": 3}},
    {"name": "evening-peak", "at": "21:00", "end": "22:00", "multiply": {"demand": 2}},
    {
        "name": "lights-out",
        "at": "14:00",
        "duration": "30min",
        "faults": [{"fault": "offline", "type": "street-light", "fraction": 0.5}],
    },
    {
        "name": "storm",
        "at": "16:00",
        "duration": "2h",
        "network": [{"profile": "lorawan-sf9", "loss": "60%"}],
        "faults": [{"fault": "noise", "fleet": "l", "signal": "power", "magnitude": 5}],
    },
    {"name": "night-cut", "at": "23:00", "end": "01:00", "day": 1, "outage": ["gw"]},
]
NETWORKS = {"backhauls": [{"id": "gw", "kind": "gateway", "capacity": 100}]}


@pytest.fixture
def world(tmp_path: Path, catalog: Catalog) -> World:
    return World(scenario_with(tmp_path, catalog, fleets=FLEETS, timeline=TIMELINE, networks=NETWORKS), catalog)


def _edges(events: list[Any]) -> list[tuple[float, str, bool]]:
    return [(e.t, e.name, e.active) for e in events if isinstance(e, TimelineChanged)]


def test_events_fire_and_end_on_time(world: World) -> None:
    events: list[Any] = []
    seen: dict[tuple[str, bool], dict[str, float]] = {}

    def on(e: Any) -> None:
        events.append(e)
        if isinstance(e, TimelineChanged):
            seen[(e.name, e.active)] = dict(world.ctx.multipliers)

    world.bus.subscribe(on, (TimelineChanged, FaultChanged, StatusChanged))
    world.run(2 * 86400 + 1)
    assert _edges(events) == [
        (6.5 * H, "rush-hour", True),
        (8.5 * H, "rush-hour", False),
        (13 * H, "lights-out", True),
        (13.5 * H, "lights-out", False),
        (15 * H, "storm", True),
        (17 * H, "storm", False),
        (19 * H, "concert", True),
        (20 * H, "evening-peak", True),
        (21 * H, "evening-peak", False),
        (22 * H, "concert", False),
        (24 * H + 6.5 * H, "rush-hour", True),
        (24 * H + 8.5 * H, "rush-hour", False),
        (24 * H + 22 * H, "night-cut", True),
        (48 * H, "night-cut", False),
    ]
    assert seen[("rush-hour", True)] == {"traffic": 1.5, "demand": 1.5}
    assert seen[("rush-hour", False)] == {}
    assert seen[("evening-peak", True)] == {"demand:centro": 3.0, "demand": 2.0}
    assert seen[("concert", False)] == {}
    assert world.ctx.multipliers == {}


def test_multipliers_drive_the_context(world: World) -> None:
    world.run(19 * H + 1)
    assert world.ctx.demand(world.now, "centro") == 3.0
    world.run(20 * H + 1)
    assert world.ctx.demand(world.now, "centro") == 6.0  # concert x evening peak
    world.run(22 * H + 1)
    assert world.ctx.demand(world.now, "centro") == 1.0


def test_fault_events_hit_the_selected_devices_and_end(world: World) -> None:
    events: list[Any] = []
    world.bus.subscribe(events.append, (FaultChanged, StatusChanged, Reading))
    world.run(18 * H)
    offline = [e for e in events if isinstance(e, StatusChanged)]
    assert len(offline) == 4 and {e.device for e in offline} <= {f"l-000{i}" for i in range(1, 5)}
    assert [(e.t, e.online) for e in offline] == [(13 * H, False)] * 2 + [(13.5 * H, True)] * 2
    down = {e.device for e in offline}
    assert not [e for e in events if isinstance(e, Reading) and e.device in down and 13 * H + 1 < e.t < 13.5 * H]
    storm_faults = [e for e in events if isinstance(e, FaultChanged) and e.params.get("source") == "timeline:storm"]
    assert {(e.device, e.fault, e.active) for e in storm_faults} >= {("l-0001", "noise", True)}
    noise = sorted(e.t for e in events if isinstance(e, FaultChanged) and e.fault == "noise")
    assert noise == [15 * H] * 4 + [17 * H] * 4
    assert all(world.faults.active(d) == [] for d in world.devices)


def test_storm_raises_loss_only_while_it_lasts(world: World) -> None:
    world.run(15 * H)
    before = world.network.up["lorawan-sf9"]
    s0, d0 = before.sent, before.dropped
    world.run(17 * H)
    up = world.network.up["lorawan-sf9"]
    storm_loss = (up.dropped - d0) / (up.sent - s0)
    assert 0.5 < storm_loss < 0.7
    s1, d1 = up.sent, up.dropped
    world.run(21 * H)
    assert (up.dropped - d1) / (up.sent - s1) < 0.05
    assert world.network.refs["lorawan-sf9"].current.loss == 0.01


def test_outage_event_cuts_the_gateway(world: World) -> None:
    world.run(24 * H + 22 * H + 60)
    assert world.network.hops["gw"].cut
    world.run(48 * H + 1)
    assert not world.network.hops["gw"].cut
    assert world.network.hops["gw"].counters.drops.get("outage", 0) > 0


def test_same_seed_same_trace_with_timeline_faults_and_network(tmp_path: Path, catalog: Catalog) -> None:
    def trace(seed: int) -> list[str]:
        sc = load_scenario(scenario_file(tmp_path, fleets=FLEETS, timeline=TIMELINE, networks=NETWORKS), catalog)
        w = World(sc, catalog, seed)
        out: list[str] = []
        w.bus.subscribe(lambda e: out.append(json.dumps(e.record(), sort_keys=True)))
        w.run(26 * H)
        return out

    a, b = trace(5), trace(5)
    assert len(a) > 1000 and a == b
    assert trace(6) != a


def _event(**fields: Any) -> dict[str, Any]:
    return {"timeline": [{"name": "x", "at": "07:00", "duration": "1h", **fields}]}


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (_event(outage=["nope"]), "timeline[0].outage[0]", "unknown backhaul 'nope'"),
        (_event(multiply={"demand:mars": 2}), "timeline[0].multiply.demand:mars", "unknown district 'mars'"),
        (
            _event(faults=[{"fault": "melt", "type": "parking-spot"}]),
            "timeline[0].faults[0].fault",
            "unknown fault 'melt'",
        ),
        (
            _event(faults=[{"fault": "offline", "devices": ["p-0099"]}]),
            "timeline[0].faults[0].devices[0]",
            "unknown device 'p-0099'",
        ),
        (
            _event(network=[{"profile": "5g-ultra", "loss": "1%"}]),
            "timeline[0].network[0].profile",
            "unknown network profile '5g-ultra'",
        ),
        (
            {"timeline": [{"name": "x", "at": "25:00", "duration": "1h", "multiply": {"traffic": 2}}]},
            "timeline[0].at",
            "time of day",
        ),
        (
            {"timeline": [{"name": "x", "at": "07:00", "multiply": {"traffic": 2}}]},
            "timeline[0]",
            "exactly one of 'end' or 'duration'",
        ),
        (
            {
                "fleets": [
                    {"type": "parking-spot", "tenant": "comune", "count": 1, "id_prefix": "p", "network": "sigfox"}
                ]
            },
            "fleets[0].network",
            "unknown network profile 'sigfox'",
        ),
        (
            {"networks": {"profiles": {"slow": {"base": "nbiot", "loss": "lots"}}}},
            "networks.profiles.slow.loss",
            "percentage",
        ),
        (
            {"networks": {"profiles": {"slow": {"base": "carrier-pigeon"}}}},
            "networks.profiles.slow.base",
            "unknown network profile 'carrier-pigeon'",
        ),
        (
            {"networks": {"backhauls": [{"id": "gw", "capacity": 0}]}},
            "networks.backhauls[0].capacity",
            "greater than 0",
        ),
        (
            {
                "timeline": [
                    {
                        "name": "x",
                        "at": "07:00",
                        "duration": "1h",
                        "daily": True,
                        "days": ["workday"],
                        "multiply": {"traffic": 2},
                    }
                ]
            },
            "timeline[0].days[0]",
            "weekday",
        ),
        (
            {
                "timeline": [
                    {"name": "x", "at": "07:00", "duration": "1h", "days": ["weekday"], "multiply": {"traffic": 2}}
                ]
            },
            "timeline[0]",
            "'days' limits a daily event",
        ),
        ({"calendar": {"country": "IT", "subdivision": "ZZ"}}, "calendar", "subdivision"),
        (
            {"calendar": {"country": "IT", "extra": [{"date": "02-30", "name": "x"}]}},
            "calendar.extra[0].date",
            "no such day",
        ),
        ({"climate": {"temp_mean_c": 8, "rain_days": 40}}, "climate.rain_days", "less than or equal to 31"),
        ({"dropouts": {"fraction": 1.5}}, "dropouts.fraction", "less than 1"),
    ],
)
def test_bad_timeline_and_network_sections_name_file_line_and_field(
    tmp_path: Path, catalog: Catalog, change: dict[str, Any], path: str, message: str
) -> None:
    file = scenario_file(tmp_path, **change)
    with pytest.raises(DefinitionError) as info:
        load_scenario(file, catalog)
    text = str(info.value)
    assert f"{file}:" in text and path in text and message in text, text
    line = text.split(":")[1]
    assert line.isdigit()
