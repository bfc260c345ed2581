"""Bus facts as log rows (event log and message log): text cells plus an accent colour."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from smartzone.core.device import DeviceInfo
from smartzone.core.events import (
    CommandResult,
    DeviceAdded,
    DeviceRemoved,
    Event,
    FaultChanged,
    Reading,
    StateChanged,
    StatusChanged,
    TimelineChanged,
)
from smartzone.definitions.units import format_duration

Row = tuple[tuple[str, ...], str | None]


def _kv(values: Mapping[str, Any]) -> str:
    """`k=v, ...` for people: no empty fields, durations as 1h10min, other floats to 6 digits."""
    return ", ".join(f"{k}={_value(k, v)}" for k, v in values.items() if v is not None)


def _value(key: str, value: Any) -> str:
    if isinstance(value, float) and key == "duration":
        return format_duration(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def event_row(event: Event, iso: Callable[[float], str]) -> Row:
    """Time, kind, device, detail, colour for one notable fact."""
    ts = iso(event.t).replace("T", " ")[:19]
    device = getattr(event, "device", "")
    if isinstance(event, CommandResult):
        if event.ok:
            detail = f"{event.action} from {event.source} ok → {_kv(event.state)}"
            return (ts, "command", device, detail), "#1e88e5"
        detail = f"{event.action} from {event.source} rejected: {event.error_code}: {event.error_message}"
        return (ts, "command", device, detail), "#e0483e"
    if isinstance(event, StatusChanged):
        state = "online" if event.online else "offline"
        return (ts, "status", device, f"{state} ({event.reason})"), "#2e9e5b" if event.online else "#8a8f98"
    if isinstance(event, StateChanged):
        return (ts, "state", device, f"{_kv(event.values)} (by {event.cause})"), "#b07d00"
    if isinstance(event, FaultChanged):
        what = "started" if event.active else "ended"
        params = f" {_kv(event.params)}" if event.params else ""
        return (ts, "fault", device, f"{event.fault} {what}{params}"), "#e0483e" if event.active else "#2e9e5b"
    if isinstance(event, DeviceAdded):
        info = event.info
        text = f"created in sandbox {event.tenant}: {info.get('type')} in {info.get('district')} (by {event.source})"
        return (ts, "sandbox", device, text), "#2e9e5b"
    if isinstance(event, DeviceRemoved):
        return (ts, "sandbox", device, f"deleted from sandbox {event.tenant} ({event.reason}, by {event.source})"), None
    if isinstance(event, TimelineChanged):
        what = "started" if event.active else "ended"
        text = f"{event.name} {what}" + (f": {event.description}" if event.description else "")
        return (ts, "timeline", "", text), "#7e57c2"
    record = event.record()
    kind = str(record.pop("kind", event.kind))
    record.pop("t", None)
    record.pop("device", None)
    return (ts, kind, device, _kv(record)), None


def message_row(reading: Reading, info: DeviceInfo | None, city: str, iso: Callable[[float], str]) -> Row:
    """A device uplink as it appears on the MQTT telemetry topic (native payload)."""
    ts = iso(reading.t).replace("T", " ")[:23]
    if info is None:
        topic = reading.device
    else:
        topic = f"sz/v2/{city}/{info.tenant}/{info.type}/{info.id}/telemetry"
    payload = json.dumps({"seq": reading.seq, "values": dict(reading.values)}, separators=(",", ":"))
    return (ts, topic, payload), None
