"""Where the selected device can be reached on the running endpoints (ready-to-paste lines).

Every line a user copies gets its own MQTT client id, `{user}-{purpose}-{6 hex}`
(`fresh_client_id`): two people pasting the same line, or one person pasting it twice, would
otherwise share one id and the broker would disconnect the older session each time the newer
one connects. The GUI itself opens no MQTT connection (it talks to the runtime API), so no id
it hands out can collide with one of its own.

Reads the service objects duck-typed (an MQTT service with a `broker` that has host/port,
a Modbus service with `gateways`, each with a `plan.units` map and a `port`), so the GUI
keeps working, and says so, when an endpoint is absent or shaped differently.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from smartzone_gui.wire import topic_root

from smartzone.core.device import DeviceInfo
from smartzone.definitions.device_type import DeviceType
from smartzone.definitions.modbus_layout import build_layout
from smartzone.definitions.scenario import Scenario, User
from smartzone.endpoints.client_lines import fresh_client_id, mbpoll, mosquitto_sub, readable_input_count


@dataclass(frozen=True)
class ModbusPlace:
    gateway: str
    host: str
    port: int
    unit: int


def with_fresh_client_id(line: str) -> str:
    """The command line `line` with a new client id (for mosquitto_sub/pub lines with a user)."""
    try:
        parts = shlex.split(line)
    except ValueError:  # not a shell line (a URL, a note): copied as it is
        return line
    if not parts or parts[0] not in ("mosquitto_sub", "mosquitto_pub"):
        return line
    user = parts[parts.index("-u") + 1] if "-u" in parts[:-1] else None
    new_id = fresh_client_id(user, parts[0].removeprefix("mosquitto_"))
    if "-i" in parts[:-1]:
        parts[parts.index("-i") + 1] = new_id
    elif user is not None:
        parts[1:1] = ["-i", new_id]
    else:
        return line  # anonymous: mosquitto picks a random id itself
    return " ".join(shlex.quote(p) for p in parts)


def reader_for(scenario: Scenario, tenant: str) -> User | None:
    """A scenario user allowed to read `tenant` (admin first, then its owner, then an app)."""
    for role in ("admin", "owner", "app"):
        for u in scenario.users:
            if u.role != role:
                continue
            if (
                role == "admin"
                or (role == "owner" and u.tenant == tenant)
                or (role == "app" and tenant in u.grants.read)
            ):
                return u
    return None


def mqtt_broker(services: Sequence[tuple[str, Any]]) -> tuple[str, int] | None:
    for _name, service in services:
        broker = getattr(service, "broker", None)
        host, port = getattr(broker, "host", None), getattr(broker, "port", None)
        if isinstance(host, str) and isinstance(port, int):
            return host, port
    return None


def mqtt_sub_line(services: Sequence[tuple[str, Any]], scenario: Scenario, info: DeviceInfo) -> str | None:
    """mosquitto_sub for every topic of the device, with a real user's credentials."""
    where = mqtt_broker(services)
    if where is None:
        return None
    user = reader_for(scenario, info.tenant)
    topic = f"{topic_root(scenario.city, info)}/#"
    if user is None:
        return mosquitto_sub(where[0], where[1], topic)
    return mosquitto_sub(where[0], where[1], topic, user.name, user.password)


def modbus_place(services: Sequence[tuple[str, Any]], device: str) -> ModbusPlace | None:
    for _name, service in services:
        for g in getattr(service, "gateways", None) or ():
            plan = getattr(g, "plan", None)
            if plan is None:
                continue
            for unit, info in (getattr(plan, "units", None) or {}).items():
                if getattr(info, "id", None) == device:
                    return ModbusPlace(str(plan.id), str(getattr(service, "host", "127.0.0.1")), int(g.port), unit)
    return None


def mbpoll_line(place: ModbusPlace, dtype: DeviceType) -> str:
    """mbpoll reading the unit's common block and telemetry (wire addresses, -0)."""
    layout, _problems = build_layout(dtype)
    return mbpoll(place.host, place.port, place.unit, readable_input_count(layout))
