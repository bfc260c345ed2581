"""Terminal feedback for `smartzone run`: a progress bar (fast) or a live summary (real time)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from smartzone.definitions.units import format_duration


class Console:
    def __init__(self, stream: TextIO = sys.stderr, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self.tty = stream.isatty()
        self._last_plain = -1.0

    def line(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def _status(self, text: str, key: float) -> None:
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
        elif key - self._last_plain >= 10.0:  # a plain log line every 10 % (or 10 s) when piped
            self._last_plain = key
            print(text, file=self.stream, flush=True)

    def progress(self, sim_t: float, total: float, wall_s: float, events: int) -> None:
        frac = min(1.0, sim_t / total) if total else 1.0
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        eta = (wall_s / frac - wall_s) if frac > 0 else 0.0
        rate = sim_t / wall_s if wall_s > 0 else 0.0
        self._status(
            f"[{bar}] {frac * 100:5.1f}%  sim {format_duration(sim_t)}/{format_duration(total)}"
            f"  {rate:,.0f}x real time  {events:,} events  ETA {eta:4.0f}s",
            frac * 100,
        )

    def live(self, iso: str, events_per_s: float, online: int, total: int, speed: float, paused: bool) -> None:
        state = "paused" if paused else f"{speed:g}x"
        self._status(
            f"sim {iso[:19].replace('T', ' ')}  {events_per_s:8,.0f} events/s  {online}/{total} online  {state}",
            time.monotonic(),
        )

    def done(self) -> None:
        if self.tty and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
