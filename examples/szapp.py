"""Shared plumbing of the sample apps: SmartZone's SZ_* settings, a paho client, a clean stop.

`smartzone certify` (and you, by hand against `smartzone run`) passes the connection
settings in the contract's environment variables: SZ_URL (`mqtt://host:port`), SZ_USER,
SZ_PASSWORD, SZ_CITY, SZ_MODBUS_GATEWAYS; see docs/api.md, "Environment variables for apps".
"""

from __future__ import annotations

import json
import os
import signal
import threading
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


CITY = env("SZ_CITY", "bologna")
SPEED = float(env("SZ_SPEED", "1"))
STOP = threading.Event()


def on_sigterm(*_: Any) -> None:
    STOP.set()


signal.signal(signal.SIGTERM, on_sigterm)
signal.signal(signal.SIGINT, on_sigterm)


def tenants(name: str = "SZ_TENANTS") -> list[str]:
    return [t for t in env(name).split(",") if t]


def gateways() -> list[tuple[str, int]]:
    out = []
    for item in env("SZ_MODBUS_GATEWAYS").split(","):
        if item:
            host, port = item.rsplit(":", 1)
            out.append((host, int(port)))
    return out


def client(client_id: str | None = None) -> mqtt.Client:
    """A paho client with the app's credentials (connect it yourself)."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or env("SZ_MQTT_CLIENT_ID", f"{user()}-app"))
    c.username_pw_set(user(), env("SZ_PASSWORD"))
    return c


def user() -> str:
    """The app's user name (SZ_USER)."""
    return env("SZ_USER")


def host_port() -> tuple[str, int]:
    """Host and port of the broker, from SZ_URL (`mqtt://host:port`)."""
    url = urlsplit(env("SZ_URL", "mqtt://127.0.0.1:1883"))
    return url.hostname or "127.0.0.1", url.port or 1883


def cmd_payload(cid: str, action: str, params: dict[str, Any]) -> str:
    return json.dumps({"id": cid, "action": action, "params": params})


def log(*parts: Any) -> None:
    print(*parts, flush=True)
