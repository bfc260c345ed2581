"""The `word_swap` fault effect on a real gateway: a unit serves (and reads written) 32-bit values with
their two words swapped while the fault is active; 16-bit values, the common block, other units and
the device's own values are untouched, and the words are back in order once the fault is cleared."""

from __future__ import annotations

import struct

import pytest

from smartzone.core.faults.commands import ClearFault, InjectFault
from smartzone.endpoints.modbus.codec import decode, encode, swapped

ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")


@pytest.mark.parametrize("order", ORDERS)
def test_a_swapped_float32_is_nonsense_in_its_order_and_the_value_in_the_other(order: str) -> None:
    served = encode(231.456, "float32", 1, swapped(order))
    assert served == encode(231.456, "float32", 1, order)[::-1]
    nonsense = decode(served, "float32", 1, order)
    assert not 1 < abs(nonsense) < 1e6, f"the documented order gives nonsense: {nonsense}"
    assert decode(served, "float32", 1, swapped(order)) == pytest.approx(231.456, rel=1e-6)
    assert swapped(swapped(order)) == order
    assert encode(-123, "int16", 1, swapped(order)) == encode(-123, "int16", 1, order), "one word: nothing to swap"


def _pairs(regs: list[int]) -> list[int]:
    """Registers 10-18 of the rig (int16, then uint32, int32, float32, float32) with each 32-bit pair swapped."""
    out = regs[:1]
    for i in range(1, 9, 2):
        out += [regs[i + 1], regs[i]]
    return out


def test_word_swap_swaps_the_32_bit_registers_of_that_unit_only(city, client_factory) -> None:
    port, unit = city.where("rig-0001")
    other_port, other_unit = city.where("rig-0002")
    c = client_factory(port)
    before = c.read_input_registers(0, count=19, device_id=unit).registers
    other_before = client_factory(other_port).read_input_registers(10, count=9, device_id=other_unit).registers
    values = dict(city.rt.live.get("rig-0001").values)

    city.rt.submit(InjectFault("rig-0001", "word_swap")).result(10)
    during = c.read_input_registers(0, count=19, device_id=unit).registers
    assert during[10:19] == _pairs(before[10:19]) != before[10:19]
    assert during[:2] == before[:2] and during[3:10] == before[3:10], "the common block keeps its order"
    assert during[2] & 0b10, "the status register shows a fault"
    hi, lo = struct.unpack(">HH", struct.pack(">f", 2.345))
    assert during[17:19] == [hi, lo], "pressure, declared CDAB, now comes ABCD"
    assert decode(during[17:19], "float32", 1, "CDAB") != pytest.approx(2.345, rel=0.1)
    assert client_factory(other_port).read_input_registers(10, count=9, device_id=other_unit).registers == other_before
    assert city.rt.live.get("rig-0001").values == values, "the device's values (its MQTT payloads) are unchanged"

    city.rt.submit(ClearFault("rig-0001", "word_swap")).result(10)
    assert c.read_input_registers(10, count=9, device_id=unit).registers == before[10:19]


def test_a_unit_with_swapped_words_reads_a_write_in_its_swapped_order(city, client_factory, results) -> None:
    port, unit = city.where("rig-0002")
    c = client_factory(port)
    city.rt.submit(InjectFault("rig-0002", "word_swap")).result(10)
    as_documented = encode(22.5, "int32", 100, "CDAB")  # the setpoint's declared order
    assert not c.write_registers(0, encode(22.5, "int32", 100, "ABCD"), device_id=unit).isError()
    city.settle("rig-0002", results)
    assert city.rt.snapshot()["rig-0002"].state["setpoint"] == pytest.approx(22.5)
    wrong = c.write_registers(0, as_documented, device_id=unit)  # 22.5 in CDAB read as ABCD: far past max 50
    assert wrong.isError()
    city.rt.submit(ClearFault("rig-0002", "word_swap")).result(10)
    assert c.read_holding_registers(0, count=2, device_id=unit).registers == as_documented
