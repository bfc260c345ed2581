"""Contract with the pinned paho-mqtt (2.2.0) for what the publisher relies on, and raw QoS 0 packets."""

from __future__ import annotations

import socket
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import paho.mqtt.client as mqtt

from smartzone.endpoints.mqtt.broker import Broker
from smartzone.endpoints.mqtt.codec import remaining_length
from smartzone.endpoints.mqtt.publisher import BrokerAddress, drop_wakeup_pair, new_client
from smartzone.endpoints.mqtt.rawpublish import RawWriter

TOPIC = "sz/v2/accessville/comune/parking-spot/cp-0001/telemetry"


def test_pinned_paho_version() -> None:
    assert version("paho-mqtt") == "2.2.0"


def test_varint_matches_the_mqtt_spec_examples() -> None:
    assert [remaining_length(n) for n in (0, 127, 128, 16383, 16384, 2097151)] == [
        b"\x00",
        b"\x7f",
        b"\x80\x01",
        b"\xff\x7f",
        b"\x80\x80\x01",
        b"\xff\xff\x7f",
    ]


def test_raw_packets_and_paho_without_its_wakeup_pair(embedded_broker: Broker, mqtt_client: Callable[..., Any]) -> None:
    probe = mqtt_client(embedded_broker, "admin", "admin-pw", "admin-contract")
    probe.subscribe(TOPIC, qos=1)
    b = embedded_broker
    client = new_client(BrokerAddress(b.host, b.port, b.service_user, b.service_password), f"{b.service_user}-c")
    connected: list[bool] = []
    client.on_connect = lambda c, u, f, rc, p: connected.append(not rc.is_failure)
    client.connect(b.host, b.port)
    wake = None
    try:
        for _ in range(100):
            if connected:
                break
            client.loop(timeout=0.05)
        assert connected == [True]
        wake = drop_wakeup_pair(client)  # the private attribute this relies on still exists
        assert isinstance(wake, socket.socket)
        payloads = [b"x" * n for n in (10, 200, 20000)]
        writer = RawWriter()
        for p in payloads:
            writer.add(TOPIC, p, False)
        sock = client.socket()
        assert isinstance(sock, socket.socket)
        assert writer.flush(sock) == (3, 0)
        info = client.publish(TOPIC, b"via paho", qos=1)  # paho still publishes without the pair
        assert info.rc == mqtt.MQTT_ERR_SUCCESS
        for _ in range(100):
            if len(probe.received(TOPIC)) == 4:
                break
            client.loop(timeout=0.05)
        assert probe.wait_for(lambda: len(probe.received(TOPIC)) == 4)
        assert probe.received(TOPIC) == [*payloads, b"via paho"]
    finally:
        client.disconnect()
        client.loop(timeout=0)
        if wake is not None:
            wake.close()


def test_loop_start_thread_is_visible_to_the_watchdog(embedded_broker: Broker) -> None:
    """The command listener's watchdog probe reads paho's private `_thread` (set by loop_start)."""
    b = embedded_broker
    client = new_client(BrokerAddress(b.host, b.port, b.service_user, b.service_password), f"{b.service_user}-t")
    assert client._thread is None
    client.connect_async(b.host, b.port)
    client.loop_start()
    try:
        thread = client._thread
        assert thread is not None and thread.is_alive()
    finally:
        client.disconnect()
        client.loop_stop()
    assert client._thread is None and not thread.is_alive()
