"""JSON Schemas of the MQTT payloads (for the AsyncAPI document), per device type and format."""

from __future__ import annotations

from typing import Any

from smartzone.core.commands import MAX_ID_LENGTH
from smartzone.definitions.device_type import DeviceType, Signal, StateVar
from smartzone.endpoints.mqtt.documents import JSON_TYPES, params_schema

TS = {"type": "string", "format": "date-time", "description": "simulated time, ISO 8601 UTC with milliseconds"}
SEQ = {"type": "integer", "minimum": 1, "description": "1 per device, +1 per reading sent: a gap is a loss"}
ERROR_CODES = ["malformed", "unknown_action", "invalid_params", "device_offline", "forbidden"]


def value_schema(spec: Signal | StateVar) -> dict[str, Any]:
    kind = spec.datatype if isinstance(spec, Signal) else spec.type
    schema: dict[str, Any] = {"type": JSON_TYPES[kind]}
    if spec.values:
        schema["enum"] = list(spec.values)
    if kind in ("int", "float"):
        if spec.min is not None:
            schema["minimum"] = spec.min
        if spec.max is not None:
            schema["maximum"] = spec.max
    if spec.unit:
        schema["x-unit"] = spec.unit
    if spec.description:
        schema["description"] = spec.description
    return schema


def _obj(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


def native_schema(dtype: DeviceType) -> dict[str, Any]:
    values = _obj({n: value_schema(s) for n, s in dtype.signals.items()})
    return _obj(
        {
            "device": {"type": "string"},
            "type": {"const": dtype.type},
            "tenant": {"type": "string"},
            "ts": TS,
            "seq": SEQ,
            "values": values,
        },
        ["device", "type", "tenant", "ts", "seq", "values"],
        additionalProperties=False,
    )


def senml_schema() -> dict[str, Any]:
    record = _obj(
        {
            "bn": {"type": "string", "pattern": "^urn:dev:sz:[a-z0-9-]+:$"},
            "bt": {"type": "number", "description": "epoch seconds of the measurement (simulated)"},
            "n": {"type": "string", "description": "signal name, or 'seq' for the sequence number"},
            "u": {"type": "string"},
            "v": {"type": "number"},
            "vs": {"type": "string"},
            "vb": {"type": "boolean"},
        },
        ["n"],
    )
    return {"type": "array", "minItems": 1, "items": record, "description": "SenML pack (RFC 8428)"}


def ngsi_schema(dtype: DeviceType) -> dict[str, Any]:
    def prop(value: dict[str, Any], unit_code: str | None) -> dict[str, Any]:
        props: dict[str, Any] = {"type": {"const": "Property"}, "value": value, "observedAt": TS}
        if unit_code:
            props["unitCode"] = {"const": unit_code}
        return _obj(props, ["type", "value", "observedAt"])

    attrs = {sig.ngsi or name: prop(value_schema(sig), sig.unit_code) for name, sig in dtype.signals.items()}
    geo = _obj(
        {
            "type": {"const": "GeoProperty"},
            "value": _obj({"type": {"const": "Point"}, "coordinates": {"type": "array", "items": {"type": "number"}}}),
        }
    )
    return _obj(
        {
            "id": {"type": "string", "pattern": f"^urn:ngsi-ld:{dtype.ngsi_type}:"},
            "type": {"const": dtype.ngsi_type},
            **attrs,
            "seq": prop(SEQ, None),
            "location": geo,
            "@context": {"type": "array", "items": {"type": "string"}},
        },
        ["id", "type", "seq", "@context"],
        description=f"NGSI-LD normalized entity (Smart Data Models {dtype.ngsi_type})",
    )


def telemetry_schema(dtype: DeviceType, fmt: str) -> dict[str, Any]:
    if fmt == "senml":
        return senml_schema()
    if fmt == "ngsi-ld":
        return ngsi_schema(dtype)
    return native_schema(dtype)


def meta_schema(dtype: DeviceType) -> dict[str, Any]:
    location = _obj(
        {
            "lat": {"type": "number"},
            "lon": {"type": "number"},
            "district": {"type": "string"},
            "address": {"type": "string"},
        },
        ["lat", "lon", "district", "address"],
    )
    strings = {k: {"type": "string"} for k in ("device", "tenant", "name", "vendor", "model", "serial", "network")}
    return _obj(
        {
            **strings,
            "type": {"const": dtype.type},
            "location": location,
            "signals": {
                "type": "object",
                "additionalProperties": _obj(
                    {
                        "unit": {"type": "string"},
                        "min": {"type": ["number", "null"]},
                        "max": {"type": ["number", "null"]},
                        "datatype": {"enum": ["float", "int", "bool", "enum"]},
                    },
                    ["unit", "min", "max", "datatype"],
                ),
            },
            "commands": {
                "type": "object",
                "additionalProperties": {"type": "object"},
                "description": "command name -> JSON Schema of its params",
            },
        },
        ["device", "type", "tenant", "location", "signals", "commands", "vendor", "model", "serial", "network"],
    )


def status_schema(dtype: DeviceType | None = None) -> dict[str, Any]:
    return _obj({"state": {"enum": ["online", "offline"]}, "since": TS}, ["state", "since"], additionalProperties=False)


def state_schema(dtype: DeviceType) -> dict[str, Any]:
    values = _obj({n: value_schema(v) for n, v in dtype.state.items()})
    return _obj({"ts": TS, "values": values}, ["ts", "values"], additionalProperties=False)


def cmd_schema(dtype: DeviceType) -> dict[str, Any]:
    one_of = [_obj({"action": {"const": name}, "params": params_schema(dtype, name)}) for name in dtype.commands]
    return _obj(
        {
            "id": {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH},
            "action": {"enum": list(dtype.commands)},
            "params": {"type": "object"},
        },
        ["id", "action"],
        additionalProperties=False,
        oneOf=one_of,
    )


def ack_schema(dtype: DeviceType) -> dict[str, Any]:
    ok = _obj(
        {
            "id": {"type": "string"},
            "ok": {"const": True},
            "ts": TS,
            "state": state_schema(dtype)["properties"]["values"],
        },
        ["id", "ok", "ts", "state"],
    )
    error = _obj(
        {
            "id": {"type": ["string", "null"]},
            "ok": {"const": False},
            "error": _obj({"code": {"enum": ERROR_CODES}, "message": {"type": "string"}}, ["code", "message"]),
        },
        ["id", "ok", "error"],
    )
    return {"oneOf": [ok, error]}


def catalog_schema() -> dict[str, Any]:
    device = _obj(
        {
            "id": {"type": "string"},
            "type": {"type": "string"},
            "topic": {"type": "string"},
            "channels": {"type": "array", "items": {"type": "string"}},
        },
        ["id", "type", "topic", "channels"],
    )
    return _obj(
        {"city": {"type": "string"}, "tenant": {"type": "string"}, "devices": {"type": "array", "items": device}},
        ["city", "tenant", "devices"],
    )


def tenants_schema() -> dict[str, Any]:
    """The city's retained `tenants` discovery document (documents.tenants)."""
    tenant = _obj(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"type": "string"},
            "open_data": {"type": "boolean"},
            "payload_format": {"enum": ["native", "senml", "ngsi-ld"]},
            "devices": {"type": "integer"},
            "types": {"type": "object", "additionalProperties": {"type": "integer"}},
            "catalog": {"type": "string"},
        },
        ["id", "name", "kind", "open_data", "payload_format", "devices", "types", "catalog"],
    )
    return _obj(
        {
            "city": {"type": "string"},
            "name": {"type": "string"},
            "api_versions": {"type": "array", "items": {"type": "string"}},
            "tenants": {"type": "array", "items": tenant},
        },
        ["city", "tenants"],
    )


def access_schema() -> dict[str, Any]:
    """A user's retained `access/{user}` document (documents.access)."""
    strings = {"type": "array", "items": {"type": "string"}}
    return _obj(
        {
            "city": {"type": "string"},
            "user": {"type": "string"},
            "role": {"enum": ["owner", "app", "admin"]},
            "read_tenants": strings,
            "command_tenants": strings,
            "read": strings,
            "publish": strings,
        },
        ["city", "user", "role", "read_tenants", "command_tenants", "read", "publish"],
    )


def v1_schema() -> dict[str, Any]:
    return _obj(
        {"id": {"type": "string"}, "ts": TS, "value": {"type": "object"}},
        ["id", "ts", "value"],
        additionalProperties=False,
        deprecated=True,
    )
