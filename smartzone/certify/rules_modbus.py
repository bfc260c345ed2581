"""Rules on the app's Modbus TCP requests: polling period, illegal requests, request rate."""

from __future__ import annotations

import itertools
from collections import defaultdict
from statistics import median

from smartzone.certify.records import ModbusRec, Observations
from smartzone.certify.usage import WRITES
from smartzone.certify.verdicts import Context, Example, Outcome, max_in_window, outcome

ILLEGAL = {1: "illegal function", 2: "illegal data address", 3: "illegal data value"}
MIN_POLLS = 3


def change_period(obs: Observations, device: str) -> float:
    """How often the device's data changes: its report interval, or for a type that also
    reports on change, the mean time between its readings in this run if that is shorter."""
    facts = obs.devices[device]
    n = obs.readings.get(device, 0)
    if facts.on_change and n and obs.sim_duration > 0:
        return min(facts.report_interval, obs.sim_duration / n)
    return facts.report_interval


def poll_period(obs: Observations, ctx: Context) -> Outcome:
    groups: dict[tuple[str, int, int, int | None], list[ModbusRec]] = defaultdict(list)
    for m in obs.modbus:
        if m.function not in WRITES and m.device in obs.devices:
            groups[(m.conn, m.unit, m.function, m.address)].append(m)
    judged = {k: v for k, v in groups.items() if len(v) >= MIN_POLLS}
    if not judged:
        return outcome("na", "no repeated Modbus reads", {})
    fast = []
    for recs in judged.values():
        sims = sorted(r.at.sim for r in recs)
        period = median(b - a for a, b in itertools.pairwise(sims))
        interval = change_period(obs, recs[0].device or "")
        if period < ctx.thresholds.min_poll_factor * interval:
            fast.append((recs[0], period, interval))
    counts = {"polled_ranges": len(judged), "too_fast": len(fast)}
    if not fast:
        return outcome("ok", f"{len(judged)} polled ranges, none faster than the data changes", counts)
    ex = [
        Example(
            r.at,
            f"unit {r.unit} ({r.device}) fc {r.function} @{r.address}: every {p:.1f} s simulated, "
            f"data changes every {i:g} s",
        )
        for r, p, i in fast
    ]
    return outcome(
        "bad",
        f"{len(fast)} of {len(judged)} ranges polled faster than "
        f"{ctx.thresholds.min_poll_factor:g} x the device's report interval",
        counts,
        ex,
    )


def illegal_requests(obs: Observations, ctx: Context) -> Outcome:
    if not obs.modbus:
        return outcome("na", "no Modbus request", {})
    bad = [m for m in obs.modbus if m.exception in ILLEGAL]
    counts = {"requests": len(obs.modbus), "illegal": len(bad)}
    for code, name in ILLEGAL.items():
        counts[name.replace(" ", "_")] = sum(1 for m in bad if m.exception == code)
    if not bad:
        return outcome("ok", f"{len(obs.modbus)} Modbus requests, none illegal", counts)
    ex = [
        Example(
            m.at,
            f"{m.gateway} unit {m.unit} fc {m.function} {m.table or '?'} @{m.address} x{m.count}: "
            f"exception {m.exception} ({ILLEGAL[m.exception or 0]})",
        )
        for m in bad
    ]
    status = "bad" if len(bad) > ctx.thresholds.max_illegal_modbus else "minor"
    return outcome(status, f"{len(bad)} illegal Modbus requests of {len(obs.modbus)}", counts, ex)


def request_rate(obs: Observations, ctx: Context) -> Outcome:
    if not obs.modbus:
        return outcome("na", "no Modbus request", {})
    by_conn: dict[str, list[ModbusRec]] = defaultdict(list)
    for m in obs.modbus:
        by_conn[m.conn].append(m)
    peaks = {c: max_in_window([m.at.wall for m in recs], 1.0) for c, recs in by_conn.items()}
    worst = max(peaks, key=lambda c: peaks[c][0])
    counts = {"requests": len(obs.modbus), "connections": len(by_conn), "peak_per_second": peaks[worst][0]}
    if peaks[worst][0] <= ctx.thresholds.max_modbus_rate:
        return outcome("ok", f"at most {peaks[worst][0]} requests per second on a connection", counts)
    first = next(m for m in by_conn[worst] if m.at.wall >= peaks[worst][1])
    return outcome(
        "bad",
        f"{peaks[worst][0]} requests within one second on {worst} (limit {ctx.thresholds.max_modbus_rate:g})",
        counts,
        [Example(first.at, f"fc {first.function} unit {first.unit} @{first.address}")],
    )
