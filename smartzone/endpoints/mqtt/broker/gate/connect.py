"""The CONNECT gate: checks credentials and namespaces client ids before a broker sees a client.

Both managed backends put it in front of their broker because neither can keep users' client
ids apart by itself, and because amqtt 0.12 acts on a CONNECT's client id (deleting or taking
over the existing session of that id) before it authenticates the client. The gate reads
the first packet, refuses with the right CONNACK code (bad credentials, not authorised,
identifier rejected for a blank id with a persistent MQTT 3 session) and closes, saying why
(denials.py), or hands the CONNECT on with the client id rewritten to the user's namespaced
one (policy.session_id; a blank id gets a generated "auto-..." first), every other byte as sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from typing import Any, Protocol

from smartzone.endpoints.mqtt.broker.policy import ANONYMOUS, AccessPolicy, DenialCounter, Identity
from smartzone.endpoints.mqtt.broker.policy.denials import Denials
from smartzone.endpoints.mqtt.codec import (
    BAD_CREDENTIALS,
    BAD_PROTOCOL,
    CONNECT,
    ID_REJECTED,
    MAX_CONNECT_BYTES,
    NOT_AUTHORISED,
    Connect,
    TooLarge,
    WireError,
    connack_refusal,
    parse_connect,
    read_packet,
    with_client_id,
)

CONNECT_TIMEOUT_S = 5.0  # a whole CONNECT must arrive within this after the TCP connection (docs/brokers.md)
log = logging.getLogger(__name__)


def decide(
    policy: AccessPolicy, connect: Connect, levels: frozenset[int] = frozenset({3, 4, 5})
) -> tuple[Identity | None, tuple[int, int] | None]:
    """(identity, None) to admit, or (None, CONNACK refusal code)."""
    if connect.level not in levels:
        return None, BAD_PROTOCOL
    if not connect.username and not policy.anonymous_allowed:
        return None, NOT_AUTHORISED
    identity = policy.authenticate(connect.username, connect.password)
    if identity is None:
        return None, BAD_CREDENTIALS
    if not connect.client_id and not connect.clean and connect.level != 5:
        return None, ID_REJECTED  # MQTT 3.1.1 section 3.1.3: a blank id needs a clean session
    return identity, None


def namespaced(policy: AccessPolicy, connect: Connect, identity: Identity) -> Connect:
    """The admitted CONNECT as the broker gets it: the client id in the user's namespace.

    A blank id first gets a generated "auto-..." one (`assigned`: the front tells an MQTT 5
    client in its CONNACK, and the client resumes by sending it back).
    """
    assigned = "" if connect.client_id else f"auto-{secrets.token_hex(8)}"
    session = policy.session_id(identity, connect.client_id or assigned)
    if session == connect.client_id:
        return connect
    return with_client_id(connect, session, assigned)


def violation(denied: DenialCounter, user: str, client_id: str, exc: WireError) -> None:
    """Log and count a connection closed for a protocol violation (kind "oversize" or "protocol")."""
    kind = "oversize" if isinstance(exc, TooLarge) else "protocol"
    denied.add(user, kind)
    log.warning("mqtt: closed the connection of %s (client id %r): %s", user, client_id, exc)


def set_nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


async def admit(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    policy: AccessPolicy,
    denied: DenialCounter,
    levels: frozenset[int] = frozenset({3, 4, 5}),
    observer: ConnectionObserver | None = None,
    max_packet: int = MAX_CONNECT_BYTES,
) -> tuple[Connect, Identity] | None:
    """Read and judge the CONNECT; on refusal answer, count, close and return None; else the
    CONNECT to forward (its client id namespaced: `namespaced`) and who sent it.

    The first byte must announce a CONNECT, the whole packet must fit in `max_packet` (and 64 KiB)
    and arrive within CONNECT_TIMEOUT_S; anything else (an HTTP request, a stalled client) is
    closed without an answer, before more is read. An optional observer (gate/connect.py) sees every
    judged CONNECT and may refuse an admitted one.
    """
    try:
        cap = min(MAX_CONNECT_BYTES, max_packet)
        read = read_packet(reader, cap, first_type=CONNECT)
        packet_type, raw, offset = await asyncio.wait_for(read, CONNECT_TIMEOUT_S)
        connect = parse_connect(packet_type, raw, offset)
    except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
        await close_writer(writer)
        return None
    except Exception as exc:  # anything a stranger sends ends here, as one line
        log.warning("mqtt: closed a connection from %s before CONNECT: %s", writer.get_extra_info("peername"), exc)
        await close_writer(writer)
        return None
    identity, refusal = decide(policy, connect, levels)
    held = observer.connect(writer, connect, identity, refusal) if observer is not None else None
    if identity is None or refusal is not None or held is not None:
        if refusal is not None and isinstance(denied, Denials):
            denied.refused_connect(connect, refusal, writer.get_extra_info("peername"))
        elif held is None or refusal is not None:  # certify holding an admitted client back is no denial
            denied.add(connect.username or ANONYMOUS, "connect")
        refusal = refusal or held
        with contextlib.suppress(ConnectionError):
            writer.write(connack_refusal(connect.level, refusal or NOT_AUTHORISED))
            await writer.drain()
        await close_writer(writer)
        return None
    return namespaced(policy, connect, identity), identity


SERVER_UNAVAILABLE = (0x03, 0x88)  # CONNACK "server unavailable" (MQTT 3.x, MQTT 5)


class ConnectionObserver(Protocol):
    def connect(
        self, key: Any, connect: Connect, identity: Identity | None, refusal: tuple[int, int] | None
    ) -> tuple[int, int] | None: ...

    def client_bytes(self, key: Any, data: bytes) -> None: ...

    def broker_bytes(self, key: Any, data: bytes) -> None: ...

    def closed(self, key: Any) -> None: ...
