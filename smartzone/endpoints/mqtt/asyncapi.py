"""The AsyncAPI 3.0 document of a scenario's MQTT API: channels, operations, payload schemas.

One channel per (tenant, device type, channel) with a `{device}` address parameter, one per
tenant catalog, the city's `tenants` and `access/{user}` discovery documents, and the
deprecated v1 channel when the scenario enables it. Operations are
written from SmartZone's side: it `send`s telemetry/meta/status/state/acks and `receive`s cmd.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from smartzone.core.device import DeviceInfo
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.device_type import DeviceType
from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.mqtt import documents
from smartzone.endpoints.mqtt.schemas import (
    access_schema,
    ack_schema,
    catalog_schema,
    cmd_schema,
    meta_schema,
    state_schema,
    status_schema,
    telemetry_schema,
    tenants_schema,
    v1_schema,
)
from smartzone.endpoints.mqtt.topics import Topics

EXAMPLES = 3


def _ref(*parts: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)}


def _key(*parts: str) -> str:
    return ".".join(p.replace("/", "-") for p in parts)


class _Doc:
    def __init__(self) -> None:
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}

    def message(self, key: str, name: str, title: str, payload: dict[str, Any], retained: bool) -> None:
        if key not in self.messages:
            bindings = {"mqtt": {"bindingVersion": "0.2.0"}}
            self.messages[key] = {
                "name": name,
                "title": title,
                "contentType": "application/json",
                "payload": payload,
                "bindings": bindings,
                **({"description": "retained: a new subscriber gets the latest at once"} if retained else {}),
            }

    def channel(
        self,
        key: str,
        address: str,
        message: str,
        description: str,
        action: str,
        params: dict[str, Any] | None = None,
        qos: int = 0,
        retain: bool = False,
    ) -> None:
        channel: dict[str, Any] = {
            "address": address,
            "description": description,
            "messages": {message: _ref("components", "messages", message)},
        }
        if params:
            channel["parameters"] = params
        self.channels[key] = channel
        op_binding = {"mqtt": {"qos": qos, "retain": retain, "bindingVersion": "0.2.0"}}
        self.operations[f"{action}.{key}"] = {
            "action": action,
            "channel": _ref("channels", key),
            "messages": [_ref("channels", key, "messages", message)],
            "bindings": op_binding,
        }


def _device_param(ids: list[str], tenant: str, dtype: str) -> dict[str, Any]:
    return {
        "device": {
            "description": f"device id ({len(ids)} {dtype} devices of {tenant}; the catalog lists them)",
            "examples": ids[:EXAMPLES],
        }
    }


def build(
    scenario: Scenario, catalog: Catalog, devices: Iterable[DeviceInfo], host: str = "127.0.0.1", port: int = 1883
) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document (a plain dict, JSON-ready) of `scenario`."""
    topics = Topics(scenario.city)
    groups: dict[tuple[str, str], list[str]] = {}
    for info in devices:
        groups.setdefault((info.tenant, info.type), []).append(info.id)
    formats = {t.id: t.payload_format or scenario.payload_format for t in scenario.tenants}
    doc = _Doc()
    for (tenant, type_id), ids in groups.items():
        dtype: DeviceType = catalog.types[type_id]
        fmt = formats[tenant]
        base = topics.device_base(tenant, type_id, "{device}")
        params = _device_param(ids, tenant, type_id)
        for ch in documents.channels(dtype):
            key = _key(tenant, type_id, ch)
            if ch == "telemetry":
                msg = _key(type_id, "telemetry", fmt)
                doc.message(msg, "telemetry", f"{dtype.name} reading ({fmt})", telemetry_schema(dtype, fmt), False)
                qos, retain = dtype.report.qos, False
            elif ch == "cmd":
                msg = _key(type_id, "cmd")
                doc.message(msg, "cmd", f"{dtype.name} command", cmd_schema(dtype), False)
                qos, retain = 1, False
            elif ch == "cmd/ack":
                msg = _key(type_id, "cmd-ack")
                doc.message(msg, "cmd/ack", f"{dtype.name} command result", ack_schema(dtype), False)
                qos, retain = 1, False
            else:
                schema = {"meta": meta_schema, "status": status_schema, "state": state_schema}[ch](dtype)
                msg = _key(type_id, ch)
                doc.message(msg, ch, f"{dtype.name} {ch}", schema, True)
                qos, retain = 1, True
            action = "receive" if ch == "cmd" else "send"
            doc.channel(
                key, f"{base}/{ch}", msg, f"{dtype.name} devices of {tenant}: {ch}", action, params, qos, retain
            )
    for tenant in formats:
        doc.message("catalog", "catalog", "tenant catalog", catalog_schema(), True)
        doc.channel(
            _key(tenant, "catalog"),
            topics.catalog(tenant),
            "catalog",
            f"every device of {tenant} with its type and topics",
            "send",
            None,
            1,
            True,
        )
    doc.message("tenants", "tenants", "the city's tenants", tenants_schema(), True)
    doc.channel(
        "tenants",
        topics.tenants(),
        "tenants",
        "every tenant: owner kind, open data, payload format, device types and counts (any user)",
        "send",
        None,
        1,
        True,
    )
    doc.message("access", "access", "what one user may read and command", access_schema(), True)
    doc.channel(
        "access",
        topics.access("{user}"),
        "access",
        "what this user may read and command (readable by that user alone)",
        "send",
        {"user": {"description": "a scenario user name", "examples": [u.name for u in scenario.users][:EXAMPLES]}},
        1,
        True,
    )
    if scenario.api_v1:
        all_ids = [i for ids in groups.values() for i in ids]
        doc.message("v1-data", "data", "deprecated v1 reading", v1_schema(), False)
        doc.channel(
            "v1.data",
            topics.v1_data("{device}"),
            "v1-data",
            "DEPRECATED v1 flat topic (use the v2 telemetry channels)",
            "send",
            {"device": {"description": "device id", "examples": all_ids[:EXAMPLES]}},
        )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"SmartZone {scenario.name} MQTT API",
            "version": "2.0.0",
            "description": f"The simulated city '{scenario.city}' on MQTT (SmartZone public contract v2).",
        },
        "defaultContentType": "application/json",
        "servers": {
            "smartzone": {
                "host": f"{host}:{port}",
                "protocol": "mqtt",
                "protocolVersion": "3.1.1",
                "description": "the broker started by `smartzone run` (see its start-up lines for credentials)",
                "security": [_ref("components", "securitySchemes", "userPassword")],
            }
        },
        "channels": doc.channels,
        "operations": doc.operations,
        "components": {
            "messages": doc.messages,
            "securitySchemes": {
                "userPassword": {"type": "userPassword", "description": "scenario users; client id = user or user-*"}
            },
        },
    }
