"""Subscriptions that span tenants, as ordinary users, on the embedded AND the mosquitto backend.

docs/api.md "Access": a filter that can match something the user may read is granted and
delivers only the readable topics (live and retained); a filter with no readable part gets
the SUBACK failure code and is counted. The expectations are written out by hand from
access-city.yaml (app reads acme and the cmd/ack of open; owner-comune reads comune;
app-traffic reads comune and open), with every tenant's traffic present so a leak would show.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smartzone.endpoints.mqtt.broker import Broker, start_broker
from tests.endpoints.mqtt.conftest import Probe, has_mosquitto

CITY = "sz/v2/accessville"
TENANTS = ["comune", "acme", "open"]
CREDS = {"app": "app-pw", "owner-comune": "comune-pw", "app-traffic": "traffic-pw", "admin": "admin-pw"}
READ = {"app": {"acme"}, "owner-comune": {"comune"}, "app-traffic": {"comune", "open"}, "admin": set(TENANTS)}
ORDINARY = ["app", "owner-comune", "app-traffic"]


@pytest.fixture(scope="module", params=["embedded", "mosquitto"])
def broker(request: pytest.FixtureRequest, access_scenario) -> Iterator[Broker]:
    if request.param == "mosquitto" and not has_mosquitto():
        pytest.skip("mosquitto is not installed")
    b = start_broker(request.param, access_scenario)
    try:
        yield b
    finally:
        b.close()


def connect(b: Broker, made: list[Probe], user: str, client_id: str) -> Probe:
    password = b.service_password if user == b.service_user else CREDS[user]
    probe = Probe(b.port, user, password, client_id)
    made.append(probe)
    assert probe.connect() == 0, f"{user} refused"
    return probe


def telemetry(tenant: str) -> str:
    return f"{CITY}/{tenant}/parking-spot/{tenant[:2]}-0001/telemetry"


def catalog(tenant: str) -> str:
    return f"{CITY}/{tenant}/catalog"


def drain(svc: Probe, probe: Probe, expected: set[str], marker: str) -> set[str]:
    """Wait for the expected topics, then for a live "end" on `marker` (a readable topic the
    filter matches) sent after them; the topics seen.

    Anything that leaked would have been sent to the probe before the marker, on the same
    connection, so it is in the set by the time the marker arrives."""
    assert probe.wait_for(lambda: expected <= {t for t, _, _ in probe.messages}), (expected, probe.messages)
    svc.publish(marker, b"end")
    assert probe.wait_for(lambda: b"end" in probe.received(marker))
    return {t for t, _, _ in probe.messages}


@pytest.mark.parametrize("user", ORDINARY)
@pytest.mark.parametrize(
    "topic_filter", [f"{CITY}/+/parking-spot/+/telemetry", f"{CITY}/+/+/+/telemetry", f"{CITY}/#", "#"]
)
def test_a_spanning_filter_delivers_exactly_the_readable_live_part(broker, clients, user, topic_filter):
    probe = connect(broker, clients, user, f"{user}-span")
    assert probe.subscribe(topic_filter, qos=1) == [1]
    svc = connect(broker, clients, broker.service_user, f"{broker.service_user}-span")
    readable = [t for t in TENANTS if t in READ[user]]
    for t in [t for t in TENANTS if t not in READ[user]] + readable:  # the others' traffic first
        svc.publish(telemetry(t), f"to-{t}".encode())
    seen = drain(svc, probe, {telemetry(t) for t in readable}, telemetry(readable[0]))
    assert seen == {telemetry(t) for t in readable}


@pytest.mark.parametrize("user", ORDINARY)
def test_a_spanning_filter_delivers_exactly_the_readable_retained_documents(broker, clients, user):
    svc = connect(broker, clients, broker.service_user, f"{broker.service_user}-ret")
    for t in TENANTS:
        svc.publish(catalog(t), f'{{"tenant": "{t}"}}'.encode(), retain=True)
    probe = connect(broker, clients, user, f"{user}-ret")
    assert probe.subscribe(f"{CITY}/+/catalog", qos=1) == [1]
    readable = [t for t in TENANTS if t in READ[user]]
    seen = drain(svc, probe, {catalog(t) for t in readable}, catalog(readable[0]))
    assert seen == {catalog(t) for t in readable}
    assert all(retain for _, payload, retain in probe.messages if payload != b"end")
    # the broadest filter gets the same retained documents, no more
    wide = connect(broker, clients, user, f"{user}-ret-wide")
    assert wide.subscribe("#", qos=1) == [1]
    assert drain(svc, wide, {catalog(t) for t in readable}, catalog(readable[0])) == {catalog(t) for t in readable}


@pytest.mark.parametrize(
    ("user", "topic_filter"),
    [
        ("app", f"{CITY}/comune/#"),
        ("app", f"{CITY}/comune/+/+/telemetry"),
        ("app", f"{CITY}/open/+/+/telemetry"),  # app commands open: only its cmd/ack is readable
        ("owner-comune", f"{CITY}/acme/+/catalog"),
        ("owner-comune", "sz/v2/elsewhere/#"),
        ("app-traffic", f"{CITY}/access/app"),
        ("app-traffic", "$SYS/#"),
    ],
)
def test_a_filter_with_no_readable_part_is_refused_and_counted(broker, clients, user, topic_filter):
    probe = connect(broker, clients, user, f"{user}-none")
    before = broker.denied_counts().get(f"{user}:subscribe", 0)
    assert probe.subscribe(topic_filter)[0] >= 0x80
    assert probe.wait_for(lambda: broker.denied_counts().get(f"{user}:subscribe", 0) == before + 1)


def test_the_open_subtree_of_a_commanded_tenant_gives_its_acks_only(broker, clients):
    """app may command open: `open/#` is granted and brings cmd/ack, never open's telemetry."""
    probe = connect(broker, clients, "app", "app-acks")
    assert probe.subscribe(f"{CITY}/open/#", qos=1) == [1]
    svc = connect(broker, clients, broker.service_user, f"{broker.service_user}-acks")
    ack = f"{CITY}/open/street-light/ol-0001/cmd/ack"
    svc.publish(telemetry("open"), b"secret")
    svc.publish(ack, b"ack")
    assert probe.wait_for(lambda: probe.received(ack) == [b"ack"])
    assert probe.received(telemetry("open")) == []


def test_discovery_documents_go_to_every_user_and_access_documents_to_their_owner(broker, clients):
    svc = connect(broker, clients, broker.service_user, f"{broker.service_user}-disc")
    svc.publish(f"{CITY}/tenants", b'{"tenants": []}', retain=True)
    for name in CREDS:
        svc.publish(f"{CITY}/access/{name}", name.encode(), retain=True)
    for user in ORDINARY:
        probe = connect(broker, clients, user, f"{user}-disc")
        assert probe.subscribe(f"{CITY}/tenants", qos=1) == [1]
        assert probe.subscribe(f"{CITY}/access/+", qos=1) == [1]
        assert probe.wait_for(
            lambda p=probe, u=user: bool(p.received(f"{CITY}/tenants") and p.received(f"{CITY}/access/{u}"))
        )
        seen = drain(svc, probe, set(), f"{CITY}/access/{user}")
        assert seen == {f"{CITY}/tenants", f"{CITY}/access/{user}"}, user
