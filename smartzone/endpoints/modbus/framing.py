"""Modbus TCP framing and request structure, as the Modbus specifications say (no pymodbus here).

MBAP header (Modbus Messaging on TCP/IP Implementation Guide V1.0b): transaction id,
protocol id (0 = Modbus), length (unit id + PDU: 2..254 bytes), unit id. A header with a
protocol id other than 0 or a length outside 2..254 cannot be resynchronised (the next
frame's start is unknown): the caller answers the frames before it and closes the
connection, as soon as the 6 header bytes are in, without waiting for a body that may
never come.

`request_error` checks a request PDU's structure before it is decoded (Modbus Application
Protocol V1.1b3, section 6): a data length or byte count that does not match the quantity,
or a quantity out of range, is exception 0x03; an unsupported function is 0x01.
"""

from __future__ import annotations

from dataclasses import dataclass

HEADER = 6  # transaction id, protocol id, length; the unit id counts in the length
MIN_LENGTH, MAX_LENGTH = 2, 254  # unit id + function code .. unit id + 253-byte PDU

ILLEGAL_FUNCTION, ILLEGAL_ADDRESS, ILLEGAL_VALUE, DEVICE_FAILURE = 0x01, 0x02, 0x03, 0x04
WRITES = frozenset({5, 6, 15, 16, 23})

# fc -> highest quantity a request may carry (spec section 6)
_MAX_READ = {1: 2000, 2: 2000, 3: 125, 4: 125}


@dataclass(frozen=True, slots=True)
class Frame:
    """One request: its transaction id, unit id and PDU (function code + data)."""

    tid: int
    unit: int
    pdu: bytes


def split_frames(buf: bytes | bytearray) -> tuple[list[Frame], int, str | None]:
    """The complete frames at the start of `buf`, the bytes they use, and why the rest is not Modbus.

    The third item is None, or the reason (see the module docstring) why the stream cannot go
    on after those frames: the caller answers them, then closes the connection.
    """
    frames: list[Frame] = []
    used, size = 0, len(buf)
    while size - used >= HEADER:
        pid = (buf[used + 2] << 8) | buf[used + 3]
        length = (buf[used + 4] << 8) | buf[used + 5]
        if pid != 0:
            return frames, used, f"protocol id {pid} is not Modbus (0)"
        if not MIN_LENGTH <= length <= MAX_LENGTH:
            return frames, used, f"MBAP length {length} is outside {MIN_LENGTH}..{MAX_LENGTH}"
        end = used + HEADER + length
        if end > size:
            break
        tid = (buf[used] << 8) | buf[used + 1]
        frames.append(Frame(tid, buf[used + HEADER], bytes(buf[used + HEADER + 1 : end])))
        used = end
    return frames, used, None


def _word(pdu: bytes, at: int) -> int:
    return (pdu[at] << 8) | pdu[at + 1]


def request_error(pdu: bytes) -> int | None:
    """The exception code a request PDU's structure calls for, or None when it is well formed."""
    fc = pdu[0]
    n = len(pdu)
    if fc in _MAX_READ:
        if n != 5 or not 1 <= _word(pdu, 3) <= _MAX_READ[fc]:
            return ILLEGAL_VALUE
        return None
    if fc == 5:
        return None if n == 5 and _word(pdu, 3) in (0x0000, 0xFF00) else ILLEGAL_VALUE
    if fc == 6:
        return None if n == 5 else ILLEGAL_VALUE
    if fc == 15:
        if n < 6:
            return ILLEGAL_VALUE
        qty, count = _word(pdu, 3), pdu[5]
        ok = 1 <= qty <= 0x7B0 and count == (qty + 7) // 8 and n == 6 + count
        return None if ok else ILLEGAL_VALUE
    if fc == 16:
        if n < 6:
            return ILLEGAL_VALUE
        qty, count = _word(pdu, 3), pdu[5]
        ok = 1 <= qty <= 0x7B and count == 2 * qty and n == 6 + count
        return None if ok else ILLEGAL_VALUE
    if fc == 23:
        if n < 10:
            return ILLEGAL_VALUE
        read_qty, write_qty, count = _word(pdu, 3), _word(pdu, 7), pdu[9]
        ok = 1 <= read_qty <= 0x7D and 1 <= write_qty <= 0x79 and count == 2 * write_qty and n == 10 + count
        return None if ok else ILLEGAL_VALUE
    return ILLEGAL_FUNCTION
