"""Recordings: a run's facts and everything that came in from outside, to play it back.

A recording is a gzip file of JSON lines (docs/recording.md): a header (format, version,
seed, start, the scenario's YAML and the YAML of its device types), then in engine order
the events and the inputs (`"kind": "input"`) at the point of the event order where the
engine applied them (`t` and `n`, the number of events published before), then an `end`
record. Since version 2 an event's line is `{"kind":KIND,` and its dataclass's fields as
orjson writes them (no `ts`, `t` unrounded); `read_recording` gives every event as the
trace's line without `ts`, for both versions. The engine thread only queues; a writer
thread encodes, compresses and writes (Recorder).

The gzip stream is flushed (a sync flush) at least once a wall second by the writer, so
a crash loses at most the last second: `read_recording` stops quietly at a truncated end.
"""

from __future__ import annotations

import dataclasses
import gzip
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from itertools import groupby
from pathlib import Path
from typing import IO, Any

import orjson

from smartzone import __version__
from smartzone.core.bridged import BridgedAnswer, BridgedCommand, BridgedReading
from smartzone.core.commands import DeviceCommand, SetOnline
from smartzone.core.events import (
    CommandResult,
    DeviceAdded,
    DeviceRemoved,
    Event,
    FaultChanged,
    LinkStats,
    Reading,
    SandboxResult,
    ServiceHealth,
    StateChanged,
    StatusChanged,
    TimelineChanged,
)
from smartzone.core.faults import ClearFault, CutBackhaul, DegradeLink, InjectFault, RestoreLink
from smartzone.core.sandbox import AddDevice, RemoveDevice, ResetSandbox
from smartzone.errors import UsageError
from smartzone.runtime.health import describe_exception

FORMAT = "smartzone-recording"
VERSION = 2  # 2: events written by orjson, no `ts` (docs/recording.md); 1 is still read
READABLE = (1, 2)
COMPRESS_LEVEL = 1  # zlib's fastest: about 3 times cheaper than 6 for a file about 1.3 times larger
FLUSH_EVERY_S = 1.0
_BATCH = 1024  # queue items per write: large writes let zlib work without the GIL
_POLL_S = 0.1  # the writer's idle wake-up: a quiet run is still flushed within about a second

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
        BridgedCommand,
        DeviceAdded,
        DeviceRemoved,
        SandboxResult,
    )
}
# inputs that are commands of the world (re-applied by a re-simulation); the others are controls
COMMAND_CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        DeviceCommand,
        SetOnline,
        InjectFault,
        ClearFault,
        DegradeLink,
        RestoreLink,
        CutBackhaul,
        BridgedReading,  # a real device's readings and answers are inputs (docs/recording.md)
        BridgedAnswer,
        AddDevice,
        RemoveDevice,
        ResetSandbox,
    )
}
CONTROLS = ("pause", "resume", "speed", "step", "health", "netstats")


class RecordingError(Exception):
    """A file that is not a readable recording (its message names the file and the problem)."""


def encode_command(command: Any) -> dict[str, Any]:
    """The input record's `args` for a command object (plain JSON values)."""
    return {f.name: _plain(getattr(command, f.name)) for f in dataclasses.fields(command)}


def _default(value: Any) -> Any:
    """orjson's fallback for what it does not write natively (a read-only mapping, a set)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot record a {type(value).__name__}")


def encode_line(record: Mapping[str, Any]) -> bytes:
    """One JSON line (header, input, end) as the recorder writes it."""
    return orjson.dumps(record, default=_default, option=orjson.OPT_APPEND_NEWLINE)


def encode_events(kind: str, events: list[Event]) -> list[bytes]:
    """The lines of consecutive events of one kind: `{"kind":KIND,` then the event's dataclass
    fields in order (orjson writes a dataclass in C, without Event.record()'s Python work)."""
    prefix = b'{"kind":"' + kind.encode() + b'",'
    dumps, default = orjson.dumps, _default
    return [prefix + dumps(e, default=default, option=orjson.OPT_APPEND_NEWLINE)[1:] for e in events]


def normalised(rec: dict[str, Any]) -> dict[str, Any]:
    """A record as read: an event as its trace line without `ts` (`t` rounded to the millisecond
    and first, `kind` second, as Event.record() has them), whichever version wrote it."""
    if not isinstance(rec, dict):
        raise TypeError("a record is a JSON object")
    if rec.get("kind") not in EVENT_CLASSES:
        return rec
    out = {"t": round(rec["t"], 3), "kind": rec["kind"]}
    out.update((k, v) for k, v in rec.items() if k not in ("t", "kind", "ts"))
    return out


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
    types = sorted({fleet.type for fleet in sc.fleets} | {dev.type for dev in sc.bridged_devices})
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
    """A bus subscriber and input sink writing one recording through a writer thread.

    The engine thread only queues: events as they are (frozen facts), inputs as encoded
    lines (their arguments may be mutable). The writer thread encodes each run of consecutive
    events of one kind with orjson (in C, no Python per field), compresses and writes, and
    sync-flushes at least once a wall second. The queue is bounded (MAX_PENDING items): when
    the disk is slower than the engine, the engine waits for room (counted in `stalls`);
    nothing is dropped while the writer lives. A write error stops writing and is reported
    once through `on_error`; a writer thread that dies of anything else is found by
    `probe()` (open_recording watches it).
    """

    MAX_PENDING = 50_000  # about 2 s of a fast 1,000-device run: a slow second of disk does not stall

    def __init__(
        self,
        out: IO[bytes] | gzip.GzipFile,
        on_error: Callable[[str], None] | None = None,
        max_pending: int | None = None,
    ) -> None:
        self.out = out
        self.on_error = on_error
        self.max_pending = max_pending or self.MAX_PENDING
        self.events = 0  # events queued: the `n` of the next input
        self.inputs = 0
        self.stalls = 0  # times the engine waited for the writer (a slow disk)
        self.error: str | None = None
        self.unwatch: Callable[[], None] | None = None
        self._items: deque[Event | bytes | threading.Event] = deque()
        self._wake = threading.Event()  # the writer has work (a full batch, a sync, the end)
        self._room = threading.Event()  # the writer drained the queue
        self._closing = False
        self._death: str | None = None  # why the writer thread died, if it did
        self._thread = threading.Thread(target=self._run, name="recording-writer", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, path: str | Path, on_error: Callable[[str], None] | None = None) -> Recorder:
        """A recorder writing gzip JSON lines to `path` (OSError if it cannot be created)."""
        return cls(gzip.open(path, "wb", compresslevel=COMPRESS_LEVEL), on_error)

    def attach(self, rt: Any, header: dict[str, Any]) -> None:
        """Write `header`, then record `rt`'s events and inputs (call before rt.start())."""
        self._put(encode_line(header))
        rt.subscribe(self)
        rt.recorder = self

    def __call__(self, event: Event) -> None:
        if self.error is None:  # _put, inlined: this runs on the engine thread once per event
            items = self._items
            items.append(event)
            self.events += 1
            if not len(items) % _BATCH:
                self._more(len(items))

    def input(self, t: float, name: str, args: Mapping[str, Any]) -> None:
        """Record an input applied now (simulated time `t`, after `self.events` events)."""
        rec: dict[str, Any] = {"t": t, "kind": "input", "n": self.events, "input": name}
        if "source" in args:
            rec["source"] = args["source"]
        if args.get("user") is not None:
            rec["user"] = args["user"]
        rec["args"] = dict(args)
        if self._put(encode_line(rec)):
            self.inputs += 1

    def command(self, t: float, command: Any) -> None:
        self.input(t, type(command).__name__, encode_command(command))

    def probe(self) -> str | None:
        """For rt.watch: the cause if the writer thread died (not when it ended at close())."""
        if self._thread.is_alive() or self._closing:
            return None
        return self._death or "the writer thread ended"

    def sync(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written and sync-flushed (False on timeout)."""
        done = threading.Event()
        if not self._put(done):
            return False
        self._wake.set()
        return done.wait(timeout)

    def _put(self, item: Event | bytes | threading.Event) -> bool:
        if self.error is not None:
            return False
        items = self._items
        items.append(item)
        if not len(items) % _BATCH:
            self._more(len(items))
        return True

    def _more(self, pending: int) -> None:
        """Another _BATCH items queued: wake the writer (once per batch, not per item: a
        threading.Event.set takes a lock), and wait for room if the queue is full."""
        self._wake.set()
        if pending >= self.max_pending:
            self._wait_room()

    def _wait_room(self) -> None:
        """The disk is slower than the engine: wait (bounded steps) while the writer lives."""
        self.stalls += 1
        while len(self._items) >= self.max_pending and self.error is None:
            if not self._thread.is_alive():
                self.error = f"writer thread died: {self._death or 'ended'}"
                return  # reported by the watchdog (probe): the engine must not hang on it
            self._room.clear()
            self._wake.set()
            self._room.wait(0.1)

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # supervised: probe() reports it, close() returns it
            self._death = describe_exception(exc)

    def _loop(self) -> None:
        items = self._items
        last_flush = time.monotonic()
        dirty = False
        while True:
            self._wake.wait(_POLL_S)
            self._wake.clear()
            closing = self._closing  # read before draining: what was queued before close() is drained
            syncs: list[threading.Event] = []
            while items:
                taken = [items.popleft() for _ in range(min(len(items), _BATCH))]
                if len(items) < self.max_pending:
                    self._room.set()
                dirty |= self._write(b"".join(self._encode(taken, syncs)))
            self._room.set()
            now = time.monotonic()
            if dirty and (syncs or now - last_flush >= FLUSH_EVERY_S):
                self._flush()
                last_flush, dirty = now, False
            for done in syncs:
                done.set()
            if closing and not items:
                return

    @staticmethod
    def _encode(items: list[Event | bytes | threading.Event], syncs: list[threading.Event]) -> Iterator[bytes]:
        """The lines of queued items in order: encoded lines as they are, runs of events encoded."""
        for cls, run in groupby(items, type):
            if cls is bytes:
                yield from run  # type: ignore[misc]
            elif cls is threading.Event:
                syncs.extend(run)  # type: ignore[arg-type]
            else:
                yield from encode_events(cls.kind, list(run))  # type: ignore[attr-defined,arg-type]

    def _write(self, data: bytes) -> bool:
        if self.error is not None:
            return False
        if not data:
            return False
        try:
            self.out.write(data)
        except (OSError, ValueError) as exc:
            self._failed(exc)
            return False
        return True

    def _flush(self) -> None:
        if self.error is None:
            try:
                self.out.flush()
            except (OSError, ValueError) as exc:
                self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        self.error = f"cannot write: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"
        if self.on_error is not None:
            self.on_error(self.error)

    def close(self, t: float, timeout: float = 60.0) -> str | None:
        """Write the `end` record (simulated time `t`), drain the writer and close; the cause if it failed."""
        if self.unwatch is not None:
            self.unwatch()  # a deliberate stop: the writer ending now is no death
        self.on_error = None  # the run is over: a failure is returned, not reported
        self._put(encode_line({"t": t, "kind": "end", "events": self.events, "inputs": self.inputs}))
        self._closing = True
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.error = self.error or f"the writer did not finish within {timeout:g} s"
        elif self._death is not None and self.error is None:
            self.error = f"writer thread died: {self._death}"
        try:
            self.out.close()
        except (OSError, ValueError) as exc:
            if self.error is None:
                self._failed(exc)
        return self.error


def read_recording(path: str | Path) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The header and an iterator over the other records (versions 1 and 2; events `normalised`);
    a truncated end (a crash) ends it quietly."""
    name = str(path)
    try:
        f = gzip.open(path, "rb")
        first = f.readline()
    except (OSError, EOFError) as exc:
        raise RecordingError(f"{name}: not a recording ({exc})") from None
    try:
        header = orjson.loads(first)
    except orjson.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        f.close()
        raise RecordingError(f"{name}: line 1: not a SmartZone recording header")
    if header.get("version") not in READABLE:
        f.close()
        expected = " or ".join(str(v) for v in READABLE)
        raise RecordingError(f"{name}: line 1: recording version {header.get('version')!r}, expected {expected}")
    return header, _records(name, f)


def _records(name: str, f: gzip.GzipFile) -> Iterator[dict[str, Any]]:
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
            if not line.endswith(b"\n"):
                return  # half a line from a crash
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise RecordingError(f"{name}: line {lineno}: not JSON") from None
            try:
                yield normalised(rec)
            except (KeyError, TypeError):
                raise RecordingError(f"{name}: line {lineno}: not a record (an object with `t` and `kind`)") from None


def open_recording(rt: Any, name: str, *, fast: bool, speed: float, duration: float | None) -> Recorder:
    """The recorder of `--record FILE` attached to `rt`; a later write failure makes the run fail."""
    try:
        fail = lambda cause: rt.health.fatal(f"recording {name}", cause)  # noqa: E731
        recorder = Recorder.open(name, on_error=fail)
    except OSError as exc:
        raise UsageError(f"--record: cannot write {name}: {exc.strerror}") from None
    recorder.attach(rt, scenario_header(rt, fast=fast, speed=speed, duration=duration))
    recorder.unwatch = rt.watch(f"recording {name}", recorder.probe)
    return recorder
