"""Values <-> registers: every datatype and word order, scale, saturation."""

from __future__ import annotations

import itertools
import math

import pytest

from smartzone.endpoints.modbus.codec import decode, encode

ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")


@pytest.mark.parametrize("order", ORDERS)
def test_32_bit_word_orders_place_the_bytes_as_named(order: str) -> None:
    regs = encode(0x11223344, "uint32", 1, order)
    raw = b"".join(r.to_bytes(2, "big") for r in regs)
    letters = dict(zip("ABCD", b"\x11\x22\x33\x44", strict=True))
    assert raw == bytes(letters[c] for c in order)


@pytest.mark.parametrize(("datatype", "order"), itertools.product(["int16", "uint16", "int32", "uint32"], ORDERS))
def test_integers_round_trip_with_scale(datatype: str, order: str) -> None:
    signed = datatype.startswith("int")
    for value in (0, 1, 12.3, 655.35) + ((-12.3, -300.0) if signed else ()):
        got = decode(encode(value, datatype, 100, order), datatype, 100, order)
        if abs(value * 100) < (2**15 if datatype == "int16" else 2**16 if datatype == "uint16" else 2**31):
            assert got == pytest.approx(value, abs=0.005)


@pytest.mark.parametrize("order", ORDERS)
def test_float32_round_trips(order: str) -> None:
    for value in (0.0, 2.345, -1e6, 3.4e38):
        assert decode(encode(value, "float32", 1, order), "float32", 1, order) == pytest.approx(value, rel=1e-6)


def test_out_of_range_values_saturate_instead_of_wrapping() -> None:
    assert encode(70000, "uint16") == [0xFFFF]
    assert encode(-5, "uint16") == [0]
    assert encode(40000, "int16") == [0x7FFF]
    assert encode(-40000, "int16") == [0x8000]
    assert encode(5e9, "uint32") == [0xFFFF, 0xFFFF]
    assert encode(math.inf, "int32") == [0x7FFF, 0xFFFF]
    assert encode(math.nan, "uint16") == [0]


def test_16_bit_byte_swapped_orders() -> None:
    assert encode(0x1234, "uint16", 1, "BADC") == [0x3412]
    assert encode(0x1234, "uint16", 1, "DCBA") == [0x3412]
    assert encode(0x1234, "uint16", 1, "CDAB") == [0x1234]
