"""The event trace: every fact of a run as one JSON object per line.

The first line is a manifest (scenario, seed, device count, version); then one line per
event in the order the engine produced them. Nothing wall-clock dependent is written, so
the same scenario and seed in fast mode give byte-identical files.

Writes happen on the engine thread. A write that fails (a full disk, `--trace /dev/full`, a
file removed under a network mount) must neither kill the engine nor hang the run: the
writer stops writing and reports the cause once through `on_error` (`smartzone run` makes
it fatal: one line naming the file, exit 1). `close()` returns the cause of a failure of the
final flush (the caller tells it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any

from smartzone import __version__
from smartzone.core.clock import SimClock
from smartzone.core.events import Event

# one encoder built once: json.dumps(..., separators=...) builds a new JSONEncoder per call,
# which was about 40 % of an event line's encoding; the output is the same bytes
_encode = json.JSONEncoder(separators=(",", ":")).encode


def encode_event(event: Event, clock: SimClock) -> str:
    """One trace/recording line of `event` (with its derived ISO `ts`), newline included.

    The one encoder of events: the trace and the recording write the same bytes for an event."""
    rec = event.record()
    rec["ts"] = clock.iso(event.t)
    return _encode(rec) + "\n"


def manifest(city: str, scenario: str, seed: int, devices: int, start: str) -> dict[str, Any]:
    return {
        "kind": "manifest",
        "smartzone": __version__,
        "city": city,
        "scenario": scenario,
        "seed": seed,
        "devices": devices,
        "start": start,
    }


class TraceWriter:
    """A bus subscriber that writes JSON lines to an open text file."""

    def __init__(self, out: IO[str], clock: SimClock, on_error: Callable[[str], None] | None = None) -> None:
        self.out = out
        self.clock = clock
        self.count = 0
        self.on_error = on_error
        self.error: str | None = None  # why writing stopped, once it did

    def write_header(self, header: dict[str, Any]) -> None:
        self._write(json.dumps(header, separators=(",", ":")) + "\n")

    def __call__(self, event: Event) -> None:
        if self.error is not None:
            return
        if self._write(encode_event(event, self.clock)):
            self.count += 1

    def _write(self, line: str) -> bool:
        if self.error is not None:
            return False
        try:
            self.out.write(line)
        except (OSError, ValueError) as exc:  # ValueError: the file was closed under us
            self._failed(exc)
            return False
        return True

    def _failed(self, exc: BaseException, report: bool = True) -> None:
        self.error = f"cannot write: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"
        if report and self.on_error is not None:
            self.on_error(self.error)

    def close(self) -> str | None:
        """Flush and close the file; the cause if writing failed (now or before), else None.

        A failure here is returned, not reported through `on_error`: the run is over."""
        failed_before = self.error is not None
        try:
            if not failed_before:
                self.out.flush()
        except (OSError, ValueError) as exc:
            self._failed(exc, report=False)
        finally:
            try:
                self.out.close()
            except (OSError, ValueError) as exc:  # close() flushes again: the same error, reported once
                if self.error is None:
                    self._failed(exc, report=False)
        return self.error
