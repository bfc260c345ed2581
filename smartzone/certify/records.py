"""What certification observed: plain, immutable records the rules judge.

Every record carries two clocks: `wall` (seconds since the certification started, as the
app lives it) and `sim` (simulated seconds since the scenario start). Rates that cost the
platform (connects, publishes, commands) are judged per wall second; rates compared with
how fast the city's data changes (Modbus polling) are judged in simulated time.
The rules (rules.py) only read these records, so they are unit-tested on synthetic ones.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Stamp:
    wall: float
    sim: float


@dataclass(frozen=True)
class ConnectRec:
    """One CONNECT the gate judged; `refused` is None for an admitted client."""

    at: Stamp
    conn: int
    user: str | None
    client_id: str
    level: int
    clean: bool
    refused: str | None = None  # bad_credentials | id_rejected | not_authorised | bad_protocol | outage


@dataclass(frozen=True)
class SubscribeRec:
    at: Stamp
    conn: int
    filter: str
    qos: int
    allowed: bool  # by the scenario's access policy


@dataclass(frozen=True)
class PublishRec:
    """A PUBLISH the app sent."""

    at: Stamp
    conn: int
    topic: str
    qos: int
    retain: bool
    size: int
    allowed: bool
    payload: bytes = b""  # first bytes only (cmd payloads are small)


@dataclass
class FilterCost:
    """What one subscription filter of the app cost the broker, over every connection: the
    deliveries it matched (a message matched by two filters counts for both) and the retained
    documents each SUBSCRIBE of it fetched (delivered with the retain flag)."""

    filter: str
    first: Stamp
    subscribes: int = 0
    messages: int = 0
    bytes: int = 0
    retained: int = 0


@dataclass(frozen=True)
class AckRec:
    """A cmd/ack delivered to the app (parsed from what the broker sent it)."""

    at: Stamp
    device: str
    command_id: str | None
    ok: bool
    code: str | None


@dataclass(frozen=True)
class ModbusRec:
    at: Stamp
    conn: str  # "gateway/peer"
    gateway: str
    unit: int
    device: str | None
    function: int
    table: str | None
    address: int | None
    count: int | None
    exception: int | None  # Modbus exception code, None when answered


@dataclass(frozen=True)
class CommandRec:
    """A CommandResult on the bus from an app-facing endpoint (source mqtt or modbus)."""

    at: Stamp
    device: str
    command_id: str | None
    action: str
    source: str
    ok: bool
    code: str | None


@dataclass(frozen=True)
class ValueRec:
    """A device value change the app could react to (for profile expectations)."""

    at: Stamp
    device: str
    values: dict[str, Any]


@dataclass(frozen=True)
class StatusRec:
    at: Stamp
    device: str
    online: bool


@dataclass(frozen=True)
class ProbeRec:
    """One bad-day probe the certification script ran, with its window."""

    name: str
    start: Stamp
    end: Stamp
    detail: str
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeviceFacts:
    type: str
    tenant: str
    report_interval: float  # simulated seconds
    on_change: bool = False  # the type also reports at once when a value changes


@dataclass
class Observations:
    """Everything one certification run saw, plus the facts the rules need."""

    city: str
    user: str
    speed: float
    wall_duration: float = 0.0
    sim_duration: float = 0.0
    devices: dict[str, DeviceFacts] = field(default_factory=dict)
    types: dict[str, Any] = field(default_factory=dict)  # type id -> DeviceType (actions, parameter ranges)
    connects: list[ConnectRec] = field(default_factory=list)
    closes: list[tuple[int, Stamp]] = field(default_factory=list)
    subscribes: list[SubscribeRec] = field(default_factory=list)
    publishes: list[PublishRec] = field(default_factory=list)
    acks: list[AckRec] = field(default_factory=list)
    readings: Counter[str] = field(default_factory=Counter)  # device id -> readings the platform got
    deliveries: Counter[str] = field(default_factory=Counter)  # device id (or "other") -> messages sent to the app
    delivered_v1: int = 0
    delivered_bytes: int = 0
    filter_costs: dict[str, FilterCost] = field(default_factory=dict)  # granted filter -> its deliveries
    retained_by_second: Counter[int] = field(default_factory=Counter)  # wall second -> retained documents fetched
    modbus: list[ModbusRec] = field(default_factory=list)
    commands: list[CommandRec] = field(default_factory=list)
    values: list[ValueRec] = field(default_factory=list)
    statuses: list[StatusRec] = field(default_factory=list)
    probes: list[ProbeRec] = field(default_factory=list)
    app_exit: int | None = None  # the app's exit code if it ended by itself before the end
    app_exit_at: Stamp | None = None
    app_output: str = ""
    backend: str = ""
    broker_denied: dict[str, int] = field(default_factory=dict)  # the broker's own counters, "user:kind" -> n
    notes: list[str] = field(default_factory=list)

    @property
    def total_delivered(self) -> int:
        return sum(self.deliveries.values())
