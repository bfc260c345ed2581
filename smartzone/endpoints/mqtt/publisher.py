"""Gateway-mode publishing: a few paho connections shared by every device (default one).

The engine thread only calls `stage()` per event and `flush()` once per engine step (a
batch of events), which put the batch on a bounded queue and return (never touching the
network); other threads call `submit()` for single items. Each connection is owned by one worker thread that renders
items to MQTT messages (off the engine thread), publishes them and runs the paho loop
itself (no paho network thread; publish writes straight to the socket, TCP_NODELAY set).

A device always goes through the same connection, so its messages keep their order. Under
the GIL one publishing connection (plus the command listener's) measured fastest; more
can be asked for (`connections=`), each with its own worker thread.
Retained messages are cached per connection and republished after every (re)connect, so
meta/status/state/catalog survive a broker restart (`republished` counts the rounds, and
`reconnect_now()` cuts the reconnect back-off short once the broker is known to be back:
broker/backends/supervisor.py uses both). While the broker is unreachable,
non-retained messages wait in a bounded backlog; what overflows the queue or the backlog
is counted (`stats()`) and reported through `warn`, never dropped silently.

Supervision: the worker is the connection's paho network loop. Its paho callbacks, the
rendering of each item and each turn of its loop are guarded (`guard`, the runtime's: an
exception is reported to health as survived and the worker goes on); `probe()` tells the
watchdog when the thread has died anyway (the bridge registers it).
"""

from __future__ import annotations

import queue
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from smartzone.endpoints.mqtt.host import Guard, unsupervised
from smartzone.endpoints.mqtt.rawpublish import RawWriter

Message = tuple[str, bytes, int, bool]  # topic, payload, qos, retain
Render = Callable[[Any], Iterable[Message]]
BATCH = 512
IDLE_WAIT_S = 0.05
RETAINED_ACK_WAIT_S = 30.0  # at most, for the broker to acknowledge the retained documents
ACK_WINDOW = 512  # QoS 1 publishes left unacknowledged at once while republishing (see _republish)
RECONNECT_MIN_S, RECONNECT_MAX_S = 0.2, 5.0
WARN_EVERY_S = 10.0
PAHO_LOOP_EVERY_S = 0.005  # between paho loop calls while telemetry flows (QoS 0 needs none)


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    unix: str | None = None  # a unix socket path: connect there instead of host:port

    @property
    def target(self) -> str:
        """What paho connects to: the unix socket path, or the host."""
        return self.unix or self.host


def new_client(address: BrokerAddress, client_id: str) -> mqtt.Client:
    """A paho client (MQTT 3.1.1, callback API v2) for `address`, not yet connected."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv311,
        transport="unix" if address.unix else "tcp",
    )
    if address.username is not None:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set()
    client.max_inflight_messages_set(1000)
    return client


SWITCH_INTERVAL_S = 0.0005


def tune_switch_interval() -> None:
    """Let the publishing thread get the GIL back sooner after each socket call.

    With CPython's default 5 ms switch interval an I/O thread next to the busy engine thread
    waits up to 5 ms after every syscall (the convoy effect): bench/mqtt_throughput.py
    measured about 1.5x the throughput and half the p99 latency at 0.5 ms. Process-wide,
    only ever lowered.
    """
    if sys.getswitchinterval() > SWITCH_INTERVAL_S:
        sys.setswitchinterval(SWITCH_INTERVAL_S)


def drop_wakeup_pair(client: mqtt.Client) -> socket.socket | None:
    """Stop paho writing a wake-up byte to its loop thread's socketpair on every publish.

    paho 2.2 does that for loop_start(); a Connection has no paho thread (its worker runs
    the loop), so the byte is a wasted syscall per message (half the cost of a publish).
    Returns the detached socket, which the caller closes. Pinned paho: see
    tests/endpoints/mqtt/test_paho_contract.py.
    """
    wake = getattr(client, "_sockpairW", None)
    if isinstance(wake, socket.socket):
        client._sockpairW = None  # type: ignore[attr-defined]
        return wake
    return None


def set_nodelay(client: mqtt.Client) -> None:
    sock = client.socket()
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Connection(threading.Thread):
    """One gateway connection and the worker thread that owns it."""

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        render: Render,
        bound: int,
        backlog: int,
        tick: Callable[[], None] = lambda: None,
        guard: Guard = unsupervised,
    ) -> None:
        super().__init__(name=f"sz-mqtt-{client_id}", daemon=True)
        self.address, self.client_id, self.tick = address, client_id, tick
        self.component = f"mqtt publisher {client_id}"
        self.guard = guard
        render_one = guard(self.component, render)
        self.render: Render = lambda item: render_one(item) or ()  # an item that fails is dropped, reported
        self.inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()  # items and lists of items; C-fast
        self.bound = bound
        self.staged: list[Any] = []  # the engine thread's batch in the making (stage/flush)
        self._enqueued = 0  # items put on the inbox (under _count_lock: engine and other threads)
        self._dequeued = 0  # items taken from it (worker thread only)
        self._count_lock = threading.Lock()
        self.backlog: deque[Message] = deque()
        self.backlog_bound = backlog
        self.retained: dict[str, Message] = {}
        self.client = new_client(address, client_id)
        self.client.on_connect = guard(self.component, self._on_connect)
        self.client.on_disconnect = guard(self.component, self._on_disconnect)
        self.connected = False
        self.connected_once = threading.Event()  # the broker accepted the connection once
        self.ready = threading.Event()  # connected once and the retained cache acknowledged
        self.republished = 0  # (re)connects whose retained cache and backlog went out (worker thread)
        self._nudge = threading.Event()  # reconnect now: the broker is back (reconnect_now)
        self.last_error = ""
        self.published = 0
        self.lost_queue_full = 0
        self.lost_offline = 0
        self._halt = threading.Event()
        self._wakeup: socket.socket | None = None
        self.raw = RawWriter()
        self._last_loop = 0.0

    # --- any thread -----------------------------------------------------------------------
    def queued(self) -> int:
        return self._enqueued - self._dequeued

    def submit(self, item: Any) -> bool:
        """Queue an item unless `bound` items wait already (then count it lost); never blocks."""
        return self.put_batch([item]) == 1

    def put_batch(self, items: list[Any]) -> int:
        """Queue a list of items as one entry (one wake-up of the worker); what exceeds the
        bound is counted lost. Returns how many were queued; never blocks."""
        with self._count_lock:
            room = max(0, self.bound - self.queued())
            if len(items) > room:
                self.lost_queue_full += len(items) - room
                items = items[:room]
            self._enqueued += len(items)
        if items:
            self.inbox.put(items)
        return len(items)

    def _take(self, timeout: float | None) -> list[Any]:
        """The next entry of the inbox as a list of items (waits up to `timeout`, None: no wait)."""
        items: list[Any] = self.inbox.get(timeout=timeout) if timeout is not None else self.inbox.get_nowait()
        self._dequeued += len(items)
        return items

    def stop(self) -> None:
        self._halt.set()

    def reconnect_now(self) -> None:
        """If disconnected, try again at once rather than after the back-off (the broker is back)."""
        self._nudge.set()

    def probe(self) -> str | None:
        """For the watchdog: a cause when the worker thread has died (not when it was stopped)."""
        if self.is_alive() or self._halt.is_set() or self.ident is None:
            return None
        return "its worker thread (the paho network loop) is no longer running; telemetry is not published"

    def _close_wakeup(self) -> None:
        if self._wakeup is not None:
            self._wakeup.close()
            self._wakeup = None

    # --- paho callbacks (run on this worker thread, inside client.loop) ------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.last_error = f"broker refused the connection: {reason}"
            return
        self.connected = True
        set_nodelay(client)
        self._close_wakeup()
        self._wakeup = drop_wakeup_pair(client)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connected = False

    # --- worker ---------------------------------------------------------------------------
    def run(self) -> None:
        delay = RECONNECT_MIN_S
        turn = self.guard(self.component, self._turn)
        try:
            while not self._halt.is_set():
                next_delay = turn(delay)
                if next_delay is None:  # an unexpected error, reported by the guard: pause, go on
                    self._halt.wait(IDLE_WAIT_S)
                    continue
                delay = next_delay
            self.guard(self.component, self._flush_on_stop)()
        finally:
            try:
                self.client.disconnect()
                self.client.loop(timeout=0)
            except Exception:  # best effort on the way out
                pass
            self._close_wakeup()

    def _turn(self, delay: float) -> float:
        """One turn of the worker: connect (with back-off) or publish what is queued; the next delay."""
        if not self.connected:
            if self._connect():
                self.connected_once.set()
                self._republish()
                self.republished += 1
                self.ready.set()
                return RECONNECT_MIN_S
            self._park(delay)
            self.tick()
            if self._nudge.is_set():  # the broker is known to be back (reconnect_now)
                self._nudge.clear()
                return RECONNECT_MIN_S
            return min(delay * 2, RECONNECT_MAX_S)
        self._pump(IDLE_WAIT_S)
        return delay

    def _connect(self) -> bool:
        try:
            self.client.connect(self.address.target, self.address.port, keepalive=30)
        except (OSError, ValueError) as exc:
            where = self.address.unix or f"{self.address.host}:{self.address.port}"
            self.last_error = f"cannot connect to {where}: {exc}"
            return False
        deadline = time.monotonic() + 5.0
        while not self.connected and time.monotonic() < deadline and not self._halt.is_set():
            if self.client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                break
        if not self.connected:
            self.last_error = self.last_error or "no CONNACK from the broker"
            self.client.disconnect()
        return self.connected

    def _park(self, seconds: float) -> None:
        """While disconnected: keep draining the inbox into the bounded backlog."""
        deadline = time.monotonic() + seconds
        while not self._halt.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self._nudge.is_set():
                return
            try:
                items = self._take(min(left, IDLE_WAIT_S))
            except queue.Empty:
                continue
            for item in items:
                for msg in self.render(item):
                    self._hold(msg)

    def _hold(self, msg: Message) -> None:
        if msg[3]:
            self.retained[msg[0]] = msg
            return
        if len(self.backlog) >= self.backlog_bound:
            self.backlog.popleft()
            self.lost_offline += 1
        self.backlog.append(msg)

    def _republish(self) -> None:
        """After a (re)connect: the retained cache, then the backlog; returns once the broker
        has acknowledged the retained documents (bounded wait), so that "ready" means an app
        subscribing now finds them all, and the telemetry that follows does not compete with
        a tail of QoS 1 publishes still in paho's queue.

        At most ACK_WINDOW QoS 1 publishes are left unacknowledged at a time: paho numbers
        them with 16-bit ids (beyond 65,535 queued at once it refuses the rest: a city of
        33,000 sensors lost its last documents) and scans every queued message on each ack.
        """
        deadline = time.monotonic() + RETAINED_ACK_WAIT_S
        window: deque[mqtt.MQTTMessageInfo] = deque()

        def send(msg: Message) -> None:
            info = self._send(msg)
            if info is not None:
                window.append(info)
                if len(window) >= ACK_WINDOW:
                    self._await_acks(window, ACK_WINDOW // 2, deadline)

        for msg in list(self.retained.values()):
            send(msg)
        while self.backlog and self.connected:
            send(self.backlog.popleft())
        self._drain_writes()
        self._await_acks(window, 0, deadline)

    def _await_acks(self, window: deque[mqtt.MQTTMessageInfo], keep: int, deadline: float) -> None:
        """Let paho read acks until at most `keep` of `window` are unacknowledged (bounded by
        `deadline`, a disconnect or a stop: then the caller goes on, as before windows)."""
        while window:
            while window and window[0].is_published():
                window.popleft()
            if len(window) <= keep or not self.connected or self._halt.is_set() or time.monotonic() >= deadline:
                return
            if self.client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                self.connected = False
                return

    def _send(self, msg: Message) -> mqtt.MQTTMessageInfo | None:
        """Publish or hold one message; paho's handle of a QoS 1/2 publish, else None."""
        topic, payload, qos, retain = msg
        if retain:  # an empty retained payload clears the topic: sent once, not kept for republishing
            if payload:
                self.retained[topic] = msg
            else:
                self.retained.pop(topic, None)
        if not self.connected:
            self._hold(msg)
            return None
        if qos == 0 and not self.address.tls:  # TLS sockets stay with paho
            self.raw.add(topic, payload, retain)
            return None
        self._flush_raw()
        info = self.client.publish(topic, payload, qos, retain)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            self.published += 1
            return info if qos else None
        elif info.rc == mqtt.MQTT_ERR_NO_CONN:
            self.connected = False
            self._hold(msg)
        else:
            self.lost_offline += 1
            self.last_error = f"publish failed: {mqtt.error_string(info.rc)}"
        return None

    def _flush_raw(self) -> None:
        """Write the packed QoS 0 publishes once paho has nothing half-written."""
        if not self.raw.count:
            return
        if self.client.want_write():
            self._drain_writes(flush_raw=False)
        sock = self.client.socket()
        sent, lost = self.raw.flush(sock if self.connected and isinstance(sock, socket.socket) else None)
        self.published += sent
        if lost:
            self.lost_offline += lost
            self.last_error = "connection lost while writing telemetry"
            self.connected = False

    def _pump(self, wait: float) -> None:
        try:
            items = self._take(wait)
        except queue.Empty:
            if self.client.loop(timeout=0) != mqtt.MQTT_ERR_SUCCESS:
                self.connected = False
            self.tick()
            return
        n = 0
        while True:
            for item in items:
                for msg in self.render(item):
                    self._send(msg)
            n += len(items)
            if n >= BATCH:
                break
            try:
                items = self._take(None)
            except queue.Empty:
                break
        now = time.monotonic()
        if self.client.want_write() or now - self._last_loop >= PAHO_LOOP_EVERY_S:
            self._last_loop = now
            self._drain_writes()  # paho's turn: acks, pings, what it has queued
        else:
            self._flush_raw()  # telemetry only: one send() for the batch

    def _drain_writes(self, flush_raw: bool = True) -> None:
        """Let paho read acks and flush what the socket did not take (bounded wait)."""
        if flush_raw:
            self._flush_raw()
        rc = self.client.loop(timeout=0)
        deadline = time.monotonic() + 1.0
        while rc == mqtt.MQTT_ERR_SUCCESS and self.client.want_write() and time.monotonic() < deadline:
            rc = self.client.loop(timeout=0.01)
        if rc != mqtt.MQTT_ERR_SUCCESS:
            self.connected = False

    def _flush_on_stop(self) -> None:
        """Publish what is still queued (bounded: one pass over the inbox) before closing."""
        if not self.connected:
            return
        for _ in range(self.inbox.qsize()):
            try:
                items = self._take(None)
            except queue.Empty:
                break
            for item in items:
                for msg in self.render(item):
                    self._send(msg)
        self._drain_writes()


class GatewayPublisher:
    """A few shared connections; devices are spread over them and keep their connection."""

    def __init__(
        self,
        address: BrokerAddress,
        render: Render,
        *,
        client_prefix: str,
        connections: int = 1,
        queue_bound: int = 20000,
        backlog_bound: int = 20000,
        warn: Callable[[str], None] | None = None,
        guard: Guard = unsupervised,
    ) -> None:
        self.address = address
        self._warned_lost = 0
        self._warned_at = 0.0
        self._warn_lock = threading.Lock()
        self.warn = warn if warn is not None else (lambda line: print(line, file=sys.stderr))
        self.conns = [
            Connection(
                address,
                f"{client_prefix}-gw{i}",
                render,
                queue_bound,
                backlog_bound,
                tick=self.check_losses,
                guard=guard,
            )
            for i in range(max(1, connections))
        ]
        self._route: dict[str, Connection] = {}

    def connection_for(self, key: str) -> Connection:
        conn = self._route.get(key)
        if conn is None:
            conn = self._route[key] = self.conns[len(self._route) % len(self.conns)]
        return conn

    def preload(self, key: str, messages: Iterable[Message]) -> None:
        """Retained messages to publish on every connect (call before start())."""
        conn = self.connection_for(key)
        for msg in messages:
            conn.retained[msg[0]] = msg

    def submit(self, key: str, item: Any) -> bool:
        """Queue an item of `key` (a device id) from any thread; never blocks. False if lost (counted)."""
        return self.connection_for(key).submit(item)

    def stage(self, key: str, item: Any) -> None:
        """Engine thread only: add an item to its connection's batch (handed over by flush(),
        or as soon as BATCH items are staged)."""
        conn = self.connection_for(key)
        conn.staged.append(item)
        if len(conn.staged) >= BATCH:
            conn.put_batch(conn.staged)
            conn.staged = []

    def flush(self) -> None:
        """Engine thread only, after each step: hand every staged batch to its connection."""
        for conn in self.conns:
            if conn.staged:
                conn.put_batch(conn.staged)
                conn.staged = []

    def start(self) -> None:
        for conn in self.conns:
            conn.start()

    def wait_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(conn.connected_once.wait(max(0.0, deadline - time.monotonic())) for conn in self.conns)

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(conn.ready.wait(max(0.0, deadline - time.monotonic())) for conn in self.conns)

    def republish_marks(self) -> list[int]:
        """How many times each connection has republished so far (compare with `republished_since`)."""
        return [conn.republished for conn in self.conns]

    def republished_since(self, marks: list[int]) -> bool:
        """True once every connection has reconnected and republished since `marks` were taken."""
        return all(conn.republished > mark for conn, mark in zip(self.conns, marks, strict=True))

    def reconnect_now(self) -> None:
        """Cut every disconnected connection's back-off short (the broker is back)."""
        for conn in self.conns:
            conn.reconnect_now()

    def retained_count(self) -> int:
        """Retained documents in the cache (republished on every reconnect)."""
        return sum(len(conn.retained) for conn in self.conns)

    def last_error(self) -> str:
        return next((c.last_error for c in self.conns if c.last_error), "")

    def stats(self) -> dict[str, int]:
        return {
            "published": sum(c.published for c in self.conns),
            "lost_queue_full": sum(c.lost_queue_full for c in self.conns),
            "lost_offline": sum(c.lost_offline for c in self.conns),
            "queued": sum(c.queued() + len(c.backlog) for c in self.conns),
            "connected": sum(1 for c in self.conns if c.connected),
            "connections": len(self.conns),
        }

    def lost(self) -> int:
        s = self.stats()
        return s["lost_queue_full"] + s["lost_offline"]

    def check_losses(self) -> None:
        """Report new losses (at most every WARN_EVERY_S); call from any non-engine thread."""
        lost = self.lost()
        now = time.monotonic()
        if lost <= self._warned_lost or now - self._warned_at < WARN_EVERY_S:
            return
        with self._warn_lock:
            s = self.stats()
            self.warn(
                f"mqtt: {lost} messages lost so far ({s['lost_queue_full']} queue full, "
                f"{s['lost_offline']} broker unreachable; {s['queued']} waiting) {self.last_error()}".rstrip()
            )
            self._warned_lost, self._warned_at = lost, now

    def close(self, timeout: float = 5.0) -> None:
        for conn in self.conns:
            conn.stop()
        deadline = time.monotonic() + timeout
        for conn in self.conns:
            if conn.is_alive():
                conn.join(max(0.0, deadline - time.monotonic()))
