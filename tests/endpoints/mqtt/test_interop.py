"""The Eclipse Paho interoperability behaviours (paho.mqtt.testing client_test.py), in open lab mode.

Each behaviour runs, as anonymous paho (or raw MQTT) clients, against SmartZone's embedded broker
and SmartZone's mosquitto backend (both with `access: {mode: open}`) and against a bare mosquitto
started here (the reference). Known gaps of amqtt 0.12 are strict expected failures with their
reason (docs/brokers.md LIMITATIONS). bench/interop_score.py turns the outcomes into the table of
docs/brokers.md "Interoperability".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.mqtt.broker import Broker
from smartzone.endpoints.mqtt.broker.backends.mosquitto import find_mosquitto
from smartzone.endpoints.mqtt.codec import control_packet, encode_string
from tests.endpoints.mqtt.conftest import has_mosquitto
from tests.endpoints.mqtt.interop_lab import REFUSED_TOPIC, WAIT_S, BareMosquitto, QosProbe, RawSession, connect_bytes
from tests.endpoints.mqtt.test_broker_sessions import wait_until_offline

BACKENDS = ["embedded", "mosquitto", "bare-mosquitto"]
AMQTT_NO_REDELIVERY = "amqtt 0.12 does not resend unacknowledged QoS 1/2 messages after a reconnect (amqtt #401)"
MOSQUITTO_OVERLAP = (
    "mosquitto 2.0.11 delivers a message matched by overlapping subscriptions once, at the QoS of one of them "
    "(here 1), not at the highest [MQTT-3.3.5-1]"
)
MOSQUITTO_SUBSCRIBE_GRANTED = (
    "a bare mosquitto 2.0.11 with an acl_file grants a 3.1.1 subscription its ACL denies and only filters "
    "delivery (SmartZone's mosquitto refuses it with 0x80 through its dynamic-security plugin)"
)
PUBLISH, SUBACK, CONNACK = 3, 9, 2


@pytest.fixture
def open_scenario(access_scenario: Scenario) -> Scenario:
    return access_scenario.model_copy(update={"access": access_scenario.access.model_copy(update={"mode": "open"})})


@dataclass
class Lab:
    """An open broker under test: SmartZone's embedded or mosquitto backend (broker set), or a bare mosquitto."""

    backend: str
    port: int
    broker: Broker | None = None

    def wait_offline(self, client_id: str) -> None:
        """Wait until the broker saw a persistent session's disconnect (amqtt drops what it sends meanwhile)."""
        if self.broker is not None:  # the broker knows the anonymous client's id namespaced (docs/api.md "Client ids")
            policy = self.broker.policy  # type: ignore[attr-defined]
            wait_until_offline(self.broker, policy.session_id(policy.identity_of(None), client_id))


@pytest.fixture(params=BACKENDS)
def lab(request: Any, start_test_broker: Callable[..., Broker], open_scenario: Scenario) -> Iterator[Lab]:
    backend = request.param
    if backend == "bare-mosquitto":
        binary = find_mosquitto()
        if binary is None or not has_mosquitto():
            pytest.skip("mosquitto is not installed")
        bare = BareMosquitto(binary)
        try:
            yield Lab(backend, bare.port)
        finally:
            bare.close()
        return
    broker = start_test_broker(backend, open_scenario)
    yield Lab(backend, broker.port, broker)


@pytest.fixture
def client() -> Iterator[Callable[..., QosProbe]]:
    """Factory: client(port, client_id, clean=True, connect=True) -> an anonymous QosProbe."""
    probes: list[QosProbe] = []

    def _make(port: int, client_id: str, clean: bool = True, connect: bool = True) -> QosProbe:
        probe = QosProbe(port, None, None, client_id, clean=clean)
        probes.append(probe)
        if connect:
            assert probe.connect() == 0, f"anonymous {client_id!r} could not connect"
        return probe

    yield _make
    for probe in probes:
        probe.close()


@pytest.fixture
def raw() -> Iterator[Callable[[int], RawSession]]:
    sessions: list[RawSession] = []

    def _open(port: int) -> RawSession:
        sessions.append(RawSession(port))
        return sessions[-1]

    yield _open
    for s in sessions:
        s.close()


def expect_gap(request: Any, lab: Lab, reason: str, on: tuple[str, ...] = ("embedded",)) -> None:
    """Declare a known gap of these backends: the test must then fail (strict xfail, so a fix shows)."""
    if lab.backend in on:
        request.node.add_marker(pytest.mark.xfail(reason=reason, strict=True))


def raw_connect(session: RawSession, client_id: str, **kwargs: Any) -> int:
    """Send a CONNECT and return the CONNACK return code (-1 if none came)."""
    session.send(connect_bytes(client_id, **kwargs))
    got = session.packet()
    return got[1][1] if got is not None and got[0] >> 4 == CONNACK else -1


def raw_subscribe(session: RawSession, topic_filter: str, qos: int) -> int:
    session.send(control_packet(0x82, (1).to_bytes(2, "big") + encode_string(topic_filter) + bytes([qos])))
    got = session.packet()
    assert got is not None and got[0] >> 4 == SUBACK, f"no SUBACK: {got}"
    return got[1][-1]


def test_basic(lab: Lab, client: Callable[..., QosProbe]) -> None:
    port = lab.port
    c = client(port, "basic")
    assert c.subscribe("TopicA", 2) == [2]
    for qos in (0, 1, 2):
        c.publish("TopicA", f"qos {qos}", qos=qos)
    assert c.wait_for(lambda: len(c.messages) == 3), c.messages


def test_retained_messages(lab: Lab, client: Callable[..., QosProbe]) -> None:
    port = lab.port
    pub = client(port, "retainer")
    for qos, topic in enumerate(("TopicA/B", "Topic/C", "TopicA/C")):
        pub.publish(topic, f"retained qos {qos}", qos=qos, retain=True)
    pub.publish("TopicA/B", "marker", qos=1)  # after the three: all are stored once it is acknowledged
    late = client(port, "late")
    assert late.subscribe("+/+", 2) == [2]
    assert late.wait_for(lambda: len(late.messages) == 3), late.messages
    assert all(retain for _, _, retain in late.messages)
    for topic in ("TopicA/B", "Topic/C", "TopicA/C"):
        pub.publish(topic, b"", qos=1, retain=True)  # clears the retained message
    later = client(port, "later")
    assert later.subscribe("+/+", 2) == [2]
    pub.publish("TopicA/B", "live", qos=1)
    assert later.wait_for(lambda: len(later.messages) >= 1)
    assert [(t, p) for t, p, _ in later.messages] == [("TopicA/B", b"live")]


def test_will_message(lab: Lab, client: Callable[..., QosProbe], raw: Callable[[int], RawSession]) -> None:
    port = lab.port
    watcher = client(port, "watcher")
    assert watcher.subscribe("TopicA", 2) == [2]
    dying = raw(port)
    assert raw_connect(dying, "dying", will=("TopicA", b"client not disconnected", 2)) == 0
    dying.close()  # no DISCONNECT: the broker must publish the will
    assert watcher.wait_for(lambda: watcher.received("TopicA") == [b"client not disconnected"])


def test_zero_length_client_id(lab: Lab, raw: Callable[[int], RawSession]) -> None:
    port = lab.port
    assert raw_connect(raw(port), "", clean=True) == 0  # the broker assigns an id
    assert raw_connect(raw(port), "", clean=False) == 2  # identifier rejected [MQTT-3.1.3-8]


def test_offline_message_queueing(lab: Lab, client: Callable[..., QosProbe]) -> None:
    port = lab.port
    away = client(port, "away", clean=False)
    assert away.subscribe("+/+", 2) == [2]
    away.close()
    lab.wait_offline("away")
    pub = client(port, "sender")
    for qos, topic in enumerate(("TopicA/B", "Topic/C", "TopicA/C")):
        pub.publish(topic, f"qos {qos}", qos=qos)
    back = client(port, "away", clean=False)
    # QoS 1 and 2 must be queued; QoS 0 may be (client_test.py accepts 2 or 3)
    assert back.wait_for(lambda: {"Topic/C", "TopicA/C"} <= {t for t, _, _ in back.messages}), back.messages


def test_overlapping_subscriptions(request: Any, lab: Lab, client: Callable[..., QosProbe]) -> None:
    expect_gap(request, lab, MOSQUITTO_OVERLAP, on=("mosquitto", "bare-mosquitto"))
    port = lab.port
    c = client(port, "overlap")
    assert c.subscribe("TopicA/#", 2) == [2]
    assert c.subscribe("TopicA/+", 1) == [1]
    c.publish("TopicA/C", "overlapping", qos=2)
    c.publish("TopicA", "marker", qos=1)  # matched once (by TopicA/#): arrives after the copies
    assert c.wait_for(lambda: ("TopicA", 1) in c.qos or ("TopicA", 2) in c.qos)
    copies = sorted(q for t, q in c.qos if t == "TopicA/C")
    assert copies in ([2], [1, 2]), copies  # one copy at the highest QoS, or one per subscription


def test_keepalive(lab: Lab, client: Callable[..., QosProbe], raw: Callable[[int], RawSession]) -> None:
    port = lab.port
    watcher = client(port, "ka-watcher")
    assert watcher.subscribe("TopicA", 2) == [2]
    silent = raw(port)
    assert raw_connect(silent, "silent", keep_alive=2, will=("TopicA", b"keepalive expiry", 2)) == 0
    # no PINGREQ: after 1.5 x 2 s the broker must close the connection and publish the will
    assert silent.packet(timeout=WAIT_S) is None
    assert watcher.wait_for(lambda: watcher.received("TopicA") == [b"keepalive expiry"])


def test_redelivery_on_reconnect(
    request: Any, lab: Lab, client: Callable[..., QosProbe], raw: Callable[[int], RawSession]
) -> None:
    port = lab.port
    expect_gap(request, lab, AMQTT_NO_REDELIVERY)
    first = raw(port)
    assert raw_connect(first, "redeliver", clean=False) == 0
    assert raw_subscribe(first, "TopicA/#", 2) == 2
    pub = client(port, "redeliver-pub")
    pub.publish("TopicA/B", "qos 1", qos=1)
    pub.publish("TopicA/C", "qos 2", qos=2)
    got = [first.packet() for _ in range(2)]
    assert all(p is not None and p[0] >> 4 == PUBLISH for p in got), got
    first.close()  # never acknowledged
    second = raw(port)
    assert raw_connect(second, "redeliver", clean=False) == 0
    again = [second.packet(timeout=5.0) for _ in range(2)]
    assert all(p is not None and p[0] >> 4 == PUBLISH and p[0] & 0x08 for p in again), again  # DUP set


def test_dollar_topics_not_matched_by_wildcards(
    lab: Lab, client: Callable[..., QosProbe], raw: Callable[[int], RawSession]
) -> None:
    port = lab.port
    c = client(port, "dollar")
    assert c.subscribe("#", 2) == [2]
    p = raw(port)
    assert raw_connect(p, "dollar-pub") == 0
    p.send(control_packet(0x32, encode_string("$TopicA/B") + (1).to_bytes(2, "big") + b"dollar"))
    # a broker may refuse a `$` topic (SmartZone: PUBACK or close); once it answered, it has routed it
    p.packet()
    c.publish("TopicA/B", "marker", qos=1)
    assert c.wait_for(lambda: c.received("TopicA/B") == [b"marker"])
    assert [t for t, _, _ in c.messages if t.startswith("$")] == []


def test_unsubscribe(lab: Lab, client: Callable[..., QosProbe]) -> None:
    port = lab.port
    c = client(port, "unsub")
    for topic in ("TopicA/B", "Topic/C", "TopicA/C"):
        assert c.subscribe(topic, 2) == [2]
    for topic in ("TopicA/B", "TopicA/C"):
        _, mid = c.client.unsubscribe(topic)
        assert c.wait_for(lambda m=mid: m in c.unsubacks), f"no UNSUBACK for {topic}"
    for topic in ("TopicA/B", "TopicA/C", "Topic/C"):  # Topic/C last: when it is in, the others would be too
        c.publish(topic, "after unsubscribe", qos=1)
    assert c.wait_for(lambda: c.received("Topic/C") == [b"after unsubscribe"])
    assert sorted({t for t, _, _ in c.messages}) == ["Topic/C"]


def test_subscribe_failure(request: Any, lab: Lab, client: Callable[..., QosProbe]) -> None:
    expect_gap(request, lab, MOSQUITTO_SUBSCRIBE_GRANTED, on=("bare-mosquitto",))
    port = lab.port
    c = client(port, "refused")
    assert c.subscribe(REFUSED_TOPIC, 2) == [0x80]
    assert c.subscribe("TopicA", 2) == [2]  # the connection goes on
