"""SmartZone's one MQTT packet codec (3.1, 3.1.1 and 5): framing, decoding, building packets.

Every part that reads or writes MQTT bytes uses it: the gate (CONNECT, refusals, the packet
checks), the amqtt process's checked reader, the certification and traffic observers (Stream),
the raw publisher (publish_packet) and the test and bench tools. No maintained pure-Python
codec library covers MQTT 5 and these checks (mqtt-codec stops at 3.1.1, 2019), so this is one
module, and a careful reader rather than an MQTT implementation: what it does not need to
understand is forwarded untouched.

Guarantees: a packet's size is judged from its fixed header before its body is read or
buffered (read_packet, Framer: TooLarge); what breaks MQTT's framing rules raises WireError
(check_header, check_packet: a fixed header with reserved flags, a QoS 3, a packet type only
servers send, a first packet that is not CONNECT); a decoder fed by the network raises only
WireError (Stream counts it and never raises).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

MAX_CONNECT_BYTES = 65536
CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, PINGREQ, PINGRESP, DISCONNECT, AUTH = 8, 9, 10, 12, 13, 14, 15
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
QUOTA_EXCEEDED = (0x03, 0x97)  # MQTT 3.1.1 has no such code: "server unavailable" there; MQTT 5 "quota exceeded"
ASSIGNED_CLIENT_ID = 0x12  # MQTT 5 CONNACK property
PAYLOAD_KEEP = 1024  # bytes of a decoded PUBLISH payload kept (Publish.size has the whole size)


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


@dataclass(frozen=True)
class Publish:
    topic: str
    qos: int
    retain: bool
    size: int
    payload: bytes  # the first PAYLOAD_KEEP bytes


@dataclass(frozen=True)
class Subscribe:
    filters: tuple[tuple[str, int], ...]  # (filter, requested QoS)


@dataclass(frozen=True)
class Unsubscribe:
    filters: tuple[str, ...]


# --- framing -------------------------------------------------------------------------------


def remaining_length(n: int) -> bytes:
    """The MQTT variable byte integer encoding of n (a packet's remaining length)."""
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_varint(raw: bytes | bytearray, pos: int) -> tuple[int, int]:
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


def fixed_header(buf: bytes | bytearray, pos: int = 0) -> tuple[int, int] | None:
    """(fixed header size, remaining length) of the packet at pos, or None if not all there yet."""
    try:
        length, end = read_varint(buf, pos + 1)
    except WireError:
        if len(buf) - pos - 1 >= 4:
            raise
        return None
    return end - pos, length


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
    for _ in range(4):
        header += await reader.readexactly(1)
        if not header[-1] & 0x80:
            break
    else:
        raise WireError("remaining length longer than 4 bytes")
    length = read_varint(header, 1)[0]
    if max_bytes is not None and len(header) + length > max_bytes:
        raise TooLarge(len(header) + length, max_bytes)
    body = await reader.readexactly(length) if length else b""
    return first[0] >> 4, bytes(header) + body, len(header)


class Framer:
    """Cuts a byte stream into whole MQTT control packets.

    For a client's stream, give `limit` (the largest whole packet, in bytes) and `level` (its
    protocol level): feed() then raises WireError (TooLarge for size) as soon as a fixed header
    breaks the protocol or announces more than the limit, before that packet's body is buffered,
    so a client holds at most `limit` bytes of the reader's memory.
    """

    def __init__(self, limit: int | None = None, level: int | None = None) -> None:
        self._buf = bytearray()
        self.limit, self.level = limit, level

    def feed(self, data: bytes) -> list[tuple[int, bytes, int]]:
        """Append data; return the complete packets as (type, raw, variable-header offset)."""
        buf = self._buf
        buf += data
        out: list[tuple[int, bytes, int]] = []
        pos = 0
        while pos < len(buf):
            if self.level is not None:
                check_header(buf[pos], self.level)
            parsed = fixed_header(buf, pos)
            if parsed is None:
                break
            header, length = parsed
            if self.limit is not None and header + length > self.limit:
                raise TooLarge(header + length, self.limit)
            if len(buf) - pos < header + length:
                break
            raw = bytes(buf[pos : pos + header + length])
            if self.level is not None:
                check_packet(raw, header, self.level)
            out.append((buf[pos] >> 4, raw, header))
            pos += header + length
        del buf[:pos]
        return out


class Stream:
    """One direction of one connection, for an observer: bytes in, decoded packets out, never raising.

    PUBLISH, SUBSCRIBE and UNSUBSCRIBE come out decoded, other packets as their type number. A
    packet that cannot be decoded is counted (`undecodable`); a stream whose framing breaks stops
    (`broken`): the broker, not the observer, judges the client.
    """

    def __init__(self, level: int) -> None:
        self.level = level
        self._framer = Framer()
        self.undecodable = 0
        self.broken = False

    def feed(self, data: bytes) -> list[Publish | Subscribe | Unsubscribe | int]:
        if self.broken:
            return []
        try:
            packets = self._framer.feed(data)
        except WireError:
            self.broken = True  # the broker will drop this connection anyway
            return []
        out: list[Publish | Subscribe | Unsubscribe | int] = []
        for ptype, raw, offset in packets:
            try:
                out.append(decode(ptype, raw, offset, self.level))
            except WireError:
                self.undecodable += 1
        return out


# --- decoding ------------------------------------------------------------------------------


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

    @property
    def more(self) -> bool:
        return self.pos < len(self.data)


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


def decode(ptype: int, raw: bytes, offset: int, level: int) -> Publish | Subscribe | Unsubscribe | int:
    """A PUBLISH, SUBSCRIBE or UNSUBSCRIBE decoded; any other packet as its type number."""
    if ptype == PUBLISH:
        return decode_publish(raw, offset, level)
    if ptype == SUBSCRIBE:
        return decode_subscribe(raw, offset, level)
    if ptype == UNSUBSCRIBE:
        return Unsubscribe(tuple(f for f, _ in _filters(raw, offset, level, False)))
    return ptype


def decode_publish(raw: bytes, offset: int, level: int) -> Publish:
    cur = _Cursor(raw, offset)
    topic = cur.text()
    qos = (raw[0] >> 1) & 3
    if qos:
        cur.u16()  # packet id
    if level == 5:
        cur.skip_properties()
    payload = raw[cur.pos :]
    return Publish(topic, qos, bool(raw[0] & 1), len(payload), payload[:PAYLOAD_KEEP])


def decode_subscribe(raw: bytes, offset: int, level: int) -> Subscribe:
    return Subscribe(tuple((f, options & 3) for f, options in _filters(raw, offset, level, True)))


def _filters(raw: bytes, offset: int, level: int, with_options: bool) -> list[tuple[str, int]]:
    """The (filter, options byte) list of a SUBSCRIBE (options 0 for an UNSUBSCRIBE)."""
    cur = _Cursor(raw, offset)
    cur.u16()  # packet id
    if level == 5:
        cur.skip_properties()
    out = []
    while cur.more:
        out.append((cur.text(), cur.u8() if with_options else 0))
    return out


def publish_topic(raw: bytes, offset: int) -> str | None:
    """The topic name of a PUBLISH (None when empty, i.e. an MQTT 5 topic alias)."""
    return _Cursor(raw, offset).text() or None


def subscribe_filters(raw: bytes, offset: int, level: int) -> list[str]:
    """The topic filters of a SUBSCRIBE."""
    return [f for f, _ in _filters(raw, offset, level, True)]


def suback_codes(raw: bytes, offset: int, level: int) -> bytes:
    """The return (reason) codes of a SUBACK, one per filter of its SUBSCRIBE."""
    cur = _Cursor(raw, offset)
    cur.u16()  # packet id
    if level == 5:
        cur.skip_properties()
    return raw[cur.pos :]


# --- checking what a client sends ----------------------------------------------------------


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
    if kind == PUBLISH:
        decode_publish(raw, offset, level)
    elif kind in (SUBSCRIBE, UNSUBSCRIBE):
        entries = _filters(raw, offset, level, kind == SUBSCRIBE)
        if not entries:
            raise WireError("SUBSCRIBE or UNSUBSCRIBE without a topic filter")
        if kind == SUBSCRIBE:
            for _, options in entries:
                _check_options(options, level)
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


# --- building packets ----------------------------------------------------------------------


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


def publish_packet(topic: str, payload: bytes, retain: bool = False) -> bytes:
    """An MQTT 3.1.1 QoS 0 PUBLISH packet (section 3.3: no packet id)."""
    return control_packet(0x30 | (1 if retain else 0), encode_string(topic) + payload)


def subscribe_packet(topic_filter: str, options: int = 0, pid: int = 1, first: int = 0x82) -> bytes:
    """A SUBSCRIBE of one filter; `options` is its requested-QoS byte, `first` the fixed header's first byte."""
    return control_packet(first, pid.to_bytes(2, "big") + encode_string(topic_filter) + bytes([options]))


def connack_refusal(level: int, code: tuple[int, int]) -> bytes:
    """A CONNACK refusing the connection, in the client's protocol version."""
    if level == 5:
        return bytes([0x20, 3, 0, code[1], 0])
    return bytes([0x20, 2, 0, code[0]])


def with_client_id(connect: Connect, client_id: str, assigned: str = "") -> Connect:
    """The same CONNECT carrying another client id (the gate's per-user namespaced one, policy.session_id).

    Only the id and the remaining length change; every other byte is forwarded as the client sent it.
    """
    parsed = fixed_header(connect.raw)
    assert parsed is not None  # parse_connect read the whole packet
    header_end = parsed[0]
    old_end = connect.id_at + 2 + int.from_bytes(connect.raw[connect.id_at : connect.id_at + 2], "big")
    body = connect.raw[header_end : connect.id_at] + encode_string(client_id) + connect.raw[old_end:]
    raw = control_packet(connect.raw[0], body)
    id_at = len(raw) - len(body) + connect.id_at - header_end
    sent = connect.client_id if connect.sent_id is None else connect.sent_id
    return replace(connect, client_id=client_id, raw=raw, id_at=id_at, sent_id=sent, assigned=assigned)


def connack_with_assigned_id(raw: bytes, offset: int, client_id: str) -> bytes:
    """An MQTT 5 CONNACK with an Assigned Client Identifier property added (a success CONNACK only).

    The gate gives a client that connected with a blank id a generated one; MQTT 5 says the
    CONNACK must then tell the client which (section 3.2.2.3.7). Anything else is returned as is.
    """
    if raw[0] >> 4 != CONNACK or len(raw) < offset + 3 or raw[offset + 1] >= 0x80:
        return raw
    length, props_at = read_varint(raw, offset + 2)
    props = raw[props_at : props_at + length] + bytes([ASSIGNED_CLIENT_ID]) + encode_string(client_id)
    body = raw[offset : offset + 2] + remaining_length(len(props)) + props + raw[props_at + length :]
    return control_packet(raw[0], body)
