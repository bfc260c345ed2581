"""API.md "Access" as a full matrix on the embedded AND the mosquitto backend, with paho.

Every scenario user and anonymous x every tenant x (subscribe + delivery, publish cmd),
plus cmd/ack direction, broad filters, and session-takeover attempts. The expectations
below are written out by hand from access-city.yaml, not computed by SmartZone's policy.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smartzone.definitions.scenario import Access
from smartzone.endpoints.mqtt.broker import Broker, start_broker
from tests.endpoints.mqtt.conftest import Probe, has_mosquitto

CITY = "sz/v2/accessville"
TENANTS = ["comune", "acme", "open"]
CREDS = {
    "admin": "admin-pw",
    "owner-comune": "comune-pw",
    "owner-acme": "acme-pw",
    "app-traffic": "traffic-pw",
    "app": "app-pw",
    None: None,  # anonymous (the scenario opens read-only open data)
}
READ = {
    "admin": {"comune", "acme", "open"},
    "owner-comune": {"comune"},
    "owner-acme": {"acme"},
    "app-traffic": {"comune", "open"},
    "app": {"acme"},
    None: {"open"},
}
COMMAND = {
    "admin": {"comune", "acme", "open"},
    "owner-comune": {"comune"},
    "owner-acme": {"acme"},
    "app-traffic": {"comune"},
    "app": {"open"},
    None: set(),
}
USERS = list(CREDS)
IDS = [u or "anonymous" for u in USERS]


@pytest.fixture(scope="module", params=["embedded", "mosquitto"])
def broker(request: pytest.FixtureRequest, access_scenario) -> Iterator[Broker]:
    if request.param == "mosquitto" and not has_mosquitto():
        pytest.skip("mosquitto is not installed")
    b = start_broker(request.param, access_scenario)
    try:
        yield b
    finally:
        b.close()


def connect(
    b: Broker, made: list[Probe], user: str | None, client_id: str, password: str | None = "", clean: bool = True
) -> Probe:
    probe = Probe(b.port, user, CREDS[user] if password == "" else password, client_id, clean=clean)
    made.append(probe)
    assert probe.connect() == 0, f"{user} refused"
    return probe


def telemetry(tenant: str) -> str:
    return f"{CITY}/{tenant}/parking-spot/x-0001/telemetry"


def cmd(tenant: str) -> str:
    return f"{CITY}/{tenant}/street-light/x-0001/cmd"


@pytest.mark.parametrize("user", USERS, ids=IDS)
def test_read_matrix(broker, clients, user):
    """SUBACK per tenant, and only the permitted tenants' messages are delivered."""
    probe = connect(broker, clients, user, f"{user}-read" if user else "anon-read")
    # telemetry filters: `{t}/#` would be granted to an app that only commands t (its cmd/ack)
    codes = {t: probe.subscribe(f"{CITY}/{t}/+/+/telemetry", qos=1) for t in TENANTS}
    for t in TENANTS:
        if t in READ[user]:
            assert codes[t] == [1], f"{user} should read {t}"
        else:
            assert codes[t][0] >= 0x80, f"{user} must not read {t}"
    svc = connect(broker, clients, broker.service_user, f"{broker.service_user}-read", broker.service_password)
    denied = [t for t in TENANTS if t not in READ[user]]
    allowed = [t for t in TENANTS if t in READ[user]]
    for t in denied + allowed:  # denied first: anything leaking would arrive before the last allowed
        svc.publish(telemetry(t), f"to-{t}".encode())
    assert probe.wait_for(lambda: all(probe.received(telemetry(t)) for t in allowed))
    assert {topic for topic, _, _ in probe.messages} == {telemetry(t) for t in allowed}


@pytest.mark.parametrize("user", USERS, ids=IDS)
def test_command_matrix(broker, clients, user):
    """A user's cmd reaches the device side only for granted tenants; the rest is dropped."""
    svc = connect(broker, clients, broker.service_user, f"{broker.service_user}-cmd", broker.service_password)
    assert svc.subscribe(f"{CITY}/+/+/+/cmd", qos=1) == [1]
    probe = connect(broker, clients, user, f"{user}-cmd" if user else "anon-cmd")
    denied = [t for t in TENANTS if t not in COMMAND[user]]
    allowed = [t for t in TENANTS if t in COMMAND[user]]
    for t in denied + allowed:
        probe.publish(cmd(t), b'{"id": "1", "action": "on", "params": {}}')
    marker = cmd("marker")
    svc.publish(marker, b"end")  # after the user's acknowledged publishes
    assert svc.wait_for(lambda: bool(svc.received(marker)) and all(svc.received(cmd(t)) for t in allowed))
    got = {topic for topic, _, _ in svc.messages} - {marker}
    assert got == {cmd(t) for t in allowed}


def test_cmd_ack_is_device_to_app(broker, clients):
    """Apps read cmd/ack of tenants they may command, and never publish on it."""
    app = connect(broker, clients, "app", "app-ack")  # command: open; read: acme only
    assert app.subscribe(f"{CITY}/open/+/+/cmd/ack", qos=1) == [1]
    assert app.subscribe(f"{CITY}/open/+/+/telemetry", qos=1)[0] >= 0x80
    traffic = connect(broker, clients, "app-traffic", "app-traffic-ack")
    ack = f"{CITY}/comune/street-light/cl-0001/cmd/ack"
    assert traffic.subscribe(ack, qos=1) == [1]
    traffic.publish(ack, b"forged")  # dropped by the broker
    svc = connect(broker, clients, broker.service_user, f"{broker.service_user}-ack", broker.service_password)
    svc.publish(f"{CITY}/open/street-light/ol-0001/cmd/ack", b"open-ack")
    svc.publish(ack, b"real")
    assert traffic.wait_for(lambda: traffic.received(ack) == [b"real"])
    assert app.wait_for(lambda: app.received(f"{CITY}/open/street-light/ol-0001/cmd/ack") == [b"open-ack"])


@pytest.mark.parametrize("topic_filter", ["#", f"{CITY}/#", f"{CITY}/+/parking-spot/+/telemetry", "$SYS/#"])
def test_broad_filters_are_granted_and_deliver_only_the_readable_part(broker, clients, topic_filter):
    """Spanning filters are granted (test_broker_spanning.py checks what they deliver); `$SYS`
    matches nothing a non-admin may read."""
    owner = connect(broker, clients, "owner-comune", "owner-comune-broad")
    if topic_filter.startswith("$"):
        assert owner.subscribe(topic_filter)[0] >= 0x80
    else:
        assert owner.subscribe(topic_filter) == [0]
        admin = connect(broker, clients, "admin", "admin-broad")
        assert admin.subscribe(topic_filter) == [0]


def test_catalog_is_readable_by_tenant_readers(broker, clients):
    svc = connect(broker, clients, broker.service_user, f"{broker.service_user}-cat", broker.service_password)
    svc.publish(f"{CITY}/comune/catalog", b'{"devices": []}', retain=True)
    reader = connect(broker, clients, "app-traffic", "app-traffic-cat")
    assert reader.subscribe(f"{CITY}/comune/catalog", qos=1) == [1]
    assert reader.wait_for(lambda: reader.received(f"{CITY}/comune/catalog") == [b'{"devices": []}'])
    other = connect(broker, clients, "owner-acme", "owner-acme-cat")
    assert other.subscribe(f"{CITY}/comune/catalog")[0] >= 0x80


# CONNACK reason codes as paho reports them (MQTT 3.1.1 codes mapped to MQTT 5 names)
ID_REJECTED, BAD_CREDENTIALS, NOT_AUTHORISED = 133, 134, 135


@pytest.mark.parametrize("clean", [True, False], ids=["clean", "persistent"])
@pytest.mark.parametrize(
    ("user", "password", "expected"),
    [
        ("app", "app-pw", ID_REJECTED),  # another user's valid credentials
        ("app-traffic", "wrong", BAD_CREDENTIALS),  # the victim's name, wrong password
        (None, None, ID_REJECTED),  # anonymous presenting a user's id
        ("admin", "admin-pw", ID_REJECTED),  # not even admin may take over
    ],
    ids=["other-user", "bad-password", "anonymous", "admin"],
)
def test_no_session_takeover(broker, clients, user, password, expected, clean):
    victim = connect(broker, clients, "app-traffic", "app-traffic-1", clean=clean)
    assert victim.subscribe(f"{CITY}/comune/#", qos=1) == [1]
    attacker = Probe(broker.port, user, password, "app-traffic-1", clean=clean)
    clients.append(attacker)
    assert attacker.connect() == expected
    svc = connect(broker, clients, broker.service_user, f"{broker.service_user}-to", broker.service_password)
    svc.publish(telemetry("comune"), b"still-mine")
    assert victim.wait_for(lambda: victim.received(telemetry("comune")) == [b"still-mine"])
    assert victim.disconnects == 0


def test_own_prefixed_ids_are_accepted_and_overlapping_names_are_not_confused(broker, clients):
    connect(broker, clients, "app-traffic", "app-traffic")
    connect(broker, clients, "app-traffic", "app-traffic-dashboard-2")
    connect(broker, clients, "app", "app-x")
    thief = Probe(broker.port, "app", "app-pw", "app-traffic-9")  # starts with "app-" but is app-traffic's
    clients.append(thief)
    assert thief.connect() == ID_REJECTED
    nameless = Probe(broker.port, "app", "app-pw", "")
    clients.append(nameless)
    assert nameless.connect() != 0


def test_anonymous_is_off_unless_the_scenario_opens_it(access_scenario, clients):
    closed = access_scenario.model_copy(update={"access": Access(anonymous_read=False)})
    backends = ["embedded", "mosquitto"] if has_mosquitto() else ["embedded"]
    for backend in backends:
        b = start_broker(backend, closed)
        try:
            anon = Probe(b.port, None, None, "anon-1")
            clients.append(anon)
            assert anon.connect() == NOT_AUTHORISED, backend
            anon.close()
            clients.remove(anon)
        finally:
            b.close()
