"""How a device appears on the wire (API.md): its MQTT topics and its Modbus register map.

Pure functions (no Qt), computed from the scenario and the device type so the inspector
shows exactly what the endpoints serve.
"""

from __future__ import annotations

from dataclasses import dataclass

from smartzone.core.device import DeviceInfo
from smartzone.definitions.device_type import DeviceType
from smartzone.definitions.modbus_layout import TABLES, build_layout
from smartzone.endpoints.mqtt.topics import Topics

COMMON_BLOCK = [
    (0, 1, "type code", "uint16"),
    (1, 1, "map version", "uint16"),
    (2, 1, "status bits (0 online, 1 fault, 2 battery low)", "uint16"),
    (3, 2, "seq", "uint32"),
    (5, 2, "simulated epoch seconds", "uint32"),
]


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
    count: int
    name: str
    datatype: str
    scale: float
    writes: str = ""  # the command a write runs, e.g. "dim(level)"

    @property
    def writable(self) -> bool:
        return bool(self.writes)

    @property
    def address_text(self) -> str:
        return str(self.address) if self.count == 1 else f"{self.address}-{self.address + self.count - 1}"


def topic_root(city: str, info: DeviceInfo) -> str:
    return Topics(city).device_base(info.tenant, info.type, info.id)


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


def modbus_registers(dtype: DeviceType) -> list[Register]:
    """Every register of the type, from the same layout the Modbus endpoint serves."""
    layout, _problems = build_layout(dtype)
    out = [Register("input", a, n, name, dt, 1.0) for a, n, name, dt in COMMON_BLOCK]
    for table in TABLES:
        for f in layout.tables.get(table, ()):
            name = f.name if f.source == "signal" else f"state.{f.name}"
            writes = f"{f.command}({f.param})" if f.command else ""
            out.append(Register(table, f.address, f.count, name, f.datatype, f.scale, writes))
    return out
