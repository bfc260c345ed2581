"""The runtime API: engine thread lifecycle, pacing controls, commands from other threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from smartzone.core.commands import DeviceCommand
from smartzone.core.events import Event, Reading, StateChanged
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.scenario import Scenario
from smartzone.runtime.api import Runtime


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


@pytest.fixture
def make_runtime(small_scenario: Scenario, catalog: Catalog) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def make(**options) -> Runtime:
        rt = Runtime(small_scenario, catalog, **options)
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.stop()


def test_fast_run_reaches_duration(make_runtime) -> None:
    rt = make_runtime(fast=True, duration=6 * 3600)
    readings: list[Event] = []
    rt.subscribe(readings.append, (Reading,))
    rt.start()
    assert rt.wait(30)
    assert rt.sim_time == 6 * 3600
    assert readings and all(r.t <= 6 * 3600 for r in readings)
    assert not rt.running


def test_realtime_advances_and_pause_freezes(make_runtime) -> None:
    rt = make_runtime(speed=3600.0)
    rt.start()
    assert wait_for(lambda: rt.sim_time > 60)
    rt.pause().result(5)
    frozen = rt.sim_time
    time.sleep(0.3)  # a paused engine must not advance, whatever the machine's speed
    assert rt.sim_time == frozen and rt.paused
    assert rt.step(120).result(5) == pytest.approx(frozen + 120)
    assert rt.paused
    rt.resume().result(5)
    assert wait_for(lambda: rt.sim_time > frozen + 240)


def test_speed_change_at_run_time(make_runtime) -> None:
    rt = make_runtime(speed=1.0)
    rt.start()
    rt.set_speed(7200.0).result(5)
    assert rt.speed == 7200.0
    assert wait_for(lambda: rt.sim_time > 600)
    with pytest.raises(ValueError):
        rt.set_speed(0)


def test_command_from_another_thread(make_runtime) -> None:
    rt = make_runtime(speed=600.0)
    states: list[Event] = []
    rt.subscribe(states.append, (StateChanged,))
    rt.start()
    results = []
    t = threading.Thread(
        target=lambda: results.append(rt.submit(DeviceCommand("l-0001", "dim", {"level": 25}, id="x")).result(5))
    )
    t.start()
    t.join(10)
    assert results and results[0].ok and results[0].state["level"] == 25
    assert wait_for(lambda: any(s.device == "l-0001" for s in states))
    assert rt.snapshot()["l-0001"].state["level"] == 25
    assert rt.live.get("l-0001").state["level"] == 25


def test_engine_errors_reach_the_caller(make_runtime) -> None:
    rt = make_runtime(fast=True, duration=3600)

    def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    rt.subscribe(broken, (Reading,))
    rt.start()
    with pytest.raises(RuntimeError, match="subscriber bug"):
        rt.wait(30)
    with pytest.raises(RuntimeError, match="stopped"):
        rt.submit(DeviceCommand("l-0001", "dim", {"level": 5})).result(5)


def test_live_values_exist_before_the_first_report(make_runtime) -> None:
    rt = make_runtime(speed=1.0)
    live = rt.live.get("p-0001")
    assert live is not None and live.seq == 0
    assert live.values["status"] in ("free", "occupied") and live.values["battery"] > 0
