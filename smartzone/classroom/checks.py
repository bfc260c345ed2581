"""Evaluate a step's checks for one trainee from what was observed (observer.py) and the live city.

Each check answers (passed, attempts): attempts counts the trainee's actions aimed at the check
(a subscription to the right topic, a command to the device, an answer to the step), so a wrong
try is visible on the board without counting as done.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from smartzone.certify.records import ModbusRec
from smartzone.classroom.observer import Facts
from smartzone.classroom.variables import render
from smartzone.core.device import DeviceInfo
from smartzone.core.live import LiveState
from smartzone.definitions.course import (
    Answered,
    Certified,
    Check,
    Commanded,
    Connected,
    ModbusUsed,
    Rate,
    Reading,
    Received,
    StateIs,
    Subscribed,
)
from smartzone.endpoints.mqtt.broker.policy import topic_matches

READ_FUNCTIONS = (1, 2, 3, 4, 23)
WRITE_FUNCTIONS = (5, 6, 15, 16, 23)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


@dataclass
class Context:
    """What checks read besides the trainee's facts."""

    city: str
    devices: Mapping[str, DeviceInfo]
    live: LiveState
    modbus: list[ModbusRec]  # the requests that may count for this trainee (observer.Tracker.modbus_for)
    deliveries: Callable[[float], list[float]] = lambda since: []  # wall stamps of deliveries since a time
    now: float = 0.0  # wall seconds on the records' clock
    certify: Callable[[Certified, str, int], tuple[bool, int]] | None = None  # (check, step, answers) -> result


def filter_within(inner: str, outer: str) -> bool:
    """True when every topic `inner` can match is also matched by `outer` (MQTT filters)."""
    a, b = inner.split("/"), outer.split("/")
    for i, level in enumerate(a):
        if i >= len(b):
            return False
        if b[i] == "#":
            return True
        if level == "#":
            return False
        if b[i] == "+":
            continue
        if level != b[i]:  # a '+' in inner is wider than a literal in outer
            return False
    return len(a) == len(b)


def same_value(given: Any, expected: Any, tolerance: float) -> bool:
    """Answers compare as numbers when both read as numbers (within tolerance), else as trimmed text."""
    try:
        g, e = float(given), float(expected)
    except (TypeError, ValueError):
        return str(given).strip().lower() == str(expected).strip().lower()
    return math.isfinite(g) and abs(g - e) <= tolerance + 1e-9


def _device_topic(ctx: Context, device: str) -> str | None:
    info = ctx.devices.get(device)
    return None if info is None else f"sz/v2/{ctx.city}/{info.tenant}/{info.type}/{device}"


def evaluate(check: Check, step: str, facts: Facts, values: Mapping[str, Any], ctx: Context) -> tuple[bool, int]:
    """(passed, attempts) of one check for one trainee; `values` fills the templates."""
    if isinstance(check, Connected):
        return facts.connected, 0
    if isinstance(check, Subscribed):
        topic = render(check.matches, values)
        within = render(check.within, values) if check.within else None
        tries = [(f, ok) for f, ok in facts.subscribes if topic_matches(f, topic)]
        good = any(ok and (within is None or filter_within(f, within)) for f, ok in tries)
        return good, len(tries)
    if isinstance(check, Received):
        flt = render(check.topic, values)
        return sum(n for t, n in facts.received.items() if topic_matches(flt, t)) >= check.count, 0
    if isinstance(check, Commanded):
        return _commanded(check, facts, values, ctx)
    if isinstance(check, ModbusUsed):
        return _modbus(check, values, ctx)
    if isinstance(check, Reading):
        return _reading(check, step, facts, values, ctx)
    if isinstance(check, Rate):
        return _rate(check, values, ctx), 0
    if isinstance(check, Certified):
        asked = sum(1 for s, _ in facts.answers if s == step)
        return ctx.certify(check, step, asked) if ctx.certify is not None else (False, 0)
    if isinstance(check, StateIs):
        return _state(check, values, ctx), 0
    if isinstance(check, Answered):
        expected = render(check.equals, values) if isinstance(check.equals, str) else check.equals
        mine = [v for s, v in facts.answers if s == step]
        return any(same_value(v, expected, check.tolerance) for v in mine), len(mine)
    raise AssertionError(f"unknown check {check!r}")  # the schema admits no other kind


def _commanded(check: Commanded, facts: Facts, values: Mapping[str, Any], ctx: Context) -> tuple[bool, int]:
    base = _device_topic(ctx, render(check.device, values))
    if base is None:
        return False, 0
    cmd, ack = f"{base}/cmd", f"{base}/cmd/ack"
    sent = {i for i, (topic, action) in facts.commands.items() if topic == cmd and check.action in (None, action)}
    for topic, cid, ok, code in facts.acks:
        if topic == ack and cid in sent and ok == check.ok and (check.code is None or code == check.code):
            return True, facts.command_topics[cmd]
    return False, facts.command_topics[cmd]


def _modbus(check: ModbusUsed, values: Mapping[str, Any], ctx: Context) -> tuple[bool, int]:
    """A request to the trainee's device's unit covering the registers (attempts: requests to that unit)."""
    device = render(check.device, values)
    try:
        address = int(render(check.address, values)) if isinstance(check.address, str) else check.address
    except ValueError:
        return False, 0  # a variable that is not a number: the course is wrong, never the trainee
    functions = WRITE_FUNCTIONS if check.write else READ_FUNCTIONS
    tries = 0
    for r in ctx.modbus:
        if r.device != device:
            continue
        tries += 1
        if r.function & 0x7F not in functions or r.exception != check.exception:
            continue
        if check.exception is not None:
            return True, tries  # the exception asked for: where it was asked does not matter
        if r.table == check.table and r.address is not None and r.count is not None:
            if r.address <= address and address + check.count <= r.address + r.count:
                return True, tries
    return False, tries


def _reading(check: Reading, step: str, facts: Facts, values: Mapping[str, Any], ctx: Context) -> tuple[bool, int]:
    """An answer within tolerance of the live signal: compared when evaluated, so read it and answer soon."""
    mine = [v for s, v in facts.answers if s == step]
    live = ctx.live.get(render(check.device, values))
    actual = None if live is None else live.values.get(render(check.signal, values))
    if not isinstance(actual, (int, float)) or isinstance(actual, bool):
        return False, len(mine)
    return any(same_value(v, actual, check.tolerance) for v in mine), len(mine)


def _rate(check: Rate, values: Mapping[str, Any], ctx: Context) -> bool:
    since = ctx.now - check.window
    if check.of == "deliveries":
        n = len(ctx.deliveries(since))
    else:
        device = render(check.device or "", values)
        n = sum(1 for r in ctx.modbus if r.device == device and r.at.wall >= since)
    return check.min_count <= n <= check.max_per_s * check.window


def _state(check: StateIs, values: Mapping[str, Any], ctx: Context) -> bool:
    live = ctx.live.get(render(check.device, values))
    if live is None:
        return False
    merged = {**live.values, **live.state}
    if check.name not in merged:
        return False
    actual = merged[check.name]
    expected = render(check.value, values) if isinstance(check.value, str) else check.value
    if check.op == "eq" and check.tolerance == 0 and not isinstance(actual, (int, float)):
        return str(actual) == str(expected)
    try:
        a, e = float(actual), float(expected)
    except (TypeError, ValueError):
        return check.op in ("eq", "ne") and (str(actual) == str(expected)) == (check.op == "eq")
    if check.op == "eq":
        return abs(a - e) <= check.tolerance
    if check.op == "ne":
        return abs(a - e) > check.tolerance
    return _OPS[check.op](a, e)
