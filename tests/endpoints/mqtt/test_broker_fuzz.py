"""Fuzz tier: malformed and mutated MQTT packets from ordinary users at a running gate, on every path.

Each example is a batch of connections, each from an ordinary user (two owners and an app) that
logs in properly and then sends bytes drawn by hypothesis: random bytes, truncated packets, bad
remaining lengths, bad fixed-header flags, byte flips, oversized headers, valid packets followed by
garbage. After each batch a client of ANOTHER user (app-traffic) connects, subscribes, reads the
retained documents (unchanged) and receives a live message. Bounded: derandomized, few examples.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartzone.endpoints.mqtt.broker import Broker
from smartzone.endpoints.mqtt.codec import remaining_length

from .conftest import Probe
from .rawclient import PassObserver, RawClient, packet, publish_packet, subscribe_packet, utf8

CITY = "accessville"
OFFENDERS = [("owner-comune", "comune-pw", "comune"), ("owner-acme", "acme-pw", "acme"), ("app", "app-pw", "acme")]
RETAINED = {f"sz/v2/{CITY}/comune/parking-spot/cp-000{i}/meta": f'{{"doc":{i}}}'.encode() for i in (1, 2)}
LIVE = f"sz/v2/{CITY}/comune/street-light/cl-0001/telemetry"
FUZZ = f"sz/v2/{CITY}/comune/fuzz/x"  # where the offenders' well-formed publishes go (never RETAINED)
CAP = 262_144
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

VALID = [
    publish_packet(FUZZ, b"payload", False),
    packet(0x32, utf8(FUZZ) + b"\x00\x07qos-1"),
    subscribe_packet(f"sz/v2/{CITY}/comune/#", options=1),
    subscribe_packet("#"),
    packet(0xA2, b"\x00\x02" + utf8(FUZZ)),  # UNSUBSCRIBE
    bytes([0xC0, 0]),  # PINGREQ
    bytes([0x40, 2, 0, 1]),  # PUBACK of an id nobody sent
]
valid = st.sampled_from(VALID)
chaos = st.one_of(
    st.binary(min_size=1, max_size=300),
    valid.flatmap(lambda p: st.integers(1, len(p) - 1).map(lambda n: p[:n])),
    st.tuples(st.integers(0, 255), st.binary(min_size=4, max_size=8)).map(lambda t: bytes([t[0], *[0xFF] * 4]) + t[1]),
    st.tuples(valid, st.integers(0, 15)).map(lambda t: bytes([(t[0][0] & 0xF0) | t[1]]) + t[0][1:]),
    st.tuples(valid, st.integers(0, 10_000), st.integers(0, 255)).map(
        lambda t: t[0][: t[1] % len(t[0])] + bytes([t[2]]) + t[0][t[1] % len(t[0]) + 1 :]
    ),
    st.integers(CAP, 268_435_455).map(lambda n: b"\x30" + remaining_length(n) + utf8(FUZZ)),
    st.tuples(valid, st.binary(min_size=1, max_size=100)).map(lambda t: t[0] + t[1]),
)
batches = st.lists(st.tuples(st.sampled_from(OFFENDERS), chaos), min_size=1, max_size=3)


@pytest.fixture(params=["embedded-handed", "embedded-relayed", "mosquitto"])
def broker(request: pytest.FixtureRequest, start_test_broker: Callable[..., Broker], mqtt_scenario: Any) -> Broker:
    backend, _, path = str(request.param).partition("-")
    started = start_test_broker(backend, mqtt_scenario)
    assert started.policy.scenario.access.max_packet_size == CAP  # type: ignore[attr-defined]
    if path == "relayed":
        started.set_observer(PassObserver())  # type: ignore[attr-defined]
    return started


@pytest.fixture
def admin(broker: Broker, mqtt_client: Any) -> Iterator[Probe]:
    """The admin, after publishing the retained documents every check reads back."""
    probe: Probe = mqtt_client(broker, "admin", "admin-pw", "admin-fuzz")
    for topic, payload in RETAINED.items():
        probe.publish(topic, payload, qos=1, retain=True)
    yield probe


def check_another_user_is_served(broker: Broker, admin: Probe, n: int) -> None:
    reader = Probe(broker.port, "app-traffic", "traffic-pw", f"app-traffic-check-{n}")
    try:
        assert reader.connect() == 0
        assert reader.subscribe(f"sz/v2/{CITY}/comune/#", qos=1) == [1]
        retained = lambda: {t: p for t, p, r in reader.messages if r and t in RETAINED}  # noqa: E731
        assert reader.wait_for(lambda: len(retained()) == len(RETAINED))
        assert retained() == RETAINED
        admin.publish(LIVE, f"live-{n}".encode(), qos=1)
        assert reader.wait_for(lambda: reader.received(LIVE) == [f"live-{n}".encode()])
    finally:
        reader.close()


def test_bad_clients_do_not_disturb_others(broker: Broker, admin: Probe) -> None:
    ids = itertools.count()

    @SETTINGS
    @given(batch=batches)
    def run(batch: list[tuple[tuple[str, str, str], bytes]]) -> None:
        n = next(ids)
        for k, ((user, password, _), data) in enumerate(batch):
            client = RawClient(broker.port)
            try:
                assert client.login(user, password, f"{user}-fuzz-{n}-{k}") == 0
                client.send(data)
                client.closed_by_peer(0.05)  # give the broker a moment with the bytes; either outcome is fine
            finally:
                client.close()
        check_another_user_is_served(broker, admin, n)

    run()
    counts = broker.denied_counts()
    assert sum(v for k, v in counts.items() if k.endswith((":protocol", ":oversize"))) > 0, counts  # the fuzz hit them
