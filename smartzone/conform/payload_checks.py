"""Structural checks of the SenML (RFC 8428) and NGSI-LD (normalized) renderings of a trial's readings.

The payloads are made by the MQTT endpoint's own encoders (endpoints/mqtt/payloads.py), so
what is checked is exactly what subscribers receive. SenML: a JSON array of records; only
RFC 8428 labels; base fields before regular ones; each record exactly one value (v, vs, vb,
vd) or a sum; names (bn + n) match RFC 8428's name pattern; numbers finite. NGSI-LD: an id
that is a URN, a type, an @context; every other attribute a Property (or GeoProperty for
location) with a value and an ISO 8601 `observedAt`, and a `unitCode` where the signal has a unit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from smartzone.conform.trial import TrialResult
from smartzone.definitions.device_type import DeviceType
from smartzone.endpoints.mqtt.payloads import ngsi_encoder, senml_encoder

SENML_LABELS = frozenset({"bn", "bt", "bu", "bv", "bs", "bver", "n", "u", "v", "vs", "vb", "vd", "s", "t", "ut"})
SENML_VALUES = ("v", "vs", "vb", "vd")
SENML_NAME = re.compile(r"^[A-Za-z0-9][-:./_A-Za-z0-9]*$")  # RFC 8428 section 4.5.1
MAX_PROBLEMS = 20
NGSI_CORE = frozenset({"id", "type", "@context"})


def _senml_record(rec: Any, bn: str) -> Iterator[str]:
    if not isinstance(rec, dict):
        yield f"a record is {type(rec).__name__}, not an object"
        return
    extra = set(rec) - SENML_LABELS
    if extra:
        yield f"labels not in RFC 8428: {sorted(extra)}"
    values = [k for k in SENML_VALUES if k in rec]
    if len(values) != 1 and "s" not in rec:
        yield f"record {rec.get('n')!r}: {len(values)} value fields, exactly one expected"
    name = bn + str(rec.get("n", ""))
    if not SENML_NAME.match(name):
        yield f"name {name!r} is not a valid SenML name"
    for key, kind in (("v", (int, float)), ("vs", str), ("vb", bool), ("u", str), ("t", (int, float))):
        if key in rec and (not isinstance(rec[key], kind) or (key == "v" and isinstance(rec[key], bool))):
            yield f"record {rec.get('n')!r}: {key} is {type(rec[key]).__name__}"
    if isinstance(rec.get("v"), float) and not math.isfinite(rec["v"]):
        yield f"record {rec.get('n')!r}: v is not finite"


def check_senml(dt: DeviceType, trial: TrialResult) -> list[tuple[float, str]]:
    """(simulated time, problem) for the SenML payloads of the trial's readings."""
    encode = senml_encoder(trial.info, dt, trial.clock)
    out: list[tuple[float, str]] = []
    for r in trial.readings:
        try:
            doc = json.loads(encode(r))
        except ValueError as exc:  # NaN/Infinity are not JSON
            out.append((r.t, f"not JSON: {exc}"))
            continue
        if not isinstance(doc, list) or not doc:
            out.append((r.t, "a SenML pack must be a non-empty JSON array"))
            continue
        bn = doc[0].get("bn", "") if isinstance(doc[0], dict) else ""
        for rec in doc:
            out += [(r.t, why) for why in _senml_record(rec, bn)]
        if len(out) >= MAX_PROBLEMS:
            break
    return out


def _iso(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def check_ngsi(dt: DeviceType, trial: TrialResult) -> list[tuple[float, str]]:
    """(simulated time, problem) for the NGSI-LD payloads of the trial's readings."""
    encode = ngsi_encoder(trial.info, dt, trial.clock)
    needs_unit = {sig.ngsi or name for name, sig in dt.signals.items() if sig.unit}
    out: list[tuple[float, str]] = []
    for r in trial.readings:
        entity = json.loads(encode(r))
        if not str(entity.get("id", "")).startswith("urn:ngsi-ld:") or not entity.get("type"):
            out.append((r.t, "the entity needs an id urn:ngsi-ld:... and a type"))
        if "@context" not in entity:
            out.append((r.t, "no @context"))
        for attr, prop in entity.items():
            if attr in NGSI_CORE:
                continue
            where = f"attribute {attr}"
            if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", attr):
                out.append((r.t, f"{where}: not a valid NGSI-LD attribute name"))
            if not isinstance(prop, dict) or prop.get("type") not in ("Property", "GeoProperty"):
                out.append((r.t, f"{where}: not a Property"))
                continue
            if "value" not in prop:
                out.append((r.t, f"{where}: no value"))
            if prop["type"] == "Property" and not _iso(prop.get("observedAt")):
                out.append((r.t, f"{where}: observedAt missing or not ISO 8601"))
            if attr in needs_unit and "unitCode" not in prop:
                out.append((r.t, f"{where}: no unitCode"))
        if len(out) >= MAX_PROBLEMS:
            break
    return out
