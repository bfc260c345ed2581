"""Persistent sessions work through the gate: QoS 1 messages queued while a client is away."""

from __future__ import annotations

import threading
import time

import pytest

from tests.endpoints.mqtt.conftest import Probe, has_mosquitto

TOPIC = "sz/v2/accessville/comune/parking-spot/cp-0001/telemetry"


def wait_until_offline(broker, client_id: str) -> None:
    """amqtt does not resend in-flight QoS 1 (amqtt #401): publish only once the broker saw
    the disconnect, so the message is queued rather than sent to the closing socket."""
    if broker.backend != "embedded":
        return  # mosquitto resends in-flight QoS 1 on reconnect either way
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        state = broker.session_states().get(client_id)
        if state is not None and state != "connected":
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"{client_id} still connected on the broker")


@pytest.mark.parametrize(
    "backend",
    ["embedded", pytest.param("mosquitto", marks=pytest.mark.skipif(not has_mosquitto(), reason="no mosquitto"))],
)
def test_offline_qos1_messages_reach_a_returning_persistent_session(backend, start_test_broker, access_scenario):
    b = start_test_broker(backend, access_scenario)
    first = Probe(b.port, "app-traffic", "traffic-pw", "app-traffic-durable", clean=False)
    try:
        assert first.connect() == 0
        assert first.subscribe(TOPIC, qos=1) == [1]
    finally:
        first.close()
    wait_until_offline(b, "app-traffic-durable")
    svc = Probe(b.port, b.service_user, b.service_password, f"{b.service_user}-sessions")
    back = Probe(b.port, "app-traffic", "traffic-pw", "app-traffic-durable", clean=False)
    try:
        assert svc.connect() == 0
        svc.publish(TOPIC, b"while-away", qos=1)
        assert back.connect() == 0
        assert back.wait_for(lambda: back.received(TOPIC) == [b"while-away"])
    finally:
        back.close()
        svc.close()
