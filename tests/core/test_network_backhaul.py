"""Shared hops: finite capacity and queue, drops only above capacity, background traffic, outages."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import simpy
from netkit import scenario_with

from smartzone.core.behaviours.discrete import poisson
from smartzone.core.events import FaultChanged, LinkStats, Reading
from smartzone.core.faults import CutBackhaul
from smartzone.core.network.backhaul import Hop
from smartzone.core.network.stats import Counters
from smartzone.core.rng import stream
from smartzone.core.simenv import CityEnvironment
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.network import Backhaul


def offer(load: float, capacity: float, queue: int, background: float = 0.0, seconds: float = 2000.0) -> Hop:
    """Poisson arrivals at *load* msg/s into a hop of *capacity* msg/s for *seconds*."""
    env = CityEnvironment()
    hop = Hop(Backhaul(id="gw", capacity=capacity, queue=queue, background=background), stream(1, "bh"))
    rng = stream(2, "arrivals")

    def arrivals() -> Generator[simpy.Event, Any, None]:
        while True:
            yield env.timeout(rng.expovariate(load))
            hop.counters.sent += 1
            if hop.admit(env.now, hop.counters) is not None:
                hop.counters.delivered += 1

    env.process(arrivals())
    if background:
        env.process(hop.background_process(env))
    env.run(until=seconds)
    return hop


@pytest.mark.parametrize("load", [2.0, 5.0, 6.5])
def test_no_drops_below_capacity(load: float) -> None:
    hop = offer(load, capacity=10.0, queue=50)
    assert hop.counters.sent > 0.9 * load * 2000
    assert hop.counters.dropped == 0


@pytest.mark.parametrize("load", [15.0, 30.0])
def test_above_capacity_the_excess_is_dropped(load: float) -> None:
    hop = offer(load, capacity=10.0, queue=50)
    c = hop.counters
    assert c.drops.get("queue", 0) > 0 and set(c.drops) == {"queue"}
    throughput = c.delivered / 2000.0
    assert throughput == pytest.approx(10.0, rel=0.03)  # the hop forwards at its capacity
    assert c.dropped / c.sent == pytest.approx(1 - 10.0 / load, abs=0.03)


def test_queue_bounds_the_waiting_time() -> None:
    env_hop = Hop(Backhaul(id="gw", capacity=10.0, queue=20), stream(1, "bh"))
    c = Counters("gw", "backhaul")
    leaves = [env_hop.admit(0.0, c) for _ in range(100)]  # a burst of 100 at once
    admitted = [t for t in leaves if t is not None]
    assert len(admitted) == 21 and c.drops == {"queue": 79}  # one in service + 20 waiting
    assert max(admitted) == pytest.approx(2.1)


def test_background_traffic_creates_congestion() -> None:
    quiet = offer(3.0, capacity=10.0, queue=30, background=5.0)
    assert quiet.counters.dropped == 0 and quiet.background.dropped == 0
    busy = offer(3.0, capacity=10.0, queue=30, background=9.0)
    assert busy.counters.dropped > 0 and busy.background.dropped > 0
    assert busy.background.sent == pytest.approx(9.0 * 2000, rel=0.03)


def test_poisson_helper_mean() -> None:
    rng = stream(3, "p")
    assert sum(poisson(rng, 9.0) for _ in range(5000)) / 5000 == pytest.approx(9.0, rel=0.03)


def _city(tmp_path: Path, catalog: Catalog, capacity: float) -> World:
    sc = scenario_with(
        tmp_path,
        catalog,
        fleets=[
            {
                "type": "parking-spot",
                "tenant": "comune",
                "count": 40,
                "id_prefix": "p",
                "report_interval": "30s",
                "network": "nbiot",
            }
        ],
        networks={
            "stats_interval": "10min",
            "backhauls": [{"id": "cell-1", "kind": "gateway", "networks": ["nbiot"], "capacity": capacity, "queue": 5}],
        },
    )
    return World(sc, catalog)


def test_world_gateway_drops_only_when_offered_load_exceeds_capacity(tmp_path: Path, catalog: Catalog) -> None:
    # 40 devices every ~30 s offer ~1.3 msg/s
    roomy = _city(tmp_path, catalog, capacity=50.0)
    roomy.run(3600)
    assert roomy.network.hops["cell-1"].counters.drops.get("queue", 0) == 0
    tight = _city(tmp_path, catalog, capacity=0.5)
    stats: list[LinkStats] = []
    tight.bus.subscribe(stats.append, (LinkStats,))
    tight.run(3600)
    hop = tight.network.hops["cell-1"].counters
    assert hop.drops["queue"] > 0
    assert hop.delivered / 3600 == pytest.approx(0.5, rel=0.05)
    gw = [s for s in stats if s.link == "cell-1"]
    assert [s.t for s in gw] == [600.0 * k for k in range(1, 6)]
    assert gw[-1].scope == "gateway" and gw[-1].dropped == gw[-1].drops["queue"]
    up = tight.network.up["nbiot"]
    assert up.drops["queue"] == hop.drops["queue"]  # the device link sees the same drops


def test_world_gateway_outage_drops_everything_and_ends(tmp_path: Path, catalog: Catalog) -> None:
    world = _city(tmp_path, catalog, capacity=50.0)
    got: list[Any] = []
    world.bus.subscribe(got.append, (Reading, FaultChanged))
    world.run(600)
    world.execute(CutBackhaul("cell-1", duration=600))
    world.run(1800)
    faults = [e for e in got if isinstance(e, FaultChanged)]
    assert [(f.t, f.device, f.fault, f.active) for f in faults] == [
        (600.0, "cell-1", "gateway_outage", True),
        (1200.0, "cell-1", "gateway_outage", False),
    ]
    arrivals = [r.t for r in got if isinstance(r, Reading)]
    assert not [t for t in arrivals if 602.0 < t < 1200.0]  # nothing gets through (after in-flight ones)
    assert [t for t in arrivals if t > 1201.0]
    assert world.network.up["nbiot"].drops["outage"] > 0
