"""Recording overhead: a fast Bologna run with and without `--record`, and the file size.

Runs the same fast run alternately without and with a recorder (interleaved, best of N) and
prints the wall-time ratio (the recorder's close, which drains its writer thread, is timed
too: a run is not over until its file is) and the compressed size per million events, as a Markdown table
for docs/benchmarks.md. Usage: python bench/recording.py [--hours 6] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import city, machine

from smartzone.definitions.catalog import resolve_scenario
from smartzone.runtime.api import Runtime
from smartzone.runtime.recording import Recorder, scenario_header


def one_run(hours: float, record: Path | None) -> tuple[float, int, int]:
    """(wall seconds, events, bytes written) of one fast run."""
    sc, catalog = city("bologna")
    rt = Runtime(sc, catalog, fast=True, duration=hours * 3600, source=str(resolve_scenario("bologna")))
    events = [0]
    rt.subscribe(lambda _e: events.__setitem__(0, events[0] + 1))
    recorder = None
    if record is not None:
        recorder = Recorder.open(record)
        recorder.attach(rt, scenario_header(rt, fast=True, speed=1.0, duration=hours * 3600))
    t0 = time.perf_counter()
    rt.start()
    rt.wait()
    rt.stop()
    if recorder is not None:
        recorder.close(rt.sim_time)
    wall = time.perf_counter() - t0
    return wall, events[0], record.stat().st_size if record is not None else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    plain, recorded, size, events = [], [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):  # interleaved: a busy neighbour slows both alike
            plain.append(one_run(args.hours, None)[0])
            wall, events, size = one_run(args.hours, Path(tmp) / f"r{i}.jsonl.gz")
            recorded.append(wall)
    best_plain, best_rec = min(plain), min(recorded)
    print(machine())
    print(f"| fast Bologna, {args.hours:g} h | no recording | --record | ratio | events | size | per 1M events |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| best of {args.repeats} | {best_plain:.2f} s | {best_rec:.2f} s | {best_rec / best_plain:.2f}x | "
        f"{events:,} | {size / 1e6:.1f} MB | {size / events * 1e6 / 1e6:.0f} MB |"
    )


if __name__ == "__main__":
    main()
