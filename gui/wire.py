"""How a device appears on the wire (API.md): its MQTT topics and its Modbus register map.

Pure functions (no Qt), computed from the scenario and the device type so the inspector
shows exactly what the endpoints serve.
"""

from __future__ import annotations

from dataclasses import dataclass

from smartzone.core.device import DeviceInfo
from smartzone.definitions.device_type import DeviceType, RegisterMap

WORDS = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}
COMMON_BLOCK = [
    (0, "type code", "uint16"), (1, "map version", "uint16"),
    (2, "status bits (0 online, 1 fault, 2 battery low)", "uint16"),
    (3, "seq", "uint32"), (5, "simulated epoch seconds", "uint32"),
]
TELEMETRY_START = 10


@dataclass(frozen=True)
class Topic:
    channel: str
    topic: str
    direction: str
    retained: bool


@dataclass(frozen=True)
class Register:
    table: str
    address: int
    name: str
    datatype: str
    scale: float
    writable: bool

    @property
    def address_text(self) -> str:
        words = WORDS.get(self.datatype, 1) if self.table in ("input", "holding") else 1
        return str(self.address) if words == 1 else f"{self.address}-{self.address + words - 1}"


def topic_root(city: str, info: DeviceInfo) -> str:
    return f"sz/v2/{city}/{info.tenant}/{info.type}/{info.id}"


def mqtt_topics(city: str, info: DeviceInfo, dtype: DeviceType) -> list[Topic]:
    root = topic_root(city, info)
    out = [
        Topic("telemetry", f"{root}/telemetry", "device → apps", False),
        Topic("meta", f"{root}/meta", "device → apps", True),
        Topic("status", f"{root}/status", "device → apps", True),
    ]
    if dtype.kind == "actuator" or dtype.state:
        out.append(Topic("state", f"{root}/state", "device → apps", True))
    if dtype.commands:
        out.append(Topic("cmd", f"{root}/cmd", "app → device", False))
        out.append(Topic("cmd/ack", f"{root}/cmd/ack", "device → app", False))
    return out


def _name(entry: RegisterMap) -> str:
    return entry.signal if entry.signal is not None else f"state.{entry.state}"


def modbus_registers(dtype: DeviceType) -> list[Register]:
    """Every register of the type: the common block, then each table in declaration order."""
    out = [Register("input", a, n, dt, 1.0, False) for a, n, dt in COMMON_BLOCK]
    tables = [("input", dtype.modbus.input, TELEMETRY_START, False), ("holding", dtype.modbus.holding, 0, True),
              ("coil", dtype.modbus.coils, 0, True), ("discrete", dtype.modbus.discrete, 0, False)]
    for table, entries, start, writable in tables:
        next_addr = start
        for e in entries:
            addr = e.address if e.address is not None else next_addr
            width = WORDS.get(e.datatype, 1) if table in ("input", "holding") else 1
            next_addr = addr + width
            dt = e.datatype if table in ("input", "holding") else "bit"
            out.append(Register(table, addr, _name(e), dt, e.scale, writable))
    return out


def mosquitto_sub_line(host: str, port: int, topic: str, user: str | None = None, password: str | None = None) -> str:
    auth = f" -u {user} -P {password}" if user else ""
    return f"mosquitto_sub -h {host} -p {port}{auth} -t '{topic}' -v"
