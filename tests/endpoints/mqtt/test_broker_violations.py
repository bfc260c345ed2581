"""MQTT protocol violations and oversized packets close the connection, on every backend and path.

Paths: the embedded broker with the app's socket handed over to amqtt (checked.CheckedReader
judges the packets), the embedded broker while SmartZone observes traffic (the gate's relay judges
them), and mosquitto (the gate's relay, mosquitto behind it). The offender is an ordinary owner;
after it, another user's client still connects, subscribes and receives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from smartzone.endpoints.mqtt.broker import Broker
from smartzone.endpoints.mqtt.broker.gate import connect as gate
from smartzone.endpoints.mqtt.codec import remaining_length

from .rawclient import (
    DISCONNECT_PACKET,
    PassObserver,
    RawClient,
    connect_packet,
    packet,
    publish_packet,
    subscribe_packet,
    utf8,
)

CITY = "accessville"
OWNER = ("owner-comune", "comune-pw")
TOPIC = f"sz/v2/{CITY}/comune/parking-spot/cp-0001/note"


@pytest.fixture(params=["embedded-handed", "embedded-relayed", "mosquitto"])
def broker(request: pytest.FixtureRequest, start_test_broker: Callable[..., Broker], mqtt_scenario: Any) -> Broker:
    backend, _, path = str(request.param).partition("-")
    started = start_test_broker(backend, mqtt_scenario)
    if path == "relayed":
        started.set_observer(PassObserver())  # type: ignore[attr-defined]
    return started


@pytest.fixture
def raw(broker: Broker) -> Any:
    clients: list[RawClient] = []

    def _open() -> RawClient:
        clients.append(RawClient(broker.port))
        return clients[-1]

    yield _open
    for client in clients:
        client.close()


def logged_in(raw: Callable[[], RawClient], client_id: str = "owner-comune-raw") -> RawClient:
    client = raw()
    assert client.login(*OWNER, client_id) == 0
    return client


def assert_others_still_served(broker: Broker, mqtt_client: Any) -> None:
    """Another user's client connects, subscribes and receives."""
    reader = mqtt_client(broker, "app-traffic", "traffic-pw", "app-traffic-after")
    assert reader.subscribe(f"sz/v2/{CITY}/comune/#", qos=1) == [1]
    writer = mqtt_client(broker, "admin", "admin-pw", "admin-after")
    writer.publish(TOPIC, b"still here", qos=1)
    assert reader.wait_for(lambda: reader.received(TOPIC) == [b"still here"])


def test_http_instead_of_connect_is_closed_at_once(broker: Broker, raw: Any, caplog: Any) -> None:
    caplog.set_level(logging.WARNING, logger=gate.__name__)
    client = raw()
    client.send(b"GET / HTTP/1.1\r\nHost: broker\r\n\r\n")
    assert client.closed_by_peer()
    assert client.received == b""
    assert any("packet type 4 where 1 was due" in r.getMessage() for r in caplog.records)


def test_a_connect_not_complete_in_time_is_closed(broker: Broker, raw: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(gate, "CONNECT_TIMEOUT_S", 0.3)
    client = raw()
    client.send(connect_packet("owner-comune-slow", *OWNER)[:12])  # and never the rest
    assert client.closed_by_peer()
    assert client.received == b""


def test_an_oversized_connect_is_closed_before_its_body(broker: Broker, raw: Any) -> None:
    client = raw()
    client.send(b"\x10" + remaining_length(1_000_000) + b"\x00\x04MQTT")
    assert client.closed_by_peer()
    assert client.received == b""


VIOLATIONS = {
    "subscribe-qos-3": subscribe_packet(f"sz/v2/{CITY}/comune/#", options=3),
    "subscribe-reserved-option-bits": subscribe_packet(f"sz/v2/{CITY}/comune/#", options=0x05),
    "subscribe-flags-not-0010": subscribe_packet(f"sz/v2/{CITY}/comune/#", first=0x80),
    "subscribe-without-filter": packet(0x82, b"\x00\x01"),
    "publish-qos-3": packet(0x36, utf8(TOPIC) + b"\x00\x01payload"),
    "publish-topic-overruns": packet(0x30, b"\x00\x40" + TOPIC.encode()[:10]),
    "remaining-length-5-bytes": b"\x30\xff\xff\xff\xff\x01",
    "second-connect": connect_packet("owner-comune-again", *OWNER),
    "server-packet-suback": packet(0x90, b"\x00\x01\x00"),
    "pingreq-flags": bytes([0xC1, 0]),
    "reserved-type-0": bytes([0x00, 0]),
}


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_a_protocol_violation_closes_the_connection(broker: Broker, raw: Any, mqtt_client: Any, case: str) -> None:
    client = logged_in(raw)
    client.send(VIOLATIONS[case])
    assert client.closed_by_peer()
    assert not client.received.startswith(b"\x90"), f"answered: {bytes(client.received)!r}"  # no SUBACK
    assert broker.denied_counts().get("owner-comune:protocol") == 1
    assert_others_still_served(broker, mqtt_client)


def test_an_oversized_publish_is_refused_before_its_body(broker: Broker, raw: Any, mqtt_client: Any) -> None:
    cap = broker.policy.scenario.access.max_packet_size  # type: ignore[attr-defined]
    client = logged_in(raw)
    body_size = cap  # header + body: one more than the cap allows
    client.send(b"\x30" + remaining_length(body_size) + utf8(TOPIC) + b"x" * 1000)  # the rest never comes
    assert client.closed_by_peer()
    assert broker.denied_counts().get("owner-comune:oversize") == 1
    assert_others_still_served(broker, mqtt_client)


def test_a_publish_of_exactly_the_cap_is_delivered(broker: Broker, raw: Any, mqtt_client: Any) -> None:
    cap = broker.policy.scenario.access.max_packet_size  # type: ignore[attr-defined]
    reader = mqtt_client(broker, "app-traffic", "traffic-pw", "app-traffic-big")
    assert reader.subscribe(f"sz/v2/{CITY}/comune/#", qos=0) == [0]
    overhead = len(publish_packet(TOPIC, b"", False))
    size = cap - overhead - 2  # the remaining length takes 3 bytes here, not 1
    message = publish_packet(TOPIC, b"y" * size, False)
    assert len(message) == cap
    client = logged_in(raw)
    assert client.send(message + bytes([0xC0, 0]))  # and a PINGREQ: the connection lives on
    assert reader.wait_for(lambda: reader.received(TOPIC) == [b"y" * size], 15)
    assert not client.closed_by_peer(0.2)


def test_nothing_after_a_disconnect_is_processed(broker: Broker, raw: Any, mqtt_client: Any) -> None:
    client = logged_in(raw)
    ghost = f"sz/v2/{CITY}/comune/parking-spot/cp-0002/note"
    client.send(DISCONNECT_PACKET + publish_packet(ghost, b"after disconnect", True))
    assert client.closed_by_peer()
    marker = mqtt_client(broker, "admin", "admin-pw", "admin-marker")
    marker.publish(TOPIC, b"marker", qos=1, retain=True)
    reader = mqtt_client(broker, "app-traffic", "traffic-pw", "app-traffic-late")
    reader.subscribe(f"sz/v2/{CITY}/comune/#", qos=1)
    assert reader.wait_for(lambda: reader.received(TOPIC) == [b"marker"])
    assert reader.received(ghost) == []
    assert broker.denied_counts().get("owner-comune:protocol") is None
