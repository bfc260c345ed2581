"""Cost of network emulation in fast mode: the same city with and without it, in one run.

    python bench/network_overhead.py [SCENARIO] [--hours 24] [--repeat 5]

Runs the scenario (default: the 1,000-device Bologna) as fast as possible, alternating
network emulation on and off, in two setups:
- `runtime`: Runtime(fast=True) as `smartzone run --fast` drives it (engine thread, live cache);
- `world`: the bare SimPy world with no subscriber but a counter (the harshest ratio).
It reports the best CPU time of each (CPU time: other jobs on a shared machine disturb it
less than wall time) and the throughput ratio. docs/benchmarks.md keeps the ratios.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog, load_scenario, resolve_scenario
from smartzone.definitions.scenario import Scenario
from smartzone.runtime.api import Runtime


def run_world(sc: Scenario, catalog: Catalog, seconds: float, network: bool) -> tuple[float, int]:
    world = World(sc, catalog, network=network)
    count = [0]

    def counter(_: object) -> None:
        count[0] += 1

    world.bus.subscribe(counter)
    t0 = time.process_time()
    world.run(seconds)
    return time.process_time() - t0, count[0]


def run_runtime(sc: Scenario, catalog: Catalog, seconds: float, network: bool) -> tuple[float, int]:
    rt = Runtime(sc, catalog, fast=True, duration=seconds, network=network)
    count = [0]

    def counter(_: object) -> None:
        count[0] += 1

    rt.subscribe(counter)
    t0 = time.process_time()
    try:
        rt.start()
        rt.wait()
    finally:
        rt.stop()
    return time.process_time() - t0, count[0]


def measure(
    name: str, fn: Callable[..., tuple[float, int]], sc: Scenario, catalog: Catalog, seconds: float, repeat: int
) -> float:
    best = {True: float("inf"), False: float("inf")}
    events = {True: 0, False: 0}
    for _ in range(max(1, repeat)):
        for network in (False, True):
            cpu, n = fn(sc, catalog, seconds, network)
            best[network] = min(best[network], cpu)
            events[network] = n
    for network in (False, True):
        print(
            f"{name:8} network {'on ' if network else 'off'}: {best[network]:6.2f} s CPU, "
            f"{seconds / best[network]:>10,.0f}x real time, {events[network]:,} events"
        )
    ratio = best[False] / best[True]
    print(f"{name:8} throughput with emulation / without: {ratio:.2f} (cost {(1 - ratio) * 100:.1f} %)")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=None)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    catalog = Catalog.builtin()
    sc = load_scenario(resolve_scenario(args.scenario), catalog)
    print(f"{sc.name}: {sum(f.count for f in sc.fleets):,} devices, {args.hours:g} h simulated, best of {args.repeat}")
    measure("runtime", run_runtime, sc, catalog, args.hours * 3600.0, args.repeat)
    measure("world", run_world, sc, catalog, args.hours * 3600.0, args.repeat)


if __name__ == "__main__":
    main()
