"""A sandbox owner's connections quota, enforced by the gate in front of both backends."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.mqtt.broker import Broker

from .sandbox_city import SANDBOX_CITY

SERVER_UNAVAILABLE, QUOTA_EXCEEDED = 0x88, 0x97  # the refusal as paho reports it: MQTT 3.1.1 code 3, MQTT 5
BAD_PROTOCOL = 0x84
RELEASE_WAIT_S = 5.0


@pytest.fixture(params=["embedded", "mosquitto"])
def broker(request: pytest.FixtureRequest, start_test_broker: Callable[..., Broker], catalog: Catalog) -> Broker:
    return start_test_broker(str(request.param), load_scenario(SANDBOX_CITY, catalog))


def test_the_owner_of_lab_a_holds_at_most_three_connections(broker: Broker, mqtt_client: Callable[..., Any]) -> None:
    held = [mqtt_client(broker, "owner-a", "owner-a-pw", f"owner-a-{i}") for i in range(3)]  # quotas.connections: 3
    fourth = mqtt_client(broker, "owner-a", "owner-a-pw", "owner-a-3", connect=False)
    assert fourth.connect() == SERVER_UNAVAILABLE
    v5 = mqtt_client(broker, "owner-a", "owner-a-pw", "owner-a-v5", connect=False, protocol=mqtt.MQTTv5)
    # mosquitto serves MQTT 5; the embedded amqtt broker refuses it (0x84) before any quota
    assert v5.connect() == (QUOTA_EXCEEDED if broker.backend == "mosquitto" else BAD_PROTOCOL)
    # other users are not counted: lab-b's owner (default quota 4), the app, admin
    for user in ("owner-b", "app", "admin"):
        mqtt_client(broker, user, f"{user}-pw", f"{user}-x")
    # a closed connection gives its place back (the gate sees it end: bounded wait for that)
    held[0].close()
    deadline = time.monotonic() + RELEASE_WAIT_S
    while True:
        again = mqtt_client(broker, "owner-a", "owner-a-pw", "owner-a-again", connect=False)
        code = again.connect()
        if code == 0 or time.monotonic() >= deadline:
            break
        again.close()
    assert code == 0, "the closed connection's place was not given back"


BURST = 30


def test_the_owners_publishes_beyond_five_per_second_are_dropped(
    broker: Broker, mqtt_client: Callable[..., Any]
) -> None:
    topic = "sz/v2/sandboxville/lab-b/x/y/telemetry"
    reader = mqtt_client(broker, "admin", "admin-pw", "admin-reader")
    assert reader.subscribe(topic, qos=1) == [1]
    owner = mqtt_client(broker, "owner-b", "owner-b-pw", "owner-b-burst")
    started = time.monotonic()
    for i in range(BURST):
        owner.publish(topic, f"{i}", qos=1)  # every one acknowledged, whether forwarded or dropped
    elapsed = time.monotonic() - started
    # admin is not limited; its PUBLISH goes after the burst the broker has already handled
    admin = mqtt_client(broker, "admin", "admin-pw", "admin-marker")
    admin.publish(topic, "end", qos=1)
    assert reader.wait_for(lambda: b"end" in reader.received(topic))
    passed = len(reader.received(topic)) - 1
    assert 5 <= passed <= 5 + 5 * elapsed + 1, (passed, elapsed)  # lab-b's quotas.messages_per_s: 5, burst 5
    assert broker.denied_counts().get("owner-b:rate") == BURST - passed
    assert owner.connack == 0 and owner.disconnects == 0  # dropped, not disconnected
