"""The recorder: what the broker gate, the Modbus gateways and the bus report about the app.

It implements the broker's ConnectionObserver (endpoints/mqtt/broker/gate/connect.py), the
Modbus gateways' observer callback and a bus subscriber. Every callback runs on someone
else's thread (broker loop, Modbus loop, engine thread): it only decodes and appends under
a lock. It also holds the two levers of the broker-restart probe: `kick()` drops every app
connection and `hold` refuses app CONNECTs with "server unavailable" while it is set.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from smartzone.certify.records import (
    AckRec,
    CommandRec,
    ConnectRec,
    FilterCost,
    ModbusRec,
    Observations,
    PublishRec,
    Stamp,
    StatusRec,
    SubscribeRec,
    ValueRec,
)
from smartzone.core.events import CommandResult, Event, Reading, StateChanged, StatusChanged
from smartzone.endpoints.modbus.handler import GatewayHandler, request_ranges
from smartzone.endpoints.mqtt.broker.gate.connect import SERVER_UNAVAILABLE
from smartzone.endpoints.mqtt.broker.policy import AccessPolicy, Identity, topic_matches
from smartzone.endpoints.mqtt.codec import (
    BAD_CREDENTIALS,
    BAD_PROTOCOL,
    ID_REJECTED,
    Connect,
    Publish,
    Stream,
    Subscribe,
    Unsubscribe,
)
from smartzone.endpoints.mqtt.topics import Topics

REFUSALS = {BAD_PROTOCOL: "bad_protocol", ID_REJECTED: "id_rejected", BAD_CREDENTIALS: "bad_credentials"}
APP_SOURCES = ("mqtt", "modbus")
MAX_RECORDS = 200_000


@dataclass
class _Conn:
    number: int
    identity: Identity
    writer: Any
    loop: asyncio.AbstractEventLoop
    up: Stream
    down: Stream
    filters: set[str] = field(default_factory=set)  # granted filters subscribed now (deliveries' cost)


class Recorder:
    """Collects Observations for one certification run (thread-safe)."""

    def __init__(self, obs: Observations, policy: AccessPolicy, sim_time: Any, watch: set[str] | None = None) -> None:
        self.obs = obs
        self.policy = policy
        self._sim_time = sim_time  # callable -> current simulated time
        self._watch = watch or set()
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._conns: dict[int, _Conn] = {}
        self._numbers = 0
        self.hold = False
        self._capped = False
        self._noted: set[int] = set()  # connections with an undecodable packet (noted once)
        self._topics = Topics(obs.city)

    def _keep(self, records: list[Any], rec: Any) -> None:
        """Append under the lock, up to MAX_RECORDS per kind (a flood must not eat the memory)."""
        if len(records) < MAX_RECORDS:
            records.append(rec)
        elif not self._capped:
            self._capped = True
            self.obs.notes.append(
                f"more than {MAX_RECORDS:,} records of one kind: later ones were not kept, so counts are lower bounds"
            )

    def stamp(self) -> Stamp:
        return Stamp(round(time.monotonic() - self._t0, 4), round(float(self._sim_time()), 3))

    # --- broker (ConnectionObserver) -------------------------------------------------------
    def connect(
        self, key: Any, connect: Connect, identity: Identity | None, refusal: tuple[int, int] | None
    ) -> tuple[int, int] | None:
        if identity is not None and identity.role == "service":
            return None
        held = None
        reason = None
        if refusal is not None:
            reason = REFUSALS.get(refusal, "not_authorised")
        elif self.hold:
            held, reason = SERVER_UNAVAILABLE, "outage"
        with self._lock:
            self._numbers += 1
            number = self._numbers
            self._keep(
                self.obs.connects,
                ConnectRec(
                    self.stamp(), number, connect.username, connect.client_id, connect.level, connect.clean, reason
                ),
            )
            if reason is None and identity is not None:
                self._conns[id(key)] = _Conn(
                    number, identity, key, asyncio.get_running_loop(), Stream(connect.level), Stream(connect.level)
                )
        return held

    def client_bytes(self, key: Any, data: bytes) -> None:
        conn = self._conns.get(id(key))
        if conn is None:
            return
        at = self.stamp()
        with self._lock:
            lost = (conn.up.undecodable, conn.up.broken)
            packets = conn.up.feed(data)
            if (conn.up.undecodable, conn.up.broken) != lost and conn.number not in self._noted:
                self._noted.add(conn.number)  # never silently: the report says so (once per connection)
                self.obs.notes.append(
                    f"connection {conn.number} at {at.wall:.2f} s: a packet of the app could not be decoded "
                    "(the broker judged it); it is missing from the records"
                )
            for pkt in packets:
                if isinstance(pkt, Publish):
                    ok = self.policy.may_publish(conn.identity, pkt.topic)
                    self._keep(
                        self.obs.publishes,
                        PublishRec(at, conn.number, pkt.topic, pkt.qos, pkt.retain, pkt.size, ok, pkt.payload),
                    )
                elif isinstance(pkt, Subscribe):
                    for flt, qos in pkt.filters:
                        ok = self.policy.may_subscribe(conn.identity, flt)
                        self._keep(self.obs.subscribes, SubscribeRec(at, conn.number, flt, qos, ok))
                        if ok:  # the gate trims a refused filter: it costs nothing
                            conn.filters.add(flt)
                            self.obs.filter_costs.setdefault(flt, FilterCost(flt, at)).subscribes += 1
                elif isinstance(pkt, Unsubscribe):
                    conn.filters.difference_update(pkt.filters)

    def broker_bytes(self, key: Any, data: bytes) -> None:
        conn = self._conns.get(id(key))
        if conn is None:
            return
        at = self.stamp()
        with self._lock:
            for pkt in conn.down.feed(data):
                if isinstance(pkt, Publish):
                    self._cost(at, conn, pkt)
                    self._delivered(at, pkt)
                    self.delivered_to(at, conn, pkt)

    def _cost(self, at: Stamp, conn: _Conn, pkt: Publish) -> None:
        """Charge a delivery to the filters of the connection that match it (SZ-COST-01)."""
        self.obs.delivered_bytes += pkt.size
        if pkt.retain:  # MQTT clears the flag on live delivery: this one was fetched by a SUBSCRIBE
            self.obs.retained_by_second[int(at.wall)] += 1
        for flt in conn.filters:
            if topic_matches(flt, pkt.topic):
                cost = self.obs.filter_costs[flt]
                cost.messages += 1
                cost.bytes += pkt.size
                cost.retained += pkt.retain

    def _delivered(self, at: Stamp, pkt: Publish) -> None:
        where = self._topics.parse(pkt.topic)
        if where.kind == "v1":
            self.obs.delivered_v1 += 1
        if where.kind not in ("v1", "device"):
            self.obs.deliveries["other"] += 1
            return
        device = where.device
        self.obs.deliveries[device] += 1
        if where.channel == "cmd/ack":
            try:
                body = json.loads(pkt.payload)
                error = body.get("error") or {}
                self.obs.acks.append(AckRec(at, device, body.get("id"), bool(body.get("ok")), error.get("code")))
            except (ValueError, AttributeError):
                pass

    def delivered_to(self, at: Stamp, conn: _Conn, pkt: Publish) -> None:
        """A PUBLISH the broker sent to one connection (under the lock): a hook for per-user views
        (classroom/observer.py); certification only needs the totals above."""

    def closed(self, key: Any) -> None:
        with self._lock:
            conn = self._conns.pop(id(key), None)
            if conn is not None:
                self.obs.closes.append((conn.number, self.stamp()))

    def kick(self) -> list[int]:
        """Drop every app connection (the connection half of a broker restart); their numbers."""
        with self._lock:
            conns = list(self._conns.values())
        for c in conns:
            transport = getattr(c.writer, "transport", None)
            if transport is not None:
                c.loop.call_soon_threadsafe(transport.abort)
        return [c.number for c in conns]

    def open_connections(self) -> int:
        with self._lock:
            return len(self._conns)

    # --- Modbus gateways ------------------------------------------------------------------
    def modbus_observer(self, gateway: str) -> Any:
        def observe(handler: GatewayHandler, unit_id: int, frame: bytes, response: Any) -> None:
            try:
                pdu = handler.server.decoder.decode(frame)
                ranges = request_ranges(pdu) if pdu is not None else None
            except Exception:  # an undecodable request: the response says why
                ranges = None
            table, address, count = ranges[-1] if ranges else (None, None, None)
            unit = handler.server.units.get(unit_id)
            peer = handler.transport.get_extra_info("peername") if handler.transport else None
            exc = response.exception_code if response.function_code & 0x80 else None
            rec = ModbusRec(
                self.stamp(),
                f"{gateway}/{peer[1] if peer else '?'}",
                gateway,
                unit_id,
                unit.info.id if unit else None,
                frame[0],
                table,
                address,
                count,
                exc,
            )
            with self._lock:
                self._keep(self.obs.modbus, rec)

        return observe

    # --- the bus (engine thread) ----------------------------------------------------------
    def on_event(self, event: Event) -> None:
        at = Stamp(round(time.monotonic() - self._t0, 4), round(event.t, 3))
        if isinstance(event, CommandResult):
            if event.source in APP_SOURCES:
                rec = CommandRec(
                    at, event.device, event.command_id, event.action, event.source, event.ok, event.error_code
                )
                with self._lock:
                    self.obs.commands.append(rec)
        elif isinstance(event, StatusChanged):
            with self._lock:
                self.obs.statuses.append(StatusRec(at, event.device, event.online))
        elif isinstance(event, Reading | StateChanged):
            with self._lock:
                if isinstance(event, Reading):
                    self.obs.readings[event.device] += 1
                if event.device in self._watch:
                    self.obs.values.append(ValueRec(at, event.device, dict(event.values)))

    def snapshot(self) -> Observations:
        """The observations so far (the run must be over for a consistent view)."""
        with self._lock:
            return self.obs
