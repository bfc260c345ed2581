"""A W3C WoT Thing Description (1.1, JSON-LD) turned into a device-type YAML to edit.

What a TD says maps directly: properties (type, unit, minimum, maximum, enum) become
signals, actions with an input schema become commands whose parameters set state
variables, Modbus forms (WoT Modbus binding) become the `modbus:` map. What a TD cannot
say (how values move over a day) becomes a simple default behaviour: a random walk around
the middle of the range, a constant for booleans and enums. The generated file says so in
comments; the owner edits the behaviours, then runs `smartzone conform`.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from smartzone.definitions.errors import DefinitionError

SIGNAL_TYPE = {"number": "float", "integer": "int", "boolean": "bool", "string": "enum"}
WIRE = {
    "xsd:short": "int16",
    "xsd:unsignedShort": "uint16",
    "xsd:int": "int32",
    "xsd:unsignedInt": "uint32",
    "xsd:float": "float32",
}
TABLE = {"InputRegister": "input", "HoldingRegister": "holding", "Coil": "coils", "DiscreteInput": "discrete"}
ORDER = {(True, True): "ABCD", (True, False): "CDAB", (False, True): "BADC", (False, False): "DCBA"}
HEADER = """\
# Device type imported from a W3C WoT Thing Description ({source}) by `smartzone import td`.
# Signals, ranges, units, commands and the Modbus map come from the TD. The behaviour
# models (`model:`) are SIMPLE DEFAULTS the TD cannot describe: a random walk around the
# middle of each range, constants for booleans and enums. Edit them to what the device
# really does (docs/authoring.md lists the models), fill in `sources:` and `vendors:`,
# then check the type with `smartzone conform {out}`.
"""


def _name(text: str, limit: int = 40) -> str:
    """A SmartZone id/name from free text: lowercase, [a-z0-9_-], starting with a letter."""
    out = re.sub(r"[^a-z0-9_-]+", "-", text.strip().lower()).strip("-_")
    return (out if out[:1].isalpha() else f"x-{out}")[:limit] or "imported"


def _param(schema: dict[str, Any]) -> dict[str, Any]:
    kind = SIGNAL_TYPE.get(str(schema.get("type")), "float")
    out: dict[str, Any] = {"type": kind}
    if kind == "enum":
        out["values"] = [str(v) for v in schema.get("enum", [])] or ["on", "off"]
    for src, dst in (("minimum", "min"), ("maximum", "max")):
        if kind in ("int", "float") and isinstance(schema.get(src), (int, float)):
            out[dst] = schema[src]
    if schema.get("unit"):
        out["unit"] = str(schema["unit"])
    return out


def _model(sig: dict[str, Any]) -> dict[str, Any]:
    kind = sig["datatype"]
    if kind == "bool":
        return {"kind": "constant", "value": False}
    if kind == "enum":
        return {"kind": "constant", "value": sig["values"][0]}
    lo, hi = sig.get("min", 0), sig.get("max", sig.get("min", 0) + 100)
    mid = (lo + hi) / 2
    step = max((hi - lo) / 20, 0.01)
    if kind == "int":
        return {"kind": "random_walk", "start": round(mid), "step": step, "mean": round(mid), "revert": 0.3}
    return {"kind": "random_walk", "start": mid, "step": step, "mean": mid, "revert": 0.3}


def _writable(prop: dict[str, Any]) -> bool:
    """A property only written and read through a holding register or coil: a state variable, not a signal
    (a property that is also observed over MQTT is a signal; its register then sets the state of its name)."""
    forms = prop.get("forms", [])
    observed = any("observeproperty" in (f.get("op") or []) for f in forms)
    return not observed and any(TABLE.get(str(f.get("modv:entity"))) in ("holding", "coils") for f in forms)


def _modbus(td: dict[str, Any], signals: set[str], state: set[str]) -> dict[str, Any]:
    tables: dict[str, list[dict[str, Any]]] = {}
    for name, prop in (td.get("properties") or {}).items():
        for form in prop.get("forms", []):
            table = TABLE.get(str(form.get("modv:entity")))
            key = "signal" if table in ("input", "discrete") else "state"
            if table is None or _name(name) not in (signals if key == "signal" else state):
                continue  # a register of something this type does not have (left for the owner to map)
            entry: dict[str, Any] = {key: _name(name), "address": int(form.get("modv:address", 0))}
            if table in ("input", "holding"):
                entry["datatype"] = WIRE.get(str(form.get("modv:type")), "uint16")
                if entry["datatype"] in ("int32", "uint32", "float32"):
                    msb = bool(form.get("modv:mostSignificantByte", True))
                    entry["word_order"] = ORDER[msb, bool(form.get("modv:mostSignificantWord", True))]
                if form.get("sz:scale"):
                    entry["scale"] = form["sz:scale"]
            tables.setdefault(table, []).append(entry)
    return {"type_code": int(td.get("sz:modbusTypeCode", 999)), **tables}  # SmartZone serves every type


def _literal_var(value: Any) -> dict[str, Any]:
    """A state variable a command sets to a literal (e.g. mode: auto)."""
    if isinstance(value, bool):
        return {"type": "bool", "default": value}
    if isinstance(value, (int, float)):
        return {"type": "float", "default": value}
    return {"type": "enum", "values": [str(value)], "default": str(value)}


def _state_var(schema: dict[str, Any]) -> dict[str, Any]:
    var = {k: v for k, v in _param(schema).items() if k in ("type", "min", "max", "values", "unit")}
    default = {"bool": False, "enum": var.get("values", [""])[0]}.get(var["type"], var.get("min", 0))
    return {**var, "default": default}


def _signal(prop: dict[str, Any]) -> dict[str, Any]:
    p = _param(prop)
    sig: dict[str, Any] = {"unit": p.get("unit", ""), "datatype": p["type"]}
    sig.update({k: p[k] for k in ("min", "max", "values") if k in p})
    if prop.get("description"):
        sig["description"] = str(prop["description"])
    if prop.get("sz:ngsiAttribute"):
        sig["ngsi"] = prop["sz:ngsiAttribute"]
    if prop.get("sz:unitCode"):
        sig["unit_code"] = prop["sz:unitCode"]
    sig["model"] = _model(sig)
    return sig


def _commands(td: dict[str, Any], signals: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    commands: dict[str, Any] = {}
    for raw, action in (td.get("actions") or {}).items():
        schema = (action or {}).get("input") or {}
        if isinstance(schema.get("properties", {}).get("params"), dict):  # SmartZone's own {action, params} body
            schema = schema["properties"]["params"]
        required = set(schema.get("required", []))
        pschemas = {_name(p): s for p, s in (schema.get("properties") or {}).items()}
        params = {n: {**_param(s), **({} if n in required else {"required": False})} for n, s in pschemas.items()}
        declared = action.get("sz:set")  # SmartZone's own TDs say which state each command sets
        sets = dict(declared) if isinstance(declared, dict) else {n: f"param.{n}" for n in params}
        for var, value in sets.items():
            if var not in state:
                src = pschemas.get(str(value)[6:]) if str(value).startswith("param.") else None
                state[var] = _state_var(src) if src else _literal_var(value)
            if var in signals and signals[var]["model"]["kind"] != "state":
                signals[var]["model"] = {"kind": "state", "var": var}
        if sets:
            commands[_name(raw)] = {"description": str(action.get("description") or raw), "params": params, "set": sets}
    return commands


def td_to_dict(td: Any, source: str, type_id: str | None = None) -> dict[str, Any]:
    """The device-type document of a TD (raises DefinitionError when the TD is not usable)."""
    if not isinstance(td, dict) or not isinstance(td.get("title"), str):
        raise DefinitionError.single(source, "not a Thing Description: a JSON object with a 'title' is expected")
    signals: dict[str, Any] = {}
    state: dict[str, Any] = {}
    for raw, prop in (td.get("properties") or {}).items():
        if not isinstance(prop, dict) or prop.get("type") not in SIGNAL_TYPE:
            continue  # objects and arrays have no signal form: left out (the owner adds them by hand)
        if _writable(prop):
            state[_name(raw)] = _state_var(prop)
        else:
            signals[_name(raw)] = _signal(prop)
    commands = _commands(td, signals, state)
    if not signals:
        raise DefinitionError.single(source, "the TD has no property of type number, integer, boolean or string")
    doc: dict[str, Any] = {
        "schema_version": 1,
        "type": type_id or _name(str(td.get("sz:deviceType") or td["title"]), 64),
        "name": td["title"],
        "kind": "actuator" if commands else "sensor",
        "description": str(td.get("description") or td["title"]),
        "ngsi_type": str(td.get("sz:ngsiType") or "Device"),
        "sources": [f"W3C WoT Thing Description {td.get('id', source)} (imported; add the datasheet here)"],
        "vendors": [{"vendor": "Unknown (edit me)", "models": [td["title"]]}],
        "network": "lte-m",
        "report": {"interval": float(td.get("sz:reportInterval", 300))},
    }
    if state:
        doc["state"] = state
    if commands:
        doc["commands"] = commands
    doc["signals"] = signals
    doc["modbus"] = _modbus(td, set(signals), set(state))
    return doc


def td_to_yaml(td: Any, source: str, type_id: str | None = None, out: str = "the-file.yaml") -> str:
    """The YAML text of the imported type, with the header that says what to edit."""
    doc = td_to_dict(td, source, type_id)
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)
    return HEADER.format(source=source, out=out) + body
