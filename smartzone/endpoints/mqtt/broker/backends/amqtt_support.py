"""SmartZone's amqtt 0.12 plugins (auth, topic checking) and the broker fixes they need.

Loaded the 0.12 way: by dotted path in the broker config's `plugins` section, each with a
`Config` dataclass (entry-point loading is deprecated in 0.12, and its stock
TopicAccessControlListPlugin takes only fixed per-user topic lists). The plugins find their
AccessPolicy through a registry key, because amqtt builds plugin configs from plain dicts.

`SzAmqttBroker` fixes one isolation hole of amqtt 0.12.1: retained messages are sent on
subscription (and, on every CONNECT, for every filter anyone subscribed to) without the
RECEIVE check that live deliveries get. Its override sends a retained message only to a
session that holds the subscription and may receive that topic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amqtt.adapters import ReaderAdapter
from amqtt.broker import Broker as AmqttBroker
from amqtt.contexts import Action, BaseContext
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from smartzone.endpoints.mqtt.broker.gate.connect import violation
from smartzone.endpoints.mqtt.broker.policy import ANONYMOUS, AccessPolicy, DenialCounter
from smartzone.endpoints.mqtt.broker.policy.denials import Denials
from smartzone.endpoints.mqtt.codec import DISCONNECT, Connect, WireError, check_header, check_packet, read_packet

_REGISTRY: dict[str, tuple[AccessPolicy, DenialCounter, Callable[[Session], bool] | None]] = {}


def register(
    key: str, policy: AccessPolicy, denied: DenialCounter, counted: Callable[[Session], bool] | None = None
) -> None:
    """Make a policy known to the plugins; `counted(session)` says whose denials to count (default all)."""
    _REGISTRY[key] = (policy, denied, counted)


def plugin_config(key: str) -> dict[str, Any]:
    """The `plugins` section of an amqtt config using SmartZone's access control."""
    mod = __name__
    return {f"{mod}.SzAuthPlugin": {"key": key}, f"{mod}.SzTopicPlugin": {"key": key}}


class SzAuthPlugin(BaseAuthPlugin):
    """Scenario credentials and client-id binding (a second line behind the CONNECT gate)."""

    @dataclass
    class Config:
        key: str = ""

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)
        self._policy, _, _ = _REGISTRY[self.config.key]

    async def authenticate(self, *, session: Session) -> bool | None:
        identity = self._policy.authenticate(session.username, session.password)
        if identity is None or not self._policy.session_id_allowed(identity, session.client_id or ""):
            return False
        if identity.role == "anonymous" and not self._policy.open_mode:
            # amqtt keeps no offline messages for anonymous sessions; in open lab mode an anonymous
            # persistent session must behave as on a plain broker (judge() reads no user name as anonymous)
            session.is_anonymous = True
        return True


def judge(key: str, session: Session | None, topic: str | None, action: Action | None) -> bool:
    """SmartZone's topic rules for one subscribe, publish or delivery; counts what is denied."""
    policy, denied, counted = _REGISTRY[key]
    if session is None or topic is None:
        return False
    identity = policy.identity_of(None if session.is_anonymous else session.username)
    if action == Action.RECEIVE:
        return policy.may_receive(identity, topic)
    if action == Action.SUBSCRIBE:
        ok = policy.may_subscribe(identity, topic)
    elif action == Action.PUBLISH:
        ok = policy.may_publish(identity, topic)
    else:
        return False
    if not ok and (counted is None or counted(session)):
        if isinstance(denied, Denials):
            denied.denied_topic(identity, str(action), topic)
        else:
            denied.add(identity.name, str(action))
    return ok


class SzTopicPlugin(BaseTopicPlugin):
    """Tenant isolation for subscribe, publish and delivery (judge()); counts what it denies."""

    @dataclass
    class Config:
        key: str = ""

    async def topic_filtering(
        self, *, session: Session | None = None, topic: str | None = None, action: Action | None = None
    ) -> bool | None:
        return judge(self.config.key, session, topic, action)


class SzAmqttBroker(AmqttBroker):
    """amqtt's broker with retained-message delivery put under the RECEIVE check, and
    SmartZone's topic rules called directly.

    amqtt asks its plugin manager for every publish and for every delivery, and the manager
    gathers a task per plugin each time: measured, a direct call takes about 0.1 ms off the
    median publish-to-receive latency at 1,000 msg/s (docs/benchmarks.md). The rules are the
    plugin's (judge()); the plugin stays loaded for amqtt's own checks of the manager.
    """

    def __init__(self, config: dict[str, Any], *, key: str) -> None:
        super().__init__(config)
        self._sz_key = key

    async def _topic_filtering(self, session: Session, topic: str, action: Action) -> bool:
        return judge(self._sz_key, session, topic, action)

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Session
    ) -> None:
        topic_filter, _ = subscription
        held = [q for s, q in self._subscriptions.get(topic_filter, []) if s.client_id == session.client_id]
        handler = self._get_handler(session)
        if not held or handler is None:
            return
        tasks = []
        for topic, retained in list(self._retained_messages.items()):
            if not self._matches(topic, topic_filter):
                continue
            if not await self._topic_filtering(session, topic=topic, action=Action.RECEIVE):
                continue
            qos = min(held[0], retained.qos if retained.qos is not None else held[0])
            tasks.append(asyncio.ensure_future(handler.mqtt_publish(retained.topic, retained.data, qos, retain=True)))
        if tasks:
            await asyncio.wait(tasks)


class ReplayReader(ReaderAdapter):
    """A stream reader that first gives back the CONNECT bytes the gate already read.

    It also enforces the client's keep-alive, which amqtt 0.12 does not: amqtt's reader
    loop times out every keep-alive period and reads again; if by then nothing arrived for
    1.5 keep-alive periods, this reader reports end of stream and amqtt closes the session
    (publishing the will). So a silent client is dropped within 2 keep-alive periods.
    """

    def __init__(self, first: bytes, reader: asyncio.StreamReader, keep_alive: int = 0) -> None:
        self._buf = first
        self._reader = reader
        self._limit = 1.5 * keep_alive if keep_alive > 0 else None
        self._last = time.monotonic()

    async def read(self, n: int = -1) -> bytes:
        if self._limit is not None:
            now = time.monotonic()
            if now - self._last > self._limit:
                return b""
            out = await self._read(n)
            self._last = time.monotonic()
            return out
        return await self._read(n)

    async def _read(self, n: int) -> bytes:
        if self._buf:
            if n == -1 or n == len(self._buf):
                out, self._buf = self._buf, b""
                return out
            if n < len(self._buf):
                out, self._buf = self._buf[:n], self._buf[n:]
                return out
            out, self._buf = self._buf, b""
            return out + await self._reader.readexactly(n - len(out))
        if n == -1:
            return await self._reader.read(n)
        return await self._reader.readexactly(n)

    def feed_eof(self) -> None:
        self._reader.feed_eof()


class CheckedReader(ReplayReader):
    """The reader amqtt gets for a handed-over app: whole, checked packets within the cap, else EOF.

    amqtt reads a packet as a fixed header and then its body; this reader reads one whole
    packet ahead from the socket (its fixed header judged before the body: codec.read_packet),
    checks it, and serves amqtt's reads from it. On a violation it logs and counts it (as the
    gate does for relayed connections) and reports end of stream, so amqtt closes the session
    and publishes the will. After a DISCONNECT it reads nothing more. amqtt cancels its read
    every keep-alive period; the read-ahead runs as a shielded task, so a cancelled read never
    loses the part of a packet already taken from the socket.
    """

    def __init__(
        self, connect: Connect, rest: bytes, reader: asyncio.StreamReader, cap: int, counter: DenialCounter
    ) -> None:
        super().__init__(connect.raw, reader, connect.keep_alive)
        self._rest, self._cap, self._connect, self._counter = rest, cap, connect, counter
        self._ended = False
        self._fetch: asyncio.Future[bool] | None = None

    def release(self) -> None:
        """Drop the stream and its buffers: amqtt 0.12 keeps a session (and so this reader) after
        an abrupt close, and with it up to a socket buffer of the refused packet's body."""
        if self._fetch is not None:
            self._fetch.cancel()
            self._fetch = None
        self._ended, self._buf, self._rest = True, b"", b""
        unread = getattr(self._reader, "_buffer", None)  # what asyncio read ahead of the refused body
        if isinstance(unread, bytearray):
            unread.clear()
        self._reader = asyncio.StreamReader()

    async def readexactly(self, n: int) -> bytes:
        """Bytes from what the gate handed over first, then from the socket (codec.read_packet's source)."""
        if self._rest:
            out, self._rest = self._rest[:n], self._rest[n:]
            return out if len(out) == n else out + await self._reader.readexactly(n - len(out))
        return await self._reader.readexactly(n)

    async def _read(self, n: int) -> bytes:
        while not self._buf or (n > 0 and len(self._buf) < n):
            if self._ended:
                return b""
            if self._fetch is None:
                self._fetch = asyncio.ensure_future(self._next())
            fetch = self._fetch
            ok = await asyncio.shield(fetch)  # a cancellation here leaves the fetch running
            self._fetch = None
            if not ok:
                self._ended, self._buf = True, b""
                return b""
        return await super()._read(n)

    async def _next(self) -> bool:
        """Append the next checked packet to the replay buffer; False at the end of the stream."""
        level = self._connect.level
        try:
            first = await self.readexactly(1)
            check_header(first[0], level)
            self._rest = first + self._rest  # read_packet reads the whole packet again, from its first byte
            _, raw, offset = await read_packet(self, self._cap)
            check_packet(raw, offset, level)
        except WireError as exc:
            violation(self._counter, self._connect.username or ANONYMOUS, self._connect.client_id, exc)
            return False
        except (asyncio.IncompleteReadError, OSError):  # the client went away
            return False
        except Exception as exc:  # anything else a client's bytes cause ends its connection only
            violation(self._counter, self._connect.username or ANONYMOUS, self._connect.client_id, WireError(exc))
            return False
        self._buf += raw
        self._ended = raw[0] >> 4 == DISCONNECT
        return True
