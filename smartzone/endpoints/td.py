"""W3C WoT Thing Descriptions 1.1 of a scenario's device types, with forms on SmartZone's real endpoints.

One TD per device type, made for the first device of that type in the scenario (its topics
and Modbus unit are concrete: a TD's forms must be addresses a consumer can use). Forms:
- MQTT (WoT MQTT binding, prefix `mqv`): `observeproperty` subscribes to the device's
  `telemetry` topic (`mqv:filter`; the value sits at `sz:jsonPointer` in the native
  payload), `invokeaction` publishes on its `cmd` topic (`mqv:topic`; the result comes on
  `cmd/ack`), the `status` event subscribes to `status`; `href` is the broker's `mqtt://` URL.
- Modbus (WoT Modbus binding, prefix `modv`): `modv:unitID`, `modv:address`,
  `modv:quantity`, `modv:entity`, `modv:type`, word and byte order, on `modbus+tcp://`.
`check_td` checks a TD's structure (no copy of the TD 1.1 JSON Schema ships offline).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from smartzone.core.device import DeviceInfo
from smartzone.definitions.device_type import DeviceType
from smartzone.definitions.modbus_layout import Field, build_layout
from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.modbus.gateways import plan_gateways
from smartzone.endpoints.mqtt.topics import Topics

TD_CONTEXT = "https://www.w3.org/2022/wot/td/v1.1"
CONTEXT = [
    TD_CONTEXT,
    {
        "mqv": "http://www.example.org/mqtt-binding#",
        "modv": "https://www.w3.org/2019/wot/modbus#",
        "sz": "https://smartzone.dev/wot#",
    },
]
JSON_TYPE = {"float": "number", "int": "integer", "bool": "boolean", "enum": "string"}
ENTITY = {"input": "InputRegister", "holding": "HoldingRegister", "coils": "Coil", "discrete": "DiscreteInput"}
XSD = {
    "int16": "xsd:short",
    "uint16": "xsd:unsignedShort",
    "int32": "xsd:int",
    "uint32": "xsd:unsignedInt",
    "float32": "xsd:float",
    "bit": "xsd:boolean",
}
ORDER = {"ABCD": (True, True), "CDAB": (True, False), "BADC": (False, True), "DCBA": (False, False)}  # (MSB, MSW)
OPS = frozenset(
    {
        "readproperty",
        "writeproperty",
        "observeproperty",
        "unobserveproperty",
        "invokeaction",
        "queryaction",
        "cancelaction",
        "subscribeevent",
        "unsubscribeevent",
        "readallproperties",
        "writeallproperties",
        "readmultipleproperties",
        "writemultipleproperties",
        "observeallproperties",
        "unobserveallproperties",
        "queryallactions",
        "subscribeallevents",
        "unsubscribeallevents",
    }
)


def _schema(datatype: str, unit: str, lo: float | None, hi: float | None, values: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": JSON_TYPE[datatype]}
    if unit:
        out["unit"] = unit
    if lo is not None and datatype in ("float", "int"):
        out["minimum"] = lo
    if hi is not None and datatype in ("float", "int"):
        out["maximum"] = hi
    if values:
        out["enum"] = list(values)
    return out


def _modbus_form(f: Field, unit: int, host: str, port: int) -> dict[str, Any]:
    msb, msw = ORDER[f.word_order]
    form: dict[str, Any] = {
        "href": f"modbus+tcp://{host}:{port}/{unit}/{f.address}?quantity={f.count}",
        "op": ["readproperty", "writeproperty"] if f.writable else ["readproperty"],
        "modv:unitID": unit,
        "modv:address": f.address,
        "modv:quantity": f.count,
        "modv:entity": ENTITY[f.table],
        "modv:type": XSD[f.datatype],
        "modv:zeroBasedAddressing": True,
    }
    if f.count == 2:
        form.update({"modv:mostSignificantByte": msb, "modv:mostSignificantWord": msw})
    if f.scale != 1:
        form["sz:scale"] = f.scale  # register value = value x scale
    return form


def thing(
    dt: DeviceType, info: DeviceInfo, topics: Topics, mqtt_url: str, modbus: tuple[str, int, int] | None
) -> dict[str, Any]:
    """The TD of *dt* through device *info*; *modbus* = (host, port, unit id) of its gateway, if any."""

    def mqtt(topic: str, op: list[str] | str, key: str = "mqv:filter") -> dict[str, Any]:
        return {"href": mqtt_url, key: topic, "op": op, "contentType": "application/json"}

    telemetry = topics.device(info, "telemetry")
    fields: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (signal|state, name) -> its Modbus forms
    for fs in build_layout(dt)[0].tables.values() if modbus else ():
        for f in fs:
            assert modbus is not None
            fields.setdefault((f.source, f.name), []).append(_modbus_form(f, modbus[2], modbus[0], modbus[1]))
    props: dict[str, Any] = {}
    for name, sig in dt.signals.items():
        p = _schema(sig.datatype, sig.unit, sig.min, sig.max, sig.values)
        p.update({"title": name, "readOnly": True, "observable": True})
        if sig.description:
            p["description"] = sig.description
        if sig.ngsi:
            p["sz:ngsiAttribute"] = sig.ngsi
        if sig.unit_code:
            p["sz:unitCode"] = sig.unit_code
        p["forms"] = [
            {**mqtt(telemetry, ["observeproperty", "unobserveproperty"]), "sz:jsonPointer": f"/values/{name}"}
        ]
        # a state variable of the same name (a coil that shows as a signal) is written through this property
        p["forms"] += fields.get(("signal", name), []) + fields.get(("state", name), [])
        p["readOnly"] = ("state", name) not in fields
        props[name] = p
    for name, var in dt.state.items():
        if ("state", name) not in fields or name in props:
            continue
        p = _schema(var.type, var.unit, var.min, var.max, var.values)
        p.update({"title": name, "forms": fields["state", name]})
        props[name] = p
    actions = {}
    for name, cmd in dt.commands.items():
        params = {p: _schema(s.type, s.unit, s.min, s.max, s.values) for p, s in cmd.params.items()}
        actions[name] = {
            "title": name,
            "description": cmd.description or name,
            "safe": False,
            "idempotent": True,
            "input": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "maxLength": 64},
                    "action": {"const": name},
                    "params": {
                        "type": "object",
                        "properties": params,
                        "required": [p for p, s in cmd.params.items() if s.required],
                    },
                },
                "required": ["action", "params"],
            },
            "sz:set": dict(cmd.set),  # which state variables the command sets (for `smartzone import td`)
            "forms": [
                {
                    **mqtt(topics.device(info, "cmd"), "invokeaction", "mqv:topic"),
                    "mqv:qos": "1",
                    "sz:ackTopic": topics.device(info, "cmd/ack"),
                }
            ],
        }
    return {
        "@context": CONTEXT,
        "@type": "Thing",
        "id": f"urn:dev:sz:{info.id}",
        "title": dt.name,
        "description": dt.description.strip() or dt.name,
        "sz:deviceType": dt.type,
        "sz:ngsiType": dt.ngsi_type,  # the FIWARE Smart Data Models entity type (NGSI-LD payloads)
        "sz:reportInterval": dt.report.interval,
        "sz:modbusTypeCode": dt.modbus.type_code,
        "support": "https://smartzone.dev/docs/owners",
        "securityDefinitions": {
            "basic_sc": {"scheme": "basic", "description": "the scenario user's name and password"}
        },
        "security": "basic_sc",
        "properties": props,
        "actions": actions,
        "events": {
            "status": {
                "title": "status",
                "description": "online/offline changes (retained)",
                "data": {
                    "type": "object",
                    "properties": {
                        "state": {"type": "string", "enum": ["online", "offline"]},
                        "since": {"type": "string"},
                    },
                },
                "forms": [mqtt(topics.device(info, "status"), ["subscribeevent", "unsubscribeevent"])],
            }
        },
    }


def things(
    scenario: Scenario,
    types: Mapping[str, DeviceType],
    devices: Iterable[DeviceInfo],
    *,
    mqtt_url: str,
    modbus_host: str,
    first_port: int,
) -> dict[str, dict[str, Any]]:
    """The TD of every device type used in the scenario, by type id."""
    devices = list(devices)
    units = {}
    for plan in plan_gateways(scenario, devices):
        for unit, info in plan.units.items():
            units[info.id] = (modbus_host, plan.port(first_port), unit)
    topics, out = Topics(scenario.city), {}
    for info in devices:
        if info.type not in out:
            out[info.type] = thing(types[info.type], info, topics, mqtt_url, units.get(info.id))
    return out


def check_td(td: Any) -> list[str]:
    """Structural problems of a TD 1.1 document (mandatory terms, forms, ops, data schemas)."""
    if not isinstance(td, dict):
        return ["a TD is a JSON object"]
    out = []
    ctx = td.get("@context")
    if not (ctx == TD_CONTEXT or (isinstance(ctx, list) and ctx and ctx[0] == TD_CONTEXT)):
        out.append(f"@context must start with {TD_CONTEXT}")
    for key in ("title", "security", "securityDefinitions"):
        if key not in td:
            out.append(f"missing mandatory '{key}'")
    defs = td.get("securityDefinitions", {})
    sec = td.get("security")
    for name in [sec] if isinstance(sec, str) else sec or []:
        if name not in defs:
            out.append(f"security '{name}' is not in securityDefinitions")
    for kind in ("properties", "actions", "events"):
        for name, aff in (td.get(kind) or {}).items():
            forms = aff.get("forms") if isinstance(aff, dict) else None
            if not forms:
                out.append(f"{kind}.{name}: no forms")
                continue
            for i, form in enumerate(forms):
                if not isinstance(form.get("href"), str) or "://" not in form["href"]:
                    out.append(f"{kind}.{name}.forms[{i}]: href must be an absolute URI")
                ops = form.get("op", [])
                for op in [ops] if isinstance(ops, str) else ops:
                    if op not in OPS:
                        out.append(f"{kind}.{name}.forms[{i}]: unknown op '{op}'")
            if kind == "properties" and aff.get("type") not in (
                "number",
                "integer",
                "boolean",
                "string",
                "object",
                "array",
                "null",
            ):
                out.append(f"properties.{name}: type must be a JSON Schema type")
    return out
