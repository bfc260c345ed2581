"""Just enough of the MQTT wire format (3.1, 3.1.1, 5) for the CONNECT gate and its counters.

Reads whole control packets from an asyncio stream (bounded size, judged from the fixed
header before the body is read), parses CONNECT, builds CONNACK refusals, pulls topics out of
SUBSCRIBE and PUBLISH, and checks what a client sends against the protocol's framing rules
(check_header, check_packet: the gate and the amqtt process close a connection that breaks
them). Everything else is forwarded untouched, so this is no MQTT implementation, only a
careful reader.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from smartzone.endpoints.mqtt.rawpublish import remaining_length

MAX_CONNECT_BYTES = 65536
CONNECT, PUBLISH, SUBSCRIBE = 1, 3, 8
PUBACK, PUBREC, PUBREL, PUBCOMP = 4, 5, 6, 7
UNSUBSCRIBE, PINGREQ, DISCONNECT, AUTH = 10, 12, 14, 15
# packets a client may send after its CONNECT (AUTH in MQTT 5 only), with the fixed-header flags
# each must carry (PUBLISH: any, checked apart); the others (CONNACK, SUBACK, ...) come from servers
CLIENT_FLAGS: dict[int, int | None] = {
    **{PUBLISH: None, PUBACK: 0, PUBREC: 0, PUBREL: 2, PUBCOMP: 0},
    **{SUBSCRIBE: 2, UNSUBSCRIBE: 2, PINGREQ: 0, DISCONNECT: 0, AUTH: 0},
}

# CONNACK refusal codes: (MQTT 3.x, MQTT 5)
BAD_PROTOCOL = (0x01, 0x84)
ID_REJECTED = (0x02, 0x85)
BAD_CREDENTIALS = (0x04, 0x86)
NOT_AUTHORISED = (0x05, 0x87)


class ByteSource(Protocol):
    """What read_packet reads from: an asyncio.StreamReader, or anything with its readexactly."""

    async def readexactly(self, n: int) -> bytes: ...


class WireError(Exception):
    """The bytes are not a well-formed MQTT packet."""


class TooLarge(WireError):
    """A packet's fixed header announces more than the cap; its body was not read."""

    def __init__(self, size: int, cap: int) -> None:
        super().__init__(f"packet of {size} bytes exceeds the cap of {cap}")
        self.size, self.cap = size, cap


@dataclass(frozen=True)
class Connect:
    level: int  # 3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0
    client_id: str
    username: str | None
    password: bytes | None
    clean: bool
    raw: bytes  # the whole packet, to forward as read
    keep_alive: int = 0  # seconds; 0 = none
    id_at: int = 0  # offset in raw of the client id's length bytes (with_client_id rewrites it there)
    sent_id: str | None = None  # after with_client_id: the id the client sent (client_id is the broker's)
    assigned: str = ""  # an id SmartZone generated for a blank one: what the client should use to resume


async def read_packet(
    reader: ByteSource, max_bytes: int | None = None, first_type: int | None = None
) -> tuple[int, bytes, int]:
    """One control packet: (packet type, raw bytes, offset of the variable header in raw).

    A packet whose type is not `first_type` (when given) or
    whose whole size exceeds `max_bytes` raises WireError before its body is read.
    """
    first = await reader.readexactly(1)
    if first_type is not None and first[0] >> 4 != first_type:
        raise WireError(f"packet type {first[0] >> 4} where {first_type} was due")
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
    if max_bytes is not None and len(header) + length > max_bytes:
        raise TooLarge(len(header) + length, max_bytes)
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
    id_at = cur.pos
    client_id = cur.text()
    if flags & 0x04:  # will
        if level == 5:
            cur.skip_properties()
        cur.text()
        cur.binary()
    username = cur.text() if flags & 0x80 else None
    password = cur.binary() if flags & 0x40 else None
    return Connect(level, client_id, username, password, bool(flags & 0x02), raw, keep_alive, id_at)


def with_client_id(connect: Connect, client_id: str, assigned: str = "") -> Connect:
    """The same CONNECT carrying another client id (the gate's per-user namespaced one, policy.session_id).

    Only the id and the remaining length change; every other byte is forwarded as the client sent it.
    """
    header_end = 1
    while connect.raw[header_end] & 0x80:
        header_end += 1
    header_end += 1
    old_end = connect.id_at + 2 + int.from_bytes(connect.raw[connect.id_at : connect.id_at + 2], "big")
    body = connect.raw[header_end : connect.id_at] + encode_string(client_id) + connect.raw[old_end:]
    raw = control_packet(connect.raw[0], body)
    id_at = len(raw) - len(body) + connect.id_at - header_end
    sent = connect.client_id if connect.sent_id is None else connect.sent_id
    return replace(connect, client_id=client_id, raw=raw, id_at=id_at, sent_id=sent, assigned=assigned)


ASSIGNED_CLIENT_ID = 0x12  # MQTT 5 CONNACK property


def connack_with_assigned_id(raw: bytes, offset: int, client_id: str) -> bytes:
    """An MQTT 5 CONNACK with an Assigned Client Identifier property added (a success CONNACK only).

    The gate gives a client that connected with a blank id a generated one; MQTT 5 says the
    CONNACK must then tell the client which (section 3.2.2.3.7). Anything else is returned as is.
    """
    if raw[0] >> 4 != 2 or len(raw) < offset + 3 or raw[offset + 1] >= 0x80:
        return raw
    length, props_at = read_varint(raw, offset + 2)
    props = raw[props_at : props_at + length] + bytes([ASSIGNED_CLIENT_ID]) + encode_string(client_id)
    body = raw[offset : offset + 2] + remaining_length(len(props)) + props + raw[props_at + length :]
    return control_packet(raw[0], body)


def encode_string(text: str) -> bytes:
    """An MQTT UTF-8 string: two length bytes, then the text."""
    data = text.encode("utf-8")
    return len(data).to_bytes(2, "big") + data


def control_packet(first: int, body: bytes) -> bytes:
    """A control packet from its fixed header's first byte and its body (remaining length in between)."""
    return bytes([first]) + remaining_length(len(body)) + body


def connect_packet(client_id: str, user: str | None = None, password: str | None = None, keep_alive: int = 30) -> bytes:
    """An MQTT 3.1.1 CONNECT with clean session (for probes, tests and benchmarks)."""
    flags = 0x02 | (0x80 if user is not None else 0) | (0x40 if password is not None else 0)
    body = encode_string("MQTT") + bytes([4, flags]) + keep_alive.to_bytes(2, "big") + encode_string(client_id)
    if user is not None:
        body += encode_string(user)
    if password is not None:
        body += encode_string(password)
    return control_packet(CONNECT << 4, body)


def subscribe_packet(topic_filter: str, options: int = 0, pid: int = 1, first: int = 0x82) -> bytes:
    """A SUBSCRIBE of one filter; `options` is its requested-QoS byte, `first` the fixed header's first byte."""
    return control_packet(first, pid.to_bytes(2, "big") + encode_string(topic_filter) + bytes([options]))


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


def check_header(first: int, level: int) -> None:
    """Raise WireError unless `first` (a fixed header's first byte) may come from a connected client.

    MQTT 3.1.1 section 2.2.2 and 5.0 section 2.1.3: the flags of every type but PUBLISH are fixed
    (SUBSCRIBE, UNSUBSCRIBE and PUBREL: 0b0010), a PUBLISH may not ask for QoS 3, and a second
    CONNECT or a packet only servers send is a protocol violation that closes the connection.
    """
    kind, flags = first >> 4, first & 0x0F
    if kind not in CLIENT_FLAGS or (kind == AUTH and level != 5):
        raise WireError(f"packet type {kind} may not come from a client")
    if kind == PUBLISH:
        if flags & 0x06 == 0x06:
            raise WireError("PUBLISH with QoS 3")
    elif flags != CLIENT_FLAGS[kind]:
        raise WireError(f"packet type {kind} with flags {flags:#06b}")


def check_packet(raw: bytes, offset: int, level: int) -> None:
    """Raise WireError unless a whole client packet (header already checked) is well formed inside.

    Checks what a broker would misread: a PUBLISH topic that overruns the packet, SUBSCRIBE
    options asking QoS 3 or setting reserved bits, SUBSCRIBE/UNSUBSCRIBE without filters, and
    acknowledgements or PINGREQ/DISCONNECT of the wrong length.
    """
    kind, size = raw[0] >> 4, len(raw) - offset
    cur = _Cursor(raw, offset)
    if kind == PUBLISH:
        cur.text()
        if raw[0] & 0x06:
            cur.u16()  # packet id
        if level == 5:
            cur.skip_properties()
    elif kind in (SUBSCRIBE, UNSUBSCRIBE):
        cur.u16()
        if level == 5:
            cur.skip_properties()
        if cur.pos >= len(raw):
            raise WireError("SUBSCRIBE or UNSUBSCRIBE without a topic filter")
        while cur.pos < len(raw):
            cur.text()
            if kind == SUBSCRIBE:
                _check_options(cur.u8(), level)
    elif kind in (PUBACK, PUBREC, PUBREL, PUBCOMP):
        if size != 2 and (level != 5 or size < 2):
            raise WireError(f"acknowledgement of {size} bytes")
    elif kind == PINGREQ or (kind == DISCONNECT and level != 5):
        if size:
            raise WireError(f"packet type {kind} with a body")


def _check_options(options: int, level: int) -> None:
    """SUBSCRIBE options: QoS 0-2; reserved bits 0 (bits 2-7 before MQTT 5, 6-7 and retain handling 3 in 5)."""
    if options & 0x03 == 0x03:
        raise WireError("SUBSCRIBE asks for QoS 3")
    reserved = 0xC0 if level == 5 else 0xFC
    if options & reserved or (level == 5 and options & 0x30 == 0x30):
        raise WireError(f"SUBSCRIBE options {options:#04x} set reserved bits")
