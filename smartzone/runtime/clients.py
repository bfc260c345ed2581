"""Who is connected to the endpoints right now: a thread-safe registry of MQTT and Modbus clients.

It reuses the connection observation `smartzone certify` is built on: it is the managed
broker's ConnectionObserver (endpoints/mqtt/broker/gate/connect.py, attached with
`broker.set_observer`) and each Modbus gateway's request observer (`GatewayServer.observer`,
endpoints/modbus/handler.py); MQTT packets from clients are cut and decoded by the codec's `Stream`; deliveries are only
counted (the codec's `Framer`).
Each hook holds ONE observer: `attach()` is for a session that does not certify (the GUI);
`smartzone certify` runs its own services with its own Recorder.

Callbacks run on the endpoints' loop threads and only count under a lock. Readers (the GUI
thread) take a `snapshot()` at their own pace (a few times per second) and `drain()` the app
messages (PUBLISHes from apps, Modbus writes) at frame rate: never one signal per packet.
A closed connection stays in the snapshot, marked closed, among the newest KEEP_CLOSED.
The observer callbacks are guarded (runtime/health.py): bytes that break the decoder or any
other error is reported as survived (to `health`, else logged) and never reaches the
endpoint's loop, which keeps serving the client.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from smartzone.endpoints.modbus.handler import request_ranges
from smartzone.endpoints.mqtt.broker.policy import AccessPolicy, Identity
from smartzone.endpoints.mqtt.codec import (
    PUBLISH,
    SUBACK,
    Connect,
    Framer,
    Publish,
    Stream,
    Subscribe,
    Unsubscribe,
    WireError,
    decode_publish,
    suback_codes,
)
from smartzone.runtime.health import Health, guard

KEEP_CLOSED = 20  # closed or refused connections still listed
MAX_MESSAGES = 2000  # app messages buffered between two drains
BLANK_ID = "(blank)"  # how a blank MQTT client id is shown (SmartZone generated one for it)
RATE_WINDOW_S = 1.0
PAYLOAD_SHOWN = 200
WRITES = (5, 6, 15, 16, 23)
ACK_SUFFIX = b"/cmd/ack"  # the acks delivered to an app are shown; other deliveries are only counted
COMPONENT = "client registry"


@dataclass
class ClientView:
    """One connection (MQTT) or one Modbus client connection, as counted so far."""

    key: int
    protocol: str  # "mqtt" | "modbus"
    client_id: str  # MQTT client id; Modbus: the gateway's name
    user: str  # MQTT user ("anonymous"); Modbus: "" (the protocol has no users)
    remote: str  # "127.0.0.1:54321"
    since: float  # wall-clock epoch seconds
    state: str = "connected"  # connected | closed | refused (reason)
    subscriptions: list[tuple[str, bool]] = field(default_factory=list)  # (filter, granted)
    msgs_in: int = 0  # MQTT: PUBLISHes from the client; Modbus: requests
    msgs_out: int = 0  # MQTT: PUBLISHes delivered to it; Modbus: responses
    denied: int = 0  # MQTT: refused subscribes and publishes; Modbus: exception responses
    rate_in: float = 0.0
    rate_out: float = 0.0
    units: set[int] = field(default_factory=set)  # Modbus unit ids asked

    def copy(self) -> ClientView:
        return ClientView(**{**self.__dict__, "subscriptions": list(self.subscriptions), "units": set(self.units)})


@dataclass(frozen=True)
class AppMessage:
    """An app's traffic: an MQTT PUBLISH (allowed or denied), a SUBSCRIBE and its answer, a command
    ack delivered to it, or a Modbus write."""

    t: float  # simulated time when seen
    protocol: str
    who: str  # "user/client-id" or the Modbus peer
    topic: str  # MQTT topic or filter, or "modbus <gateway> unit N <table>@address x count"
    payload: str  # subscribe: "QoS 1 granted QoS 1" / "QoS 1 refused (0x80)"
    ok: bool
    kind: str = "publish"  # publish | subscribe | ack (to the app) | write (Modbus)


@dataclass
class _Mqtt:
    view: ClientView
    identity: Identity
    up: Stream  # decoded: topics, filters, payloads
    down: Framer | None  # counted; SUBACKs and command acks decoded; None once the stream is broken
    asked: deque[tuple[tuple[str, int], ...]] = field(default_factory=deque)  # SUBSCRIBEs awaiting SUBACK


def _peer(info: Any) -> str:
    if isinstance(info, tuple) and len(info) >= 2:
        return f"{info[0]}:{info[1]}"
    return "?"


class ClientRegistry:
    """Thread-safe: observer callbacks from the endpoint loops, snapshot/drain from anyone."""

    def __init__(
        self,
        policy: AccessPolicy | None = None,
        sim_time: Callable[[], float] | None = None,
        health: Health | None = None,
    ) -> None:
        self.policy = policy
        self.health = health
        # called on the endpoints' loop threads: an error here must not end a client's relay
        self.connect = guard(health, COMPONENT, self.connect)  # type: ignore[method-assign]
        self.client_bytes = guard(health, COMPONENT, self.client_bytes)  # type: ignore[method-assign]
        self.broker_bytes = guard(health, COMPONENT, self.broker_bytes)  # type: ignore[method-assign]
        self.closed = guard(health, COMPONENT, self.closed)  # type: ignore[method-assign]
        self._sim_time = sim_time or (lambda: 0.0)
        self._lock = threading.Lock()
        self._live: dict[int, _Mqtt] = {}
        self._modbus: dict[int, ClientView] = {}
        self._handlers: dict[int, Any] = {}  # Modbus handler per key (is it still connected?)
        self._marks: dict[int, tuple[float, int, int]] = {}
        self._ended: deque[ClientView] = deque(maxlen=KEEP_CLOSED)
        self._messages: deque[AppMessage] = deque(maxlen=MAX_MESSAGES)
        self.dropped_messages = 0
        self._detach: list[Callable[[], None]] = []

    # --- wiring ---------------------------------------------------------------------------
    def attach(self, services: Iterable[Any]) -> list[str]:
        """Observe every managed broker and Modbus gateway among `services`; what is watched."""
        watched = []
        for service in services:
            broker = getattr(service, "broker", None)
            if broker is not None and callable(getattr(broker, "set_observer", None)):
                if self.policy is None:
                    self.policy = getattr(broker, "policy", None)
                broker.set_observer(self)
                self._detach.append(functools.partial(broker.set_observer, None))
                watched.append(f"MQTT ({broker.backend})")
            for gw in getattr(service, "gateways", None) or []:
                server = gw.server
                server.observer = self.modbus_observer(gw.plan.id)
                self._detach.append(functools.partial(setattr, server, "observer", None))
                watched.append(f"Modbus {gw.plan.id}")
        return watched

    def detach(self) -> None:
        for undo in self._detach:
            undo()
        self._detach = []

    # --- broker (ConnectionObserver, broker loop thread) ------------------------------------
    def connect(
        self, key: Any, connect: Connect, identity: Identity | None, refusal: tuple[int, int] | None
    ) -> tuple[int, int] | None:
        if identity is not None and identity.role == "service":
            return None  # SmartZone's own publisher
        peer = _peer(key.get_extra_info("peername") if hasattr(key, "get_extra_info") else None)
        user = connect.username or (identity.name if identity is not None else "anonymous")
        # the id the client sent (the broker's is namespaced per user: docs/api.md "Client ids")
        view = ClientView(id(key), "mqtt", connect.client_id or BLANK_ID, user, peer, time.time())
        with self._lock:
            if refusal is not None or identity is None:
                view.state = "refused"
                self._ended.append(view)
            else:
                self._live[id(key)] = _Mqtt(view, identity, Stream(connect.level), Framer())
        return None

    def client_bytes(self, key: Any, data: bytes) -> None:
        conn = self._live.get(id(key))
        if conn is None:
            return
        with self._lock:
            for pkt in conn.up.feed(data):
                if isinstance(pkt, Publish):
                    ok = self.policy is None or self.policy.may_publish(conn.identity, pkt.topic)
                    conn.view.msgs_in += 1
                    conn.view.denied += not ok
                    self._message(
                        "mqtt",
                        f"{conn.view.user}/{conn.view.client_id}",
                        pkt.topic,
                        pkt.payload.decode("utf-8", "replace")[:PAYLOAD_SHOWN],
                        ok,
                    )
                elif isinstance(pkt, Subscribe):
                    conn.asked.append(pkt.filters)  # the broker answers SUBSCRIBEs in order (MQTT 4.6)
                    for flt, _qos in pkt.filters:
                        ok = self.policy is None or self.policy.may_subscribe(conn.identity, flt)
                        # subscribing again to a filter replaces that subscription (MQTT 3.8.4)
                        conn.view.subscriptions = [s for s in conn.view.subscriptions if s[0] != flt]
                        conn.view.subscriptions.append((flt, ok))
                        conn.view.denied += not ok
                elif isinstance(pkt, Unsubscribe):
                    gone = set(pkt.filters)
                    conn.view.subscriptions = [(f, ok) for f, ok in conn.view.subscriptions if f not in gone]

    def broker_bytes(self, key: Any, data: bytes) -> None:
        conn = self._live.get(id(key))
        if conn is None or conn.down is None:
            return
        with self._lock:
            try:
                packets = conn.down.feed(data)
            except WireError:
                conn.down = None  # the broker never sends garbage; stop counting rather than guess
                return
            who = f"{conn.view.user}/{conn.view.client_id}"
            for ptype, raw, offset in packets:
                if ptype == PUBLISH:
                    conn.view.msgs_out += 1
                    n = int.from_bytes(raw[offset : offset + 2], "big")
                    if raw[offset + 2 : offset + 2 + n].endswith(ACK_SUFFIX):
                        self._ack(who, raw, offset, conn.up.level)
                elif ptype == SUBACK and conn.asked:
                    self._suback(who, conn.asked.popleft(), raw, offset, conn.up.level)

    def _suback(self, who: str, asked: tuple[tuple[str, int], ...], raw: bytes, offset: int, level: int) -> None:
        """One app-traffic row per filter of an answered SUBSCRIBE: the QoS granted, or the refusal."""
        try:
            codes = suback_codes(raw, offset, level)
        except WireError:
            return
        for (flt, qos), code in zip(asked, codes, strict=False):
            answer = f"granted QoS {code}" if code < 0x80 else f"refused (0x{code:02x})"
            self._message("mqtt", who, flt, f"QoS {qos} {answer}", code < 0x80, "subscribe")

    def _ack(self, who: str, raw: bytes, offset: int, level: int) -> None:
        try:
            pkt = decode_publish(raw, offset, level)
        except WireError:
            return
        self._message("mqtt", who, pkt.topic, pkt.payload.decode("utf-8", "replace")[:PAYLOAD_SHOWN], True, "ack")

    def closed(self, key: Any) -> None:
        with self._lock:
            conn = self._live.pop(id(key), None)
            if conn is not None:
                conn.view.state = "closed"
                self._ended.append(conn.view)
                self._marks.pop(id(key), None)

    # --- Modbus gateways (Modbus loop thread) ---------------------------------------------
    def modbus_observer(self, gateway: str) -> Callable[[Any, int, bytes, Any], None]:
        """The request observer of one Modbus gateway (guarded: see the module docstring)."""

        def observe(handler: Any, unit_id: int, frame: bytes, response: Any) -> None:
            key = id(handler)
            failed = bool(response.function_code & 0x80)
            with self._lock:
                view = self._modbus.get(key)
                if view is None:
                    transport = handler.transport
                    peer = _peer(transport.get_extra_info("peername") if transport else None)
                    view = self._modbus[key] = ClientView(key, "modbus", gateway, "", peer, time.time())
                    self._handlers[key] = handler
                view.msgs_in += 1
                view.msgs_out += 1
                view.denied += failed
                view.units.add(unit_id)
                if frame and frame[0] in WRITES:
                    self._message(
                        "modbus",
                        view.remote,
                        _modbus_topic(handler, gateway, unit_id, frame),
                        f"exception {response.exception_code}" if failed else "ok",
                        not failed,
                        "write",
                    )

        return guard(self.health, COMPONENT, observe)

    # --- readers ----------------------------------------------------------------------------
    def _message(self, protocol: str, who: str, topic: str, payload: str, ok: bool, kind: str = "publish") -> None:
        if len(self._messages) == MAX_MESSAGES:
            self.dropped_messages += 1
        self._messages.append(AppMessage(float(self._sim_time()), protocol, who, topic, payload, ok, kind))

    def drain(self) -> list[AppMessage]:
        """The app messages seen since the previous call (oldest first)."""
        with self._lock:
            out = list(self._messages)
            self._messages.clear()
        return out

    def snapshot(self) -> list[ClientView]:
        """Connected clients (oldest first) then the newest closed/refused ones, with msg/s."""
        now = time.monotonic()
        with self._lock:
            for key, handler in list(self._handlers.items()):
                if handler.transport is None or handler.transport.is_closing():
                    view = self._modbus.pop(key)
                    view.state = "closed"
                    self._ended.append(view)
                    del self._handlers[key]
                    self._marks.pop(key, None)
            live = [c.view for c in self._live.values()] + list(self._modbus.values())
            for view in live:
                self._rate(view, now)
            out = [v.copy() for v in sorted(live, key=lambda v: v.since)]
            out += [v.copy() for v in reversed(self._ended)]
        return out

    def _rate(self, view: ClientView, now: float) -> None:
        t, n_in, n_out = self._marks.get(view.key, (now, view.msgs_in, view.msgs_out))
        if view.key not in self._marks:
            self._marks[view.key] = (t, n_in, n_out)
        elif now - t >= RATE_WINDOW_S:
            view.rate_in = (view.msgs_in - n_in) / (now - t)
            view.rate_out = (view.msgs_out - n_out) / (now - t)
            self._marks[view.key] = (now, view.msgs_in, view.msgs_out)


def _modbus_topic(handler: Any, gateway: str, unit_id: int, frame: bytes) -> str:
    where = f"fc {frame[0]}"
    try:
        pdu = handler.server.decoder.decode(frame)
        ranges = request_ranges(pdu) if pdu is not None else None
        if ranges:
            table, address, count = ranges[0]
            where = f"write {table}@{address}" + (f" x{count}" if count != 1 else "")
    except Exception:  # an undecodable request: its exception response says why
        pass
    unit = handler.server.units.get(unit_id)
    device = f" ({unit.info.id})" if unit is not None else ""
    return f"modbus {gateway} unit {unit_id}{device} {where}"
