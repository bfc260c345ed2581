"""The conformance rules judged on a bridged real device: what it really sent through its mapping.

Same rule ids, levels and verdicts as for a device-type file (rules.py). META and UNIT judge the
type (and UNIT also the mapping's unit conversions), RANGE, INTERVAL, SEQ, SENML and NGSI the
readings received, CMD the one command sent (`--command`). Rules about the type file alone
(UNIT-KNOWN, MODBUS, SDM) are "not applicable": `smartzone conform TYPE-FILE` judges them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from smartzone.certify.verdicts import Outcome, Verdict, judge, outcome
from smartzone.conform.live import Observation
from smartzone.conform.rules import (
    RULES,
    Subject,
    _ex,
    _out_of_range,
    _result,
    interval,
    interval_limit,
    meta,
    ngsi,
    senml,
    seq,
    units,
)
from smartzone.conform.rules import commands as command_rule
from smartzone.definitions.device_type import DeviceType

TYPE_FILE_ONLY = "a property of the device-type file alone: `smartzone conform TYPE-FILE` judges it"
UNREACHED_GUIDANCE = (
    "The device was not reached: check that it is on and reachable from this machine, and its address in "
    "the scenario (modbus host, port and unit; or the MQTT broker, topic and credentials)."
)
LIVE_GUIDANCE = {
    "SZ-CONF-RANGE": "Fix the device's values or the mapping (path, scale, offset, map) so that they land within "
    "the type's min/max and datatypes; or declare the range the device really has.",
    "SZ-CONF-INTERVAL": "Make the device report (or answer polls) as often as the type declares (report.interval, "
    "or the scenario's modbus.poll), within its jitter.",
    "SZ-CONF-CMD": "A `timeout`: the device never answered (MQTT: check its command and answer topics and the "
    "mapping's ack; Modbus: its timeout). A `device_error`: it refused (Modbus exception, ack not ok): "
    "check the mapping's command (register, value expression) against the device's manual.",
}


def units_live(s: Subject, obs: Observation) -> Outcome:
    """The type's unit codes, and mapping entries that receive another unit without converting it."""
    base = units(s)
    bad = list(base.examples) if base.status != "ok" else []
    for name, f in obs.spec.mapping.signals.items():
        sig = s.dt.signals.get(name)
        if sig is None or f.unit is None or not sig.unit or f.map is not None:
            continue
        converts = f.scale != 1.0 or f.offset != 0.0
        if f.unit != sig.unit and not converts:
            bad.append(_ex(f"mapping.signals.{name}: the device sends {f.unit}, the type wants {sig.unit}: no scale"))
        if f.unit == sig.unit and converts:
            bad.append(_ex(f"mapping.signals.{name}: already in {sig.unit}, yet scaled/offset"))
    return _result(bad, "unit codes right; the mapping converts every vendor unit to the type's", "unit problems")


def ranges_live(s: Subject, obs: Observation) -> Outcome:
    bad, checked = [], 0
    for r in s.trial.readings:
        for name, value in r.values.items():
            checked += 1
            why = _out_of_range(s.dt, name, value)
            if why is not None:
                bad.append(_ex(why, r.t))
    counts = {"readings": len(s.trial.readings), "values": checked, "not_understood": obs.not_understood}
    if not obs.reached:
        return outcome("bad", _unreached(obs), counts, [_ex(obs.unreachable or "no reading arrived")])
    if obs.not_understood:
        last = f" (last: {obs.last_error})" if obs.last_error else ""
        bad.append(_ex(f"{obs.not_understood} messages the mapping could not read{last}"))
    missing = sorted(set(obs.spec.mapping.signals) - {n for r in s.trial.readings for n in r.values})
    bad += [_ex(f"{name} (mapped) never reported in {s.trial.duration:g} s") for name in missing]
    ok = f"{checked} values received in {s.trial.duration:g} s, all within their declared ranges and datatypes"
    return _result(bad, ok, "values outside their declared ranges or datatypes", counts)


def _unreached(obs: Observation) -> str:
    return f"no reading from {obs.spec.id} in {obs.trial.duration:g} s: the device was not reached"


def _needs_readings(check: Callable[[Subject], Outcome], obs: Observation) -> Callable[[Subject], Outcome]:
    def run(s: Subject) -> Outcome:
        return check(s) if obs.reached else outcome("na", "no reading to judge (see SZ-CONF-RANGE)")

    return run


def interval_live(s: Subject, obs: Observation) -> Outcome:
    """The gaps between readings, and the silence after the last one until the observation ended."""
    if not obs.reached:
        return outcome("bad", _unreached(obs))
    out = interval(s)
    last = max(r.measured_at for r in s.trial.readings)
    silence = obs.ended_at - last
    if silence <= interval_limit(s.trial.interval, s.dt.report.jitter):
        return out
    went = _ex(f"{silence:.0f} s without a reading at the end of the observation: the device went silent", last)
    return outcome("bad", "the device stopped reporting", out.counts, [went, *out.examples])


def commands_live(s: Subject, obs: Observation) -> Outcome:
    declared = ", ".join(s.dt.commands)
    if not s.dt.commands:
        return outcome("na", "the type declares no commands")
    if obs.command is None:
        return outcome("na", f"declared: {declared}; none sent (--command ACTION --params JSON sends one)")
    if not s.trial.probes:
        return outcome("bad", f"{obs.command[0]} not sent: the device never answered", {"sent": 0})
    probe, res, _why = s.trial.probes[0]
    out = command_rule(s)
    if res is not None and not res.ok:
        code = res.error_code or "error"
        return outcome("bad", f"{probe.action} answered {code}", out.counts, out.examples)
    return out


def judge_device(dt: DeviceType, file: str, obs: Observation) -> list[Verdict]:
    """Every rule's verdict on what the bridged device sent while it was observed."""
    s = Subject(dt, file, obs.trial)
    checks: dict[str, Callable[[Subject], Outcome]] = {
        "SZ-CONF-META": meta,
        "SZ-CONF-UNIT": lambda s: units_live(s, obs),
        "SZ-CONF-RANGE": lambda s: ranges_live(s, obs),
        "SZ-CONF-INTERVAL": lambda s: interval_live(s, obs),
        "SZ-CONF-CMD": lambda s: commands_live(s, obs),
        "SZ-CONF-SEQ": _needs_readings(seq, obs),
        "SZ-CONF-SENML": _needs_readings(senml, obs),
        "SZ-CONF-NGSI": _needs_readings(ngsi, obs),
    }
    out = []
    for rule in RULES:
        check = checks.get(rule.id, lambda _s: outcome("na", TYPE_FILE_ONLY))
        verdict = judge(rule, rule.level, check(s))
        guidance = UNREACHED_GUIDANCE if not obs.reached and rule.id in ("SZ-CONF-RANGE", "SZ-CONF-INTERVAL") else None
        guidance = guidance or LIVE_GUIDANCE.get(rule.id)
        out.append(replace(verdict, guidance=guidance) if guidance else verdict)
    return out
