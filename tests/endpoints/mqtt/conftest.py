"""MQTT test fixtures: brokers on ephemeral ports and paho probes, all torn down per test.

Reusable by every MQTT test:
- `access_scenario`: tests/fixtures/access-city.yaml (3 tenants, owners, apps, admin, open data);
- `embedded_broker` / `mosquitto_broker`: a broker for `mqtt_scenario` (defaults to
  access_scenario; override the `mqtt_scenario` fixture in a test module to use another);
- `start_test_broker(backend, scenario)`: factory for any backend, closed at teardown;
- `mqtt_client(broker, user, password, client_id)`: a connected paho Probe (see Probe).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.mqtt.broker import Broker, start_broker

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
WAIT_S = 5.0


def has_mosquitto() -> bool:
    from smartzone.endpoints.mqtt.broker.backends.mosquitto import find_dynsec_plugin, find_mosquitto

    return find_mosquitto() is not None and find_dynsec_plugin() is not None


def dynsec_acls(policy: Any, user: str) -> set[tuple[str, str, bool]]:
    """(acltype, topic, allow) of a user's role in the dynamic-security file ("anonymous": anonymous)."""
    import json

    from smartzone.endpoints.mqtt.broker.backends.dynsec import config_json

    roles = {r["rolename"]: r["acls"] for r in json.loads(config_json(policy))["roles"]}
    return {(a["acltype"], a["topic"], a["allow"]) for a in roles[f"sz-{user}"]}


class Probe:
    """A paho client (VERSION2 callbacks) that records what happens, with bounded waits."""

    def __init__(
        self,
        port: int,
        user: str | None,
        password: str | None,
        client_id: str,
        clean: bool = True,
        protocol: int = mqtt.MQTTv311,
    ) -> None:
        kwargs: dict[str, Any] = {"client_id": client_id, "protocol": protocol}
        if protocol != mqtt.MQTTv5:
            kwargs["clean_session"] = clean
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, **kwargs)
        self.port = port
        self.clean = clean
        if user is not None:
            self.client.username_pw_set(user, password)
        self.cond = threading.Condition()
        self.connack: int | None = None
        self.disconnects = 0
        self.messages: list[tuple[str, bytes, bool]] = []
        self.subacks: dict[int, list[int]] = {}
        self.published: set[int] = set()
        c = self.client
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        c.on_publish = self._on_publish

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        with self.cond:
            self.connack = rc.value
            self.cond.notify_all()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        with self.cond:
            self.disconnects += 1
            self.cond.notify_all()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self.cond:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain)))
            self.cond.notify_all()

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, rcs: Any, props: Any = None) -> None:
        with self.cond:
            self.subacks[mid] = [rc.value for rc in rcs]
            self.cond.notify_all()

    def _on_publish(self, client: Any, userdata: Any, mid: int, rc: Any = None, props: Any = None) -> None:
        with self.cond:
            self.published.add(mid)
            self.cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def connect(self, timeout: float = WAIT_S) -> int:
        """Connect and return the CONNACK reason code value (0 = accepted); no retries."""
        self.client.reconnect_delay_set(60, 120)  # a refusal must not be retried during a test
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        assert self.wait_for(lambda: self.connack is not None or self.disconnects > 0, timeout), "no CONNACK"
        return self.connack if self.connack is not None else -1

    def subscribe(self, topic: str, qos: int = 0, timeout: float = WAIT_S) -> list[int]:
        """Subscribe and return the SUBACK reason code values (0-2 granted, >= 0x80 refused)."""
        _, mid = self.client.subscribe(topic, qos)
        assert self.wait_for(lambda: mid in self.subacks, timeout), f"no SUBACK for {topic}"
        return self.subacks[mid]

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        """Publish and, for QoS >= 1, wait until the broker acknowledged it."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if qos:
            assert self.wait_for(lambda: info.mid in self.published), f"no PUBACK for {topic}"

    def received(self, topic: str) -> list[bytes]:
        with self.cond:
            return [p for t, p, _ in self.messages if t == topic]

    def close(self) -> None:
        try:
            if self.connack == 0:
                self.client.disconnect()
        finally:
            self.client.loop_stop()


@pytest.fixture(scope="session")
def access_scenario(catalog: Catalog) -> Scenario:
    return load_scenario(FIXTURES / "access-city.yaml", catalog)


@pytest.fixture
def mqtt_scenario(access_scenario: Scenario) -> Scenario:
    """The scenario the broker fixtures serve; override in a module to serve another."""
    return access_scenario


@pytest.fixture
def start_test_broker() -> Iterator[Callable[..., Broker]]:
    """Factory: start_test_broker(backend, scenario, port=0) -> Broker, closed at teardown."""
    brokers: list[Broker] = []

    def _start(backend: str, scenario: Scenario, port: int = 0) -> Broker:
        if backend == "mosquitto" and not has_mosquitto():
            pytest.skip("mosquitto is not installed")
        broker = start_broker(backend, scenario, port=port)
        brokers.append(broker)
        return broker

    yield _start
    for broker in reversed(brokers):
        broker.close()


@pytest.fixture
def embedded_broker(start_test_broker: Callable[..., Broker], mqtt_scenario: Scenario) -> Broker:
    return start_test_broker("embedded", mqtt_scenario)


@pytest.fixture
def mosquitto_broker(start_test_broker: Callable[..., Broker], mqtt_scenario: Scenario) -> Broker:
    return start_test_broker("mosquitto", mqtt_scenario)


@pytest.fixture
def clients() -> Iterator[list[Probe]]:
    """A list to append Probes to; each is closed after the test."""
    made: list[Probe] = []
    yield made
    for p in made:
        p.close()


@pytest.fixture
def mqtt_client() -> Iterator[Callable[..., Probe]]:
    """Factory: mqtt_client(broker, user, password, client_id, connect=True, **kw) -> Probe."""
    probes: list[Probe] = []

    def _make(
        broker: Broker, user: str | None, password: str | None, client_id: str, connect: bool = True, **kwargs: Any
    ) -> Probe:
        probe = Probe(broker.port, user, password, client_id, **kwargs)
        probes.append(probe)
        if connect:
            assert probe.connect() == 0, f"{user} could not connect as {client_id}"
        return probe

    yield _make
    for probe in probes:
        probe.close()
