"""The reader the amqtt process gives amqtt for a handed-over app: whole, checked packets only.

A handed-over app talks to amqtt directly, without the gate's relay, so the checks the relay
makes (relay.Framer) are made here, inside the amqtt process: the packet-size cap judged from
the fixed header before the body is read, and MQTT's framing rules (wire.check_header,
wire.check_packet). amqtt 0.12 alone buffers a packet of any size, answers a SUBSCRIBE asking
QoS 3 with SUBACK 0x03, accepts reserved bits and skips malformed packets.
"""

from __future__ import annotations

import asyncio

from smartzone.endpoints.mqtt.broker import amqtt_support
from smartzone.endpoints.mqtt.broker.gate import violation
from smartzone.endpoints.mqtt.broker.policy import ANONYMOUS, DenialCounter
from smartzone.endpoints.mqtt.codec import DISCONNECT, Connect, WireError, check_header, check_packet, read_packet


class CheckedReader(amqtt_support.ReplayReader):
    """The reader amqtt gets for a handed-over app: whole, checked packets within the cap, else EOF.

    amqtt reads a packet as a fixed header and then its body; this reader reads one whole
    packet ahead from the socket (its fixed header judged before the body: wire.read_packet),
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
        """Bytes from what the gate handed over first, then from the socket (wire.read_packet's source)."""
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
