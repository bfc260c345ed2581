"""The event trace: every fact of a run as one JSON object per line.

The first line is a manifest (scenario, seed, device count, version); then one line per
event in the order the engine produced them. Nothing wall-clock dependent is written, so
the same scenario and seed in fast mode give byte-identical files.
"""

from __future__ import annotations

import json
from typing import IO, Any

from smartzone import __version__
from smartzone.core.clock import SimClock
from smartzone.core.events import Event


def manifest(city: str, scenario: str, seed: int, devices: int, start: str) -> dict[str, Any]:
    return {
        "kind": "manifest", "smartzone": __version__, "city": city, "scenario": scenario,
        "seed": seed, "devices": devices, "start": start,
    }


class TraceWriter:
    """A bus subscriber that writes JSON lines to an open text file."""

    def __init__(self, out: IO[str], clock: SimClock) -> None:
        self.out = out
        self.clock = clock
        self.count = 0

    def write_header(self, header: dict[str, Any]) -> None:
        self.out.write(json.dumps(header, separators=(",", ":")) + "\n")

    def __call__(self, event: Event) -> None:
        rec = event.record()
        rec["ts"] = self.clock.iso(event.t)
        self.out.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self.count += 1
