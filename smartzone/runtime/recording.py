"""Recordings: a run's facts and everything that came in from outside, to play it back.

A recording is a gzip file of JSON lines (docs/recording.md): a header (format, version,
seed, start, the scenario's YAML and the YAML of its device types), then in engine order
the events exactly as the trace writes them and the inputs (`"kind": "input"`) at the
point of the event order where the engine applied them (`t` and `n`, the number of events
published before), then an `end` record. Everything is written on the engine thread.

The gzip stream is flushed (a sync flush) at least once a wall second from a step hook, so
a crash loses at most the last second: `read_recording` stops quietly at a truncated end.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from smartzone import __version__
from smartzone.core.clock import SimClock
from smartzone.core.commands import DeviceCommand, SetOnline
from smartzone.core.events import (
    CommandResult,
    Event,
    FaultChanged,
    LinkStats,
    Reading,
    ServiceHealth,
    StateChanged,
    StatusChanged,
    TimelineChanged,
)
from smartzone.core.faults import ClearFault, CutBackhaul, DegradeLink, InjectFault, RestoreLink
from smartzone.errors import UsageError

FORMAT = "smartzone-recording"
VERSION = 1
FLUSH_EVERY_S = 1.0
_COMPACT = (",", ":")

EVENT_CLASSES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        Reading,
        StateChanged,
        StatusChanged,
        CommandResult,
        FaultChanged,
        LinkStats,
        TimelineChanged,
        ServiceHealth,
    )
}
# inputs that are commands of the world (re-applied by a re-simulation); the others are controls
COMMAND_CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (DeviceCommand, SetOnline, InjectFault, ClearFault, DegradeLink, RestoreLink, CutBackhaul)
}
CONTROLS = ("pause", "resume", "speed", "step", "health", "netstats")


class RecordingError(Exception):
    """A file that is not a readable recording (its message names the file and the problem)."""


def encode_command(command: Any) -> dict[str, Any]:
    """The input record's `args` for a command object (plain JSON values)."""
    return {f.name: _plain(getattr(command, f.name)) for f in dataclasses.fields(command)}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def decode_command(name: str, args: Mapping[str, Any]) -> Any:
    """The command object of an input record named `name` (a key of COMMAND_CLASSES)."""
    return COMMAND_CLASSES[name](**args)


def event_from_record(rec: Mapping[str, Any]) -> Event:
    """Rebuild the event of a trace/recording line (`ts` is derived, so it is dropped)."""
    cls = EVENT_CLASSES[rec["kind"]]
    fields = {k: v for k, v in rec.items() if k not in ("kind", "ts")}
    return cls(**fields)


def scenario_header(
    rt: Any, *, fast: bool, speed: float, duration: float | None, network: bool = True
) -> dict[str, Any]:
    """The header of a recording of runtime `rt`: what a re-simulation needs, nothing wall-clock."""
    sc = rt.scenario
    types = sorted({fleet.type for fleet in sc.fleets})
    return {
        "kind": "recording",
        "format": FORMAT,
        "version": VERSION,
        "smartzone": __version__,
        "city": sc.city,
        "scenario": Path(rt.source).name if rt.source else "",
        "seed": rt.seed,
        "start": sc.start.isoformat(),
        "fast": fast,
        "speed": speed,
        "duration": duration,
        "network": network,
        "devices": len(rt.devices),
        "scenario_yaml": Path(rt.source).read_text(encoding="utf-8") if rt.source else "",
        "device_types": {t: Path(rt.catalog.files[t]).read_text(encoding="utf-8") for t in types},
        "data_files": _data_files(rt, types),
    }


def _data_files(rt: Any, types: list[str]) -> dict[str, str]:
    """The CSV files of csv_series signals (relative paths, as written in the device types)."""
    out: dict[str, str] = {}
    for t in types:
        for signal in rt.catalog.types[t].signals.values():
            spec = signal.model
            if spec.kind == "csv_series" and not Path(spec.file).is_absolute():
                out[spec.file] = (Path(rt.catalog.files[t]).parent / spec.file).read_text(encoding="utf-8")
    return out


class Recorder:
    """A bus subscriber and input sink writing one recording (engine thread only)."""

    def __init__(self, out: IO[str], clock: SimClock, on_error: Callable[[str], None] | None = None) -> None:
        self.out = out
        self.clock = clock
        self.on_error = on_error
        self.events = 0  # events written: the `n` of the next input
        self.inputs = 0
        self.error: str | None = None
        self._last_flush = time.monotonic()

    @classmethod
    def open(cls, path: str | Path, clock: SimClock, on_error: Callable[[str], None] | None = None) -> Recorder:
        """A recorder writing gzip JSON lines to `path` (OSError if it cannot be created)."""
        return cls(gzip.open(path, "wt", encoding="utf-8", compresslevel=6), clock, on_error)

    def attach(self, rt: Any, header: dict[str, Any]) -> None:
        """Write `header`, then record `rt`'s events and inputs (call before rt.start())."""
        self._write(header)
        rt.subscribe(self)
        rt.on_step(self.flush_due)
        rt.recorder = self

    def __call__(self, event: Event) -> None:
        rec = event.record()
        rec["ts"] = self.clock.iso(event.t)
        if self._write(rec):
            self.events += 1

    def input(self, t: float, name: str, args: Mapping[str, Any]) -> None:
        """Record an input applied now (simulated time `t`, after `self.events` events)."""
        rec: dict[str, Any] = {"t": t, "kind": "input", "n": self.events, "input": name}
        if "source" in args:
            rec["source"] = args["source"]
        if args.get("user") is not None:
            rec["user"] = args["user"]
        rec["args"] = dict(args)
        if self._write(rec):
            self.inputs += 1

    def command(self, t: float, command: Any) -> None:
        self.input(t, type(command).__name__, encode_command(command))

    def flush_due(self) -> None:
        """A step hook: a sync flush once a wall second, so a crash keeps all but the last second."""
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_EVERY_S and self.error is None:
            self._last_flush = now
            try:
                self.out.flush()
            except (OSError, ValueError) as exc:
                self._failed(exc)

    def _write(self, rec: Mapping[str, Any]) -> bool:
        if self.error is not None:
            return False
        try:
            self.out.write(json.dumps(rec, separators=_COMPACT) + "\n")
        except (OSError, ValueError) as exc:
            self._failed(exc)
            return False
        return True

    def _failed(self, exc: BaseException) -> None:
        self.error = f"cannot write: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"
        if self.on_error is not None:
            self.on_error(self.error)

    def close(self, t: float) -> str | None:
        """Write the `end` record (simulated time `t`) and close; the cause if writing failed."""
        self.on_error = None  # the run is over: a failure is returned, not reported
        self._write({"t": t, "kind": "end", "events": self.events, "inputs": self.inputs})
        try:
            self.out.close()
        except (OSError, ValueError) as exc:
            if self.error is None:
                self._failed(exc)
        return self.error


def read_recording(path: str | Path) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The header and an iterator over the other records; a truncated end (a crash) ends it quietly."""
    name = str(path)
    try:
        f = gzip.open(path, "rt", encoding="utf-8")
        first = f.readline()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{name}: not a recording ({exc})") from None
    try:
        header = json.loads(first)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        f.close()
        raise RecordingError(f"{name}: line 1: not a SmartZone recording header")
    if header.get("version") != VERSION:
        f.close()
        raise RecordingError(f"{name}: line 1: recording version {header.get('version')!r}, expected {VERSION}")

    def records() -> Iterator[dict[str, Any]]:
        with f:
            lineno = 1
            while True:
                try:
                    line = f.readline()
                except (EOFError, OSError):  # a crash cut the stream: all flushed lines were read
                    return
                if not line:
                    return
                lineno += 1
                if not line.endswith("\n"):
                    return  # half a line from a crash
                try:
                    yield json.loads(line)
                except ValueError:
                    raise RecordingError(f"{name}: line {lineno}: not JSON") from None

    return header, records()


def open_recording(rt: Any, name: str, *, fast: bool, speed: float, duration: float | None) -> Recorder:
    """The recorder of `--record FILE` attached to `rt`; a later write failure makes the run fail."""
    try:
        fail = lambda cause: rt.health.fatal(f"recording {name}", cause)  # noqa: E731
        recorder = Recorder.open(name, rt.world.clock, on_error=fail)
    except OSError as exc:
        raise UsageError(f"--record: cannot write {name}: {exc.strerror}") from None
    recorder.attach(rt, scenario_header(rt, fast=fast, speed=speed, duration=duration))
    return recorder
