"""Rules on the app's commands (MQTT cmd and Modbus writes): floods, retained, invalid, offline."""

from __future__ import annotations

from collections import Counter, defaultdict

from smartzone.certify.accounting import INVALID_KINDS, judge_command
from smartzone.certify.records import Observations, PublishRec
from smartzone.certify.usage import WRITES, cmd_device
from smartzone.certify.verdicts import Context, Example, Outcome, max_in_window, outcome


def _cmds(obs: Observations) -> list[tuple[str, PublishRec]]:
    out = []
    for p in obs.publishes:
        dev = cmd_device(obs, p.topic)
        if dev is not None and p.size:
            out.append((dev, p))
    return out


def command_flood(obs: Observations, ctx: Context) -> Outcome:
    per_device: dict[str, list[float]] = defaultdict(list)
    for dev, p in _cmds(obs):
        per_device[dev].append(p.at.wall)
    for m in obs.modbus:
        if m.function in WRITES and m.device:
            per_device[m.device].append(m.at.wall)
    if not per_device:
        return outcome("na", "the app sent no command", {})
    limit = ctx.thresholds.max_commands_per_device_per_minute
    peaks = {dev: max_in_window(times, 60.0) for dev, times in per_device.items()}
    worst = max(peaks, key=lambda d: peaks[d][0])
    counts = {
        "commands": sum(len(t) for t in per_device.values()),
        "devices": len(per_device),
        "peak_per_device_minute": peaks[worst][0],
    }
    if peaks[worst][0] <= limit:
        return outcome(
            "ok",
            f"{counts['commands']} commands to {len(per_device)} devices, at most "
            f"{peaks[worst][0]} per device in a minute",
            counts,
        )
    flooded = [d for d, (n, _) in peaks.items() if n > limit]
    ex = [
        Example(p.at, f"cmd to {d}: {p.payload[:80].decode('utf-8', 'replace')}") for d, p in _cmds(obs) if d == worst
    ][:3]
    return outcome(
        "bad",
        f"{len(flooded)} devices got more than {limit:g} commands in a minute ({worst}: {peaks[worst][0]})",
        counts,
        ex,
    )


def retained_commands(obs: Observations, ctx: Context) -> Outcome:
    cmds = _cmds(obs)
    retained = [(d, p) for d, p in cmds if p.retain]
    counts = {"commands": len(cmds), "retained": len(retained)}
    if not cmds:
        return outcome("na", "the app sent no MQTT command", counts)
    if not retained:
        return outcome("ok", "no retained command", counts)
    return outcome(
        "bad",
        f"{len(retained)} commands published with the retain flag",
        counts,
        [Example(p.at, f"PUBLISH retain=1 {p.topic}") for _, p in retained],
    )


def invalid_commands(obs: Observations, ctx: Context) -> Outcome:
    """Every allowed MQTT cmd publish judged from its payload (accounting.py), once each, plus
    the engine's refusals of commands that came another way (Modbus writes) or that the
    payload check could not judge (no device type known)."""
    bad: list[Example] = []
    judged: set[tuple[str, str | None]] = set()
    per_code: Counter[str] = Counter({k: 0 for k in INVALID_KINDS})
    total = 0
    for dev, p in _cmds(obs):
        if not p.allowed:
            continue  # the broker dropped it: SZ-ACL-01
        total += 1
        kind, why, cid = judge_command(obs, p)
        if kind != "command" or obs.devices.get(dev, None) is None or obs.devices[dev].type in obs.types:
            judged.add((dev, cid))  # decided here; the engine's answer to it must not count again
        if kind in INVALID_KINDS:
            per_code[kind] += 1
            bad.append(Example(p.at, f"{kind} cmd to {dev}: {why}"))
    for c in obs.commands:
        if c.source == "modbus":
            total += 1
        if not c.ok and c.code in INVALID_KINDS and (c.source == "modbus" or (c.device, c.command_id) not in judged):
            judged.add((c.device, c.command_id))
            per_code[c.code] += 1
            bad.append(Example(c.at, f"{c.code}: {c.action} on {c.device} (id {c.command_id}, via {c.source})"))
    counts: dict[str, float] = {"commands": total, "invalid": len(bad), **per_code}
    if not total:
        return outcome("na", "the app sent no command", counts)
    if not bad:
        return outcome("ok", f"all {total} commands were well formed and valid", counts)
    status = "bad" if len(bad) > ctx.thresholds.max_invalid_commands else "minor"
    detail = ", ".join(f"{n} {k}" for k, n in per_code.items() if n)
    return outcome(
        status,
        f"{len(bad)} malformed or invalid commands of {total} ({detail})",
        counts,
        sorted(bad, key=lambda e: e.at.wall),
    )


def _offline_windows(obs: Observations) -> list[tuple[str, float, float]]:
    """(device, from, to) wall windows in which a device was offline (its status said so, or a
    command was answered device_offline), up to its next status online."""
    starts: list[tuple[str, float]] = [(s.device, s.at.wall) for s in obs.statuses if not s.online]
    starts += [(a.device, a.at.wall) for a in obs.acks if a.code == "device_offline"]
    starts += [(c.device, c.at.wall) for c in obs.commands if c.code == "device_offline"]
    back_at: dict[str, list[float]] = defaultdict(list)
    for s in obs.statuses:
        if s.online:
            back_at[s.device].append(s.at.wall)
    windows: list[tuple[str, float, float]] = []
    for dev, since in sorted(starts, key=lambda x: x[1]):
        if any(d == dev and a <= since < b for d, a, b in windows):
            continue
        back = min((t for t in back_at[dev] if t > since), default=float("inf"))
        windows.append((dev, since, back))
    return windows


def offline_repeats(obs: Observations, ctx: Context) -> Outcome:
    """Commands to a device while it is offline, beyond the tolerated retries per offline spell."""
    sends: dict[str, list[tuple[float, Example]]] = defaultdict(list)
    for dev, p in _cmds(obs):
        sends[dev].append((p.at.wall, Example(p.at, f"cmd to offline {dev}")))
    for m in obs.modbus:
        if m.function in WRITES and m.device:
            sends[m.device].append((m.at.wall, Example(m.at, f"Modbus write to offline {m.device} (unit {m.unit})")))
    limit = ctx.thresholds.max_offline_retries
    sent = 0
    repeats: list[Example] = []
    for dev, since, back in _offline_windows(obs):
        during = [ex for t, ex in sends[dev] if since <= t < back]
        sent += len(during)
        repeats += during[limit:]
    if not sent:
        return outcome("na", "the app sent no command to an offline device", {})
    counts = {"commands_to_offline_devices": sent, "beyond_retries": len(repeats)}
    if not repeats:
        return outcome("ok", f"{sent} commands to offline devices, within {limit} retries per offline spell", counts)
    repeats.sort(key=lambda e: e.at.wall)
    summary = f"{sent} commands to devices while offline ({len(repeats)} beyond {limit} retries per offline spell)"
    return outcome("bad", summary, counts, repeats)
