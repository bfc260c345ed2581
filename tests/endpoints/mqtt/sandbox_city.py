"""Test helpers of the sandbox over MQTT: the sandbox city published on a broker, and its topics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from smartzone.endpoints.mqtt.bridge import Bridge
from smartzone.endpoints.mqtt.broker import Broker, service_address
from smartzone.runtime.api import Runtime

from .harness import FIXTURES

SANDBOX_CITY = FIXTURES / "sandbox-city.yaml"
CITY = "sandboxville"
BASE = f"sz/v2/{CITY}"
REQUEST, RESULT = f"{BASE}/lab-a/sandbox/request", f"{BASE}/lab-a/sandbox/result"
CATALOG = f"{BASE}/lab-a/catalog"
SPEED = 600.0  # a street light reports every 15 simulated minutes: 1.5 s here


def light_topic(device: str, channel: str, tenant: str = "lab-a") -> str:
    return f"{BASE}/{tenant}/street-light/{device}/{channel}"


@contextmanager
def running_city(broker: Broker, speed: float = SPEED) -> Iterator[Runtime]:
    """The sandbox city, its bridge on `broker`, its engine running; all stopped on exit."""
    rt = Runtime.load(SANDBOX_CITY, speed=speed)
    bridge = Bridge(rt, service_address(broker))
    bridge.start()
    try:
        rt.start()
        yield rt
    finally:
        try:
            rt.stop()
        finally:
            bridge.close()


def results(probe: Any, topic: str = RESULT) -> list[dict[str, Any]]:
    return [json.loads(p) for p in probe.received(topic)]


def ask(
    probe: Any, payload: bytes | str | dict[str, Any], topic: str = REQUEST, result: str = RESULT
) -> dict[str, Any]:
    """Publish one request as `probe` (subscribed to `result`) and return the next answer."""
    before = len(probe.received(result))
    probe.publish(topic, json.dumps(payload) if isinstance(payload, dict) else payload, qos=1)
    assert probe.wait_for(lambda: len(probe.received(result)) > before, 10.0), f"no answer on {result}"
    return dict(json.loads(probe.received(result)[before]))
