"""Values <-> Modbus registers: datatype, scale and word order (pure functions).

A value goes on the wire as `round(value * scale)` (float32 keeps the fraction), big-endian
bytes A B C D (A most significant), arranged in registers by the word order:

    ABCD -> [AB, CD]   CDAB -> [CD, AB]   BADC -> [BA, DC]   DCBA -> [DC, BA]

For 16-bit datatypes the orders with swapped bytes (BADC, DCBA) give [BA]. Values outside
the datatype's range saturate (a reading never wraps around); NaN reads as 0.

`swapped(order)` is the order with the two 16-bit words exchanged (ABCD <-> CDAB, BADC <-> DCBA):
what a unit with the `word_swap` fault effect serves instead of its declared order.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

RANGES = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}
_FORMAT = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f"}
_FLOAT32_MAX = 3.4028234663852886e38


_SWAPPED = {"ABCD": "CDAB", "CDAB": "ABCD", "BADC": "DCBA", "DCBA": "BADC"}


def swapped(word_order: str) -> str:
    """`word_order` with its two words exchanged (a 16-bit value, one word, is unchanged by it)."""
    return _SWAPPED[word_order]


def _arrange(raw: bytes, word_order: str) -> list[int]:
    if word_order in ("BADC", "DCBA"):
        raw = b"".join(raw[i + 1 : i + 2] + raw[i : i + 1] for i in range(0, len(raw), 2))
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    if word_order in ("CDAB", "DCBA"):
        words.reverse()
    return words


def _gather(registers: Sequence[int], word_order: str) -> bytes:
    words = list(registers)
    if word_order in ("CDAB", "DCBA"):
        words.reverse()
    raw = b"".join(int(w).to_bytes(2, "big") for w in words)
    if word_order in ("BADC", "DCBA"):
        raw = b"".join(raw[i + 1 : i + 2] + raw[i : i + 1] for i in range(0, len(raw), 2))
    return raw


def raw_value(value: float, datatype: str, scale: float) -> float | int:
    """The number sent for `value`: scaled, rounded for integer types, saturated."""
    scaled = float(value) * scale
    if math.isnan(scaled):
        return 0
    if datatype == "float32":
        return max(-_FLOAT32_MAX, min(_FLOAT32_MAX, scaled))
    low, high = RANGES[datatype]
    if math.isinf(scaled):
        return high if scaled > 0 else low
    return max(low, min(high, round(scaled)))


def encode(value: float, datatype: str, scale: float = 1.0, word_order: str = "ABCD") -> list[int]:
    """Registers for `value` (1 for 16-bit datatypes, 2 for 32-bit ones)."""
    return _arrange(struct.pack(_FORMAT[datatype], raw_value(value, datatype, scale)), word_order)


def decode_raw(registers: Sequence[int], datatype: str, word_order: str = "ABCD") -> float | int:
    """The number the registers carry, before scaling."""
    (raw,) = struct.unpack(_FORMAT[datatype], _gather(registers, word_order))
    return raw  # type: ignore[no-any-return]


def decode(registers: Sequence[int], datatype: str, scale: float = 1.0, word_order: str = "ABCD") -> float:
    """The value the registers carry (scale undone)."""
    return float(decode_raw(registers, datatype, word_order)) / scale
