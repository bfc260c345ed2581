"""The retained documents of API.md (meta, status, state, catalog) and the cmd/ack payloads.

These are always native JSON, whatever the telemetry format of the tenant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from smartzone.core.device import DeviceInfo
from smartzone.definitions.device_type import DeviceType, Param, Signal
from smartzone.endpoints.mqtt.topics import Topics

JSON_TYPES = {"bool": "boolean", "int": "integer", "float": "number", "enum": "string"}


def signal_doc(sig: Signal) -> dict[str, Any]:
    doc: dict[str, Any] = {"unit": sig.unit, "min": sig.min, "max": sig.max, "datatype": sig.datatype}
    if sig.values:
        doc["values"] = list(sig.values)
    if sig.description:
        doc["description"] = sig.description
    return doc


def param_schema(param: Param) -> dict[str, Any]:
    """A JSON Schema for one command parameter."""
    schema: dict[str, Any] = {"type": JSON_TYPES[param.type]}
    if param.min is not None:
        schema["minimum"] = param.min
    if param.max is not None:
        schema["maximum"] = param.max
    if param.values:
        schema["enum"] = list(param.values)
    if param.unit:
        schema["x-unit"] = param.unit
    if param.description:
        schema["description"] = param.description
    return schema


def params_schema(dtype: DeviceType, action: str) -> dict[str, Any]:
    """The JSON Schema of `params` for one command of a device type."""
    command = dtype.commands[action]
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: param_schema(p) for name, p in command.params.items()},
        "required": [name for name, p in command.params.items() if p.required],
        "additionalProperties": False,
    }
    if command.description:
        schema["description"] = command.description
    return schema


def meta(info: DeviceInfo, dtype: DeviceType, payload_format: str) -> dict[str, Any]:
    """The retained `meta` document of a device."""
    return {
        "device": info.id,
        "type": info.type,
        "tenant": info.tenant,
        "name": info.name,
        "kind": dtype.kind,
        "ngsi_type": dtype.ngsi_type,
        "location": {"lat": info.lat, "lon": info.lon, "district": info.district, "address": info.address},
        "signals": {name: signal_doc(sig) for name, sig in dtype.signals.items()},
        "commands": {name: params_schema(dtype, name) for name in dtype.commands},
        "vendor": info.vendor,
        "model": info.model,
        "serial": info.serial,
        "network": info.network,
        "report_interval_s": info.report_interval,
        "qos": dtype.report.qos,
        "payload_format": payload_format,
    }


def status(online: bool, since: str) -> dict[str, Any]:
    return {"state": "online" if online else "offline", "since": since}


def state(ts: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {"ts": ts, "values": dict(values)}


def channels(dtype: DeviceType) -> list[str]:
    """The channels a device of this type has (actuators add state, cmd and cmd/ack)."""
    out = ["telemetry", "meta", "status"]
    if dtype.state:
        out.append("state")
    if dtype.commands:
        out += ["cmd", "cmd/ack"]
    return out


def catalog(topics: Topics, tenant: str, devices: Iterable[tuple[DeviceInfo, DeviceType]]) -> dict[str, Any]:
    """The retained per-tenant catalog: every device with its type and topics."""
    return {
        "city": topics.city,
        "tenant": tenant,
        "devices": [
            {"id": i.id, "type": i.type, "topic": topics.device(i, "")[:-1], "channels": channels(dt)}
            for i, dt in devices
        ],
    }


def ack_ok(command_id: str | None, ts: str, new_state: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": command_id, "ok": True, "ts": ts, "state": dict(new_state)}


def ack_error(command_id: str | None, code: str, message: str) -> dict[str, Any]:
    return {"id": command_id, "ok": False, "error": {"code": code, "message": message}}
