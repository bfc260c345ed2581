"""Helpers shared by the benchmarks: scenarios of a given size, timing, the figures file."""

from __future__ import annotations

import platform
import time
from pathlib import Path

import simpy

from smartzone.core.simenv import CityEnvironment
from smartzone.definitions.catalog import Catalog, load_scenario, resolve_scenario
from smartzone.definitions.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]


def scaled(base: Scenario, devices: int) -> Scenario:
    """The base scenario with every fleet scaled so that the total is about `devices`."""
    total = sum(f.count for f in base.fleets)
    fleets = [f.model_copy(update={"count": max(1, round(f.count * devices / total))}) for f in base.fleets]
    return base.model_copy(update={"fleets": fleets})


def city(name: str = "bologna", devices: int | None = None) -> tuple[Scenario, Catalog]:
    catalog = Catalog.builtin()
    path = resolve_scenario(name)
    if not path.exists():
        path = ROOT / "tests" / "fixtures" / "testville.yaml"
    sc = load_scenario(path, catalog)
    return (scaled(sc, devices) if devices else sc), catalog


def bare_simpy_rate(seconds: float = 2.0, processes: int = 1000) -> float:
    """Events per second of a bare SimPy model (timeouts only) on this machine, now."""
    env = CityEnvironment()

    def proc(env: simpy.Environment):
        while True:
            yield env.timeout(1.0)

    for _ in range(processes):
        env.process(proc(env))
    events, until, t0 = 0, 0.0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        until += 50.0
        env.run(until=until)
        events += int(50 * processes)
    return events / (time.perf_counter() - t0)


def machine() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
