"""Rules on the app's MQTT connections: API version, subscriptions, connects, grants, QoS, rate."""

from __future__ import annotations

import itertools

from smartzone.certify.accounting import kind_of
from smartzone.certify.records import Observations, Stamp
from smartzone.certify.usage import breadth, cmd_device, subscribed_devices, used_devices
from smartzone.certify.verdicts import Context, Example, Outcome, max_in_window, outcome
from smartzone.endpoints.mqtt.topics import V1_ROOT

SCOPE = {"global": "every city on the broker", "city": "the whole city", "tenant": "a whole tenant", "narrow": "narrow"}


def deprecated_v1(obs: Observations, ctx: Context) -> Outcome:
    v1_subs = [s for s in obs.subscribes if s.filter.startswith(V1_ROOT + "/")]
    pubs = [p for p in obs.publishes if p.topic.startswith(V1_ROOT + "/")]
    n = len(v1_subs) + len(pubs) + obs.delivered_v1
    counts = {"v1_subscriptions": len(v1_subs), "v1_publishes": len(pubs), "v1_messages_received": obs.delivered_v1}
    if not n:
        return outcome("ok", "no use of the deprecated v1 topics (icity/...)", counts)
    ex = [Example(s.at, f"SUBSCRIBE {s.filter}") for s in v1_subs] + [Example(p.at, f"PUBLISH {p.topic}") for p in pubs]
    return outcome("bad", f"the app uses the deprecated v1 API ({n} subscriptions, publishes or messages)", counts, ex)


def global_wildcards(obs: Observations, ctx: Context) -> Outcome:
    wide = [s for s in obs.subscribes if breadth(obs, s.filter) in ("global", "city")]
    counts = {"subscriptions": len(obs.subscribes), "global_or_city_wide": len(wide)}
    if not wide:
        return outcome("ok", "no subscription takes in the whole broker or the whole city", counts)
    ex = [
        Example(s.at, f"SUBSCRIBE {s.filter} ({SCOPE[breadth(obs, s.filter)]}{', refused' if not s.allowed else ''})")
        for s in wide
    ]
    return outcome("bad", f"{len(wide)} subscriptions to '#' or a whole city", counts, ex)


def broad_for_use(obs: Observations, ctx: Context) -> Outcome:
    used = used_devices(obs, ctx.uses)
    allowed = [s for s in obs.subscribes if s.allowed]
    if not allowed:
        return outcome("na", "the app subscribed to nothing", {})
    matched = subscribed_devices(obs, [s.filter for s in allowed])
    limit = max(ctx.thresholds.max_devices_for_broad, 3 * len(used))
    counts = {"devices_subscribed": len(matched), "devices_used": len(used), "limit": limit}
    if not used:
        return outcome(
            "na",
            f"subscribed to {len(matched)} devices; which ones it uses is unknown "
            "(it commanded and polled none: declare app.uses in the profile)",
            counts,
        )
    if len(matched) <= limit:
        return outcome("ok", f"subscribed to {len(matched)} devices, uses {len(used)}", counts)
    broad = [s for s in allowed if len(subscribed_devices(obs, [s.filter])) > ctx.thresholds.max_devices_for_broad]
    ex = [Example(s.at, f"SUBSCRIBE {s.filter} ({len(subscribed_devices(obs, [s.filter]))} devices)") for s in broad]
    return outcome(
        "bad", f"subscribed to {len(matched)} devices but uses {len(used)} ({', '.join(sorted(used)[:5])})", counts, ex
    )


def traffic(obs: Observations, ctx: Context) -> Outcome:
    used = used_devices(obs, ctx.uses)
    total = obs.total_delivered
    useful = sum(n for dev, n in obs.deliveries.items() if dev in used)
    counts: dict[str, float] = {"messages_delivered": total, "messages_about_used_devices": useful}
    counts["devices_used"] = len(used)
    if not used or not total:
        return outcome("na", "nothing delivered, or the devices the app uses are unknown (declare app.uses)", counts)
    ratio = total / max(1, useful)
    counts["ratio"] = round(ratio, 1)
    if ratio <= ctx.thresholds.max_traffic_ratio:
        return outcome("ok", f"{total} messages delivered, {useful} about the {len(used)} devices used", counts)
    return outcome(
        "bad",
        f"{total} messages delivered for {useful} about the devices used ({ratio:.0f}x more than it consumes)",
        counts,
    )


def _outside(ctx: Context, at: Stamp) -> bool:
    if ctx.outage is None:
        return True
    start, end = ctx.outage
    return not start <= at.wall <= end


def reconnect_storm(obs: Observations, ctx: Context) -> Outcome:
    th = ctx.thresholds
    attempts = [c for c in obs.connects if c.refused != "outage" and _outside(ctx, c.at)]
    if not attempts:
        return outcome("na", "the app never connected to the broker", {})
    peak, start = max_in_window([c.at.wall for c in attempts], 60.0)
    quick = [b for a, b in itertools.pairwise(attempts) if b.at.wall - a.at.wall < th.min_reconnect_gap]
    counts = {
        "connects": len(attempts),
        "peak_per_minute": peak,
        "quick_reconnects": len(quick),
        "client_ids": len({c.client_id for c in attempts}),
    }
    if peak <= th.max_connects_per_minute and len(quick) <= 2:
        return outcome("ok", f"{len(attempts)} connects, at most {peak} in a minute", counts)
    ex = [
        Example(c.at, f"CONNECT client id {c.client_id!r}" + (f" refused: {c.refused}" if c.refused else ""))
        for c in (quick or attempts)
    ]
    return outcome(
        "bad",
        f"{peak} connects within a minute from {start:.1f} s (limit {th.max_connects_per_minute:g}); "
        f"{len(quick)} reconnects less than {th.min_reconnect_gap:g} s apart",
        counts,
        ex,
    )


def reconnects_after_restart(obs: Observations, ctx: Context) -> Outcome:
    probe = next((p for p in obs.probes if p.name == "broker_restart"), None)
    if probe is None or not probe.targets:  # targets: the app connections it dropped
        return outcome("na", "no broker restart while the app was connected", {})
    back = [c for c in obs.connects if c.refused is None and c.at.wall >= probe.end.wall]
    counts: dict[str, float] = {"reconnected": len(back)}
    if back and back[0].at.wall - probe.end.wall <= ctx.thresholds.reconnect_within:
        delay = back[0].at.wall - probe.end.wall
        counts["seconds_after_broker_back"] = round(delay, 2)
        return outcome(
            "ok", f"reconnected {delay:.1f} s after the broker came back", counts, [Example(back[0].at, "CONNECT")]
        )
    return outcome(
        "bad",
        f"did not reconnect within {ctx.thresholds.reconnect_within:g} s after the broker restart",
        counts,
        [Example(probe.end, "broker back")],
    )


def backoff(obs: Observations, ctx: Context) -> Outcome:
    if ctx.outage is None:
        return outcome("na", "no broker outage in this run", {})
    start, end = ctx.outage
    during = [c for c in obs.connects if start <= c.at.wall <= end]
    counts = {"attempts_during_outage": len(during), "outage_seconds": round(end - start, 2)}
    if len(during) <= ctx.thresholds.max_attempts_during_outage:
        return outcome("ok", f"{len(during)} connect attempts during a {end - start:.1f} s outage", counts)
    return outcome(
        "bad",
        f"{len(during)} connect attempts during a {end - start:.1f} s outage "
        f"(limit {ctx.thresholds.max_attempts_during_outage})",
        counts,
        [Example(c.at, f"CONNECT {c.client_id!r} refused") for c in during],
    )


def outside_grants(obs: Observations, ctx: Context) -> Outcome:
    subs = [s for s in obs.subscribes if not s.allowed]
    pubs = [p for p in obs.publishes if not p.allowed]
    conns = [c for c in obs.connects if c.refused not in (None, "outage")]
    # a cmd naming a tenant the app may command but a device of another tenant: the bridge refuses it
    other = [p for p in obs.publishes if p.allowed and cmd_device(obs, p.topic) and kind_of(obs, p) == "forbidden"]
    n = len(subs) + len(pubs) + len(conns) + len(other)
    counts = {
        "denied_subscribes": len(subs),
        "denied_publishes": len(pubs),
        "refused_connects": len(conns),
        "commands_to_other_tenants": len(other),
    }
    counts |= {f"broker_counted_{k.split(':', 1)[1]}": n for k, n in obs.broker_denied.items()}
    if n == 0:
        return outcome("ok", "every connect, subscribe and publish was within the app's grants", counts)
    ex = (
        [Example(c.at, f"CONNECT as {c.user!r} id {c.client_id!r}: {c.refused}") for c in conns]
        + [Example(s.at, f"SUBSCRIBE {s.filter}") for s in subs]
        + [Example(p.at, f"PUBLISH {p.topic}") for p in pubs]
        + [Example(p.at, f"PUBLISH {p.topic}: the device belongs to another tenant") for p in other]
    )
    status = "bad" if n > ctx.thresholds.max_denied else "minor"
    return outcome(status, f"{n} attempts outside the app's grants", counts, ex)


def qos_misuse(obs: Observations, ctx: Context) -> Outcome:
    subs = [s for s in obs.subscribes if s.qos == 2]
    pubs = [p for p in obs.publishes if p.qos == 2]
    counts = {"qos2_subscriptions": len(subs), "qos2_publishes": len(pubs)}
    if not obs.subscribes and not obs.publishes:
        return outcome("na", "no subscribe or publish", counts)
    if not subs and not pubs:
        return outcome("ok", "QoS 0/1 only", counts)
    ex = [Example(s.at, f"SUBSCRIBE {s.filter} QoS 2") for s in subs] + [
        Example(p.at, f"PUBLISH {p.topic} QoS 2") for p in pubs
    ]
    return outcome("bad", f"QoS 2 on {len(subs)} subscriptions and {len(pubs)} publishes", counts, ex)


def publish_rate(obs: Observations, ctx: Context) -> Outcome:
    if not obs.publishes:
        return outcome("na", "the app published nothing", {})
    peak, start = max_in_window([p.at.wall for p in obs.publishes], 1.0)
    counts = {"publishes": len(obs.publishes), "peak_per_second": peak}
    if peak <= ctx.thresholds.max_publish_rate:
        return outcome("ok", f"{len(obs.publishes)} publishes, at most {peak} in a second", counts)
    first = next(p for p in obs.publishes if p.at.wall >= start)
    return outcome(
        "bad",
        f"{peak} publishes within one second at {start:.1f} s (limit {ctx.thresholds.max_publish_rate:g})",
        counts,
        [Example(first.at, f"PUBLISH {first.topic}")],
    )
