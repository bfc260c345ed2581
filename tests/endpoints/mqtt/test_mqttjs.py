"""MQTT.js 5 as an ordinary app with a blank client id: telemetry, a command and its ack (docs/clients.md)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.mqtt.broker import Broker
from tests.endpoints.mqtt.harness import MQTT_CITY, City, open_city, topic
from tests.endpoints.mqtt.npm_cache import node_modules

SCRIPT = Path(__file__).with_name("mqttjs_client.js")
RUN_TIMEOUT_S = 60


@pytest.fixture(params=["embedded", "mosquitto"])
def city(request: pytest.FixtureRequest, start_test_broker: Callable[..., Broker], catalog: Catalog) -> Iterator[City]:
    broker = start_test_broker(str(request.param), load_scenario(MQTT_CITY, catalog))
    city = open_city(broker, speed=1.0)
    city.runtime.start()
    yield city
    city.close()


def test_mqttjs_app_with_a_blank_client_id_gets_telemetry_and_its_command_ack(city: City) -> None:
    modules = node_modules()
    env = {
        **os.environ,
        "NODE_PATH": str(modules),
        "SZ_URL": f"mqtt://127.0.0.1:{city.broker.port}",
        "SZ_USER": "app",
        "SZ_PASSWORD": "app-pw",
        "SZ_TELEMETRY": "sz/v2/mqttville/comune/+/+/telemetry",
        "SZ_CMD": topic("comune", "street-light", "cl-0001", "cmd"),
    }
    out = subprocess.run(["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert out.returncode == 0, (out.stdout, out.stderr)
    assert {"granted": [1, 1]} in lines
    [ack] = [line["ack"] for line in lines if "ack" in line]
    assert ack["id"] == "mqttjs-1" and ack["ok"] is True and ack["state"]["level"] == 30
    assert any("telemetry" in line for line in lines)
