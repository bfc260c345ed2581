"""SZ-COST-01: the platform cost the app causes, against the profile's budget.

The city's requirement "no invocation of a CPU/memory expensive API call" in measurable
terms: what the broker fans out to the app (messages and payload bytes per simulated
second, charged to the filters that matched them), the retained documents its SUBSCRIBEs
fetch (per SUBSCRIBE of a filter, and in any wall minute: resubscribe loops), how many wide
filters it holds, and the Modbus registers it reads per wall second. The evidence names the
costliest filters and Modbus requests with their measured cost.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from smartzone.certify.records import FilterCost, ModbusRec, Observations, Stamp
from smartzone.certify.usage import WRITES, breadth
from smartzone.certify.verdicts import Context, Example, Outcome, outcome

MODBUS_WINDOW_S = 10
WIDE = ("tenant", "city", "global")


def is_wide(obs: Observations, flt: str) -> bool:
    """A wildcard filter that takes in a whole tenant, one type of a tenant, or more (one
    document such as a tenant's catalog is not wide)."""
    return ("+" in flt.split("/") or "#" in flt.split("/")) and breadth(obs, flt) in WIDE


def peak_sum(buckets: Counter[int], window: int) -> int:
    """Largest sum of `buckets` (second -> amount) over any `window` consecutive seconds."""
    if not buckets:
        return 0
    return max(sum(buckets.get(s, 0) for s in range(start, start + window)) for start in buckets)


def _modbus_reads(obs: Observations) -> tuple[float, list[tuple[float, ModbusRec, int]]]:
    """Peak registers read per wall second (any MODBUS_WINDOW_S window) and the requests that
    read the most: (registers per second over the run, a sample request, requests)."""
    reads = [m for m in obs.modbus if m.function not in WRITES and m.count]
    buckets: Counter[int] = Counter()
    groups: dict[tuple[str, int, int, int | None, int | None], list[ModbusRec]] = defaultdict(list)
    for m in reads:
        buckets[int(m.at.wall)] += m.count or 0
        groups[(m.gateway, m.unit, m.function, m.address, m.count)].append(m)
    span = min(MODBUS_WINDOW_S, max(1.0, obs.wall_duration))
    peak = peak_sum(buckets, MODBUS_WINDOW_S) / span
    wall = max(1.0, obs.wall_duration)
    top = sorted(((len(g) * (g[0].count or 0) / wall, g[0], len(g)) for g in groups.values()), key=lambda t: -t[0])
    return peak, top


def _filter_text(obs: Observations, c: FilterCost) -> str:
    sim = max(1.0, obs.sim_duration)
    per_sub = c.retained / max(1, c.subscribes)
    return (
        f"SUBSCRIBE {c.filter} ({breadth(obs, c.filter)}): {c.messages} messages ({c.messages / sim:.2f}/s simulated), "
        f"{c.bytes / 1000:.1f} kB, {c.retained} retained documents on {c.subscribes} subscribes ({per_sub:.0f} each)"
    )


def platform_cost(obs: Observations, ctx: Context) -> Outcome:
    b = ctx.budget
    costs = sorted(obs.filter_costs.values(), key=lambda c: (-c.bytes, -c.messages, c.filter))
    if not costs and not obs.modbus and not obs.total_delivered:
        return outcome("na", "the app subscribed to nothing and made no Modbus request", {})
    sim = max(1.0, obs.sim_duration)
    msg_rate = obs.total_delivered / sim
    byte_rate = obs.delivered_bytes / sim
    per_subscribe = max((c.retained / max(1, c.subscribes) for c in costs), default=0.0)
    per_minute = peak_sum(obs.retained_by_second, 60)
    wide = sorted({s.filter for s in obs.subscribes if s.allowed and is_wide(obs, s.filter)})
    registers, top_reads = _modbus_reads(obs)
    measured = {
        "messages_per_second": round(msg_rate, 3),
        "bytes_per_second": round(byte_rate, 1),
        "retained_per_subscribe": round(per_subscribe, 1),
        "retained_per_minute": per_minute,
        "wide_subscriptions": len(wide),
        "modbus_registers_per_second": round(registers, 1),
    }
    over = [k for k, v in measured.items() if v > getattr(b, k)]
    counts = {**measured, "messages_delivered": obs.total_delivered, "bytes_delivered": obs.delivered_bytes}
    ex = [Example(c.first, _filter_text(obs, c)) for c in costs[:3] if c.messages or c.retained]
    ex += [
        Example(
            m.at,
            f"Modbus {m.gateway} unit {m.unit} fc {m.function} @{m.address} x{m.count}: {n} requests, "
            f"{rate:.1f} registers/s",
        )
        for rate, m, n in top_reads[:2]
    ]
    if "wide_subscriptions" in over:
        first = {s.filter: s.at for s in reversed(obs.subscribes)}
        ex.insert(0, Example(first.get(wide[0], Stamp(0.0, 0.0)), f"wide filters: {', '.join(wide[:6])}"))
    if not over:
        return outcome(
            "ok",
            f"{msg_rate:.2f} messages and {byte_rate / 1000:.1f} kB per simulated second, at most "
            f"{per_subscribe:.0f} retained documents per subscribe, {registers:.1f} Modbus registers per second: "
            "within budget",
            counts,
            ex,
        )
    detail = "; ".join(f"{k.replace('_', ' ')} {measured[k]:g} > {getattr(b, k):g}" for k in over)
    return outcome("bad", f"over the platform budget: {detail}", counts, ex)
