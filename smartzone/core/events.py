"""Facts the simulation publishes on the bus: immutable, plain data, no live objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Event:
    """Base: every fact happened at simulated time `t` (seconds since the scenario start)."""

    kind: ClassVar[str] = "event"
    t: float

    def record(self) -> dict[str, Any]:
        """A JSON-ready dict with a stable key order (for traces and endpoints)."""
        out: dict[str, Any] = {"t": round(self.t, 3), "kind": self.kind}
        for name in self.__slots__:  # type: ignore[attr-defined]
            if name != "t":
                value = getattr(self, name)
                out[name] = dict(value) if isinstance(value, Mapping) else value
        return out


@dataclass(frozen=True, slots=True)
class Reading(Event):
    """The platform received a device's signal values.

    `t` is when the reading arrived (after any simulated network delay); `measured` is when
    the device took it (None: the same as `t`). `seq` grows by one per reading the device
    sent, so a gap means a reading lost on the simulated network.
    """

    kind: ClassVar[str] = "reading"
    device: str
    seq: int
    values: Mapping[str, Any]
    measured: float | None = None

    @property
    def measured_at(self) -> float:
        return self.t if self.measured is None else self.measured


@dataclass(frozen=True, slots=True)
class StateChanged(Event):
    """An actuator's state variables changed (by a command or by its own automation)."""

    kind: ClassVar[str] = "state"
    device: str
    values: Mapping[str, Any]
    cause: str


@dataclass(frozen=True, slots=True)
class StatusChanged(Event):
    """A device went online or offline."""

    kind: ClassVar[str] = "status"
    device: str
    online: bool
    reason: str


@dataclass(frozen=True, slots=True)
class CommandResult(Event):
    """The outcome of a command: the new state, or an error code from docs/api.md."""

    kind: ClassVar[str] = "command"
    device: str
    command_id: str | None
    action: str
    source: str
    ok: bool
    state: Mapping[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class FaultChanged(Event):
    """A fault started or ended on a device."""

    kind: ClassVar[str] = "fault"
    device: str
    fault: str
    active: bool
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LinkStats(Event):
    """Cumulative traffic counters of one link (network profile) or backhaul/gateway.

    `dropped` = sum of `drops` by reason (loss, queue, outage, offline); `throttled` counts
    readings a duty-cycle limit kept from being sent at all (they take no seq number).
    `latency` summarises delivery delays in seconds (count, mean, p50, p95, p99, max).
    """

    kind: ClassVar[str] = "netstats"
    link: str
    scope: str
    sent: int
    delivered: int
    dropped: int
    duplicated: int
    throttled: int
    drops: Mapping[str, int] = field(default_factory=dict)
    latency: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TimelineChanged(Event):
    """A scripted timeline event started or ended."""

    kind: ClassVar[str] = "timeline"
    name: str
    active: bool
    description: str = ""


@dataclass(frozen=True, slots=True)
class ServiceHealth(Event):
    """A supervised part of the run (a broker child, ...) went down, came back up or failed for good.

    Published by the runtime from its health registry (runtime/health.py), so that outages are
    in the trace; a run without outages has none of these events.
    """

    kind: ClassVar[str] = "health"
    component: str
    state: str  # down | up | fatal
    cause: str


@dataclass(frozen=True, slots=True)
class DeviceAdded(Event):
    """A device was created at run time in a sandbox tenant (`info`: its DeviceInfo fields)."""

    kind: ClassVar[str] = "device_added"
    device: str
    tenant: str
    info: Mapping[str, Any]
    source: str


@dataclass(frozen=True, slots=True)
class DeviceRemoved(Event):
    """A sandbox device was deleted at run time (`reason`: remove or reset)."""

    kind: ClassVar[str] = "device_removed"
    device: str
    tenant: str
    reason: str
    source: str


@dataclass(frozen=True, slots=True)
class SandboxResult(Event):
    """The outcome of a sandbox request (add, remove, reset): the devices it touched, or an error."""

    kind: ClassVar[str] = "sandbox"
    tenant: str
    request: str  # the device id of an add/remove, the request id of a reset
    action: str
    source: str
    ok: bool
    devices: tuple[str, ...] = ()
    error_code: str | None = None
    error_message: str | None = None
