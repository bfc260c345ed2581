"""Rows of the Traffic panel's client table and of app messages in the message log.

The data comes from smartzone.runtime.clients.ClientRegistry (a snapshot a few times per
second, drained app messages once per frame); this module only turns it into text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from smartzone.runtime.clients import AppMessage, ClientView

HEADERS = [
    "Protocol",
    "Client id / gateway",
    "User",
    "Remote",
    "Since",
    "State",
    "In /s",
    "Out /s",
    "In",
    "Out",
    "Denied / exc.",
    "Subscriptions / units",
]
TIPS = {
    "In": "MQTT: messages the client published · Modbus: requests",
    "Out": "MQTT: messages delivered to the client · Modbus: responses",
    "Denied / exc.": "MQTT: subscriptions and publishes refused by the access rules · Modbus: exception responses",
    "Subscriptions / units": "✓ granted, ✗ denied by the access rules (every SUBSCRIBE so far) · Modbus: units asked",
}
ALLOWED, DENIED, ACK = "#1e88e5", "#e0483e", "#2e9e5b"


def _rate(value: float) -> float:
    return round(value, 1)


def client_row(c: ClientView) -> tuple[Any, ...]:
    if c.protocol == "mqtt":
        subs = ", ".join(f"{'✓' if ok else '✗'} {flt}" for flt, ok in c.subscriptions) or "–"
    else:
        subs = "units " + ", ".join(str(u) for u in sorted(c.units)) if c.units else "–"
    since = time.strftime("%H:%M:%S", time.localtime(c.since))
    live = c.state == "connected"
    return (
        c.protocol.upper() if c.protocol == "mqtt" else "Modbus",
        c.client_id,
        c.user or "–",
        c.remote,
        since,
        c.state,
        _rate(c.rate_in) if live else "",
        _rate(c.rate_out) if live else "",
        c.msgs_in,
        c.msgs_out,
        c.denied,
        subs,
    )


def client_rows(clients: Sequence[ClientView]) -> list[tuple[Any, ...]]:
    return [client_row(c) for c in clients]


def app_message_row(m: AppMessage, iso: Callable[[float], str]) -> tuple[tuple[str, ...], str | None]:
    """An app's publish, subscribe or Modbus write in the message log (blue when allowed, red when denied),
    or a command ack delivered to it (green)."""
    ts = iso(m.t).replace("T", " ")[:23]
    verdict = "" if m.ok else "DENIED "
    if m.kind == "ack":
        return (ts, m.topic, f"ack to {m.who}: {m.payload}"), ACK
    if m.kind == "subscribe":
        return (ts, m.topic, f"{verdict}SUBSCRIBE from {m.who}: {m.payload}"), ALLOWED if m.ok else DENIED
    return (ts, m.topic, f"{verdict}from {m.who}: {m.payload}"), ALLOWED if m.ok else DENIED
