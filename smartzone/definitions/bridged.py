"""Schema of a scenario's `bridged_devices`: real devices that join the simulated city.

A bridged device is a device of a catalog type (its signals, commands and meta) whose data come
from a real device instead of behaviour models: an MQTT device publishing its own vendor JSON
(into SmartZone's broker on the owner-only ingest topic, or on the owner's own broker), or a
Modbus TCP device polled at a declared rate. `mapping` turns the vendor data into the type's
signals (JMESPath field paths, scale, offset, value maps) and the contract's commands back into
vendor commands. docs/owners.md walks through an example.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from smartzone.definitions.base import Duration, Id, Name, Strict
from smartzone.definitions.device_type import WireDatatype, WordOrder

INGEST = "ingest"
RegisterTable = Literal["input", "holding", "coils", "discrete"]


def _compiles(value: str) -> str:
    try:
        jmespath.compile(value)
    except JMESPathError as exc:
        why = getattr(exc, "msg", None) or str(exc).splitlines()[0]
        raise ValueError(f"{value!r} is not a JMESPath expression ({why})") from None
    return value


class FieldMap(Strict):
    """Where one signal or state variable is in the vendor data, and how its value converts.

    value = map[raw] if `map` is given, else raw * scale + offset."""

    path: str = Field(min_length=1, description="JMESPath expression into the vendor JSON (Modbus: the register name)")
    scale: float = 1.0
    offset: float = 0.0
    unit: str | None = Field(None, description="the vendor's unit (documentation: scale/offset convert it)")
    map: dict[str, Any] | None = Field(None, description="vendor value (as text) -> contract value")

    _path = field_validator("path")(_compiles)


class MqttCommand(Strict):
    """A contract command as a vendor MQTT message: each payload field is a JMESPath expression
    over {id, action, params}; a fixed text is a quoted literal ('on')."""

    payload: dict[str, str] = Field(min_length=1)

    @field_validator("payload")
    @classmethod
    def _exprs(cls, value: dict[str, str]) -> dict[str, str]:
        for expr in value.values():
            _compiles(expr)
        return value


class ModbusWrite(Strict):
    """A contract command as one Modbus write: `register` names a holding register or coil,
    `value` is a JMESPath expression over {id, action, params}."""

    register_name: Name = Field(alias="register")  # `register` would shadow BaseModel.register
    value: str = Field(min_length=1)

    _value = field_validator("value")(_compiles)


class AckMap(Strict):
    """How the vendor's answer to a command reads (JMESPath over the answer JSON)."""

    id: str = Field(description="the command id the answer is about")
    ok: str = Field(description="true when the device did it")
    message: str | None = Field(None, description="the device's reason when it did not")

    @model_validator(mode="after")
    def _exprs(self) -> AckMap:
        for expr in (self.id, self.ok, self.message):
            if expr is not None:
                _compiles(expr)
        return self


def _command_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "mqtt" if "payload" in value else "modbus"
    return "mqtt" if isinstance(value, MqttCommand) else "modbus"


Command = Annotated[
    Annotated[MqttCommand, Tag("mqtt")] | Annotated[ModbusWrite, Tag("modbus")], Discriminator(_command_kind)
]


class Mapping(Strict):
    """Vendor data -> contract signals and state; contract commands -> vendor commands."""

    signals: dict[Name, FieldMap] = Field(min_length=1)
    state: dict[Name, FieldMap] = Field(default_factory=dict, description="actuator state the device reports")
    commands: dict[Name, Command] = Field(
        default_factory=dict, description="MQTT: {payload: {...}}; Modbus: {register, value}"
    )
    ack: AckMap | None = Field(None, description="MQTT: how the device answers a command")


class MqttSource(Strict):
    """An MQTT device: `broker: ingest` (SmartZone's broker, the owner-only ingest topic) or the
    owner's own broker `mqtt://host:port` with its topics and credentials."""

    broker: str = Field(INGEST, pattern=r"^(ingest|mqtt://[^/:]+:[0-9]{1,5})$")
    username: str | None = None
    password: str | None = None
    topic: str | None = Field(None, description="own broker: where the device publishes its data")
    command_topic: str | None = Field(None, description="own broker: where it takes commands")
    ack_topic: str | None = Field(None, description="own broker: where it answers them")
    ack_timeout: Duration = Field(5.0, gt=0, le=300, description="wall-clock wait for an answer")

    @model_validator(mode="after")
    def _own_broker(self) -> MqttSource:
        if self.broker == INGEST:
            given = [k for k in ("username", "password", "topic", "command_topic", "ack_topic") if getattr(self, k)]
            if given:
                raise ValueError(f"'{given[0]}' is for an own broker; the ingest topics are fixed (docs/owners.md)")
        elif not self.topic:
            raise ValueError("an own broker needs 'topic' (where the device publishes)")
        return self


class Register(Strict):
    """One register (or bit) of the real device, named for the mapping."""

    name: Name
    table: RegisterTable = "holding"
    address: int = Field(ge=0, le=65535)
    datatype: WireDatatype = "uint16"
    scale: float = Field(1.0, gt=0, description="register = value x scale (as in a device type's map)")
    word_order: WordOrder = "ABCD"


class ModbusSource(Strict):
    """A Modbus TCP device polled every `poll` (wall-clock) seconds."""

    host: str = Field(min_length=1)
    port: int = Field(502, ge=1, le=65535)
    unit: int = Field(1, ge=0, le=247)
    poll: Duration = Field(10.0, ge=0.1, le=86400)
    timeout: Duration = Field(2.0, gt=0, le=60, description="wall-clock wait for an answer")
    registers: list[Register] = Field(min_length=1)


class BridgedDevice(Strict):
    """A real device of an owner's tenant, seen by apps as a device of `type`."""

    id: Id
    type: Id
    tenant: Id
    district: Id | None = Field(None, description="default: the first district")
    network: Id | None = Field(None, description="network profile its data cross (default: the type's)")
    vendor: str = "real device"
    model: str = ""
    mqtt: MqttSource | None = None
    modbus: ModbusSource | None = None
    mapping: Mapping

    @model_validator(mode="after")
    def _one_source(self) -> BridgedDevice:
        if (self.mqtt is None) == (self.modbus is None):
            raise ValueError("give exactly one of 'mqtt' or 'modbus'")
        return self
