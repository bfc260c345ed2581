"""The gate as a TCP front: SmartZone's public MQTT port in front of a broker's private socket.

Used by both managed backends (fronted.py). Neither mosquitto nor amqtt keeps users'
client ids apart (both have one session table for everyone; amqtt acts on a CONNECT's
client id before it authenticates), so SmartZone listens on the public port, judges each
CONNECT (gate.admit, which namespaces its client id per user), and relays admitted
connections to the broker's unix socket in a private directory, which no other OS user can
reach. For SmartZone's service account the relay copies bytes; for everyone else it relays
whole packets of at most the scenario's `access.max_packet_size` (a bigger one, or one that
breaks MQTT's framing rules, closes the connection before its body is read: codec.py),
counts (and says: denials.py) the PUBLISHes and SUBSCRIBE filters the policy denies (the broker refuses
them by its own rules: mosquitto's dynamic-security plugin, SmartZone's amqtt topic plugin). For
mosquitto it puts `refused_filter` in place of a refused filter (relay.py: the plugin cannot refuse a
filter that overlaps nothing readable by itself), so the broker's SUBACK carries the failure code;
what the broker sends back is copied as bytes, never rewritten.
In open lab mode the front itself also drops a denied PUBLISH and acknowledges it as mosquitto
would (refused_publish_ack).
With the embedded backend, an admitted app connection nobody observes is not relayed: its
socket is handed to the amqtt process (handover.py), which then counts its denials.
The owners of a sandbox tenant hold at most its `quotas.connections` connections at once: the
front counts them (and always relays them, to see them end) and refuses one more with CONNACK
"server unavailable" (MQTT 3.1.1) or "quota exceeded" (MQTT 5), saying why (denials.py). Their
PUBLISHes share its `quotas.messages_per_s` (a token bucket, rates.py) and their retained payloads
its `quotas.retained_bytes` (retained.py): one over either is dropped, acknowledged (reason "quota
exceeded" in MQTT 5), counted and said.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from smartzone.definitions.scenario import Quotas
from smartzone.endpoints.mqtt.broker.gate.connect import (
    SERVER_UNAVAILABLE,
    ConnectionObserver,
    admit,
    close_writer,
    set_nodelay,
    violation,
)
from smartzone.endpoints.mqtt.broker.gate.rates import TokenBucket
from smartzone.endpoints.mqtt.broker.gate.relay import substitute_refused
from smartzone.endpoints.mqtt.broker.gate.retained import RetainedBytes
from smartzone.endpoints.mqtt.broker.policy import AccessPolicy, Identity
from smartzone.endpoints.mqtt.broker.policy.denials import Denials
from smartzone.endpoints.mqtt.codec import (
    DISCONNECT,
    PUBACK,
    PUBCOMP,
    PUBLISH,
    PUBREC,
    PUBREL,
    QUOTA_EXCEEDED,
    SUBSCRIBE,
    Connect,
    Framer,
    WireError,
    connack_refusal,
    connack_with_assigned_id,
    decode_publish,
    publish_topic,
    read_packet,
    subscribe_filters,
)

CHUNK = 65536
TIMEOUT_S = 15.0
NOT_AUTHORISED_V5 = 0x87


def refused_publish_ack(
    raw: bytes, offset: int, level: int, refused: set[int], reason: int = NOT_AUTHORISED_V5
) -> bytes:
    """The answer to a PUBLISH the front drops: nothing (QoS 0), PUBACK (QoS 1) or PUBREC (QoS 2),
    with reason code `reason` for MQTT 5 (default 0x87, what mosquitto sends for an ACL denial); a 3.1.1
    QoS 2 id goes into `refused` so its PUBREL gets a PUBCOMP here."""
    qos = (raw[0] >> 1) & 3
    if qos == 0:
        return b""
    at = offset + 2 + int.from_bytes(raw[offset : offset + 2], "big")
    pid = raw[at : at + 2]
    kind = PUBACK if qos == 1 else PUBREC
    if level == 5:
        return bytes([kind << 4, 3]) + pid + bytes([reason])
    if qos == 2:
        refused.add(int.from_bytes(pid, "big"))
    return bytes([kind << 4, 2]) + pid


MAX_CONNACK_BYTES = 65536


class GateFront:
    """Listens on host:port, admits through the gate, relays to a unix socket."""

    def __init__(
        self,
        policy: AccessPolicy,
        denied: Denials,
        host: str,
        port: int,
        target: str,
        levels: frozenset[int] = frozenset({3, 4, 5}),
    ) -> None:
        self.policy, self.denied, self.target, self.levels = policy, denied, target, levels
        self.max_packet = policy.scenario.access.max_packet_size
        self.host, self.port = host, port
        self.observer: ConnectionObserver | None = None
        self.handover: Any = None  # optional Handover (handover.py): give unobserved app sockets away
        self.refused_filter: str | None = None  # sent in place of a refused SUBSCRIBE filter (relay.py)
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[Any]] = set()
        self._open: dict[str, int] = {}  # sandbox tenant -> its owners' open connections (event loop only)
        self._rates: dict[str, TokenBucket] = {}  # sandbox tenant -> its owners' messages/s (event loop only)
        self.retained = RetainedBytes()  # what sandbox owners keep retained (event loop only)
        self._loop = LoopThread("sz-mqtt-gate")
        try:
            self._loop.call(self._start(), TIMEOUT_S)
        except BaseException:
            self._loop.stop(TIMEOUT_S)
            raise

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._on_client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        b_writer: asyncio.StreamWriter | None = None
        tasks: set[asyncio.Task[None]] = set()
        observer = self.observer
        counted: str | None = None  # the sandbox tenant whose connections quota this one counts in
        try:
            set_nodelay(writer)
            admitted = await admit(reader, writer, self.policy, self.denied, self.levels, observer, self.max_packet)
            if admitted is None:
                return
            connect, identity = admitted
            limits = self.policy.sandbox_limits(identity)
            if limits is not None:
                tenant, limit = limits[0], limits[1].connections
                if self._open.get(tenant, 0) >= limit:
                    self.denied.refused_quota(connect, tenant, limit, writer.get_extra_info("peername"))
                    writer.write(connack_refusal(connect.level, QUOTA_EXCEEDED))
                    return
                counted = tenant
                self._open[tenant] = self._open.get(tenant, 0) + 1
            # a counted connection stays relayed: the front must see it end to give its place back
            if (
                observer is None
                and counted is None
                and self.handover is not None
                and self.handover.give(reader, writer, connect)
            ):
                return  # the broker process owns the connection now; close only this copy
            try:
                b_reader, b_writer = await asyncio.open_unix_connection(self.target)
            except OSError:  # the broker process is down (being restarted: supervisor.py)
                writer.write(connack_refusal(connect.level, SERVER_UNAVAILABLE))
                return
            b_writer.write(connect.raw)
            if connect.level == 5 and connect.assigned and not await self._assigned(b_reader, writer, connect.assigned):
                return
            if identity.role == "service":
                pipes = [self._raw(reader, b_writer), self._raw(b_reader, writer)]
            else:  # apps: whole packets up (checks, counts, quotas), bytes down (the broker answers itself)
                pipes = [self._up(reader, b_writer, writer, identity, connect), self._down(b_reader, writer)]
            tasks = {asyncio.create_task(p) for p in pipes}
            _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        except asyncio.CancelledError:
            # closing: end normally (Python 3.11's stream callback logs cancelled handlers)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            if counted is not None:
                self._open[counted] -= 1
            if observer is not None:
                observer.closed(writer)
            self._conns.discard(task)
            if b_writer is not None:
                await close_writer(b_writer)
            await close_writer(writer)

    async def _assigned(self, broker: asyncio.StreamReader, client: asyncio.StreamWriter, assigned: str) -> bool:
        """Pass the broker's CONNACK on with the id generated for a blank one (MQTT 5 wants it there:
        the broker saw a namespaced id and assigned nothing; the client resumes with `assigned`).
        False if the broker sent no CONNACK (it went away): the connection ends."""
        try:
            _, raw, offset = await asyncio.wait_for(read_packet(broker, MAX_CONNACK_BYTES), TIMEOUT_S)
            raw = connack_with_assigned_id(raw, offset, assigned)
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError, WireError):
            return False
        if self.observer is not None:
            self.observer.broker_bytes(client, raw)
        client.write(raw)
        return True

    @staticmethod
    async def _raw(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(CHUNK):
                writer.write(data)
                await writer.drain()

    async def _up(
        self,
        reader: asyncio.StreamReader,
        broker: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
        who: Identity,
        connect: Connect,
    ) -> None:
        """Client -> broker, packet by packet: count denied PUBLISH and SUBSCRIBE filters (replacing the
        latter by `refused_filter` if set), close on a protocol violation or an oversized packet, and
        after a DISCONNECT."""
        level = connect.level
        framer = Framer(self.max_packet, level)
        refused: set[int] = set()  # 3.1.1 QoS 2 publishes dropped here (open mode, quota), awaiting their PUBREL
        limits = self.policy.sandbox_limits(who)
        bucket = None if limits is None else self._rates.setdefault(limits[0], TokenBucket(limits[1].messages_per_s))
        with contextlib.suppress(ConnectionError, WireError):  # WireError: a SUBSCRIBE that cannot be rewritten
            while data := await reader.read(CHUNK):
                if self.observer is not None:
                    self.observer.client_bytes(client, data)
                out = []
                try:
                    packets = framer.feed(data)
                except WireError as exc:
                    violation(self.denied, who.name, connect.client_id, exc)
                    return
                for ptype, raw, offset in packets:
                    if ptype == PUBLISH:
                        topic = publish_topic(raw, offset)
                        if topic is not None and not self.policy.may_publish(who, topic):
                            self.denied.denied_topic(who, "publish", topic)
                            if self.policy.open_mode:  # mosquitto's ACL grants `#` in open mode
                                client.write(refused_publish_ack(raw, offset, level, refused))
                                continue
                        elif limits is not None and bucket is not None and not bucket.take():
                            self.denied.over_rate(who, limits[0], limits[1].messages_per_s, topic or "")
                            client.write(refused_publish_ack(raw, offset, level, refused, QUOTA_EXCEEDED[1]))
                            continue
                        elif (
                            limits is not None and raw[0] & 1 and not self._retained_ok(who, limits, raw, offset, level)
                        ):
                            client.write(refused_publish_ack(raw, offset, level, refused, QUOTA_EXCEEDED[1]))
                            continue
                    elif ptype == PUBREL and int.from_bytes(raw[offset : offset + 2], "big") in refused:
                        refused.discard(int.from_bytes(raw[offset : offset + 2], "big"))
                        client.write(bytes([PUBCOMP << 4, 2]) + raw[offset : offset + 2])
                        continue
                    elif ptype == SUBSCRIBE:
                        filters = subscribe_filters(raw, offset, level)
                        allowed = [self.policy.may_subscribe(who, f) for f in filters]
                        for topic_filter, ok in zip(filters, allowed, strict=True):
                            if not ok:
                                self.denied.denied_topic(who, "subscribe", topic_filter)
                        if self.refused_filter is not None:
                            raw = substitute_refused(raw, offset, level, allowed, self.refused_filter)
                    out.append(raw)
                    if ptype == DISCONNECT:  # nothing may follow it: forward it and close
                        break
                if out:
                    broker.write(b"".join(out))
                    await broker.drain()
                    if out[-1][0] >> 4 == DISCONNECT:
                        return

    def _retained_ok(self, who: Identity, limits: tuple[str, Quotas], raw: bytes, offset: int, level: int) -> bool:
        """Whether a sandbox owner's retained PUBLISH fits its tenant's retained-bytes quota (counted if so)."""
        try:
            publish = decode_publish(raw, offset, level)
        except Exception:  # framing was checked; a payload the codec cannot split goes on, the broker judges it
            return True
        tenant, quotas = limits
        if self.retained.admit(tenant, quotas.retained_bytes, publish.topic, publish.size):
            return True
        self.denied.over_retained(who, tenant, quotas.retained_bytes, publish.topic, publish.size)
        return False

    async def _down(self, reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        """Broker -> client as bytes, shown to the observer if there is one."""
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(CHUNK):
                if self.observer is not None:
                    self.observer.broker_bytes(client, data)
                client.write(data)
                await client.drain()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)

    def close(self) -> None:
        if self._loop.loop.is_closed():
            return
        try:
            self._loop.call(self._shutdown(), TIMEOUT_S)
        finally:
            self._loop.stop(TIMEOUT_S)


T = TypeVar("T")


class LoopThread:
    """Runs one event loop on a dedicated thread; `call` runs a coroutine there and waits."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run `coro` on the loop and return its result (raises its exception; bounded wait)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel what is left, stop the loop, join the thread, close the loop."""
        if not self._thread.is_alive():
            return

        async def _cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.call(_cancel_rest(), timeout)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self.loop.close()
