"""Rules on the app as a whole: it keeps running, it uses the city, it keeps calm on bad days,
and the profile's own expectations ("when X happens, the app publishes to T within S")."""

from __future__ import annotations

from smartzone.certify.profile import Expectation
from smartzone.certify.records import Observations, Stamp
from smartzone.certify.usage import WRITES
from smartzone.certify.verdicts import Context, Example, Outcome, outcome
from smartzone.endpoints.mqtt.broker.policy import topic_matches

RATE_FLOOR = 0.5  # actions per wall second below which a probe-time rate is never a flood


def stays_up(obs: Observations, ctx: Context) -> Outcome:
    if obs.app_exit is None:
        return outcome("ok", "the app ran until certification stopped it", {})
    at = obs.app_exit_at
    tail = obs.app_output.strip().splitlines()[-1:] or ["(no output)"]
    ex = [Example(at, f"exit code {obs.app_exit}: {tail[0][:200]}")] if at else []
    probe = next((p for p in obs.probes if at and p.start.wall <= at.wall <= p.end.wall + 1.0), None)
    during = f" during the '{probe.name}' probe" if probe else ""
    return outcome(
        "bad", f"the app exited with code {obs.app_exit}{during} before the end", {"exit_code": obs.app_exit}, ex
    )


def uses_city(obs: Observations, ctx: Context) -> Outcome:
    admitted = sum(1 for c in obs.connects if c.refused is None)
    counts = {"connections": admitted, "modbus_requests": len(obs.modbus), "subscriptions": len(obs.subscribes)}
    if admitted or obs.modbus:
        return outcome("ok", f"{admitted} MQTT connections, {len(obs.modbus)} Modbus requests", counts)
    return outcome("bad", "the app never connected to the broker or a gateway: nothing was certified", counts)


def _actions(obs: Observations) -> list[float]:
    # connects are judged by SZ-CONN-01/03 (the broker-restart probe makes every app reconnect)
    return [p.at.wall for p in obs.publishes] + [m.at.wall for m in obs.modbus if m.function in WRITES]


def calm_on_bad_days(obs: Observations, ctx: Context) -> Outcome:
    """Publishes and Modbus writes per second inside each probe vs. outside all probes."""
    probes = [p for p in obs.probes if p.end.wall > p.start.wall]
    if not probes:
        return outcome("na", "no probe ran", {})
    times = _actions(obs)
    inside_total = sum(p.end.wall - p.start.wall for p in probes)
    outside_time = max(1e-6, obs.wall_duration - inside_total)
    outside = [t for t in times if not any(p.start.wall <= t <= p.end.wall for p in probes)]
    base = max(RATE_FLOOR, len(outside) / outside_time)
    counts: dict[str, float] = {"baseline_per_second": round(len(outside) / outside_time, 2)}
    worst: list[Example] = []
    for p in probes:
        n = sum(1 for t in times if p.start.wall <= t <= p.end.wall)
        rate = n / (p.end.wall - p.start.wall)
        counts[f"{p.name}_per_second"] = round(rate, 2)
        if rate > ctx.thresholds.max_probe_rate_factor * base:
            worst.append(
                Example(p.start, f"{p.name}: {rate:.1f} actions/s vs {base:.1f}/s outside probes ({p.detail})")
            )
    if not worst:
        return outcome("ok", f"no burst of activity during {len(probes)} probes", counts)
    return outcome(
        "bad",
        f"the app bursts during {len(worst)} probes (more than "
        f"{ctx.thresholds.max_probe_rate_factor:g}x its usual rate)",
        counts,
        worst,
    )


def _matches(value: object, expected: object) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return value is expected or str(value).lower() == str(expected).lower()
    if isinstance(expected, int | float) and isinstance(value, int | float):
        return abs(float(value) - float(expected)) < 1e-9
    return str(value) == str(expected)


def _triggers(exp: Expectation, obs: Observations) -> list[Stamp]:
    when = exp.when
    if when.status is not None:
        return [s.at for s in obs.statuses if s.device == when.device and s.online == (when.status == "online")]
    triggers = []
    previous: object = None
    for v in obs.values:
        if v.device != when.device or when.signal not in v.values:
            continue
        value = v.values[when.signal]
        if _matches(value, when.equals) and previous is not None and not _matches(previous, when.equals):
            triggers.append(v.at)  # the first value is the starting state, not an event
        previous = value
    return triggers


def expectation(exp: Expectation, obs: Observations) -> Outcome:
    """Every time `when` becomes true, a publish matching `then.publish` within `then.within` wall seconds."""
    triggers = _triggers(exp, obs)
    counts: dict[str, float] = {"triggers": len(triggers)}
    if not triggers:
        return outcome("na", f"never happened in this run: {exp.when.describe()}", counts)
    missed = []
    delays = []
    for at in triggers:
        hit = next(
            (
                p
                for p in obs.publishes
                if at.wall <= p.at.wall <= at.wall + exp.then.within and topic_matches(exp.then.publish, p.topic)
            ),
            None,
        )
        if hit is None:
            missed.append(
                Example(
                    at,
                    f"{exp.when.describe()}: no publish to {exp.then.publish} within {exp.then.within:g} s",
                )
            )
        else:
            delays.append(hit.at.wall - at.wall)
    counts["met"] = len(delays)
    if delays:
        counts["max_delay_s"] = round(max(delays), 3)
    if not missed:
        return outcome("ok", f"met {len(delays)} times (slowest {max(delays):.3f} s)", counts)
    return outcome("bad", f"missed {len(missed)} of {len(triggers)} times", counts, missed)
