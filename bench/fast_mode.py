"""Fast mode: 24 simulated hours of a 1,000-device city, against bare SimPy in the same run.

Also times loading and starting a 10,000-device scenario. Prints a Markdown table for
docs/benchmarks.md. Usage: python bench/fast_mode.py [--devices 1000] [--hours 24]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bare_simpy_rate, city, machine

from smartzone.core.events import Event, Reading
from smartzone.core.world import World
from smartzone.runtime.api import Runtime


def fast_day(devices: int, hours: float) -> dict[str, float]:
    sc, catalog = city("bologna", devices if devices != 1000 else None)
    world = World(sc, catalog)
    readings = [0]

    def count(event: Event) -> None:
        readings[0] += 1

    world.bus.subscribe(count, (Reading,))
    t0 = time.perf_counter()
    world.run(hours * 3600)
    wall = time.perf_counter() - t0
    simpy_events = next(world.env._eid)  # SimPy's internal event counter: events scheduled
    return {
        "devices": len(world.devices),
        "wall": wall,
        "speedup": hours * 3600 / wall,
        "readings": readings[0],
        "events_per_s": simpy_events / wall,
    }


def load_and_start(devices: int) -> tuple[int, float]:
    sc, catalog = city("bologna", devices)
    t0 = time.perf_counter()
    rt = Runtime(sc, catalog, fast=True, duration=1.0)
    rt.start()
    rt.wait(60)
    wall = time.perf_counter() - t0
    n = len(rt.devices)
    rt.stop()
    return n, wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--load-devices", type=int, default=10000)
    args = ap.parse_args()
    bare = bare_simpy_rate()
    day = fast_day(args.devices, args.hours)
    n_load, load_wall = load_and_start(args.load_devices)
    print(f"machine: {machine()}")
    print("| measure | value |")
    print("|---|---|")
    print(f"| devices | {day['devices']:,} |")
    print(f"| simulated | {args.hours:g} h |")
    print(f"| wall time | {day['wall']:.1f} s |")
    print(f"| speed-up over real time | {day['speedup']:,.0f}x (goal >= 1,440x) |")
    print(f"| readings | {day['readings']:,} |")
    print(f"| SimPy events/s, SmartZone model | {day['events_per_s']:,.0f} |")
    print(f"| SimPy events/s, bare timeouts (same run) | {bare:,.0f} |")
    print(f"| ratio SmartZone / bare SimPy | {day['events_per_s'] / bare:.2f} |")
    print(f"| load + start {n_load:,} devices | {load_wall:.2f} s (goal < 3 s) |")


if __name__ == "__main__":
    main()
