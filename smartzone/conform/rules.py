"""The conformance rules: ids, levels, guidance, and the check of each (docs/owners.md lists them).

Each check takes a Subject (the device type, its file, its trial) and returns a certify
Outcome; certify's `judge` turns it into a Verdict with the rule's level, so that the
reports are certify's (verdicts.py, report.py, html.py).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from smartzone.certify.records import Stamp
from smartzone.certify.verdicts import Example, Level, Outcome, outcome
from smartzone.conform import sdm
from smartzone.conform.payload_checks import check_ngsi, check_senml
from smartzone.conform.trial import TrialResult
from smartzone.conform.units import lookup
from smartzone.definitions.device_type import DeviceType
from smartzone.definitions.modbus_layout import BIT_TABLES, build_layout

WIRE_RANGE = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "float32": (-3.4e38, 3.4e38),
}
NUMERIC = ("int", "float")


@dataclass(frozen=True)
class Subject:
    dt: DeviceType
    file: str
    trial: TrialResult


@dataclass(frozen=True)
class ConformRule:
    id: str
    level: Level
    title: str
    guidance: str
    check: Callable[[Subject], Outcome]


def _ex(text: str, sim: float = 0.0) -> Example:
    return Example(Stamp(0.0, sim), text)


def _result(bad: list[Example], ok: str, what: str, counts: Mapping[str, float] | None = None) -> Outcome:
    if bad:
        return outcome("bad", f"{len(bad)} {what}", counts, bad)
    return outcome("ok", ok, counts)


def meta(s: Subject) -> Outcome:
    dt, bad = s.dt, []
    if not dt.description.strip():
        bad.append(_ex("type: no description"))
    if not any(v.models for v in dt.vendors):
        bad.append(_ex("vendors: no models"))
    for name, sig in dt.signals.items():
        if sig.datatype in NUMERIC and not sig.unit and sig.ngsi is None:
            bad.append(_ex(f"signals.{name}: a number with neither unit nor NGSI-LD attribute"))
        if sig.datatype in NUMERIC and sig.min is None:
            bad.append(_ex(f"signals.{name}: no min: apps cannot tell a plausible value"))
    return _result(bad, "name, description, sources, vendors and signal ranges are declared", "missing facts")


def units(s: Subject) -> Outcome:
    bad = []
    for name, sig in s.dt.signals.items():
        if not sig.unit:
            continue
        known = lookup(sig.unit)
        if known is not None and sig.unit_code is not None and sig.unit_code != known.uncefact:
            bad.append(_ex(f"signals.{name}: unit_code {sig.unit_code} is not {known.uncefact} ({known.name})"))
        if sig.unit_code is None and known is not None:
            bad.append(_ex(f"signals.{name}: unit {sig.unit} needs unit_code {known.uncefact} for NGSI-LD"))
        if sig.unit_code is None and known is None:
            bad.append(_ex(f"signals.{name}: unit {sig.unit} without unit_code: NGSI-LD has no unitCode for it"))
    return _result(bad, "every unit_code is the UN/CEFACT code of its unit", "unit codes wrong or missing")


def units_known(s: Subject) -> Outcome:
    unknown = [
        _ex(f"signals.{n}: unit {sig.unit!r} is not in SmartZone's unit table")
        for n, sig in s.dt.signals.items()
        if sig.unit and lookup(sig.unit) is None
    ]
    return _result(unknown, "every unit is in SmartZone's unit table (UCUM and UN/CEFACT codes known)", "unknown units")


def _out_of_range(dt: DeviceType, name: str, value: Any) -> str | None:
    sig = dt.signals.get(name)
    if sig is None:
        return f"{name} is not a declared signal"
    if value is None:
        return None  # a signal the device cannot read now (documented as null)
    if sig.datatype == "bool":
        return None if isinstance(value, bool) else f"{name}={value!r} is not a bool"
    if sig.datatype == "enum":
        return None if value in (sig.values or []) else f"{name}={value!r} is not one of {sig.values}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"{name}={value!r} is not a finite number"
    if sig.datatype == "int" and value != int(value):
        return f"{name}={value!r} is not an integer"
    if (sig.min is not None and value < sig.min) or (sig.max is not None and value > sig.max):
        return f"{name}={value} outside [{sig.min}, {sig.max}]"
    return None


def _pinned(s: Subject) -> list[Example]:
    """Signals whose every reading of the day sits on max (or a non-zero min): the device clamps
    values its behaviour model produced outside the declared range, so the range or the model is wrong."""
    out = []
    for name, sig in s.dt.signals.items():
        if sig.datatype not in NUMERIC or sig.model.kind in ("constant", "state"):
            continue
        seen = {r.values.get(name) for r in s.trial.readings if name in r.values}
        for bound in (sig.max, sig.min if sig.min else None):
            if bound is not None and seen == {bound}:
                out.append(_ex(f"{name} pinned at {bound:g} all day: the model runs outside the declared range"))
    return out


def ranges(s: Subject) -> Outcome:
    bad, checked = [], 0
    for r in s.trial.readings:
        for name, value in r.values.items():
            checked += 1
            why = _out_of_range(s.dt, name, value)
            if why is not None:
                bad.append(_ex(why, r.t))
    bad += _pinned(s)
    missing = sorted(set(s.dt.signals) - {n for r in s.trial.readings for n in r.values})
    bad += [_ex(f"{name} never reported in a simulated day") for name in missing]
    counts = {"readings": len(s.trial.readings), "values": checked}
    if not s.trial.readings:
        return outcome("bad", "no reading in a simulated day", counts)
    return _result(
        bad,
        f"{checked} values in a simulated day, all within their declared ranges",
        "values outside their declared ranges",
        counts,
    )


def interval_limit(declared: float, jitter: float) -> float:
    """The longest gap between readings the declared interval allows."""
    return declared + 1.5 * jitter + max(1.0, 0.01 * declared)  # per-device jitter is 0.5-1.5x the type's


def interval(s: Subject) -> Outcome:
    t = sorted(r.measured_at for r in s.trial.readings)
    declared, jitter = s.trial.interval, s.dt.report.jitter
    limit = interval_limit(declared, jitter)
    gaps = [(b - a, a) for a, b in itertools.pairwise(t)]
    late = [
        _ex(f"{gap:.0f} s without a reading (declared {declared:g} s +/- {jitter:g} s)", at)
        for gap, at in gaps
        if gap > limit
    ]
    expected = math.floor(s.trial.duration / (declared + 1.5 * jitter))
    counts = {
        "readings": len(t),
        "declared_s": declared,
        "longest_gap_s": round(max((g for g, _ in gaps), default=0), 1),
    }
    if len(t) < expected:
        late.append(_ex(f"{len(t)} readings in a simulated day; at least {expected} expected"))
    return _result(late, f"reports at least every {declared:g} s (+/- jitter) as declared", "late reports", counts)


def commands(s: Subject) -> Outcome:
    if not s.trial.probes:
        return outcome("na", "the type declares no commands")
    bad = []
    for probe, res, why in s.trial.probes:
        label = f"{probe.action}({probe.why})"
        if res is None:
            bad.append(_ex(f"{label}: {why}"))
        elif res.ok != probe.expect_ok:
            bad.append(_ex(f"{label}: {'accepted' if res.ok else 'rejected: ' + str(res.error_message)}", res.t))
        elif not res.ok and res.error_code not in ("invalid_params", "unknown_action"):
            bad.append(_ex(f"{label}: rejected with {res.error_code}, expected invalid_params/unknown_action", res.t))
        elif res.ok:
            wrong = {k: v for k, v in probe.expect_state.items() if res.state.get(k) != v}
            if wrong:
                bad.append(_ex(f"{label}: acked state {dict(res.state)} does not show {wrong}", res.t))
    n = len(s.trial.probes)
    return _result(
        bad,
        f"{n} commands sent: valid ones acked with the new state, invalid ones rejected",
        "commands not handled as declared",
        {"sent": n},
    )


def seq(s: Subject) -> Outcome:
    rs = s.trial.readings
    values = [r.seq for r in rs]
    bad = [_ex(f"seq {b.seq} after {a.seq}", b.t) for a, b in itertools.pairwise(rs) if b.seq != a.seq + 1]
    return _result(bad, "seq grows by one per reading", "seq breaks", {"readings": len(values)})


def register_map(s: Subject) -> Outcome:
    dt = s.dt
    if not any(getattr(dt.modbus, t) for t in ("input", "holding", "coils", "discrete")):
        return outcome("na", "no Modbus registers mapped beyond the common block")
    layout, problems = build_layout(dt)
    bad = [_ex(".".join(map(str, path)) + f": {message}") for path, message in problems]
    for table, fields in layout.tables.items():
        for f in fields:
            if table in BIT_TABLES or f.enum:
                continue
            spec = dt.signals.get(f.name) if f.source == "signal" else dt.state.get(f.name)
            lo = getattr(spec, "min", None)
            hi = getattr(spec, "max", None)
            w_lo, w_hi = WIRE_RANGE[f.datatype]
            if lo is not None and lo * f.scale < w_lo:
                bad.append(_ex(f"{table} {f.address} {f.name}: min {lo:g} x scale {f.scale:g} below {f.datatype}"))
            if hi is not None and hi * f.scale > w_hi:
                bad.append(_ex(f"{table} {f.address} {f.name}: max {hi:g} x scale {f.scale:g} beyond {f.datatype}"))
            if f.count == 1 and f.word_order != "ABCD":
                bad.append(_ex(f"{table} {f.address} {f.name}: word order {f.word_order} on a one-register value"))
    return _result(
        bad, "registers do not overlap; datatypes hold the declared ranges with their scale", "register map problems"
    )


def senml(s: Subject) -> Outcome:
    bad = [_ex(why, at) for at, why in check_senml(s.dt, s.trial)]
    return _result(bad, "SenML payloads follow RFC 8428's JSON structure", "SenML problems")


def ngsi(s: Subject) -> Outcome:
    bad = [_ex(why, at) for at, why in check_ngsi(s.dt, s.trial)]
    return _result(bad, "NGSI-LD payloads are normalized entities with observedAt and unitCode", "NGSI-LD problems")


def smart_data_model(s: Subject) -> Outcome:
    known = sdm.attributes(s.dt.ngsi_type)
    if known is None:
        return outcome("na", f"no embedded attribute list for {s.dt.ngsi_type}: not checked")
    bad = [
        _ex(f"signals.{n}: '{sig.ngsi or n}' is not an attribute of {s.dt.ngsi_type}")
        for n, sig in s.dt.signals.items()
        if (sig.ngsi or n) not in known
    ]
    return _result(bad, f"every attribute is one of Smart Data Models' {s.dt.ngsi_type}", "attributes off the model")


RULES = (
    ConformRule(
        "SZ-CONF-META",
        "MUST",
        "Description complete",
        "Fill in description, vendors with models, a min "
        "(and max) for every numeric signal and a unit or NGSI-LD attribute.",
        meta,
    ),
    ConformRule(
        "SZ-CONF-UNIT",
        "MUST",
        "Unit codes right for NGSI-LD",
        "Give every signal with a unit the UN/CEFACT code of docs/owners.md's unit table in unit_code.",
        units,
    ),
    ConformRule(
        "SZ-CONF-UNIT-KNOWN",
        "SHOULD",
        "Units known",
        "Use a unit symbol of the table in docs/owners.md "
        "(e.g. kWh, degC, l/s); an unknown one cannot be converted by apps.",
        units_known,
    ),
    ConformRule(
        "SZ-CONF-RANGE",
        "MUST",
        "Readings within declared ranges",
        "Make the behaviour model stay inside "
        "min/max (revert, clamp, smaller noise) or declare the range the device really has.",
        ranges,
    ),
    ConformRule(
        "SZ-CONF-INTERVAL",
        "MUST",
        "Reports as often as declared",
        "Keep report.interval and jitter "
        "to what the device does; on_change signals may add reports, never remove them.",
        interval,
    ),
    ConformRule(
        "SZ-CONF-CMD",
        "MUST",
        "Commands validated and acknowledged",
        "Declare every parameter with its "
        "type and range; a command's set must map parameters to state the device reports.",
        commands,
    ),
    ConformRule("SZ-CONF-SEQ", "MUST", "seq monotonic", "seq must grow by one per reading sent.", seq),
    ConformRule(
        "SZ-CONF-MODBUS",
        "MUST",
        "Register map valid",
        "Pick a datatype and scale whose range holds "
        "min..max x scale; word_order only for 32-bit values; no overlapping addresses.",
        register_map,
    ),
    ConformRule(
        "SZ-CONF-SENML",
        "MUST",
        "SenML rendering valid (RFC 8428)",
        "Signal names must be SenML names (letters, digits, - : . / _) and values numbers, strings or booleans.",
        senml,
    ),
    ConformRule(
        "SZ-CONF-NGSI",
        "MUST",
        "NGSI-LD rendering valid",
        "Give ngsi_type, an ngsi attribute name (camelCase) and unit_code for every signal with a unit.",
        ngsi,
    ),
    ConformRule(
        "SZ-CONF-SDM",
        "SHOULD",
        "Smart Data Models attribute names",
        "Name attributes as the Smart Data Model of ngsi_type does (e.g. phaseVoltage with L1/L2/L3, not voltageL1).",
        smart_data_model,
    ),
)
RULE_IDS = tuple(r.id for r in RULES)
