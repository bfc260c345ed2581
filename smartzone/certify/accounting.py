"""Every publish of the app, accounted for exactly once: what it was and what became of it.

The report lists each observed PUBLISH in exactly one kind (and, grouped by connection,
topic, kind, QoS and retain flag, in exactly one row), so the totals add up to what the app
sent. Commands are judged here the way the city judges them (the bridge's checks, then the
device type's actions and parameter ranges through core.commands.resolve), from the payload
itself: a command counts whether or not the engine ever saw it (a retained one, one to a
device type that lacks the action, one that raced the end of the run).

Kinds, in the order they are decided:
- `denied`: outside the user's grants (the broker dropped it; SZ-ACL-01);
- `not_command`: an allowed topic that is not `sz/v2/{city}/{tenant}/{type}/{device}/cmd`;
- `cleared`: an empty cmd payload (clears a retained command; nothing is executed);
- `malformed`: not a JSON command object, or no such device of that type (bridge: malformed);
- `forbidden`: the device belongs to another tenant than the topic names (bridge: forbidden);
- `unknown_action`: the device type has no such action (e.g. `dim` to a parking spot);
- `invalid_params`: an unknown, missing or out-of-range parameter;
- `command`: a valid command (the device may still be offline: SZ-CMD-04).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from smartzone.certify.records import Observations, PublishRec
from smartzone.certify.usage import cmd_device
from smartzone.core.commands import CommandRejected, resolve
from smartzone.endpoints.mqtt.commands import BadCommand, parse_command

KINDS = (
    "command",
    "malformed",
    "unknown_action",
    "invalid_params",
    "forbidden",
    "cleared",
    "not_command",
    "denied",
)
INVALID_KINDS = ("malformed", "unknown_action", "invalid_params")


def judge_command(obs: Observations, p: PublishRec) -> tuple[str, str, str | None]:
    """(kind, why, command id) of one allowed cmd publish with a payload."""
    parts = p.topic.split("/")
    tenant, dtype, device = parts[3], parts[4], parts[5]
    try:
        cmd = parse_command(p.payload)
    except BadCommand as exc:
        return exc.code if exc.code in KINDS else "malformed", exc.message, exc.command_id
    facts = obs.devices.get(device)
    if facts is None or facts.type != dtype:
        return "malformed", f"no device '{device}' of type '{dtype}'", cmd.id
    if facts.tenant != tenant:
        return "forbidden", f"device '{device}' does not belong to tenant '{tenant}'", cmd.id
    type_def = obs.types.get(dtype)
    if type_def is None:  # a synthetic observation without the catalog: the engine's answer decides
        return "command", "", cmd.id
    try:
        resolve(type_def, cmd.action, cmd.params)
    except CommandRejected as exc:
        return exc.code, exc.message, cmd.id
    return "command", "", cmd.id


def kind_of(obs: Observations, p: PublishRec) -> str:
    """The one kind of a publish (module docstring)."""
    if not p.allowed:
        return "denied"
    if cmd_device(obs, p.topic) is None:
        return "not_command"
    if not p.size:
        return "cleared"
    return judge_command(obs, p)[0]


def account(obs: Observations) -> dict[str, Any]:
    """The publish accounting of report.json: totals by kind, QoS and retain, and grouped rows
    (connection, topic, kind, qos, retain) whose counts add up to the total."""
    by_kind: Counter[str] = Counter({k: 0 for k in KINDS})
    rows: dict[tuple[int, str, str, int, bool], dict[str, Any]] = {}
    for p in obs.publishes:
        kind = kind_of(obs, p)
        by_kind[kind] += 1
        key = (p.conn, p.topic, kind, p.qos, p.retain)
        row = rows.get(key)
        if row is None:
            rows[key] = {
                "connection": p.conn,
                "topic": p.topic,
                "kind": kind,
                "qos": p.qos,
                "retain": p.retain,
                "count": 1,
                "bytes": p.size,
                "first_wall": p.at.wall,
                "last_wall": p.at.wall,
            }
        else:
            row["count"] += 1
            row["bytes"] += p.size
            row["last_wall"] = p.at.wall
    return {
        "total": len(obs.publishes),
        "by_kind": dict(by_kind),
        "by_qos": {str(q): sum(p.qos == q for p in obs.publishes) for q in (0, 1, 2)},
        "retained": sum(p.retain for p in obs.publishes),
        "rows": list(rows.values()),
    }
