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


def _retained(broker: Broker, mqtt_client: Callable[..., Any], topics: list[str], name: str) -> dict[str, int]:
    """Payload sizes of the retained messages a new subscriber finds on `topics` (the last one is a marker)."""
    late = mqtt_client(broker, "admin", "admin-pw", name)
    for topic in topics:
        assert late.subscribe(topic, qos=1) == [1]
    assert late.wait_for(lambda: bool(late.received(topics[-1])))
    return {t: len(p) for t, p, retained in late.messages if retained and t != topics[-1]}


def test_the_owners_retained_bytes_stay_within_the_quota(broker: Broker, mqtt_client: Callable[..., Any]) -> None:
    first, second = "sz/v2/sandboxville/lab-a/x/one/state", "sz/v2/sandboxville/lab-a/x/two/state"
    marker = "sz/v2/sandboxville/comune/x/marker/state"
    admin = mqtt_client(broker, "admin", "admin-pw", "admin-marker")
    owner = mqtt_client(broker, "owner-a", "owner-a-pw", "owner-a-retains")  # lab-a: 2048 bytes retained
    owner.publish(first, b"a" * 1500, retain=True)
    owner.publish(second, b"b" * 1000, retain=True)  # 2500: dropped (still acknowledged)
    admin.publish(marker, b"m", retain=True)
    assert _retained(broker, mqtt_client, [first, second, marker], "admin-r1") == {first: 1500}
    assert broker.denied_counts().get("owner-a:retained") == 1
    owner.publish(first, b"a" * 1000, retain=True)  # replaces 1500 with 1000
    owner.publish(second, b"b" * 1000, retain=True)  # 2000: fits now
    owner.publish(first, b"", retain=True)  # clearing always fits and gives the bytes back
    owner.publish(second, b"c" * 2048, retain=True)  # 2048: exactly the quota
    admin.publish(marker, b"n", retain=True)
    assert _retained(broker, mqtt_client, [first, second, marker], "admin-r2") == {second: 2048}
    assert broker.denied_counts().get("owner-a:retained") == 1
