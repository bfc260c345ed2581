"""The embedded (amqtt) backend: lifecycle, ports, description, amqtt-specific fixes."""

from __future__ import annotations

import socket

import pytest

from smartzone.cli.errors import EndpointError
from smartzone.endpoints.mqtt.broker import start_broker

CITY = "sz/v2/accessville"


def test_describe_prints_url_credentials_and_a_sub_line(embedded_broker, access_scenario):
    lines = embedded_broker.describe()
    text = "\n".join(lines)
    assert embedded_broker.url == f"mqtt://127.0.0.1:{embedded_broker.port}"
    assert embedded_broker.url in lines[0]
    for user in access_scenario.users:
        assert f"user {user.name}  password {user.password}" in text
    sub = next(line for line in lines if "mosquitto_sub" in line)
    assert f"-p {embedded_broker.port} -u admin -P admin-pw -i admin-sub" in sub
    assert embedded_broker.limitations
    assert all(f"limitation: {lim}" in text for lim in embedded_broker.limitations)


def test_busy_port_is_an_endpoint_error_naming_the_port(access_scenario):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(EndpointError, match=f"port {port} .*in use"):
            start_broker("embedded", access_scenario, port=port)


def test_close_frees_the_port(access_scenario):
    broker = start_broker("embedded", access_scenario)
    port = broker.port
    broker.close()
    broker.close()  # idempotent
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))


def test_service_account_reads_and_writes_everything(embedded_broker, mqtt_client):
    b = embedded_broker
    svc = mqtt_client(b, b.service_user, b.service_password, f"{b.service_user}-test")
    assert svc.subscribe("#") == [0]
    svc.publish(f"{CITY}/acme/parking-spot/ap-0001/telemetry", b"x")
    assert svc.wait_for(lambda: len(svc.received(f"{CITY}/acme/parking-spot/ap-0001/telemetry")) == 1)


def test_retained_messages_respect_tenant_isolation(embedded_broker, mqtt_client):
    """amqtt 0.12.1 replays retained messages of everyone's filters at CONNECT: not here."""
    b = embedded_broker
    admin = mqtt_client(b, "admin", "admin-pw", "admin-watch")
    assert admin.subscribe(f"{CITY}/#") == [0]  # a broad filter held by someone else
    acme = mqtt_client(b, "owner-acme", "acme-pw", "owner-acme")
    acme.publish(f"{CITY}/acme/parking-spot/ap-0001/status", b"acme-secret", retain=True)
    comune = mqtt_client(b, "owner-comune", "comune-pw", "owner-comune")
    own = f"{CITY}/comune/parking-spot/cp-0001/status"
    comune.publish(own, b"mine", retain=True)
    late = mqtt_client(b, "owner-comune", "comune-pw", "owner-comune-late")
    assert late.subscribe(f"{CITY}/comune/#") == [0]
    # the retained "mine" arrives after anything the CONNECT replay could have sent
    assert late.wait_for(lambda: late.received(own) == [b"mine"])
    assert all(b"acme-secret" != payload for _, payload, _ in late.messages)
    assert all("/acme/" not in topic for topic, _, _ in late.messages)


def test_mqtt5_clients_are_refused_by_the_embedded_broker(embedded_broker, mqtt_client):
    import paho.mqtt.client as mqtt

    probe = mqtt_client(embedded_broker, "admin", "admin-pw", "admin-v5", connect=False, protocol=mqtt.MQTTv5)
    assert probe.connect() == 0x84  # unsupported protocol version
    assert any("3.1.1 only" in lim for lim in embedded_broker.limitations)


def test_amqtt_contract():
    """SmartZone's embedded backend relies on these amqtt 0.12.1 details: a new amqtt must
    be re-checked (gate hand-over, retained-message override, plugin loading)."""
    from importlib.metadata import version

    from amqtt.broker import Broker as AmqttBroker
    from amqtt.contexts import ListenerType

    assert version("amqtt") == "0.12.1"
    assert ListenerType.EXTERNAL == "external"
    for name in ("external_connected", "_publish_retained_messages_for_subscription", "_topic_filtering",
                 "_get_handler", "_matches", "_subscriptions", "sessions"):  # fmt: skip
        assert hasattr(AmqttBroker, name) or name in AmqttBroker.__init__.__code__.co_names, name
