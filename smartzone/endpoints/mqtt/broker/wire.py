"""Just enough of the MQTT wire format (3.1, 3.1.1, 5) for the CONNECT gate and its counters.

Reads whole control packets from an asyncio stream (bounded size), parses CONNECT, builds
CONNACK refusals, and pulls topics out of SUBSCRIBE and PUBLISH. Everything else is
forwarded untouched, so this is no MQTT implementation, only a careful reader.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

MAX_CONNECT_BYTES = 65536
CONNECT, PUBLISH, SUBSCRIBE = 1, 3, 8

# CONNACK refusal codes: (MQTT 3.x, MQTT 5)
BAD_PROTOCOL = (0x01, 0x84)
ID_REJECTED = (0x02, 0x85)
BAD_CREDENTIALS = (0x04, 0x86)
NOT_AUTHORISED = (0x05, 0x87)


class WireError(Exception):
    """The bytes are not a well-formed MQTT packet."""


@dataclass(frozen=True)
class Connect:
    level: int  # 3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0
    client_id: str
    username: str | None
    password: bytes | None
    clean: bool
    raw: bytes  # the whole packet, to forward as read
    keep_alive: int = 0  # seconds; 0 = none


async def read_packet(reader: asyncio.StreamReader, max_bytes: int | None = None) -> tuple[int, bytes, int]:
    """One control packet: (packet type, raw bytes, offset of the variable header in raw)."""
    first = await reader.readexactly(1)
    header = bytearray(first)
    length, multiplier = 0, 1
    for _ in range(4):
        byte = (await reader.readexactly(1))[0]
        header.append(byte)
        length += (byte & 0x7F) * multiplier
        if not byte & 0x80:
            break
        multiplier *= 128
    else:
        raise WireError("remaining length longer than 4 bytes")
    if max_bytes is not None and length > max_bytes:
        raise WireError(f"packet of {length} bytes exceeds {max_bytes}")
    body = await reader.readexactly(length) if length else b""
    return first[0] >> 4, bytes(header) + body, len(header)


def read_varint(raw: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it) of the MQTT variable byte integer at `pos`."""
    value, multiplier = 0, 1
    for _ in range(4):
        if pos >= len(raw):
            raise WireError("packet ends early")
        byte = raw[pos]
        pos += 1
        value += (byte & 0x7F) * multiplier
        if not byte & 0x80:
            return value, pos
        multiplier *= 128
    raise WireError("variable integer longer than 4 bytes")


class _Cursor:
    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.pos = data, pos

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise WireError("packet ends early")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def binary(self) -> bytes:
        return self.take(self.u16())

    def text(self) -> str:
        try:
            return self.binary().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WireError("string is not UTF-8") from exc

    def varint(self) -> int:
        value, self.pos = read_varint(self.data, self.pos)
        return value

    def skip_properties(self) -> None:
        self.take(self.varint())


def parse_connect(packet_type: int, raw: bytes, offset: int) -> Connect:
    """Parse a CONNECT packet (raises WireError on anything malformed)."""
    if packet_type != CONNECT:
        raise WireError("first packet is not CONNECT")
    cur = _Cursor(raw, offset)
    name = cur.text()
    level = cur.u8()
    if (name, level) not in {("MQIsdp", 3), ("MQTT", 4), ("MQTT", 5)}:
        raise WireError(f"unsupported protocol {name!r} level {level}")
    flags = cur.u8()
    if flags & 0x01:
        raise WireError("reserved CONNECT flag set")
    keep_alive = cur.u16()
    if level == 5:
        cur.skip_properties()
    client_id = cur.text()
    if flags & 0x04:  # will
        if level == 5:
            cur.skip_properties()
        cur.text()
        cur.binary()
    username = cur.text() if flags & 0x80 else None
    password = cur.binary() if flags & 0x40 else None
    return Connect(level, client_id, username, password, bool(flags & 0x02), raw, keep_alive)


def connack_refusal(level: int, code: tuple[int, int]) -> bytes:
    """A CONNACK refusing the connection, in the client's protocol version."""
    if level == 5:
        return bytes([0x20, 3, 0, code[1], 0])
    return bytes([0x20, 2, 0, code[0]])


def publish_topic(raw: bytes, offset: int) -> str | None:
    """The topic name of a PUBLISH (None when empty, i.e. an MQTT 5 topic alias)."""
    topic = _Cursor(raw, offset).text()
    return topic or None


def subscribe_filters(raw: bytes, offset: int, level: int) -> list[str]:
    """The topic filters of a SUBSCRIBE."""
    cur = _Cursor(raw, offset)
    cur.u16()  # packet id
    if level == 5:
        cur.skip_properties()
    filters = []
    while cur.pos < len(raw):
        filters.append(cur.text())
        cur.u8()  # requested QoS / options
    return filters
