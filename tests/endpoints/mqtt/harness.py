"""Test harness for the MQTT bridge: a runtime + broker + bridge, and real-client helpers."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartzone.core.events import Event, Reading
from smartzone.endpoints.mqtt.bridge import Bridge
from smartzone.endpoints.mqtt.broker import Broker, service_address
from smartzone.runtime.api import Runtime

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MQTT_CITY = FIXTURES / "mqtt-city.yaml"
CITY = "mqttville"
BIN_TIMEOUT_S = 10


@dataclass
class City:
    """A runtime published on a broker by a bridge; `readings` records the bus (engine thread)."""

    runtime: Runtime
    broker: Broker
    bridge: Bridge
    readings: list[Reading] = field(default_factory=list)

    def record(self, event: Event) -> None:
        if isinstance(event, Reading):
            self.readings.append(event)

    def close(self) -> None:
        try:
            self.runtime.stop()
        finally:
            self.bridge.close()


def open_city(broker: Broker, **runtime_options: Any) -> City:
    """Load mqtt-city, start its bridge on `broker` (the engine is not started yet)."""
    rt = Runtime.load(MQTT_CITY, **runtime_options)
    address = service_address(broker)
    bridge = Bridge(rt, address)
    city = City(rt, broker, bridge)
    rt.subscribe(city.record, (Reading,))
    bridge.start()
    return city


def topic(tenant: str, dtype: str, device: str, channel: str) -> str:
    return f"sz/v2/{CITY}/{tenant}/{dtype}/{device}/{channel}"


def mosquitto_pub(
    broker: Broker, user: str, password: str, topic_name: str, payload: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """Publish with the mosquitto_pub binary (QoS 1, waits for the PUBACK)."""
    cmd = [
        "mosquitto_pub",
        "-h",
        broker.host,
        "-p",
        str(broker.port),
        "-u",
        user,
        "-P",
        password,
        "-i",
        f"{user}-pub",
        "-q",
        "1",
        "-t",
        topic_name,
        "-m",
        payload,
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=BIN_TIMEOUT_S, check=True)


def mosquitto_sub(
    broker: Broker, user: str, password: str, topic_name: str, count: int, *extra: str
) -> list[tuple[str, Any]]:
    """Read `count` messages with the mosquitto_sub binary (bounded by -W); (topic, JSON) pairs."""
    cmd = [
        "mosquitto_sub",
        "-h",
        broker.host,
        "-p",
        str(broker.port),
        "-u",
        user,
        "-P",
        password,
        "-i",
        f"{user}-sub",
        "-t",
        topic_name,
        "-C",
        str(count),
        "-W",
        str(BIN_TIMEOUT_S),
        "-v",
        *extra,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=BIN_TIMEOUT_S + 5)
    pairs = []
    for line in out.stdout.splitlines():
        name, _, payload = line.partition(" ")
        pairs.append((name, json.loads(payload) if payload else None))
    return pairs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_count(probe: Any, predicate: Callable[[str], bool], n: int, timeout: float = 10.0) -> bool:
    """Wait until `probe` has received at least n messages whose topic satisfies predicate."""
    return bool(probe.wait_for(lambda: sum(1 for t, _, _ in probe.messages if predicate(t)) >= n, timeout))
