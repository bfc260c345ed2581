"""Commands over MQTT: mosquitto_pub -> engine -> cmd/ack and retained state; every error code."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from smartzone.core.commands import SetOnline
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.mqtt.broker import Broker

from .harness import MQTT_CITY, City, mosquitto_pub, mosquitto_sub, open_city, topic

LIGHT = ("comune", "street-light", "cl-0001")
CMD, ACK, STATE = (topic(*LIGHT, ch) for ch in ("cmd", "cmd/ack", "state"))
# mqtt-city starts at 01:00 local (Rome): the auto schedule has the lamp on at its night level
INITIAL = {"mode": "auto", "on": True, "level": 60}


@pytest.fixture(params=["embedded", "mosquitto"])
def broker(request: pytest.FixtureRequest, start_test_broker: Callable[..., Broker], catalog: Catalog) -> Broker:
    return start_test_broker(str(request.param), load_scenario(MQTT_CITY, catalog))


@pytest.fixture
def city(broker: Broker) -> Iterator[City]:
    city = open_city(broker, speed=1.0)
    city.runtime.start()
    yield city
    city.close()


@pytest.fixture
def acks(broker: Broker, city: City, mqtt_client: Callable[..., Any]) -> Any:
    probe = mqtt_client(broker, "app", "app-pw", "app-acks")
    assert probe.subscribe("sz/v2/mqttville/comune/+/+/cmd/ack", qos=1) == [1]
    assert probe.subscribe(STATE, qos=1) == [1]
    assert probe.wait_for(lambda: len(probe.received(STATE)) == 1)  # the retained initial state
    return probe


def wait_ack(probe: Any, topic_name: str = ACK, n: int = 1) -> dict[str, Any]:
    assert probe.wait_for(lambda: len(probe.received(topic_name)) >= n), "no cmd/ack"
    return dict(json.loads(probe.received(topic_name)[n - 1]))


def test_mosquitto_pub_dims_a_light_ack_and_retained_state(broker: Broker, city: City, acks: Any) -> None:
    mosquitto_pub(broker, "app", "app-pw", CMD, json.dumps({"id": "dim-1", "action": "dim", "params": {"level": 40}}))
    ack = wait_ack(acks)
    assert ack["id"] == "dim-1" and ack["ok"] is True
    assert ack["state"] == {"mode": "manual", "on": True, "level": 40}
    assert ack["ts"].startswith("2026-11-23T00:00:")
    assert city.runtime.snapshot()["cl-0001"].state == ack["state"]
    # a late subscriber (the mosquitto_sub binary) reads the new retained state
    [(name, doc)] = mosquitto_sub(broker, "owner-comune", "comune-pw", STATE, 1)
    assert name == STATE and doc["values"] == ack["state"]


BAD = [
    ("not json", b"{dim", "malformed", None, ["not JSON"]),
    ("array", b"[1, 2]", "malformed", None, ["JSON object"]),
    ("no id", b'{"action": "dim", "params": {"level": 5}}', "malformed", None, ["'id'"]),
    ("long id", json.dumps({"id": "x" * 65, "action": "dim"}).encode(), "malformed", None, ["64"]),
    ("no action", b'{"id": "a1", "params": {}}', "malformed", "a1", ["'action'"]),
    ("extra field", b'{"id": "a2", "action": "dim", "level": 5}', "malformed", "a2", ["'level'"]),
    ("unknown action", b'{"id": "a3", "action": "explode"}', "unknown_action", "a3", ["explode", "dim"]),
    (
        "out of range",
        b'{"id": "a4", "action": "dim", "params": {"level": 140}}',
        "invalid_params",
        "a4",
        ["'level'", "0 to 100", "140"],
    ),
    ("wrong type", b'{"id": "a5", "action": "switch", "params": {"on": "yes"}}', "invalid_params", "a5", ["'on'"]),
    ("missing param", b'{"id": "a6", "action": "dim", "params": {}}', "invalid_params", "a6", ["'level'"]),
    ("params not object", b'{"id": "a7", "action": "dim", "params": 5}', "invalid_params", "a7", ["'params'"]),
    # the tester's payloads (issue 13): they used to kill the paho thread that handles commands
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, "malformed", None, ["nested too deeply"]),
    (
        "5000-digit int",
        b'{"id": "h1", "action": "dim", "params": {"level": ' + b"9" * 5000 + b"}}",
        "malformed",
        None,
        ["4300 digits"],
    ),
    ("NaN", b'{"id": "n1", "action": "dim", "params": {"level": NaN}}', "malformed", None, ["NaN"]),
    ("invalid utf-8", b'{"id": "\xff"}', "malformed", None, ["UTF-8"]),
    ("binary", bytes(range(256)), "malformed", None, ["UTF-8"]),
    (
        "huge int in range syntax",
        b'{"id": "h2", "action": "dim", "params": {"level": 1' + b"0" * 400 + b"}}",
        "invalid_params",
        "h2",
        ["'level'", "about 401 digits"],
    ),
    ("1e400", b'{"id": "h3", "action": "dim", "params": {"level": 1e400}}', "invalid_params", "h3", ["inf"]),
    (
        "nested params",
        b'{"id": "h4", "action": "dim", "params": {"level": {"a": [1, {"b": 2}]}}}',
        "invalid_params",
        "h4",
        ["an object"],
    ),
    ("action object", b'{"id": "h5", "action": {"dim": 1}}', "malformed", "h5", ["'action'"]),
    ("id number", b'{"id": 12, "action": "dim"}', "malformed", None, ["'id'"]),
    # lone surrogates (valid JSON escapes, not encodable as UTF-8): never echoed raw in an ack
    ("surrogate id", b'{"id": "\\udc00", "action": "dim"}', "malformed", None, ["'id'"]),
    ("surrogate field", b'{"id": "s2", "action": "dim", "\\udc00": 1}', "malformed", "s2", ["\\udc00"]),
    ("surrogate action", b'{"id": "s3", "action": "\\ud800"}', "unknown_action", "s3", ["\\ud800"]),
    (
        "surrogate param",
        b'{"id": "s4", "action": "dim", "params": {"\\udfff": 1}}',
        "invalid_params",
        "s4",
        ["\\udfff"],
    ),
    (
        "surrogate value",
        b'{"id": "s5", "action": "set_mode", "params": {"mode": "\\udfff"}}',
        "invalid_params",
        "s5",
        ["\\udfff"],
    ),
]


@pytest.mark.parametrize(("case", "payload", "code", "cid", "words"), BAD, ids=[b[0] for b in BAD])
def test_rejected_command_acks_the_error_and_changes_nothing(
    broker: Broker,
    city: City,
    acks: Any,
    mqtt_client: Callable[..., Any],
    case: str,
    payload: bytes,
    code: str,
    cid: str | None,
    words: list[str],
) -> None:
    sender = mqtt_client(broker, "app", "app-pw", "app-sender")
    sender.publish(CMD, payload, qos=1)
    ack = wait_ack(acks)
    assert ack["ok"] is False and ack["id"] == cid
    assert ack["error"]["code"] == code, ack
    for word in words:
        assert word in ack["error"]["message"], ack
    assert set(ack) == {"id", "ok", "error"}
    assert city.runtime.snapshot()["cl-0001"].state == INITIAL
    assert len(acks.received(STATE)) == 1  # no new state published


def test_device_offline(broker: Broker, city: City, acks: Any) -> None:
    city.runtime.submit(SetOnline("cl-0001", False, "test")).result(5)
    mosquitto_pub(broker, "app", "app-pw", CMD, '{"id": "off-1", "action": "dim", "params": {"level": 10}}')
    ack = wait_ack(acks)
    assert ack["error"]["code"] == "device_offline" and ack["id"] == "off-1"
    assert city.runtime.snapshot()["cl-0001"].state == INITIAL


def test_forbidden_device_outside_the_topic_tenant(broker: Broker, city: City, mqtt_client: Callable[..., Any]) -> None:
    """The topic names tenant 'open' (a grant there passes the ACL) but the device is comune's."""
    probe = mqtt_client(broker, "admin", "admin-pw", "admin-acks")
    wrong = topic("open", "street-light", "cl-0001", "cmd")
    probe.subscribe(wrong + "/ack", qos=1)
    probe.publish(wrong, '{"id": "f1", "action": "dim", "params": {"level": 1}}', qos=1)
    ack = wait_ack(probe, wrong + "/ack")
    assert ack["error"]["code"] == "forbidden" and ack["id"] == "f1"
    assert "comune" not in ack["error"]["message"] or "does not belong" in ack["error"]["message"]
    assert city.runtime.snapshot()["cl-0001"].state == INITIAL


def test_forbidden_retained_command_replay(broker: Broker, mqtt_client: Callable[..., Any]) -> None:
    """A retained cmd found when the bridge (re)subscribes is refused, never replayed."""
    probe = mqtt_client(broker, "admin", "admin-pw", "admin-retain")
    probe.subscribe(ACK, qos=1)
    probe.publish(CMD, '{"id": "r1", "action": "dim", "params": {"level": 3}}', qos=1, retain=True)
    city = open_city(broker, speed=1.0)
    try:
        city.runtime.start()
        ack = wait_ack(probe)
        assert ack["error"]["code"] == "forbidden" and ack["id"] == "r1"
        assert "retained" in ack["error"]["message"]
        assert city.runtime.snapshot()["cl-0001"].state == INITIAL
    finally:
        probe.publish(CMD, b"", qos=1, retain=True)  # clear it (an empty retained cmd is ignored)
        city.close()


def test_unknown_device_topic(broker: Broker, city: City, mqtt_client: Callable[..., Any]) -> None:
    probe = mqtt_client(broker, "admin", "admin-pw", "admin-ghost")
    ghost = topic("comune", "street-light", "cl-9999", "cmd")
    probe.subscribe(ghost + "/ack", qos=1)
    probe.publish(ghost, '{"id": "g1", "action": "dim", "params": {"level": 1}}', qos=1)
    ack = wait_ack(probe, ghost + "/ack")
    assert ack["error"]["code"] == "malformed" and "cl-9999" in ack["error"]["message"]


def test_the_next_command_from_another_user_works_after_the_testers_payloads(
    broker: Broker, city: City, acks: Any, mqtt_client: Callable[..., Any]
) -> None:
    """Issue 13: one cmd payload used to end the command thread; every later command was ignored."""
    sender = mqtt_client(broker, "app", "app-pw", "app-bad")
    sender.publish(CMD, b"[" * 100_000 + b"]" * 100_000, qos=1)
    sender.publish(CMD, b'{"id": "big", "action": "dim", "params": {"level": ' + b"7" * 5000 + b"}}", qos=1)
    assert [a["error"]["code"] for a in (wait_ack(acks, n=1), wait_ack(acks, n=2))] == ["malformed", "malformed"]
    assert city.runtime.snapshot()["cl-0001"].state == INITIAL
    owner = mqtt_client(broker, "owner-comune", "comune-pw", "owner-comune-good")
    owner.publish(CMD, json.dumps({"id": "good-1", "action": "dim", "params": {"level": 30}}), qos=1)
    ack = wait_ack(acks, n=3)
    assert ack["id"] == "good-1" and ack["ok"] is True and ack["state"]["level"] == 30
    assert city.bridge.commands.stats()["cmd_dropped"] == 0
    assert not city.runtime.health.failed and city.runtime.health.snapshot() == {}
