"""The bridge: puts one runtime's city on a broker (telemetry, retained documents, commands).

    bridge = Bridge(runtime, BrokerAddress("127.0.0.1", 1883, "smartzone", "secret"))
    bridge.start()          # retained meta/status/state/catalog/tenants/access, then live events
    ...
    bridge.close()

The engine thread only stages events (`_on_event`) and hands them over once per step;
rendering and publishing happen on the publisher's worker threads; commands come in on
the command listener's paho thread. Every one of those threads is supervised: callbacks
are guarded with the runtime's `guard` (an exception is reported to its health as survived)
and each thread has a watchdog probe (`runtime.watch`) from start() until close(), so a
thread that dies anyway makes the run fail (exit 1) naming it.

A sandbox device created or deleted at run time (DeviceAdded/DeviceRemoved, smartzone.core.sandbox)
goes on the wire like any other: once added, its retained meta and status (and state) are published,
its readings and commands flow, and its tenant's catalog and the city's tenants document are
republished; once removed, its retained documents are cleared (an empty retained payload) and the
catalog and tenants document republished. The sandbox owners' requests come in on the command
listener (sandbox_requests.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from smartzone.core.clock import SimClock
from smartzone.core.device import DeviceInfo
from smartzone.core.events import (
    CommandResult,
    DeviceAdded,
    DeviceRemoved,
    Event,
    Reading,
    SandboxResult,
    StateChanged,
    StatusChanged,
)
from smartzone.definitions.device_type import DeviceType
from smartzone.endpoints.mqtt import documents
from smartzone.endpoints.mqtt.broker.policy import AccessPolicy
from smartzone.endpoints.mqtt.commands import CommandListener
from smartzone.endpoints.mqtt.host import RuntimeLike
from smartzone.endpoints.mqtt.payloads import Encoder, dumps, encoder, v1_payload
from smartzone.endpoints.mqtt.publisher import (
    RETAINED_ACK_WAIT_S,
    BrokerAddress,
    GatewayPublisher,
    Message,
    tune_switch_interval,
)
from smartzone.endpoints.mqtt.sandbox_requests import SandboxRequests
from smartzone.endpoints.mqtt.topics import Topics
from smartzone.errors import EndpointError

RETAINED_QOS = 1
ACK_QOS = 1
SOURCE = "mqtt"


@dataclass(frozen=True)
class DeviceWire:
    """Everything needed to put one device's events on the wire (precomputed once)."""

    info: DeviceInfo
    dtype: DeviceType
    encode: Encoder
    qos: int
    telemetry: str
    status: str
    state: str
    ack: str
    v1: str | None


@dataclass(frozen=True)
class WireAdded:
    """Render item: a device created at run time (its retained documents to publish)."""

    wire: DeviceWire
    online: bool
    state: dict[str, Any]
    t: float


@dataclass(frozen=True)
class WireRemoved:
    """Render item: a device deleted at run time (its retained documents to clear)."""

    wire: DeviceWire


@dataclass(frozen=True)
class CatalogChanged:
    """Render item: a tenant's device set changed (its catalog)."""

    tenant: str


@dataclass(frozen=True)
class TenantsChanged:
    """Render item: the city's device set changed (its tenants document, with device counts)."""


class Bridge:
    """Publishes a runtime's events on a broker and turns `cmd` messages into commands."""

    def __init__(
        self,
        runtime: RuntimeLike,
        address: BrokerAddress,
        *,
        connections: int = 1,
        queue_bound: int = 20000,
        backlog_bound: int = 20000,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.address = address
        sc = runtime.scenario
        self.topics = Topics(sc.city)
        self.clock = SimClock(sc.start, sc.timezone)
        formats = {t.id: t.payload_format or sc.payload_format for t in sc.tenants}
        self.formats = formats
        self.wires: dict[str, DeviceWire] = {info.id: self._wire(info) for info in runtime.devices.values()}
        prefix = address.username or "smartzone"
        self.publisher = GatewayPublisher(
            address,
            self.render,
            client_prefix=prefix,
            connections=connections,
            queue_bound=queue_bound,
            backlog_bound=backlog_bound,
            warn=warn,
            guard=runtime.guard,
        )
        self.sandbox = SandboxRequests(runtime, self.topics, self.publish_ack, self.clock.iso)
        self.commands = CommandListener(
            runtime, address, self.topics, self.publish_ack, client_id=f"{prefix}-cmd", sandbox=self.sandbox
        )
        self._unsubscribe: Callable[[], None] | None = None
        self._unhook: Callable[[], None] | None = None
        self._unwatch: list[Callable[[], None]] = []

    def _wire(self, info: DeviceInfo) -> DeviceWire:
        sc = self.runtime.scenario
        dtype = self.runtime.catalog.types[info.type]
        return DeviceWire(
            info,
            dtype,
            encoder(self.formats.get(info.tenant, sc.payload_format), info, dtype, self.clock),
            dtype.report.qos,
            self.topics.device(info, "telemetry"),
            self.topics.device(info, "status"),
            self.topics.device(info, "state"),
            self.topics.device(info, "cmd/ack"),
            self.topics.v1_data(info.id) if sc.api_v1 else None,
        )

    # --- engine thread: enqueue only ----------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        kind = type(event)
        if kind is CommandResult and event.source != SOURCE:  # type: ignore[attr-defined]
            return
        if kind is DeviceAdded or kind is DeviceRemoved:
            self._device_set_changed(event)  # type: ignore[arg-type]
            return
        if kind is SandboxResult:
            self.sandbox.on_result(event)  # type: ignore[arg-type]
            return
        self.publisher.stage(event.device, event)  # type: ignore[attr-defined]

    def _device_set_changed(self, event: DeviceAdded | DeviceRemoved) -> None:
        """A sandbox device created or deleted: its documents, in order with its readings, then the catalog."""
        if isinstance(event, DeviceAdded):
            wire = self._wire(DeviceInfo(**event.info))
            self.wires[event.device] = wire
            live = getattr(self.runtime, "live", None)  # smartzone.runtime.Runtime's cache, seeded before us
            now = live.get(event.device) if live is not None else None
            online, state = (now.online, now.state) if now is not None else (True, {})
            self.publisher.stage(event.device, WireAdded(wire, online, state, event.t))
        else:
            gone = self.wires.pop(event.device, None)
            if gone is None:
                return
            self.publisher.stage(event.device, WireRemoved(gone))
        self.publisher.stage(f"catalog:{event.tenant}", CatalogChanged(event.tenant))
        self.publisher.stage("discovery", TenantsChanged())  # the key its retained copy was preloaded under

    # --- publisher threads: events -> messages ---------------------------------------------
    def render(self, item: Any) -> Iterable[Message]:
        if isinstance(item, tuple):
            return (item,)
        if isinstance(item, (WireAdded, WireRemoved, CatalogChanged, TenantsChanged)):
            return self._render_device_set(item)
        wire = self.wires.get(item.device)
        if wire is None:
            return ()
        if type(item) is Reading:
            out: list[Message] = [(wire.telemetry, wire.encode(item), wire.qos, False)]
            if wire.v1 is not None:
                out.append((wire.v1, v1_payload(item, self.clock), wire.qos, False))
            return out
        ts = self.clock.iso(item.t)
        if type(item) is StatusChanged:
            return ((wire.status, dumps(documents.status(item.online, ts)), RETAINED_QOS, True),)
        if type(item) is StateChanged:
            return ((wire.state, dumps(documents.state(ts, item.values)), RETAINED_QOS, True),)
        if type(item) is CommandResult:
            if item.ok:
                ack = documents.ack_ok(item.command_id, ts, item.state)
            else:
                ack = documents.ack_error(item.command_id, item.error_code or "error", item.error_message or "")
            return ((wire.ack, dumps(ack), ACK_QOS, False),)
        return ()

    def _render_device_set(self, item: WireAdded | WireRemoved | CatalogChanged | TenantsChanged) -> list[Message]:
        if isinstance(item, TenantsChanged):
            return [self.tenants_document()]
        if isinstance(item, CatalogChanged):
            devices = [(w.info, w.dtype) for w in list(self.wires.values()) if w.info.tenant == item.tenant]
            doc = documents.catalog(self.topics, item.tenant, devices)
            return [(self.topics.catalog(item.tenant), dumps(doc), RETAINED_QOS, True)]
        wire = item.wire
        meta = self.topics.device(wire.info, "meta")
        if isinstance(item, WireRemoved):
            cleared = [meta, wire.status] + ([wire.state] if wire.dtype.state else [])
            return [(topic, b"", RETAINED_QOS, True) for topic in cleared]
        fmt = self.formats.get(wire.info.tenant, "native")
        ts = self.clock.iso(item.t)
        out: list[Message] = [
            (meta, dumps(documents.meta(wire.info, wire.dtype, fmt)), RETAINED_QOS, True),
            (wire.status, dumps(documents.status(item.online, ts)), RETAINED_QOS, True),
        ]
        if wire.dtype.state and item.state:  # without the runtime's live cache: at its first change
            out.append((wire.state, dumps(documents.state(ts, item.state)), RETAINED_QOS, True))
        return out

    def publish_ack(self, device_key: str, topic: str, ack: dict[str, Any]) -> None:
        """Queue an ack decided by the bridge itself (malformed, forbidden, ...)."""
        self.publisher.submit(device_key, (topic, dumps(ack), ACK_QOS, False))

    # --- lifecycle ---------------------------------------------------------------------------
    def retained_documents(self) -> dict[str, list[Message]]:
        """Current meta/status/state per device and the catalog per tenant, keyed for routing."""
        snap = self.runtime.snapshot()
        since = self.clock.iso(self.runtime.sim_time)
        out: dict[str, list[Message]] = {}
        by_tenant: dict[str, list[tuple[DeviceInfo, DeviceType]]] = {t.id: [] for t in self.runtime.scenario.tenants}
        for device_id, wire in self.wires.items():
            info, dtype = wire.info, wire.dtype
            fmt = self.formats.get(info.tenant, "native")
            docs: list[Message] = [
                (self.topics.device(info, "meta"), dumps(documents.meta(info, dtype, fmt)), RETAINED_QOS, True),
            ]
            s = snap.get(device_id)
            online = s.online if s is not None else True
            docs.append((wire.status, dumps(documents.status(online, since)), RETAINED_QOS, True))
            if dtype.state and s is not None:
                docs.append((wire.state, dumps(documents.state(since, s.state)), RETAINED_QOS, True))
            out[device_id] = docs
            by_tenant.setdefault(info.tenant, []).append((info, dtype))
        for tenant, devices in by_tenant.items():
            doc = documents.catalog(self.topics, tenant, devices)
            out[f"catalog:{tenant}"] = [(self.topics.catalog(tenant), dumps(doc), RETAINED_QOS, True)]
        out["discovery"] = self.discovery_documents()
        return out

    def discovery_documents(self) -> list[Message]:
        """The city's `tenants` document and one `access/{user}` document per scenario user."""
        sc = self.runtime.scenario
        docs: list[Message] = [self.tenants_document()]
        policy = AccessPolicy(sc, service_password="")  # only its topic rules, the brokers' own
        for user in sc.users:
            who = policy.identity_of(user.name)
            rules = policy.rules(who)
            doc = documents.access(sc, user, (*rules.read, *policy.v1_read_topics(who)), rules.write)
            docs.append((self.topics.access(user.name), dumps(doc), RETAINED_QOS, True))
        return docs

    def tenants_document(self) -> Message:
        """The city's retained `tenants` document, from the devices on the wire now (any thread)."""
        infos = [w.info for w in list(self.wires.values())]
        doc = documents.tenants(self.topics, self.runtime.scenario, self.formats, infos)
        return (self.topics.tenants(), dumps(doc), RETAINED_QOS, True)

    def start(self, *, wait: bool = True, timeout: float = 15.0) -> None:
        """Subscribe to the bus, publish the retained documents, start listening for commands.

        With `wait`, block until every connection is up (an unreachable broker raises
        EndpointError, CLI exit 3) and the broker has acknowledged the retained documents
        (a large city on a slow broker takes a while: past RETAINED_ACK_WAIT_S this warns
        and goes on, the documents keep flowing).
        """
        tune_switch_interval()
        # on the engine thread: an exception here must not end the simulation
        self._unsubscribe = self.runtime.subscribe(
            self.runtime.guard("mqtt bridge", self._on_event),
            (Reading, StateChanged, StatusChanged, CommandResult, DeviceAdded, DeviceRemoved, SandboxResult),
        )
        self._unhook = self.runtime.on_step(self.runtime.guard("mqtt bridge", self.publisher.flush))
        for key, docs in self.retained_documents().items():
            self.publisher.preload(key, docs)
        self.publisher.start()
        self._unwatch = [self.runtime.watch(conn.component, conn.probe) for conn in self.publisher.conns]
        self.commands.start()
        if not wait:
            return
        if not (self.publisher.wait_connected(timeout) and self.commands.wait_ready(timeout)):
            reason = self.publisher.last_error() or self.commands.last_error or "timed out"
            self.close()
            raise EndpointError(f"MQTT bridge could not connect to {self.address.host}:{self.address.port}: {reason}")
        if not self.publisher.wait_ready(RETAINED_ACK_WAIT_S + timeout):
            self.publisher.warn("mqtt: the broker has not yet acknowledged every retained document; publishing goes on")

    def stats(self) -> dict[str, int]:
        return {**self.publisher.stats(), **self.commands.stats(), **self.sandbox.stats()}

    # --- after a broker restart (broker/backends/supervisor.py) ---------------------------------------
    def recovery_mark(self) -> tuple[list[int], int]:
        """Where the publisher and the command listener stand; take it when the broker goes down."""
        return self.publisher.republish_marks(), self.commands.subscriptions

    def reconnect_now(self) -> None:
        """The broker is back: reconnect without waiting for the back-off."""
        self.publisher.reconnect_now()

    def recovered(self, mark: tuple[list[int], int]) -> bool:
        """True once every retained document was republished and the cmd filter subscribed again."""
        return self.publisher.republished_since(mark[0]) and self.commands.subscriptions > mark[1]

    def retained_count(self) -> int:
        return self.publisher.retained_count()

    def close(self) -> None:
        for unwatch in self._unwatch:  # a deliberate stop is not a death
            unwatch()
        self._unwatch = []
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._unhook is not None:
            self._unhook()
            self._unhook = None
        self.commands.close()
        self.publisher.close()
