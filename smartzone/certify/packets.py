"""Decoding the MQTT packets certification and the GUI care about (PUBLISH, SUBSCRIBE,
UNSUBSCRIBE), per connection.

The broker observer hands over raw byte chunks of each direction; a `Stream` per direction
cuts them into whole packets (the gate's Framer) and decodes what the rules need. A packet
that cannot be decoded is counted, never raised: the broker, not the observer, judges it.
"""

from __future__ import annotations

from dataclasses import dataclass

from smartzone.endpoints.mqtt.broker.relay import Framer
from smartzone.endpoints.mqtt.broker.wire import PUBLISH, SUBSCRIBE, WireError, read_varint

UNSUBSCRIBE = 10
DISCONNECT = 14
PAYLOAD_KEEP = 1024


@dataclass(frozen=True)
class Publish:
    topic: str
    qos: int
    retain: bool
    size: int
    payload: bytes


@dataclass(frozen=True)
class Subscribe:
    filters: tuple[tuple[str, int], ...]  # (filter, requested QoS)


@dataclass(frozen=True)
class Unsubscribe:
    filters: tuple[str, ...]


def _text(raw: bytes, pos: int) -> tuple[str, int]:
    if pos + 2 > len(raw):
        raise WireError("packet ends early")
    n = int.from_bytes(raw[pos : pos + 2], "big")
    if pos + 2 + n > len(raw):
        raise WireError("packet ends early")
    try:
        return raw[pos + 2 : pos + 2 + n].decode("utf-8"), pos + 2 + n
    except UnicodeDecodeError as exc:
        raise WireError("string is not UTF-8") from exc


def decode_publish(raw: bytes, offset: int, level: int) -> Publish:
    flags = raw[0] & 0x0F
    qos = (flags >> 1) & 3
    topic, pos = _text(raw, offset)
    if qos:
        pos += 2
    if level == 5:
        length, pos = read_varint(raw, pos)
        pos += length
    payload = raw[pos:]
    return Publish(topic, qos, bool(flags & 1), len(payload), payload[:PAYLOAD_KEEP])


def _filters_start(raw: bytes, offset: int, level: int) -> int:
    """Where the topic filters of a SUBSCRIBE/UNSUBSCRIBE begin (after packet id, v5 properties)."""
    pos = offset + 2
    if level == 5:
        length, pos = read_varint(raw, pos)
        pos += length
    return pos


def decode_subscribe(raw: bytes, offset: int, level: int) -> Subscribe:
    pos = _filters_start(raw, offset, level)
    out = []
    while pos < len(raw):
        topic, pos = _text(raw, pos)
        if pos >= len(raw):
            raise WireError("packet ends early")
        out.append((topic, raw[pos] & 3))
        pos += 1
    return Subscribe(tuple(out))


def decode_unsubscribe(raw: bytes, offset: int, level: int) -> Unsubscribe:
    pos = _filters_start(raw, offset, level)
    out = []
    while pos < len(raw):
        topic, pos = _text(raw, pos)
        out.append(topic)
    return Unsubscribe(tuple(out))


class Stream:
    """One direction of one connection: bytes in, decoded packets out."""

    def __init__(self, level: int) -> None:
        self.level = level
        self._framer = Framer()
        self.undecodable = 0
        self.broken = False

    def feed(self, data: bytes) -> list[Publish | Subscribe | Unsubscribe | int]:
        """Decoded PUBLISH/SUBSCRIBE/UNSUBSCRIBE packets; other packet types as their type number."""
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
                if ptype == PUBLISH:
                    out.append(decode_publish(raw, offset, self.level))
                elif ptype == SUBSCRIBE:
                    out.append(decode_subscribe(raw, offset, self.level))
                elif ptype == UNSUBSCRIBE:
                    out.append(decode_unsubscribe(raw, offset, self.level))
                else:
                    out.append(ptype)
            except (WireError, IndexError):
                self.undecodable += 1
        return out
