"""SUBSCRIBE/SUBACK rewriting for the gate front.

Mosquitto's acl_file grants every SUBSCRIBE (its file ACLs only filter delivery), so an app
subscribing to another tenant would get SUBACK "granted" and then silence. API.md wants the
MQTT failure return code instead; the front therefore forwards only the permitted filters
and puts the refusal codes back into the SUBACK at the right positions. A fully refused
SUBSCRIBE cannot be forwarded (a SUBSCRIBE needs a filter) nor answered at once (the answer
could overtake the broker's CONNACK or earlier SUBACKs): the front forwards a PINGREQ in its
place and turns the broker's PINGRESP to it into the refusing SUBACK, so the answer keeps its
place in the broker's stream. Mosquitto's read ACL still filters every delivery.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from smartzone.endpoints.mqtt.codec import PINGREQ, PINGRESP, SUBACK, WireError, read_varint, remaining_length

PINGREQ_PACKET = bytes([PINGREQ << 4, 0])
REFUSED_V3 = 0x80  # SUBACK failure (MQTT 3.1.1)
REFUSED_V5 = 0x87  # SUBACK "not authorized" (MQTT 5)


@dataclass
class SubscribeGuard:
    """Per connection: which SUBSCRIBEs were trimmed, to restore their SUBACKs."""

    level: int
    pending: dict[int, list[bool]] = field(default_factory=dict)
    # one entry per PINGREQ sent to the broker and not answered yet: None for the client's
    # own, the SUBACK to send in place of the PINGRESP for one standing in for a SUBSCRIBE
    pings: deque[bytes | None] = field(default_factory=deque)

    def ping(self) -> None:
        """The client sent a PINGREQ (its PINGRESP goes back as it is)."""
        self.pings.append(None)

    def answer(self, raw: bytes) -> bytes:
        """A PINGRESP from the broker, or the SUBACK it stands for."""
        return (self.pings.popleft() or raw) if self.pings else raw

    def rewrite(self, packets: list[tuple[int, bytes, int]]) -> bytes:
        """Broker -> client packets with trimmed SUBACKs restored and stand-in PINGRESPs answered."""
        out = []
        for kind, raw, offset in packets:
            if kind == SUBACK:
                raw = self.restore(raw, offset)
            elif kind == PINGRESP:
                raw = self.answer(raw)
            out.append(raw)
        return b"".join(out)

    @property
    def refused(self) -> int:
        return REFUSED_V5 if self.level == 5 else REFUSED_V3

    def trim(self, raw: bytes, offset: int, allowed: list[bool]) -> bytes:
        """The packet to forward: the SUBSCRIBE, its permitted filters only, or a stand-in PINGREQ."""
        pid = raw[offset : offset + 2]
        pos = offset + 2
        if self.level == 5:
            props_end, pos = _varint_end(raw, pos)
            props = raw[offset + 2 : props_end]
            pos = props_end
        else:
            props = b""
        entries = []
        while pos < len(raw):
            n = int.from_bytes(raw[pos : pos + 2], "big")
            entries.append(raw[pos : pos + 2 + n + 1])
            pos += 2 + n + 1
        if len(entries) != len(allowed):
            raise WireError("SUBSCRIBE filters changed while trimming")
        if all(allowed):
            return raw
        if not any(allowed):
            body = pid + (b"\x00" if self.level == 5 else b"") + bytes([self.refused] * len(allowed))
            self.pings.append(bytes([SUBACK << 4]) + remaining_length(len(body)) + body)
            return PINGREQ_PACKET
        self.pending[int.from_bytes(pid, "big")] = allowed
        body = pid + props + b"".join(e for e, ok in zip(entries, allowed, strict=True) if ok)
        return bytes([raw[0]]) + remaining_length(len(body)) + body

    def restore(self, raw: bytes, offset: int) -> bytes:
        """A SUBACK from the broker with the refused filters' codes put back in place."""
        pid = int.from_bytes(raw[offset : offset + 2], "big")
        allowed = self.pending.pop(pid, None)
        if allowed is None:
            return raw
        pos = offset + 2
        if self.level == 5:
            pos = _varint_end(raw, pos)[0]
        head, codes = raw[offset:pos], iter(raw[pos:])
        merged = bytes(next(codes, self.refused) if ok else self.refused for ok in allowed)
        body = head + merged
        return bytes([raw[0]]) + remaining_length(len(body)) + body


def _varint_end(raw: bytes, pos: int) -> tuple[int, int]:
    """(end of a properties block that starts with its varint length at pos, start of its content)."""
    length, start = read_varint(raw, pos)
    return start + length, start
