"""The health registry and the watchdog (runtime/health.py): pure, no endpoints."""

from __future__ import annotations

import threading

from smartzone.runtime.health import Health, Watchdog, guard


def test_guard_reports_and_swallows_an_exception() -> None:
    health = Health()
    seen = []
    health.subscribe(seen.append)

    def boom(x: int) -> int:
        raise RecursionError("maximum recursion depth exceeded")

    assert guard(health, "command listener", boom)(1) is None
    snap = health.snapshot()["command listener"]
    assert snap.survived == 1 and snap.state == "ok"
    assert seen[0].kind == "survived" and "RecursionError" in seen[0].cause and "boom" in seen[0].cause
    assert not health.failed


def test_outage_then_recovery_is_counted_once() -> None:
    health = Health()
    health.down("mqtt broker", "exited with -9")
    health.down("mqtt broker", "exited with -9")  # same outage
    health.up("mqtt broker", "restarted on port 1883")
    part = health.snapshot()["mqtt broker"]
    assert part.outages == 1 and part.state == "ok"
    assert any("1 outage(s)" in line for line in health.summary_lines())


def test_watchdog_makes_a_dead_part_fatal_once() -> None:
    health = Health()
    dog = Watchdog(health, interval=0.01)
    alive = threading.Event()
    alive.set()
    calls = []

    def probe() -> str | None:
        calls.append(1)
        return None if alive.is_set() else "thread sz-x is no longer running"

    dog.watch("worker x", probe)
    dog.check_once()
    assert not health.failed
    alive.clear()
    dog.check_once()
    dog.check_once()  # unwatched after the first report
    assert health.failed and health.fatal_causes() == ["worker x: thread sz-x is no longer running"]
    assert len([e for e in health.events if e.kind == "fatal"]) == 1
    assert len(calls) == 2


def test_watchdog_thread_stops() -> None:
    health = Health()
    dog = Watchdog(health, interval=0.01)
    dog.start()
    dog.watch("p", lambda: "dead")
    assert health.fatal_event.wait(2.0)
    dog.stop()
    assert not dog.is_alive()
