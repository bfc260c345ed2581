"""Pure parts of the broker package: topic rules, client-id binding, wire framing, SUBACK repair."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from smartzone.endpoints.mqtt.broker.backends.dynsec import SUBSCRIBE_REFUSED, config_json
from smartzone.endpoints.mqtt.broker.gate.relay import substitute_refused
from smartzone.endpoints.mqtt.broker.policy import ANONYMOUS, SERVICE_USER, AccessPolicy, filters_overlap, topic_matches
from smartzone.endpoints.mqtt.codec import Framer, WireError, parse_connect, remaining_length
from tests.endpoints.mqtt.conftest import dynsec_acls


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("a/b/#", "a/b/c/d", True),
        ("a/b/#", "a/b", True),
        ("a/+/c", "a/x/c", True),
        ("a/+/c", "a/x/c/d", False),
        ("a/b/+/+/cmd", "a/b/t/d/cmd/ack", False),
        ("#", "$SYS/broker", False),
        ("#", "a", True),
    ],
)
def test_topic_matches(pattern, topic, expected):
    assert topic_matches(pattern, topic) is expected


@pytest.mark.parametrize(
    ("sub", "pattern", "expected"),
    [
        ("a/b/#", "a/b/#", True),
        ("a/b/c/+", "a/b/#", True),
        ("a/#", "a/b/#", True),  # spans more than the pattern, but meets it
        ("a/+/#", "a/b/#", True),
        ("#", "a/b/#", True),
        ("a/#", "a", True),  # `#` matches its parent level
        ("a/b", "a/b/#", True),
        ("a/c/#", "a/b/#", False),
        ("a/+/x/telemetry", "a/b/+/+/cmd", False),  # different depth and last level
        ("a/+/+/+/+", "a/b/+/+/cmd", True),
        ("a/b/+/+/cmd", "a/b/+/+/cmd", True),
        ("a/b/x/+/cmd", "a/b/+/+/cmd", True),
        ("a/b/+/+/cmd/#", "a/b/+/+/cmd", True),
        ("a/b/+/+/cmd/+", "a/b/+/+/cmd", False),
        ("a/+", "a/b/c", False),
        ("$SYS/#", "#", False),
        ("#", "$SYS/x", False),
        ("+/x", "$SYS/x", False),
        ("$SYS/+", "$SYS/x", True),
    ],
)
def test_filters_overlap(sub, pattern, expected):
    assert filters_overlap(sub, pattern) is expected
    assert filters_overlap(pattern, sub) is expected  # overlap is symmetric


def test_spanning_filters_are_accepted_and_delivery_stays_per_topic(access_scenario):
    """A filter over several tenants is accepted if it can match something readable; what it
    delivers is still decided per topic."""
    policy = AccessPolicy(access_scenario, "svc")
    app = policy.authenticate("app", "app-pw")
    assert app is not None
    readable = policy.readable_tenants(app)
    city = access_scenario.city
    other = next(t.id for t in access_scenario.tenants if t.id not in readable)
    mine = sorted(readable)[0]
    for flt in (f"sz/v2/{city}/+/parking-spot/+/telemetry", f"sz/v2/{city}/+/catalog", f"sz/v2/{city}/#", "#"):
        assert policy.may_subscribe(app, flt), flt
    assert policy.may_receive(app, f"sz/v2/{city}/{mine}/catalog")
    assert not policy.may_receive(app, f"sz/v2/{city}/{other}/catalog")
    assert not policy.may_subscribe(app, f"sz/v2/{city}/{other}/#")
    assert not policy.may_subscribe(app, f"sz/v2/{city}/{other}/+/+/telemetry")
    assert not policy.may_subscribe(app, "sz/v2/elsewhere/#")
    assert not policy.may_subscribe(app, f"sz/v2/{city}/access/owner-comune")


def test_every_user_reads_the_tenant_list_and_only_its_own_access_document(access_scenario):
    policy = AccessPolicy(access_scenario, "svc")
    city = access_scenario.city
    names = [u.name for u in access_scenario.users]
    for name in names:
        who = policy.identity_of(name)
        assert policy.may_receive(who, f"sz/v2/{city}/tenants"), name
        assert policy.may_receive(who, f"sz/v2/{city}/access/{name}"), name
        for other in names:
            if other != name and who.role != "admin":
                assert not policy.may_receive(who, f"sz/v2/{city}/access/{other}"), (name, other)
        assert not policy.may_publish(who, f"sz/v2/{city}/tenants") or who.role == "admin"
    anon = policy.identity_of(None)
    assert not policy.may_receive(anon, f"sz/v2/{city}/tenants")


def test_client_ids_are_namespaced_per_user(access_scenario):
    policy = AccessPolicy(access_scenario, "svc")
    assert policy.owner_of_client_id("app-traffic-7") == "app-traffic"
    assert policy.owner_of_client_id("app-7") == "app"
    assert policy.owner_of_client_id("apple") is None
    assert policy.owner_of_client_id(f"{SERVICE_USER}-bridge-1") == SERVICE_USER
    app = policy.authenticate("app", "app-pw")
    traffic = policy.authenticate("app-traffic", "traffic-pw")
    assert app is not None and traffic is not None
    # own ids pass unchanged; any other id, another user's included, goes into the user's namespace
    assert policy.session_id(app, "app-7") == "app-7" and policy.session_id(app, "app") == "app"
    assert policy.session_id(app, "app-traffic-7") == "app/app-traffic-7"
    assert policy.session_id(traffic, "app-traffic-7") == "app-traffic-7"
    assert policy.session_id(app, "nodered12ab") == "app/nodered12ab"
    assert policy.session_id(app, "app-x/y") == "app/app-x/y"  # "/" never passes unchanged
    assert policy.session_id(traffic, "app/x") == "app-traffic/app/x"
    anon = policy.authenticate(None, None)
    assert anon is not None and anon.name == ANONYMOUS
    assert policy.session_id(anon, "app-traffic") == f"{ANONYMOUS}/app-traffic"
    # the broker's second line: a session id belongs to one user only
    assert policy.session_id_allowed(app, "app/app-traffic-7") and not policy.session_id_allowed(traffic, "app/x")
    assert policy.session_id_allowed(traffic, "app-traffic-7") and not policy.session_id_allowed(app, "app-traffic-7")
    assert not policy.session_id_allowed(anon, "dashboard-1")
    assert policy.authenticate("app", "nope") is None and policy.authenticate("ghost", "x") is None


def test_dynsec_file_gives_anonymous_open_data_and_limits_apps_to_cmd(access_scenario):
    policy = AccessPolicy(access_scenario, "svc")
    anonymous = dynsec_acls(policy, "anonymous")
    assert ("publishClientReceive", "sz/v2/accessville/open/#", True) in anonymous
    assert not any(allow for kind, _, allow in anonymous if kind == "publishClientSend")
    app = dynsec_acls(policy, "app-traffic")
    assert {t for kind, t, allow in app if kind == "publishClientSend" and allow} == {
        "sz/v2/accessville/comune/+/+/cmd"
    }
    assert ("subscribePattern", "sz/v2/accessville/acme/#", False) in app  # another tenant: refused by mosquitto
    assert not [t for kind, t, allow in app if kind == "publishClientReceive" and allow and "acme" in t]
    owner = dynsec_acls(policy, "owner-acme")
    assert {
        ("publishClientReceive", "sz/v2/accessville/acme/#", True),
        ("publishClientSend", "sz/v2/accessville/acme/#", True),
    } <= owner
    for name in ("admin", SERVICE_USER, "app"):
        assert ("publishClientSend", "$CONTROL/#", False) in dynsec_acls(policy, name)  # nobody reconfigures it
        assert ("subscribeLiteral", SUBSCRIBE_REFUSED, False) in dynsec_acls(policy, name)
    assert ("publishClientReceive", "#", True) in dynsec_acls(policy, SERVICE_USER)
    config = json.loads(config_json(policy))
    assert config["defaultACLAccess"] == {
        "publishClientSend": False,
        "publishClientReceive": False,
        "subscribe": False,
        "unsubscribe": True,
    }
    client = next(c for c in config["clients"] if c["username"] == "app")
    digest = hashlib.pbkdf2_hmac("sha512", b"app-pw", base64.b64decode(client["salt"]), client["iterations"])
    assert base64.b64decode(client["password"]) == digest and "app-pw" not in config_json(policy)


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + remaining_length(len(body)) + body


def _subscribe(pid: int, filters: list[str], v5: bool = False) -> bytes:
    body = pid.to_bytes(2, "big") + (b"\x00" if v5 else b"")
    for f in filters:
        body += len(f).to_bytes(2, "big") + f.encode() + b"\x01"
    return _packet(0x82, body)


def test_framer_reassembles_packets_split_anywhere():
    stream = _packet(0x30, b"\x00\x01t" + b"x" * 300) + _subscribe(7, ["a/#"]) + _packet(0xC0, b"")
    expected = Framer().feed(stream)
    assert [t for t, _, _ in expected] == [3, 8, 12]
    for cut in range(1, len(stream)):
        framer = Framer()
        assert framer.feed(stream[:cut]) + framer.feed(stream[cut:]) == expected


@pytest.mark.parametrize("v5", [False, True], ids=["v311", "v5"])
def test_refused_filters_are_replaced_in_place(v5):
    raw = _subscribe(9, ["ok/1", "no/1", "ok/2"], v5)
    ((_, _, off),) = Framer().feed(raw)
    forward = substitute_refused(raw, off, 5 if v5 else 4, [True, False, True], SUBSCRIBE_REFUSED)
    assert forward == _subscribe(9, ["ok/1", SUBSCRIBE_REFUSED, "ok/2"], v5)
    assert substitute_refused(raw, off, 5 if v5 else 4, [True] * 3, SUBSCRIBE_REFUSED) is raw
    with pytest.raises(WireError):
        substitute_refused(raw, off, 5 if v5 else 4, [True, False], SUBSCRIBE_REFUSED)


def test_malformed_connects_are_wire_errors():
    good = b"\x00\x04MQTT\x04\x02\x00\x3c\x00\x01c"
    ((t, raw, off),) = Framer().feed(_packet(0x10, good))
    assert parse_connect(t, raw, off).client_id == "c"
    for bad in (b"\x00\x04MQTX\x04\x02\x00\x3c\x00\x01c", b"\x00\x04MQTT\x04\x03\x00\x3c\x00\x01c", good[:-2]):
        ((t, raw, off),) = Framer().feed(_packet(0x10, bad))
        with pytest.raises(WireError):
            parse_connect(t, raw, off)


def test_v1_topics_are_readable_with_their_devices_tenant(access_scenario, catalog):
    from smartzone.runtime.api import Runtime

    v1 = access_scenario.model_copy(update={"api_v1": True})
    policy = AccessPolicy(v1, "svc")
    runtime = Runtime(v1, catalog)  # not started: only to see the device ids core gives
    assert policy.v1_devices == {d.id: d.tenant for d in runtime.devices.values()}
    owner = policy.authenticate("owner-comune", "comune-pw")
    anon = policy.authenticate(None, None)
    assert owner is not None and anon is not None
    assert policy.may_receive(owner, "icity/accessville/cp-0001/data")
    assert policy.may_subscribe(owner, "icity/accessville/cl-0001/data")
    assert not policy.may_receive(owner, "icity/accessville/ap-0001/data")
    assert policy.may_subscribe(owner, "icity/accessville/+/data")  # spans: delivery is per topic
    assert not policy.may_subscribe(owner, "icity/accessville/ap-0001/data")
    assert policy.may_receive(anon, "icity/accessville/ol-0001/data")
    assert ("publishClientReceive", "icity/accessville/ap-0002/data", True) in dynsec_acls(policy, "owner-acme")


def test_describe_without_users_says_who_can_connect(small_scenario):
    from smartzone.endpoints.mqtt.broker.backends.base import describe_lines

    lines = describe_lines("embedded", "127.0.0.1", 1883, small_scenario, ["a limit"])
    assert lines[0] == "MQTT broker (embedded): mqtt://127.0.0.1:1883"
    assert any("only SmartZone itself can connect" in line for line in lines)
    assert lines[-1] == "  limitation: a limit"
