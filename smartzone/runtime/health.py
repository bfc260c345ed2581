"""Health of a running city's long-lived parts: threads, child processes, endpoints.

DESIGN.md 2b: every thread and child process has a supervisor; a crash is logged with its
cause, counted, recovered where possible, otherwise the run ends with exit 1. This module is
the one place where that is recorded. Each Runtime owns one `Health` (`rt.health`):

- `survived(component, cause)`: an unexpected exception that a worker caught and went on
  after (a bad packet, a callback that raised). Counted; the worker is still healthy.
- `down(component, cause)` then `up(component)`: an outage and its recovery (a broker child
  that died and was restarted). Counted with its duration.
- `fatal(component, cause)`: a part that cannot be recovered. `rt.health.failed` becomes
  true and `smartzone run` ends with exit 1, naming what died.

`guard(health, component)` wraps a callback so that an exception is reported and swallowed
instead of killing the thread that called it (paho's network thread, a Qt slot, ...).

`Watchdog` polls probes (`check() -> cause or None`) registered by services, at least every
`interval` seconds, so that a dead thread or process is noticed within two seconds even
when nothing calls into it. A probe that finds its part dead reports `down`/`fatal` itself
or returns a cause, which the watchdog reports as fatal.

Listeners get every `HealthEvent` (on the reporting thread: enqueue, do not block): the CLI
prints them on stderr, the GUI shows them, the trace records them.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

Kind = Literal["survived", "down", "up", "fatal"]
CHECK_INTERVAL_S = 0.5  # watchdog period: a dead part is noticed well within 2 s

log = logging.getLogger("smartzone.health")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class HealthEvent:
    """One fact about a supervised part (wall-clock time: outages are not simulated facts)."""

    kind: Kind
    component: str  # e.g. "mqtt broker (mosquitto)", "modbus gateway gw-1", "command listener"
    cause: str
    wall: float = field(default_factory=time.time)


@dataclass
class ComponentHealth:
    """Counts and the current state of one supervised part."""

    state: Literal["ok", "down", "failed"] = "ok"
    survived: int = 0
    outages: int = 0
    down_since: float | None = None
    downtime_s: float = 0.0
    last_cause: str = ""


Listener = Callable[[HealthEvent], None]
Probe = Callable[[], str | None]


class Health:
    """Thread-safe registry of what went wrong with the long-lived parts of one run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: dict[str, ComponentHealth] = {}
        self._listeners: list[Listener] = []
        self.events: list[HealthEvent] = []  # every event, for the summary and tests (bounded)
        self.fatal_event = threading.Event()

    # -- reporting -----------------------------------------------------------------------
    def survived(self, component: str, cause: str) -> None:
        """A worker caught an unexpected exception and went on."""
        with self._lock:
            part = self._part(component)
            part.survived += 1
            part.last_cause = cause
        self._emit(HealthEvent("survived", component, cause))

    def down(self, component: str, cause: str) -> None:
        """A part stopped working; recovery is being attempted."""
        with self._lock:
            part = self._part(component)
            if part.state == "down":
                return
            part.state, part.outages, part.last_cause = "down", part.outages + 1, cause
            part.down_since = time.monotonic()
        self._emit(HealthEvent("down", component, cause))

    def up(self, component: str, how: str = "recovered") -> None:
        """A part that was down works again."""
        with self._lock:
            part = self._part(component)
            if part.state != "down":
                return
            part.state = "ok"
            if part.down_since is not None:
                part.downtime_s += time.monotonic() - part.down_since
                part.down_since = None
        self._emit(HealthEvent("up", component, how))

    def fatal(self, component: str, cause: str) -> None:
        """A part that cannot be recovered: the run must end with exit 1."""
        with self._lock:
            part = self._part(component)
            if part.state == "failed":
                return
            if part.down_since is not None:
                part.downtime_s += time.monotonic() - part.down_since
                part.down_since = None
            part.state, part.last_cause = "failed", cause
        self._emit(HealthEvent("fatal", component, cause))
        self.fatal_event.set()

    # -- reading -------------------------------------------------------------------------
    @property
    def failed(self) -> bool:
        return self.fatal_event.is_set()

    def fatal_causes(self) -> list[str]:
        with self._lock:
            return [f"{name}: {p.last_cause}" for name, p in self._parts.items() if p.state == "failed"]

    def snapshot(self) -> dict[str, ComponentHealth]:
        """Copies of every part's health, by component name."""
        with self._lock:
            return {name: ComponentHealth(**vars(p)) for name, p in self._parts.items()}

    def summary_lines(self) -> list[str]:
        """One line per part that had trouble (nothing when all went well)."""
        lines = []
        for name, p in self.snapshot().items():
            bits = []
            if p.outages:
                bits.append(f"{p.outages} outage(s), {p.downtime_s:.1f} s down")
            if p.survived:
                bits.append(f"{p.survived} error(s) survived")
            if p.state != "ok":
                bits.append(p.state)
            if bits:
                lines.append(f"health: {name}: {', '.join(bits)} (last: {p.last_cause})")
        return lines

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    # -- internals -----------------------------------------------------------------------
    def _part(self, component: str) -> ComponentHealth:
        part = self._parts.get(component)
        if part is None:
            part = self._parts[component] = ComponentHealth()
        return part

    def _emit(self, event: HealthEvent) -> None:
        with self._lock:
            if len(self.events) < 10_000:
                self.events.append(event)
            listeners = list(self._listeners)
        # Listeners show events to people (the CLI's stderr, the GUI); the log is the fallback,
        # so that a terminal does not get every event twice through logging's last resort.
        level = logging.WARNING if event.kind in ("survived", "up") else logging.ERROR
        log.log(logging.DEBUG if listeners else level, "%s: %s: %s", event.kind, event.component, event.cause)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a listener must not break the reporter
                log.exception("health listener failed")


def describe_exception(exc: BaseException) -> str:
    """`Type: message (file:line in function)` of the innermost frame: a cause a user can report."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" ({tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno} in {tb[-1].name})" if tb else ""
    text = str(exc)
    if len(text) > 200:
        text = text[:200] + "..."
    return f"{type(exc).__name__}: {text}{where}"


def guard(health: Health | None, component: str, fn: F) -> F:
    """`fn` with every Exception reported to `health` as survived (and logged) instead of raised."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            cause = describe_exception(exc)
            if health is not None:
                health.survived(component, cause)
            else:
                log.error("%s: %s", component, cause)
            return None

    guarded.__name__ = getattr(fn, "__name__", "guarded")
    guarded.__doc__ = fn.__doc__
    return guarded  # type: ignore[return-value]


class Watchdog(threading.Thread):
    """Polls registered probes; a probe that returns a cause makes its component fatal."""

    def __init__(self, health: Health, interval: float = CHECK_INTERVAL_S) -> None:
        super().__init__(name="sz-watchdog", daemon=True)
        self.health = health
        self.interval = interval
        self._probes: dict[str, Probe] = {}
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def watch(self, component: str, probe: Probe) -> Callable[[], None]:
        """Call `probe` every interval; returns an unwatch function (call it before a clean stop)."""
        with self._lock:
            self._probes[component] = probe

        def unwatch() -> None:
            with self._lock:
                if self._probes.get(component) is probe:
                    del self._probes[component]

        return unwatch

    def stop(self, timeout: float = 2.0) -> None:
        self._halt.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.check_once()

    def check_once(self) -> None:
        with self._lock:
            probes = list(self._probes.items())
        for component, probe in probes:
            try:
                cause = probe()
            except Exception as exc:
                cause = f"its health probe failed: {describe_exception(exc)}"
            if cause:
                with self._lock:
                    self._probes.pop(component, None)  # reported once
                self.health.fatal(component, cause)
