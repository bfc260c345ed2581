"""The mosquitto backend's dynamic-security plugin, seen from outside (docs/brokers.md).

mosquitto refuses a forbidden SUBSCRIBE itself (SUBACK 0x80) even on its private socket, with no
gate in between; through the gate, paho and the real `mosquitto_sub` see the refusal, nothing
crosses tenants, and nobody can reconfigure the plugin through its `$CONTROL` topics. Also: the
embedded backend, whose relayed SUBSCRIBEs the gate now forwards whole, refuses and counts once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from smartzone.endpoints.mqtt.broker import Broker
from smartzone.endpoints.mqtt.codec import PINGREQ, PINGRESP, SUBACK, Framer
from tests.endpoints.mqtt.conftest import WAIT_S, Probe
from tests.endpoints.mqtt.rawclient import PassObserver, RawClient, connect_packet, subscribe_packet

CITY = "sz/v2/accessville"
COMUNE = f"{CITY}/comune/parking-spot/cp-0001/telemetry"
ACME = f"{CITY}/acme/parking-spot/ap-0001/telemetry"


class UnixProbe:
    """A paho client on mosquitto's private unix socket: the broker alone, no gate."""

    def __init__(self, path: str, user: str, password: str, client_id: str) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, transport="unix")
        self.client.username_pw_set(user, password)
        self.cond = threading.Condition()
        self.connack: int | None = None
        self.subacks: dict[int, list[int]] = {}
        self.messages: list[str] = []
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.path = path

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        with self.cond:
            self.connack = rc.value
            self.cond.notify_all()

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, rcs: Any, props: Any = None) -> None:
        with self.cond:
            self.subacks[mid] = [rc.value for rc in rcs]
            self.cond.notify_all()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self.cond:
            self.messages.append(msg.topic)
            self.cond.notify_all()

    def connect(self) -> int:
        self.client.reconnect_delay_set(60, 120)
        self.client.connect(self.path, 1883, keepalive=30)
        self.client.loop_start()
        with self.cond:
            assert self.cond.wait_for(lambda: self.connack is not None, WAIT_S), "no CONNACK"
        assert self.connack is not None
        return self.connack

    def subscribe(self, topics: list[tuple[str, int]]) -> list[int]:
        _, mid = self.client.subscribe(topics)
        with self.cond:
            assert self.cond.wait_for(lambda: mid in self.subacks, WAIT_S), "no SUBACK"
        return self.subacks[mid]

    def wait_for_message(self, topic: str) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: topic in self.messages, WAIT_S)

    def close(self) -> None:
        if self.connack == 0:
            self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def unix_clients() -> Iterator[list[UnixProbe]]:
    made: list[UnixProbe] = []
    yield made
    for probe in made:
        probe.close()


def on_socket(b: Broker, made: list[UnixProbe], user: str, password: str, client_id: str) -> UnixProbe:
    assert b.service_socket is not None
    probe = UnixProbe(b.service_socket, user, password, client_id)
    made.append(probe)
    return probe


def test_mosquitto_itself_refuses_another_tenant_and_delivers_only_the_readable(mosquitto_broker, unix_clients):
    b = mosquitto_broker
    app = on_socket(b, unix_clients, "app", "app-pw", "app-direct")
    assert app.connect() == 0
    # no gate here: the 0x80 comes from mosquitto's dynamic-security plugin
    assert app.subscribe([(f"{CITY}/comune/#", 0), (f"{CITY}/acme/#", 0), ("$SYS/#", 0)]) == [0x80, 0, 0x80]
    assert app.subscribe([("#", 0)]) == [0]  # spans tenants: granted, delivery judged per message
    svc = on_socket(b, unix_clients, b.service_user, b.service_password, "svc-direct")
    assert svc.connect() == 0
    svc.client.publish(COMUNE, b"comune").wait_for_publish(WAIT_S)
    svc.client.publish(ACME, b"acme").wait_for_publish(WAIT_S)
    assert app.wait_for_message(ACME)  # sent after the comune message on the same path
    assert COMUNE not in app.messages


def test_a_wrong_password_is_refused_on_the_private_socket_too(mosquitto_broker, unix_clients):
    assert on_socket(mosquitto_broker, unix_clients, "app", "wrong", "app-bad").connect() != 0


def test_nobody_can_reconfigure_the_plugin_through_its_control_topic(mosquitto_broker, unix_clients):
    b = mosquitto_broker
    admin = on_socket(b, unix_clients, "admin", "admin-pw", "admin-ctl")
    assert admin.connect() == 0
    assert admin.subscribe([("$CONTROL/dynamic-security/#", 0)]) == [0x80]
    create = {"commands": [{"command": "createClient", "username": "intruder", "password": "x"}]}
    admin.client.publish("$CONTROL/dynamic-security/v1", json.dumps(create), qos=1).wait_for_publish(WAIT_S)
    svc = on_socket(b, unix_clients, b.service_user, b.service_password, "svc-ctl")
    assert svc.connect() == 0  # a later connection: the command, had it been taken, was applied before
    assert on_socket(b, unix_clients, "intruder", "x", "intruder").connect() != 0


def test_paho_through_the_gate_gets_0x80_in_place_and_counted(mosquitto_broker, clients):
    b = mosquitto_broker
    app = Probe(b.port, "app", "app-pw", "app-mixed")
    clients.append(app)
    assert app.connect() == 0
    before = b.denied_counts().get("app:subscribe", 0)
    # refused by mosquitto's own rules, granted, and refused for matching nothing readable (gate substitutes)
    _, mid = app.client.subscribe([(f"{CITY}/comune/#", 1), (f"{CITY}/acme/#", 1), ("foo/bar", 1)])
    assert app.wait_for(lambda: mid in app.subacks)
    assert app.subacks[mid] == [0x80, 1, 0x80]
    assert b.denied_counts().get("app:subscribe", 0) == before + 2


@pytest.mark.skipif(shutil.which("mosquitto_sub") is None, reason="mosquitto-clients not installed")
@pytest.mark.parametrize("topic_filter", [f"{CITY}/comune/#", f"{CITY}/acme/sandbox/#", "foo/bar"])
def test_mosquitto_sub_as_an_app_is_told_its_subscription_was_denied(mosquitto_broker, topic_filter):
    args = ["-h", "127.0.0.1", "-p", str(mosquitto_broker.port), "-u", "app", "-P", "app-pw", "-i", "app-cli"]
    done = subprocess.run(
        ["mosquitto_sub", *args, "-t", topic_filter, "-W", "3"], capture_output=True, text=True, timeout=15
    )
    assert "All subscription requests were denied" in done.stderr, done.stderr
    assert done.stdout == ""


def test_refusals_keep_their_place_in_the_broker_stream(mosquitto_broker):
    """Pipelined behind the CONNECT: each SUBACK (granted or refused) comes in order, with the PINGRESP after."""
    raw = RawClient(mosquitto_broker.port)
    try:
        stream = connect_packet("app-pipe", "app", "app-pw") + subscribe_packet("foo/bar", pid=1)
        stream += subscribe_packet(f"{CITY}/comune/#", pid=2) + subscribe_packet(f"{CITY}/acme/#", pid=3)
        raw.send(stream + bytes([PINGREQ << 4, 0]))
        framer, packets = Framer(), []
        deadline = time.monotonic() + WAIT_S
        while len(packets) < 5 and time.monotonic() < deadline:
            raw.received.clear()
            if not raw._recv(deadline):
                break
            packets += framer.feed(bytes(raw.received))
        kinds = [(kind, bytes(p[off:])) for kind, p, off in packets]
        assert kinds[1:] == [
            (SUBACK, b"\x00\x01\x80"),
            (SUBACK, b"\x00\x02\x80"),
            (SUBACK, b"\x00\x03\x00"),
            (PINGRESP, b""),
        ], kinds
    finally:
        raw.close()


def test_embedded_relayed_subscribe_is_refused_by_amqtt_and_counted_once(embedded_broker, clients):
    """The gate no longer trims filters: while observed, amqtt gets them all, refuses them itself, and
    only the gate counts (amqtt_process counts handed-over connections only)."""
    b = embedded_broker
    b.set_observer(PassObserver())  # relay instead of handing the socket over
    app = Probe(b.port, "app", "app-pw", "app-relayed")
    clients.append(app)
    assert app.connect() == 0
    _, mid = app.client.subscribe([(f"{CITY}/comune/#", 1), (f"{CITY}/acme/#", 1), ("foo/bar", 0)])
    assert app.wait_for(lambda: mid in app.subacks)
    assert app.subacks[mid] == [0x80, 1, 0x80]
    assert app.subscribe(f"{CITY}/acme/catalog") == [0]  # answered after: nothing else was pending
    assert b.denied_counts().get("app:subscribe") == 2
