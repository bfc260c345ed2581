"""The access rules with MQTT 5 clients: reason codes on the mosquitto backend, refusal on the embedded one.

Mosquitto speaks MQTT 5; SmartZone's gate answers refused CONNECTs and SUBSCRIBE filters with
MQTT 5 reason codes, mosquitto answers a denied QoS 1/2 PUBLISH itself (closed mode) and the gate
front does it in open mode. The embedded amqtt 0.12 broker refuses MQTT 5 with CONNACK 0x84.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.mqtt.broker import Broker
from smartzone.endpoints.mqtt.codec import control_packet, encode_string
from tests.endpoints.mqtt.conftest import Probe, has_mosquitto
from tests.endpoints.mqtt.interop_lab import RawSession

NOT_AUTHORIZED, BAD_CREDENTIALS, UNSUPPORTED_PROTOCOL = 0x87, 0x86, 0x84
ACME_TOPIC = "sz/v2/accessville/acme/parking-spot/ap-0001/telemetry"
OPEN_TOPIC = "sz/v2/accessville/open/parking-spot/op-0001/telemetry"
needs_mosquitto = pytest.mark.skipif(not has_mosquitto(), reason="mosquitto is not installed")


class Probe5(Probe):
    """An MQTT 5 Probe that keeps each PUBACK/PUBCOMP reason code."""

    def __init__(self, port: int, user: str | None, password: str | None, client_id: str) -> None:
        super().__init__(port, user, password, client_id, protocol=mqtt.MQTTv5)
        self.acks: dict[int, int] = {}

    def _on_publish(self, client: Any, userdata: Any, mid: int, rc: Any = None, props: Any = None) -> None:
        with self.cond:
            self.acks[mid] = rc.value if rc is not None else -1
        super()._on_publish(client, userdata, mid, rc, props)

    def publish_code(self, topic: str, qos: int) -> int:
        """Publish at QoS 1 or 2 and return the broker's reason code (0 = accepted)."""
        info = self.client.publish(topic, b"v5", qos=qos)
        assert self.wait_for(lambda: info.mid in self.acks), f"no acknowledgement for {topic}"
        return self.acks[info.mid]


def pubrec_code(port: int, user: str | None, password: str | None, client_id: str, topic: str) -> int:
    """The reason code of the PUBREC answering an MQTT 5 QoS 2 PUBLISH (read raw: paho 2.x hands
    on_publish the PUBCOMP's code, 0, even after a PUBREC 0x87, because it sends PUBREL anyway)."""
    flags = 0x02 | (0xC0 if user is not None else 0)
    creds = encode_string(user) + encode_string(password or "") if user is not None else b""
    connect = encode_string("MQTT") + bytes([5, flags]) + (30).to_bytes(2, "big") + b"\x00" + encode_string(client_id)
    session = RawSession(port)
    try:
        session.send(control_packet(0x10, connect + creds))
        connack = session.packet()
        assert connack is not None and connack[0] >> 4 == 2 and connack[1][1] == 0, connack
        session.send(control_packet(0x34, encode_string(topic) + (7).to_bytes(2, "big") + b"\x00" + b"v5"))
        pubrec = session.packet()
        assert pubrec is not None and pubrec[0] >> 4 == 5 and pubrec[1][:2] == b"\x00\x07", pubrec
        return pubrec[1][2] if len(pubrec[1]) > 2 else 0
    finally:
        session.close()


@pytest.fixture
def v5() -> Iterator[Callable[..., Probe5]]:
    """Factory: v5(broker, user, password, client_id) -> an MQTT 5 Probe5, not yet connected."""
    probes: list[Probe5] = []

    def _make(broker: Broker, user: str | None, password: str | None, client_id: str) -> Probe5:
        probes.append(Probe5(broker.port, user, password, client_id))
        return probes[-1]

    yield _make
    for p in probes:
        p.close()


def with_access(scenario: Scenario, **changes: Any) -> Scenario:
    return scenario.model_copy(update={"access": scenario.access.model_copy(update=changes)})


@needs_mosquitto
def test_connack_reason_codes(
    start_test_broker: Callable[..., Broker], v5: Callable[..., Probe5], access_scenario: Scenario
) -> None:
    b = start_test_broker("mosquitto", with_access(access_scenario, anonymous_read=False))
    assert v5(b, "app", "app-pw", "app-1").connect() == 0
    assert v5(b, "app", "wrong", "app-2").connect() == BAD_CREDENTIALS
    assert v5(b, "app", "app-pw", "admin-1").connect() == 0  # another user's client id: a session of app's own
    assert v5(b, None, None, "anyone").connect() == NOT_AUTHORIZED  # anonymous, not allowed here


@needs_mosquitto
def test_denied_subscribe_and_publish_reason_codes(
    start_test_broker: Callable[..., Broker], v5: Callable[..., Probe5], access_scenario: Scenario
) -> None:
    b = start_test_broker("mosquitto", access_scenario)
    owner = v5(b, "owner-acme", "acme-pw", "owner-acme")
    assert owner.connect() == 0
    assert owner.subscribe(ACME_TOPIC, 1) == [1]
    app = v5(b, "app-traffic", "traffic-pw", "app-traffic")
    assert app.connect() == 0
    assert app.subscribe("sz/v2/accessville/acme/#", 1) == [NOT_AUTHORIZED]
    assert app.subscribe("sz/v2/accessville/comune/#", 1) == [1]
    assert app.publish_code(ACME_TOPIC, qos=1) == NOT_AUTHORIZED  # mosquitto's own PUBACK 0x87
    assert pubrec_code(b.port, "app-traffic", "traffic-pw", "app-traffic-2", ACME_TOPIC) == NOT_AUTHORIZED
    owner.publish(ACME_TOPIC, b"real", qos=1)
    assert owner.wait_for(lambda: owner.received(ACME_TOPIC) == [b"real"])  # the denied ones never arrived


@needs_mosquitto
def test_open_mode_reserved_publish_gets_0x87(
    start_test_broker: Callable[..., Broker], v5: Callable[..., Probe5], access_scenario: Scenario
) -> None:
    b = start_test_broker("mosquitto", with_access(access_scenario, mode="open"))
    anon = v5(b, None, None, "lab-5")
    assert anon.connect() == 0
    assert anon.subscribe("lab/#", 2) == [2]
    assert anon.publish_code(OPEN_TOPIC, qos=1) == NOT_AUTHORIZED
    assert pubrec_code(b.port, None, None, "lab-raw", OPEN_TOPIC) == NOT_AUTHORIZED  # from the gate front
    assert pubrec_code(b.port, None, None, "lab-raw", "lab/raw") == 0
    assert anon.publish_code("lab/v5", qos=2) == 0
    assert anon.wait_for(lambda: anon.received("lab/v5") == [b"v5"])


def test_embedded_refuses_mqtt5(
    start_test_broker: Callable[..., Broker], v5: Callable[..., Probe5], access_scenario: Scenario
) -> None:
    b = start_test_broker("embedded", access_scenario)
    assert v5(b, "app", "app-pw", "app-1").connect() == UNSUPPORTED_PROTOCOL
