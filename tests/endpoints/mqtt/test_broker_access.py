"""API.md "Access" as a full matrix on the embedded AND the mosquitto backend, with paho.

Every scenario user and anonymous x every tenant x (subscribe + delivery, publish cmd),
plus cmd/ack direction, broad filters, and session-takeover attempts. The expectations
below are written out by hand from access-city.yaml, not computed by SmartZone's policy.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from smartzone.definitions.scenario import Access
from smartzone.endpoints.mqtt.broker import Broker, start_broker
from smartzone.endpoints.mqtt.codec import connect_packet
from smartzone.runtime.clients import ClientRegistry
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
        ("app", "app-pw", 0),  # another user's valid credentials: admitted, in its own namespace
        ("app-traffic", "wrong", BAD_CREDENTIALS),  # the victim's name, wrong password
        (None, None, 0),  # anonymous presenting a user's id: admitted as "(anonymous)/app-traffic-1"
        ("admin", "admin-pw", 0),  # not even admin reaches another user's session
    ],
    ids=["other-user", "bad-password", "anonymous", "admin"],
)
def test_no_session_takeover(broker, clients, user, password, expected, clean):
    """The same client id from another user never reaches the victim's session (docs/api.md "Client ids")."""
    victim = connect(broker, clients, "app-traffic", "app-traffic-1", clean=clean)
    assert victim.subscribe(f"{CITY}/comune/#", qos=1) == [1]
    attacker = Probe(broker.port, user, password, "app-traffic-1", clean=clean)
    clients.append(attacker)
    assert attacker.connect() == expected
    svc = connect(broker, clients, broker.service_user, f"{broker.service_user}-to", broker.service_password)
    svc.publish(telemetry("comune"), b"still-mine")
    assert victim.wait_for(lambda: victim.received(telemetry("comune")) == [b"still-mine"])
    assert victim.disconnects == 0
    # the attacker's session is not the victim's: it holds none of the victim's subscriptions
    svc.publish(telemetry("comune"), b"second")
    assert victim.wait_for(lambda: victim.received(telemetry("comune")) == [b"still-mine", b"second"])
    assert attacker.received(telemetry("comune")) == []
    assert victim.disconnects == 0


def test_own_prefixed_ids_are_accepted_and_overlapping_names_are_not_confused(broker, clients):
    connect(broker, clients, "app-traffic", "app-traffic")
    owner = connect(broker, clients, "app-traffic", "app-traffic-9")
    assert owner.subscribe(f"{CITY}/comune/#") == [0]
    connect(broker, clients, "app", "app-x")
    # starts with "app-" but is app-traffic's: admitted as "app/app-traffic-9", apart from app-traffic's
    other = connect(broker, clients, "app", "app-traffic-9")
    svc = connect(broker, clients, broker.service_user, f"{broker.service_user}-ov", broker.service_password)
    svc.publish(telemetry("comune"), b"x")
    assert owner.wait_for(lambda: owner.received(telemetry("comune")) == [b"x"])
    assert owner.disconnects == 0 and other.disconnects == 0


@pytest.mark.parametrize("client_id", ["dashboard", "nodered4f2a9c01d3e5b7a8", "mosq-Ab12Cd34Ef56Gh78Ij"])
def test_any_client_id_works_and_two_users_with_the_same_id_stay_apart(broker, clients, client_id):
    """Node-RED's and mosquitto_sub's default ids, and one id shared by two users at once."""
    a = connect(broker, clients, "app-traffic", client_id)
    b = connect(broker, clients, "owner-acme", client_id)
    assert a.subscribe(f"{CITY}/comune/#") == [0] and b.subscribe(f"{CITY}/acme/#") == [0]
    svc = connect(broker, clients, broker.service_user, f"{broker.service_user}-same", broker.service_password)
    svc.publish(telemetry("comune"), b"c")
    svc.publish(telemetry("acme"), b"a")
    assert a.wait_for(lambda: a.received(telemetry("comune")) == [b"c"])
    assert b.wait_for(lambda: b.received(telemetry("acme")) == [b"a"])
    assert a.disconnects == 0 and b.disconnects == 0


def test_a_blank_client_id_gets_one_with_a_clean_session_only(broker, clients):
    first = connect(broker, clients, "app", "")
    second = connect(broker, clients, "app", "")  # a second blank one does not take the first one's place
    assert first.subscribe(f"{CITY}/acme/#") == [0]
    svc = connect(broker, clients, broker.service_user, f"{broker.service_user}-bl", broker.service_password)
    svc.publish(telemetry("acme"), b"x")
    assert first.wait_for(lambda: first.received(telemetry("acme")) == [b"x"])
    assert first.disconnects == 0 and second.disconnects == 0
    # blank id with a persistent session: MQTT 3.1.1 forbids it (paho will not even send it), CONNACK 2
    packet = bytearray(connect_packet("", "app", "app-pw"))
    assert packet[9] == 0xC2  # the flags byte: user name, password, clean session
    packet[9] = 0xC0
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as sock:
        sock.sendall(bytes(packet))
        answer = b""
        while len(answer) < 4 and (chunk := sock.recv(4 - len(answer))):
            answer += chunk
    assert answer == bytes([0x20, 2, 0, 2])


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


def test_mqtt5_assigned_client_identifier_resumes_the_session(access_scenario):
    """MQTT 5 with a blank id (mosquitto backend): the CONNACK names the id to resume with, and it does."""
    if not has_mosquitto():
        pytest.skip("mosquitto is not installed")
    b = start_broker("mosquitto", access_scenario)
    seen: list[tuple[bool, str | None]] = []
    done = threading.Event()

    def on_connect(client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        seen.append((bool(flags.session_present), getattr(props, "AssignedClientIdentifier", None)))
        done.set()

    def session(client_id: str, clean_start: bool) -> tuple[bool, str | None]:
        done.clear()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        c.username_pw_set("app", "app-pw")
        c.on_connect = on_connect
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 300
        c.connect("127.0.0.1", b.port, clean_start=clean_start, properties=props)
        c.loop_start()
        try:
            assert done.wait(10), "no CONNACK"
        finally:
            c.disconnect()
            c.loop_stop()
        return seen[-1]

    try:
        present, assigned = session("", True)
        assert not present and assigned is not None and assigned.startswith("auto-")
        present, again = session(assigned, False)
        assert present and again is None  # the same session, under the id the CONNACK gave
    finally:
        b.close()


def test_the_traffic_panel_shows_the_id_the_client_sent_with_its_user(broker, clients):
    """The broker sees namespaced ids; people (GUI traffic panel, certify) see what the client sent."""
    registry = ClientRegistry(broker.policy)
    broker.set_observer(registry)
    try:
        connect(broker, clients, "app", "app-traffic-1")  # another user's id: "app/app-traffic-1" inside
        connect(broker, clients, "owner-acme", "")
        shown = {(v.user, v.client_id) for v in registry.snapshot() if v.state == "connected"}
        assert shown == {("app", "app-traffic-1"), ("owner-acme", "(blank)")}
    finally:
        broker.set_observer(None)
