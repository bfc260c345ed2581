"""Cross-reference checks of a scenario's `bridged_devices` (each problem names file, line, field).

What one entry names must exist: its type, tenant, district and network profile; the signals,
state variables and commands its mapping maps; the registers its Modbus writes name. Ids may not
clash with simulated devices; registers may not overlap; an ingest device needs an owner of its
tenant (only the owner may publish on the ingest topic); MQTT commands need an `ack` mapping.
"""

from __future__ import annotations

from smartzone.definitions.bridged import INGEST, BridgedDevice, ModbusWrite, MqttCommand
from smartzone.definitions.device_type import DeviceType
from smartzone.definitions.errors import Problem
from smartzone.definitions.loader import problem_at
from smartzone.definitions.modbus_layout import WIDTH
from smartzone.definitions.network_checks import profile_names
from smartzone.definitions.scenario import Scenario
from smartzone.definitions.yaml_source import SourceDoc

Path = tuple[str | int, ...]


def _known(what: str, name: str, known: object) -> str:
    return f"unknown {what} '{name}'; known: {', '.join(sorted(known)) or 'none'}"  # type: ignore[call-overload]


def check_bridged(sc: Scenario, doc: SourceDoc, types: dict[str, DeviceType]) -> list[Problem]:
    """The problems of every bridged device of `sc` (empty when they are all sound)."""
    out: list[Problem] = []
    simulated = {f"{f.id_prefix}-{n:04d}" for f in sc.fleets for n in range(1, f.count + 1)}
    seen: dict[str, int] = {}
    for i, dev in enumerate(sc.bridged_devices):
        at: Path = ("bridged_devices", i)
        if dev.id in simulated:
            out.append(problem_at(doc, (*at, "id"), f"'{dev.id}' is already a simulated device's id"))
        if dev.id in seen:
            out.append(problem_at(doc, (*at, "id"), f"duplicate id '{dev.id}' (also bridged_devices[{seen[dev.id]}])"))
        seen[dev.id] = i
        out += _check_refs(sc, doc, at, dev)
        dtype = types.get(dev.type)
        if dtype is None:
            out.append(problem_at(doc, (*at, "type"), _known("device type", dev.type, types)))
            continue
        out += _check_mapping(doc, at, dev, dtype)
    return out


def _check_refs(sc: Scenario, doc: SourceDoc, at: Path, dev: BridgedDevice) -> list[Problem]:
    out = []
    tenants = {t.id for t in sc.tenants}
    if dev.tenant not in tenants:
        out.append(problem_at(doc, (*at, "tenant"), _known("tenant", dev.tenant, tenants)))
    districts = {d.id for d in sc.districts}
    if dev.district is not None and dev.district not in districts:
        out.append(problem_at(doc, (*at, "district"), _known("district", dev.district, districts)))
    networks = profile_names(sc)
    if dev.network is not None and dev.network not in networks:
        out.append(problem_at(doc, (*at, "network"), _known("network profile", dev.network, networks)))
    owners = [u for u in sc.users if u.role == "owner" and u.tenant == dev.tenant]
    if dev.mqtt is not None and dev.mqtt.broker == INGEST and not owners:
        message = f"the ingest topic is published by the owner of '{dev.tenant}': declare a user with role owner"
        out.append(problem_at(doc, (*at, "mqtt", "broker"), message))
    return out


def _check_mapping(doc: SourceDoc, at: Path, dev: BridgedDevice, dtype: DeviceType) -> list[Problem]:
    out = []
    m = (*at, "mapping")
    for name in dev.mapping.signals:
        if name not in dtype.signals:
            out.append(problem_at(doc, (*m, "signals", name), _known(f"signal of {dtype.type}", name, dtype.signals)))
    for name in dev.mapping.state:
        if name not in dtype.state:
            out.append(problem_at(doc, (*m, "state", name), _known(f"state of {dtype.type}", name, dtype.state)))
    registers = {r.name: r for r in dev.modbus.registers} if dev.modbus is not None else {}
    for name, cmd in dev.mapping.commands.items():
        where = (*m, "commands", name)
        if name not in dtype.commands:
            out.append(problem_at(doc, where, _known(f"command of {dtype.type}", name, dtype.commands)))
        if dev.mqtt is not None and not isinstance(cmd, MqttCommand):
            out.append(problem_at(doc, where, "an MQTT device takes 'payload', not a register write"))
        if dev.modbus is not None:
            if not isinstance(cmd, ModbusWrite):
                out.append(problem_at(doc, where, "a Modbus device takes 'register' and 'value', not 'payload'"))
            elif cmd.register_name not in registers:
                out.append(problem_at(doc, (*where, "register"), _known("register", cmd.register_name, registers)))
            elif (table := registers[cmd.register_name].table) not in ("holding", "coils"):
                message = f"'{cmd.register_name}' is in the {table} table: write a holding register or a coil"
                out.append(problem_at(doc, (*where, "register"), message))
    if dev.mqtt is not None and dev.mapping.commands and dev.mapping.ack is None:
        out.append(problem_at(doc, m, "MQTT commands need 'ack': how the device's answer reads"))
    if dev.modbus is not None:
        out += _check_registers(doc, at, dev)
    return out


def _check_registers(doc: SourceDoc, at: Path, dev: BridgedDevice) -> list[Problem]:
    out = []
    assert dev.modbus is not None
    names: dict[str, int] = {}
    taken: list[tuple[str, int, int, str]] = []  # table, start, end, name
    for j, reg in enumerate(dev.modbus.registers):
        where = (*at, "modbus", "registers", j)
        if reg.name in names:
            out.append(problem_at(doc, (*where, "name"), f"duplicate register name '{reg.name}'"))
        names[reg.name] = j
        end = reg.address + (1 if reg.table in ("coils", "discrete") else WIDTH[reg.datatype])
        if end > 65536:
            out.append(problem_at(doc, (*where, "address"), "the value does not fit below address 65536"))
        clash = next((t for t in taken if t[0] == reg.table and t[1] < end and reg.address < t[2]), None)
        if clash is not None:
            out.append(problem_at(doc, (*where, "address"), f"overlaps '{clash[3]}' at {reg.table} address {clash[1]}"))
        taken.append((reg.table, reg.address, end, reg.name))
    return out
