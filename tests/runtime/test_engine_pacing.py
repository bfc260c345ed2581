"""The paced engine: sleeps until the next real event (SimPy 4.1 leaves a marker at `until`),
hands events over per step, and batches the garbage collector while it runs."""

from __future__ import annotations

import gc
import threading

from smartzone.core.events import Event
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.scenario import Fleet, Scenario
from smartzone.runtime import gcpolicy
from smartzone.runtime.api import Runtime


def test_next_event_looks_past_simpys_until_marker(small_scenario: Scenario, catalog: Catalog) -> None:
    world = World(small_scenario, catalog)
    world.start()
    world.env.run(until=0.5)
    assert world.env.peek() == 0.5  # the marker SimPy 4.1 leaves behind
    nxt = world.env.next_event_after(0.5)
    assert nxt > 0.5
    world.env.run(until=nxt + 1e-9)  # the event found is real: running to it changes the world's queue
    assert world.env.next_event_after(world.now) > world.now


def test_step_hooks_see_each_batch_of_events_once(small_scenario: Scenario, catalog: Catalog) -> None:
    """A subscriber that stages events per event and hands them over per step loses none."""
    busy = small_scenario.model_copy(
        update={"fleets": [Fleet(type="parking-spot", tenant="comune", count=300, id_prefix="q", report_interval=1.0)]}
    )
    rt = Runtime(busy, catalog, fast=False, speed=20.0, duration=3.0)  # about 6,000 readings/s
    staged: list[Event] = []
    batches: list[list[Event]] = []
    threads: set[str] = set()

    def hook() -> None:
        threads.add(threading.current_thread().name)
        if staged:
            batches.append(list(staged))
            staged.clear()

    seen: list[Event] = []
    rt.subscribe(lambda e: (staged.append(e), seen.append(e)))
    remove = rt.on_step(hook)
    rt.start()
    assert rt.wait(30)
    rt.stop()
    assert threads == {"smartzone-engine"}
    assert [e for b in batches for e in b] == seen and not staged  # in order, all handed over
    assert len(batches) < len(seen)  # events due within a pacing quantum travel together
    remove()
    assert rt.engine._step_hooks == ()


def test_live_gc_policy_is_restored_by_the_last_runtime_out(small_scenario: Scenario, catalog: Catalog) -> None:
    assert gcpolicy._active == 0, "a runtime of an earlier test is still counted as running"
    before = gc.get_threshold()
    gcpolicy.enter()
    gcpolicy.enter()
    assert gc.get_threshold() == gcpolicy.LIVE_THRESHOLDS and gc.get_freeze_count() > 0
    gcpolicy.leave()
    assert gc.get_threshold() == gcpolicy.LIVE_THRESHOLDS
    gcpolicy.leave()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    gcpolicy.leave()  # unbalanced: harmless
    assert gc.get_threshold() == before
    # a run that ends on its own (duration reached, stop() never called) leaves too
    rt = Runtime(small_scenario, catalog, fast=True, duration=60.0)
    rt.start()
    assert rt.wait(30)
    rt.engine.join(10)
    assert gcpolicy._active == 0 and gc.get_threshold() == before
    rt.stop()
    assert gcpolicy._active == 0
