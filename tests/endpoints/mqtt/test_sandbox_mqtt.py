"""The sandbox over MQTT, as an owner sees it: requests, results, the added device on the wire, access."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.mqtt.broker import Broker
from smartzone.runtime.api import Runtime

from .harness import mosquitto_pub, mosquitto_sub
from .sandbox_city import BASE, CATALOG, REQUEST, RESULT, SANDBOX_CITY, ask, light_topic, results, running_city

ADD_LIGHT = {"id": "r1", "op": "add", "device": "a-light-1", "type": "street-light", "district": "porto"}


@pytest.fixture(params=["embedded", "mosquitto"])
def broker(request: pytest.FixtureRequest, start_test_broker: Callable[..., Broker], catalog: Catalog) -> Broker:
    return start_test_broker(str(request.param), load_scenario(SANDBOX_CITY, catalog))


@pytest.fixture
def city(broker: Broker) -> Iterator[Runtime]:
    with running_city(broker) as rt:
        yield rt


@pytest.fixture
def owner(broker: Broker, city: Runtime, mqtt_client: Callable[..., Any]) -> Any:
    """lab-a's owner, reading everything of its tenant (the results included)."""
    probe = mqtt_client(broker, "owner-a", "owner-a-pw", "owner-a-test")
    assert probe.subscribe(f"{BASE}/lab-a/#", qos=1) == [1]
    assert probe.wait_for(lambda: len(probe.received(CATALOG)) == 1)  # the retained (empty) catalog
    return probe


def _catalog_ids(probe: Any) -> list[str]:
    return [d["id"] for d in json.loads(probe.received(CATALOG)[-1])["devices"]]


def test_owner_adds_a_device_that_publishes_like_any_other_then_removes_it(
    broker: Broker, city: Runtime, owner: Any, mqtt_client: Callable[..., Any]
) -> None:
    answer = ask(owner, ADD_LIGHT)
    assert answer["id"] == "r1" and answer["ok"] is True and answer["op"] == "add"
    assert answer["devices"] == ["a-light-1"] and answer["ts"].startswith("2026-11-23T")
    meta, status, telemetry = (light_topic("a-light-1", ch) for ch in ("meta", "status", "telemetry"))
    assert owner.wait_for(lambda: owner.received(meta) and owner.received(status))
    doc = json.loads(owner.received(meta)[0])
    assert doc["device"] == "a-light-1" and doc["tenant"] == "lab-a" and doc["location"]["district"] == "porto"
    assert json.loads(owner.received(status)[0])["state"] == "online"
    state = light_topic("a-light-1", "state")
    assert owner.wait_for(lambda: bool(owner.received(state)))
    assert set(json.loads(owner.received(state)[0])["values"]) == {"mode", "on", "level"}
    assert owner.wait_for(lambda: "a-light-1" in _catalog_ids(owner))
    assert owner.wait_for(lambda: len(owner.received(telemetry)) >= 1, 10.0), "no reading from the added device"
    reading = json.loads(owner.received(telemetry)[0])
    assert reading["device"] == "a-light-1" and reading["seq"] == 1
    # the app granted lab-a commands it like any other device, and sees it in the tenants document
    app = mqtt_client(broker, "app", "app-pw", "app-test")
    assert app.subscribe(f"{BASE}/tenants", qos=1) == [1]
    assert app.wait_for(lambda: bool(app.received(f"{BASE}/tenants")))
    counts = {t["id"]: t["devices"] for t in json.loads(app.received(f"{BASE}/tenants")[-1])["tenants"]}
    assert counts["lab-a"] == 1
    assert app.subscribe(light_topic("a-light-1", "cmd/ack"), qos=1) == [1]
    app.publish(light_topic("a-light-1", "cmd"), json.dumps({"id": "c1", "action": "dim", "params": {"level": 30}}))
    assert app.wait_for(lambda: bool(app.received(light_topic("a-light-1", "cmd/ack"))), 10.0)
    assert json.loads(app.received(light_topic("a-light-1", "cmd/ack"))[0])["ok"] is True

    answer = ask(owner, {"id": "r2", "op": "remove", "device": "a-light-1"})
    assert answer == {"id": "r2", "ok": True, "op": "remove", "devices": ["a-light-1"], "ts": answer["ts"]}
    cleared = (meta, status, state)
    assert owner.wait_for(lambda: all(owner.received(topic)[-1] == b"" for topic in cleared))
    assert owner.wait_for(lambda: "a-light-1" not in _catalog_ids(owner))
    assert "a-light-1" not in city.devices
    # a late subscriber finds no retained document of the removed device, and the catalog without it
    late = mqtt_client(broker, "owner-a", "owner-a-pw", "owner-a-late")
    assert late.subscribe(f"{BASE}/lab-a/#", qos=1) == [1]
    assert late.wait_for(lambda: bool(late.received(CATALOG)))
    assert late.received(meta) == [] and late.received(status) == [] and late.received(state) == []
    assert _catalog_ids(late) == []


def test_refusals_name_the_code_and_change_nothing(broker: Broker, city: Runtime, owner: Any) -> None:
    assert ask(owner, {**ADD_LIGHT, "device": "cp-0001"})["error"]["code"] == "duplicate"
    assert ask(owner, {"op": "add", "device": "x1", "type": "no-such"})["error"]["code"] == "unknown_type"
    bad_district = ask(owner, {"op": "add", "device": "x1", "type": "street-light", "district": "nowhere"})
    assert bad_district["error"]["code"] == "invalid_params" and "nowhere" in bad_district["error"]["message"]
    assert ask(owner, {"op": "remove", "device": "lb-0001"})["error"]["code"] == "not_found"
    assert ask(owner, {**ADD_LIGHT, "id": "a1", "device": "a1"})["ok"] is True
    assert ask(owner, {**ADD_LIGHT, "id": "a2", "device": "a2"})["ok"] is True
    over = ask(owner, {**ADD_LIGHT, "id": "a3", "device": "a3"})  # lab-a may create 2 devices
    assert over["ok"] is False and over["id"] == "a3" and over["error"]["code"] == "quota_exceeded"
    assert "a3" not in city.devices and "x1" not in city.devices
    reset = ask(owner, {"id": "z", "op": "reset"})
    assert reset["ok"] is True and sorted(reset["devices"]) == ["a1", "a2"] and reset["id"] == "z"
    assert "lb-0001" in city.devices  # lab-b's scenario device is untouched


BAD_JSON = [
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (
        "5000-digit integer",
        b'{"op": "add", "device": "x", "type": "street-light", "lat": ' + b"9" * 5000 + b"}",
        "JSON",
    ),
    ("not an object", b'["add"]', "JSON object"),
    ("not JSON", b"{op: add", "not JSON"),
    ("not UTF-8", b"\xff\xfe", "UTF-8"),
]


@pytest.mark.parametrize(("case", "payload", "words"), BAD_JSON, ids=[c[0] for c in BAD_JSON])
def test_bad_json_gets_an_answer_and_the_next_request_works(
    broker: Broker, city: Runtime, owner: Any, case: str, payload: bytes, words: str
) -> None:
    answer = ask(owner, payload)
    assert answer["ok"] is False and answer["id"] is None and answer["error"]["code"] == "bad_json"
    assert words in answer["error"]["message"] and REQUEST in answer["error"]["message"]
    assert ask(owner, ADD_LIGHT)["ok"] is True


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"id": "p1", "op": "explode"}, "'op'"),
        ({"id": "p2", "op": "add", "type": "street-light"}, "'device'"),
        ({"id": "p3", "op": "add", "device": "x", "type": "street-light", "lat": "44"}, "'lat'"),
        ({"id": "p4", "op": "remove", "device": "x", "type": "street-light"}, "'type'"),
        ({"id": 7, "op": "reset"}, "'id'"),
    ],
)
def test_invalid_params_name_the_topic_and_field(
    broker: Broker, city: Runtime, owner: Any, payload: dict[str, Any], field: str
) -> None:
    answer = ask(owner, payload)
    assert answer["ok"] is False and answer["error"]["code"] == "invalid_params"
    assert field in answer["error"]["message"] and REQUEST in answer["error"]["message"]


def test_only_the_owner_and_admin_use_the_sandbox_topics(
    broker: Broker, city: Runtime, owner: Any, mqtt_client: Callable[..., Any]
) -> None:
    app = mqtt_client(broker, "app", "app-pw", "app-test")  # reads lab-a and commands it, still no sandbox
    other = mqtt_client(broker, "owner-b", "owner-b-pw", "owner-b-test")
    assert app.subscribe(f"{BASE}/lab-a/#", qos=1) == [1]
    assert app.subscribe(RESULT, qos=1) == [0x80]
    assert other.subscribe(RESULT, qos=1) == [0x80]
    app.publish(REQUEST, json.dumps({**ADD_LIGHT, "device": "by-app"}))
    other.publish(REQUEST, json.dumps({**ADD_LIGHT, "device": "by-other"}))
    # the broker dropped both; the owner's own request is the next one the city sees and answers
    answer = ask(owner, ADD_LIGHT)
    assert answer["ok"] is True and answer["id"] == "r1" and len(results(owner)) == 1
    assert "by-app" not in city.devices and "by-other" not in city.devices
    assert app.wait_for(lambda: bool(app.received(light_topic("a-light-1", "meta"))))  # app reads the device
    assert app.received(RESULT) == [] and app.received(REQUEST) == []
    # admin may ask too, and gets not_sandbox on a tenant that is not a sandbox
    admin = mqtt_client(broker, "admin", "admin-pw", "admin-test")
    comune_result = f"{BASE}/comune/sandbox/result"
    assert admin.subscribe(comune_result, qos=1) == [1]
    refused = ask(admin, {"id": "n1", "op": "reset"}, f"{BASE}/comune/sandbox/request", comune_result)
    assert refused["ok"] is False and refused["error"]["code"] == "not_sandbox" and refused["id"] == "n1"


def test_mosquitto_clients_add_and_read_the_device(broker: Broker, city: Runtime, owner: Any) -> None:
    mosquitto_pub(broker, "owner-a", "owner-a-pw", REQUEST, json.dumps(ADD_LIGHT))
    assert owner.wait_for(lambda: len(results(owner)) == 1, 10.0)
    assert results(owner)[0]["ok"] is True
    meta = light_topic("a-light-1", "meta")
    [(name, doc)] = mosquitto_sub(broker, "owner-a", "owner-a-pw", meta, 1)
    assert name == meta and doc["device"] == "a-light-1"
    mosquitto_pub(broker, "owner-a", "owner-a-pw", REQUEST, json.dumps({"op": "remove", "device": "a-light-1"}))
    assert owner.wait_for(lambda: len(results(owner)) == 2, 10.0) and results(owner)[1]["ok"] is True
    # the app's mosquitto_sub is refused on the result topic (SUBACK failure: it reads nothing)
    assert mosquitto_sub(broker, "app", "app-pw", RESULT, 1, "-W", "2") == []


def test_a_request_after_the_run_ended_is_answered_not_running(broker: Broker, city: Runtime, owner: Any) -> None:
    city.stop()
    answer = ask(owner, ADD_LIGHT)
    assert answer["ok"] is False and answer["id"] == "r1" and answer["error"]["code"] == "not_running"
    assert "a-light-1" not in city.devices


def test_a_retained_request_found_at_start_is_refused_and_never_executed(
    broker: Broker, mqtt_client: Callable[..., Any]
) -> None:
    owner = mqtt_client(broker, "owner-a", "owner-a-pw", "owner-a-early")
    assert owner.subscribe(RESULT, qos=1) == [1]
    owner.publish(REQUEST, json.dumps(ADD_LIGHT), qos=1, retain=True)  # before the city is there
    with running_city(broker) as rt:
        assert owner.wait_for(lambda: len(results(owner)) == 1, 10.0), "no answer to the retained request"
        answer = results(owner)[0]
        assert answer["ok"] is False and answer["error"]["code"] == "forbidden" and answer["id"] is None
        assert "a-light-1" not in rt.devices
        owner.publish(REQUEST, b"", qos=1, retain=True)  # clearing it is no request: no answer
        assert ask(owner, {**ADD_LIGHT, "id": "r2"})["id"] == "r2" and len(results(owner)) == 2
