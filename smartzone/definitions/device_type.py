"""Schema of a device type file (devices/*.yaml): signals, state, commands, faults, wire mapping."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from smartzone.definitions.base import Duration, Id, Name, Strict
from smartzone.definitions.behaviour_params import BehaviourSpec

SignalDatatype = Literal["float", "int", "bool", "enum"]
WireDatatype = Literal["int16", "uint16", "int32", "uint32", "float32"]
WordOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]


class Signal(Strict):
    """One measured or derived quantity of a device."""

    unit: str = ""
    datatype: SignalDatatype = "float"
    min: float | None = None
    max: float | None = None
    values: list[str] | None = Field(None, description="allowed values of an enum signal")
    decimals: int = Field(2, ge=0, le=6, description="rounding on the wire")
    description: str = ""
    ngsi: str | None = Field(None, description="NGSI-LD attribute name (Smart Data Models)")
    unit_code: str | None = Field(None, description="UN/CEFACT unit code for NGSI-LD")
    circular: float | None = Field(
        None, gt=0, description="a circular quantity (wind direction: 360): values wrap into [0, circular)"
    )
    calibration: float = Field(
        0.0, ge=0, description="per-device calibration offset, standard deviation in the signal's unit"
    )
    model: BehaviourSpec

    @model_validator(mode="after")
    def _consistent(self) -> Signal:
        if self.datatype == "enum" and not self.values:
            raise ValueError("an enum signal needs 'values'")
        if (self.circular is not None or self.calibration) and self.datatype not in ("int", "float"):
            raise ValueError("'circular' and 'calibration' need a numeric signal (int or float)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class StateVar(Strict):
    """A variable of an actuator's state, changed by commands."""

    type: Literal["bool", "int", "float", "enum"]
    default: Any
    min: float | None = None
    max: float | None = None
    values: list[str] | None = None
    unit: str = ""
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> StateVar:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum state variable needs 'values'")
        return self


class Param(Strict):
    """A command parameter: its type and allowed range."""

    type: Literal["bool", "int", "float", "enum"]
    min: float | None = None
    max: float | None = None
    values: list[str] | None = None
    unit: str = ""
    required: bool = True
    description: str = ""


class Command(Strict):
    """An action an app may ask of an actuator; `set` says which state variables it changes."""

    description: str = ""
    params: dict[Name, Param] = Field(default_factory=dict)
    set: dict[Name, Any] = Field(min_length=1, description="state var -> literal or param.NAME")


class Fault(Strict):
    """A fault this device type can suffer (see docs/faults.md for the effects)."""

    effect: Literal["offline", "stuck", "drift", "noise", "spike", "offset", "battery_drain", "clock_skew", "word_swap"]
    signal: Name | None = None
    magnitude: float = 0.0
    out_of_range: bool = Field(
        False, description="the fault may push readings past the signal's min/max (else they are clamped)"
    )
    physical: bool = Field(
        False, description="offset only: the quantity itself changes (a leak), so signals computed from it follow"
    )
    description: str = ""

    @model_validator(mode="after")
    def _physical(self) -> Fault:
        if self.physical and (self.effect != "offset" or self.signal is None):
            raise ValueError("'physical: true' needs effect 'offset' and a 'signal'")
        return self


class Report(Strict):
    """When the device sends telemetry."""

    interval: Duration = Field(gt=0)
    jitter: Duration = Field(0.0, ge=0, description="random +/- around the interval (scaled 0.5-1.5x per device)")
    on_change: list[Name] = Field(default_factory=list, description="signals whose change is sent at once")
    qos: Literal[0, 1] = 0


class RegisterMap(Strict):
    """A signal or state variable as it appears in one Modbus table."""

    signal: Name | None = None
    state: Name | None = None
    address: int | None = Field(None, ge=0, le=65535)
    datatype: WireDatatype = "uint16"
    scale: float = Field(1.0, gt=0)
    word_order: WordOrder = "ABCD"
    true_when: str | None = Field(None, description="for bits from an enum: the value meaning 1")
    command: Name | None = Field(
        None, description="holding/coils: the command a write runs (default: the one setting this state from a param)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> RegisterMap:
        if (self.signal is None) == (self.state is None):
            raise ValueError("give exactly one of 'signal' or 'state'")
        return self


class ModbusMap(Strict):
    """Register map (addresses are 0-based wire addresses; input registers 0-9 are the common block)."""

    type_code: int = Field(ge=1, le=65535)
    map_version: int = Field(1, ge=1, le=65535)
    input: list[RegisterMap] = Field(default_factory=list)
    holding: list[RegisterMap] = Field(default_factory=list)
    coils: list[RegisterMap] = Field(default_factory=list)
    discrete: list[RegisterMap] = Field(default_factory=list)


class Vendor(Strict):
    vendor: str
    models: list[str] = Field(min_length=1)


class Battery(Strict):
    """Battery-powered devices: nominal life; the `battery` signal drains accordingly."""

    life: Duration = Field(gt=0)
    spread: float = Field(
        0.15, ge=0, le=0.5, description="device-to-device spread of capacity and drain (relative standard deviation)"
    )


class DeviceType(Strict):
    """A device type: data only, composed from named behaviour models."""

    schema_version: Literal[1]
    type: Id
    name: str
    kind: Literal["sensor", "actuator"]
    description: str = ""
    ngsi_type: str = Field(description="FIWARE Smart Data Models entity type")
    sources: list[str] = Field(min_length=1, description="where the shapes and ranges come from")
    vendors: list[Vendor] = Field(min_length=1)
    network: Id = Field(description="default network profile")
    battery: Battery | None = None
    site_spread: float = Field(
        0.0, ge=0, le=1, description="site-to-site spread of traffic exposure (lognormal sd): roadside vs background"
    )
    report: Report
    signals: dict[Name, Signal] = Field(min_length=1)
    state: dict[Name, StateVar] = Field(default_factory=dict)
    commands: dict[Name, Command] = Field(default_factory=dict)
    faults: dict[Name, Fault] = Field(default_factory=dict)
    modbus: ModbusMap
