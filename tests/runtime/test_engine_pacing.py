"""The paced engine sleeps until the next real event (SimPy 4.1 leaves a marker at `until`)."""

from __future__ import annotations

from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.scenario import Scenario
from smartzone.runtime.engine import Engine


def test_next_event_looks_past_simpys_until_marker(small_scenario: Scenario, catalog: Catalog) -> None:
    world = World(small_scenario, catalog)
    engine = Engine(world, fast=False, speed=1.0, until=None)  # never started: no thread
    world.start()
    world.env.run(until=0.5)
    assert world.env.peek() == 0.5  # the marker SimPy 4.1 leaves behind
    nxt = engine._next_event_after(0.5)
    assert nxt > 0.5
    world.env.run(until=nxt + 1e-9)  # the event found is real: running to it changes the world's queue
    assert engine._next_event_after(world.now) > world.now
