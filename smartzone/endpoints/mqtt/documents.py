"""The retained documents of the contract (docs/api.md) and the cmd/ack payloads: per device
meta, status, state; per tenant the catalog; per city the `tenants` and `access/{user}`
discovery documents.

These are always native JSON, whatever the telemetry format of the tenant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from smartzone.core.device import DeviceInfo
from smartzone.definitions.device_type import DeviceType, Param, Signal
from smartzone.definitions.scenario import Scenario, User
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


def tenants(
    topics: Topics, scenario: Scenario, formats: Mapping[str, str], devices: Iterable[DeviceInfo]
) -> dict[str, Any]:
    """The retained `sz/v2/{city}/tenants` document: every tenant, its owner kind, open data or
    not, telemetry payload format, device types and counts (what an app may ask access to)."""
    counts: dict[str, Counter[str]] = {t.id: Counter() for t in scenario.tenants}
    for info in devices:
        counts.setdefault(info.tenant, Counter())[info.type] += 1
    return {
        "city": scenario.city,
        "name": scenario.name,
        "api_versions": ["v2", "v1"] if scenario.api_v1 else ["v2"],
        "tenants": [
            {
                "id": t.id,
                "name": t.name,
                "kind": t.kind,
                "open_data": t.open_data,
                "payload_format": formats.get(t.id, scenario.payload_format),
                "devices": sum(counts[t.id].values()),
                "types": dict(sorted(counts[t.id].items())),
                "catalog": topics.catalog(t.id),
            }
            for t in scenario.tenants
        ],
    }


def access(scenario: Scenario, user: User, read: Iterable[str], write: Iterable[str]) -> dict[str, Any]:
    """The retained `sz/v2/{city}/access/{user}` document: what this user may read and command.

    `read` and `write` are the user's topic filters as the broker enforces them (AccessPolicy).
    """
    if user.role == "admin":
        readable = commandable = [t.id for t in scenario.tenants]
    elif user.role == "owner":
        readable = commandable = [user.tenant] if user.tenant else []
    else:
        readable, commandable = list(user.grants.read), list(user.grants.command)
    return {
        "city": scenario.city,
        "user": user.name,
        "role": user.role,
        "read_tenants": readable,
        "command_tenants": commandable,
        "read": list(read),
        "publish": list(write),
    }


def ack_ok(command_id: str | None, ts: str, new_state: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": command_id, "ok": True, "ts": ts, "state": dict(new_state)}


def ack_error(command_id: str | None, code: str, message: str) -> dict[str, Any]:
    return {"id": command_id, "ok": False, "error": {"code": code, "message": message}}
