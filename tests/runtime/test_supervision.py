"""The runtime's own supervision: the engine thread is watched; a clean end or stop is no death."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from smartzone.core.events import Event
from smartzone.runtime.api import ENGINE, Runtime

TESTVILLE = Path(__file__).resolve().parents[1] / "fixtures" / "testville.yaml"


def _watchdogs() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sz-watchdog" and t.is_alive()]


def test_a_run_that_ends_on_its_own_stops_its_watchdog() -> None:
    before = len(_watchdogs())
    rt = Runtime.load(TESTVILLE, fast=True, duration=3600)
    rt.start()
    assert rt.wait(30)
    assert len(_watchdogs()) == before  # the engine's probe was the last one: the watchdog stopped with it
    assert not rt.health.failed and rt.health.snapshot() == {}
    rt.stop()


def test_an_engine_failure_is_fatal_and_named() -> None:
    rt = Runtime.load(TESTVILLE, fast=True, duration=3600)

    def broken(event: Event) -> None:
        raise OverflowError("a subscriber bug")

    rt.subscribe(broken)
    rt.start()
    try:
        with pytest.raises(OverflowError):
            rt.wait(30)
        [cause] = rt.health.fatal_causes()
        assert cause.startswith(f"{ENGINE}: the simulation failed: OverflowError: a subscriber bug (")
    finally:
        rt.stop()


def test_a_stop_is_not_a_death() -> None:
    rt = Runtime.load(TESTVILLE, speed=1.0)
    rt.start()
    rt.stop()
    assert not rt.health.failed and rt.health.snapshot() == {}
    assert rt._watchdog is None
