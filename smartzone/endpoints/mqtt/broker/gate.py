"""The CONNECT gate: checks credentials and the client-id binding before a broker sees a client.

Both managed backends put it in front of their broker because neither can bind client ids
to users by itself, and because amqtt 0.12 acts on a CONNECT's client id (deleting or taking
over the existing session of that id) before it authenticates the client. The gate reads
the first packet, refuses with the right CONNACK code (bad credentials, identifier
rejected, not authorised) and closes, or hands the untouched bytes on to the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

from smartzone.endpoints.mqtt.broker.policy import ANONYMOUS, AccessPolicy, DenialCounter, Identity
from smartzone.endpoints.mqtt.broker.wire import (
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
    if not policy.client_id_allowed(identity, connect.client_id):
        return None, ID_REJECTED
    return identity, None


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
    observer: Any = None,
    max_packet: int = MAX_CONNECT_BYTES,
) -> tuple[Connect, Identity] | None:
    """Read and judge the CONNECT; on refusal answer, count, close and return None.

    The first byte must announce a CONNECT, the whole packet must fit in `max_packet` (and 64 KiB)
    and arrive within CONNECT_TIMEOUT_S; anything else (an HTTP request, a stalled client) is
    closed without an answer, before more is read. An optional observer (observe.py) sees every
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
        if held is None or refusal is not None:
            denied.add(connect.username or ANONYMOUS, "connect")
        refusal = refusal or held
        with contextlib.suppress(ConnectionError):
            writer.write(connack_refusal(connect.level, refusal or NOT_AUTHORISED))
            await writer.drain()
        await close_writer(writer)
        return None
    return connect, identity
