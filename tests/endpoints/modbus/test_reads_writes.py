"""Real gateways, real pymodbus client: reads show live values, writes drive actuators."""

from __future__ import annotations

import struct

import pytest

from smartzone.core.commands import SetOnline
from smartzone.core.faults.commands import ClearFault, InjectFault
from smartzone.definitions.modbus_layout import build_layout
from smartzone.endpoints.modbus.codec import decode
from smartzone.endpoints.modbus.unitmap import TypeMap
from smartzone.runtime.live import LiveDevice

ILLEGAL_FUNCTION, ILLEGAL_ADDRESS, ILLEGAL_VALUE, GATEWAY_NO_RESPONSE = 0x01, 0x02, 0x03, 0x0B


def _regs(value: int) -> list[int]:
    return [value >> 16, value & 0xFFFF]


def test_rig_values_have_the_declared_datatype_scale_and_word_order(city, client_factory) -> None:
    port, unit = city.where("rig-0001")
    c = client_factory(port)
    regs = c.read_input_registers(0, count=21, device_id=unit).registers
    live = city.rt.live.get("rig-0001")
    assert regs[0] == 900 and regs[1] == 3  # type code, map version
    assert regs[2] & 1 == 1  # online
    assert (regs[3] << 16) | regs[4] == live.seq >= 1  # seq, uint32 ABCD
    epoch = int(city.rt.scenario.start.timestamp() + city.rt.sim_time)
    assert (regs[5] << 16) | regs[6] == epoch
    assert regs[7:10] == [0, 0, 0]
    assert regs[10] == 0x85FF  # -12.3 * 10 = -123 = 0xFF85, bytes swapped (BADC)
    assert regs[11:13] == [0xCD15, 0x075B]  # 123456789 = 0x075BCD15, words swapped (CDAB)
    assert regs[13:15] == [0x6079, 0xFEFF]  # -100000 = 0xFFFE7960, all bytes reversed (DCBA)
    assert regs[15:17] == [0x3F50, 0x0000]  # 0.8125 float32 big-endian (ABCD)
    hi, lo = struct.unpack(">HH", struct.pack(">f", 2.345))
    assert regs[17:19] == [lo, hi]  # float32 CDAB
    assert regs[19] == 1  # enum 'busy' is index 1
    assert regs[20] == 2150  # setpoint_echo 21.5 * 100
    assert c.read_input_registers(40, count=1, device_id=unit).registers == [1]  # explicit address: 'eco'
    assert c.read_discrete_inputs(0, count=1, device_id=unit).bits[0] is True  # busy
    assert c.read_discrete_inputs(3, count=1, device_id=unit).bits[0] is False  # mode is not comfort
    assert c.read_holding_registers(0, count=3, device_id=unit).registers == [2150, 0, 1]  # CDAB, eco
    assert c.read_coils(0, count=1, device_id=unit).bits[0] is True


def test_every_unit_reads_its_live_values(city, client_factory) -> None:
    rt = city.rt
    for g in city.gateways.gateways:
        c = client_factory(g.port)
        for unit, info in g.plan.units.items():
            layout = build_layout(rt.catalog.types[info.type])[0]
            common = c.read_input_registers(0, count=10, device_id=unit).registers
            live = rt.live.get(info.id)
            assert common[0] == layout.type_code
            assert decode(common[3:5], "uint32") == live.seq
            for f in layout.tables["input"]:
                expected = live.values[f.name]
                if f.enum is not None:
                    expected = f.enum.index(expected)
                regs = c.read_input_registers(f.address, count=f.count, device_id=unit).registers
                got = decode(regs, f.datatype, f.scale, f.word_order)
                assert got == pytest.approx(float(expected), abs=0.5 / f.scale + 1e-9), (info.id, f.name)


def test_holding_write_dims_a_street_light_like_an_mqtt_command(city, client_factory, results) -> None:
    port, unit = city.where("light-0002")
    c = client_factory(port)
    response = c.write_register(0, 40, device_id=unit)
    assert not response.isError() and response.registers == [40]  # the echo
    city.settle("light-0002", results)
    assert [(r.device, r.action, r.source, r.ok) for r in results] == [("light-0002", "dim", "modbus", True)]
    assert city.rt.snapshot()["light-0002"].state == {"mode": "manual", "on": True, "level": 40}
    assert c.read_holding_registers(0, count=1, device_id=unit).registers == [40]
    assert c.read_input_registers(10, count=1, device_id=unit).registers == [40]  # level reported at once
    assert c.read_coils(0, count=1, device_id=unit).bits[0] is True
    echo = c.write_coil(0, False, device_id=unit)
    assert not echo.isError() and echo.bits[0] is False
    city.settle("light-0002", results, count=2)
    assert city.rt.snapshot()["light-0002"].state["on"] is False
    assert c.read_coils(0, count=1, device_id=unit).bits[0] is False


def test_out_of_range_write_is_0x03_and_changes_nothing(city, client_factory) -> None:
    port, unit = city.where("light-0001")
    c = client_factory(port)
    before = city.rt.snapshot()["light-0001"].state
    response = c.write_register(0, 101, device_id=unit)
    assert response.isError() and response.exception_code == ILLEGAL_VALUE
    assert city.rt.snapshot()["light-0001"].state == before


def test_multi_register_writes_are_all_or_nothing(city, client_factory, results) -> None:
    port, unit = city.where("rig-0002")
    c = client_factory(port)
    before = city.rt.snapshot()["rig-0002"].state
    minus_12_5 = -1250 & 0xFFFFFFFF
    cdab = [minus_12_5 & 0xFFFF, minus_12_5 >> 16]
    bad = c.write_registers(0, [*cdab, 7], device_id=unit)  # setpoint fine, mode index 7 does not exist
    assert bad.isError() and bad.exception_code == ILLEGAL_VALUE
    half = c.write_register(1, 5, device_id=unit)  # half of a 32-bit setpoint
    assert half.isError() and half.exception_code == ILLEGAL_ADDRESS
    hot = c.write_registers(0, _regs(6000)[::-1], device_id=unit)  # 60.00 degC > max 50
    assert hot.isError() and hot.exception_code == ILLEGAL_VALUE
    city.rt.step(60).result(30)
    assert results == [] and city.rt.snapshot()["rig-0002"].state == before
    ok = c.write_registers(0, [*cdab, 2], device_id=unit)
    assert not ok.isError()
    city.settle("rig-0002", results, count=2)
    # two commands, each crossing the simulated downlink (their order of arrival may vary)
    assert sorted((r.action, r.source, r.ok) for r in results) == [
        ("set_mode", "modbus", True),
        ("set_setpoint", "modbus", True),
    ]
    state = city.rt.snapshot()["rig-0002"].state
    assert state["setpoint"] == -12.5 and state["mode"] == "comfort"
    assert c.read_holding_registers(0, count=3, device_id=unit).registers == [*cdab, 2]
    assert c.read_discrete_inputs(3, count=1, device_id=unit).bits[0] is True  # mode_echo == comfort
    both = c.readwrite_registers(read_address=0, read_count=3, write_address=2, values=[0], device_id=unit)
    assert not both.isError() and both.registers == [*cdab, 0]
    city.settle("rig-0002", results, count=3)
    assert city.rt.snapshot()["rig-0002"].state["mode"] == "off"


def test_unmapped_addresses_are_0x02(city, client_factory) -> None:
    port, unit = city.where("rig-0001")
    c = client_factory(port)
    for response in (
        c.read_holding_registers(3, count=1, device_id=unit),
        c.read_input_registers(21, count=1, device_id=unit),
        c.read_input_registers(0, count=41, device_id=unit),  # spans the gap 21-39
        c.read_input_registers(41, count=1, device_id=unit),
        c.read_coils(1, count=1, device_id=unit),
        c.read_discrete_inputs(1, count=1, device_id=unit),
        c.read_discrete_inputs(0, count=4, device_id=unit),
        c.write_register(3, 1, device_id=unit),
        c.write_coil(1, True, device_id=unit),
    ):
        assert response.isError() and response.exception_code == ILLEGAL_ADDRESS, response
    port, unit = city.where("spot-0001")
    sensor = client_factory(port)
    refused = sensor.write_register(0, 1, device_id=unit)  # a sensor has no holding registers
    assert refused.isError() and refused.exception_code == ILLEGAL_ADDRESS


def test_unknown_units_and_offline_devices_are_0x0b(city, client_factory) -> None:
    port, unit = city.where("light-0003")
    c = client_factory(port)
    missing = c.read_input_registers(0, count=1, device_id=200)
    assert missing.isError() and missing.exception_code == GATEWAY_NO_RESPONSE
    city.rt.submit(SetOnline("light-0003", False)).result(10)
    before = city.rt.snapshot()["light-0003"].state
    for response in (c.read_input_registers(0, count=1, device_id=unit), c.write_register(0, 10, device_id=unit)):
        assert response.isError() and response.exception_code == GATEWAY_NO_RESPONSE
    assert city.rt.snapshot()["light-0003"].state == before
    city.rt.submit(SetOnline("light-0003", True)).result(10)
    assert c.read_input_registers(2, count=1, device_id=unit).registers == [1]  # online again


def test_unsupported_function_is_0x01(city, client_factory) -> None:
    port, unit = city.where("rig-0001")
    c = client_factory(port)
    response = c.mask_write_register(address=0, and_mask=0xFFFF, or_mask=0, device_id=unit)
    assert response.isError() and response.exception_code == ILLEGAL_FUNCTION


def test_status_bits_show_faults_and_low_battery(city, client_factory) -> None:
    port, unit = city.where("rig-0001")
    c = client_factory(port)
    assert c.read_input_registers(2, count=1, device_id=unit).registers == [0b001]
    city.rt.submit(InjectFault("rig-0001", "noise", signal="ratio", magnitude=0.1)).result(10)
    assert c.read_input_registers(2, count=1, device_id=unit).registers == [0b011]  # online + fault
    city.rt.submit(ClearFault("rig-0001", "noise")).result(10)
    assert c.read_input_registers(2, count=1, device_id=unit).registers == [0b001]


def test_battery_low_bit_and_common_block_words(catalog) -> None:
    typemap = TypeMap(catalog.types["parking-spot"])
    low = typemap.common_block(LiveDevice(values={"battery": 19.9}, seq=70000), epoch=1795392000.7)
    assert low == [1, 1, 0b101, 1, 70000 - 65536, 1795392000 >> 16, 1795392000 & 0xFFFF, 0, 0, 0]
    fine = typemap.common_block(LiveDevice(values={"battery": 20.0}, online=False, faults=frozenset({"x"})), 0)
    assert fine[2] == 0b010  # offline, a fault, battery fine
