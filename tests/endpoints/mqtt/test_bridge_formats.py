"""Payload formats per tenant (native, senml RFC 8428, ngsi-ld normalized) and v1 topics."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.mqtt.broker import Broker

from .harness import MQTT_CITY, City, open_city, wait_count

SENML_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:./_-]*$")  # RFC 8428 section 4.5.1
SENML_VALUES = ("v", "vs", "vb", "vd")
SENML_FIELDS = {"bn", "bt", "bu", "bv", "bs", "bver", "n", "u", "v", "vs", "vb", "vd", "s", "t", "ut"}


@pytest.fixture
def broker(start_test_broker: Callable[..., Broker], catalog: Catalog) -> Broker:
    return start_test_broker("embedded", load_scenario(MQTT_CITY, catalog))


@pytest.fixture
def ran(broker: Broker, mqtt_client: Callable[..., Any]) -> Iterator[tuple[City, Any]]:
    """The city run fast for 10 simulated minutes, with an admin probe that got everything."""
    city = open_city(broker, fast=True, duration=600)
    probe = mqtt_client(broker, "admin", "admin-pw", "admin-formats")
    probe.subscribe("sz/v2/mqttville/+/+/+/telemetry", qos=0)
    probe.subscribe("icity/#", qos=0)
    city.runtime.start()
    assert city.runtime.wait(30)
    n = len(city.readings)
    assert wait_count(probe, lambda t: t.endswith("/telemetry"), n)
    assert wait_count(probe, lambda t: t.startswith("icity/"), n)
    yield city, probe
    city.close()


def telemetry(probe: Any, tenant: str) -> list[tuple[str, Any]]:
    prefix = f"sz/v2/mqttville/{tenant}/"
    return [(t, json.loads(p)) for t, p, _ in probe.messages if t.startswith(prefix) and t.endswith("/telemetry")]


def check_senml(pack: Any, device: str) -> dict[str, Any]:
    """Validate a SenML pack (RFC 8428 JSON) and resolve it to {name: record}."""
    assert isinstance(pack, list) and pack
    base = pack[0]
    assert base["bn"] == f"urn:dev:sz:{device}:"
    assert isinstance(base["bt"], float | int)
    resolved = {}
    for rec in pack:
        assert isinstance(rec, dict) and set(rec) <= SENML_FIELDS, rec
        assert sum(1 for k in SENML_VALUES if k in rec) == 1, rec
        name = base["bn"] + rec["n"]
        assert SENML_NAME.match(name), name
        if "v" in rec:
            assert isinstance(rec["v"], int | float) and not isinstance(rec["v"], bool)
        if "vs" in rec:
            assert isinstance(rec["vs"], str)
        if "vb" in rec:
            assert isinstance(rec["vb"], bool)
        if "u" in rec:
            assert isinstance(rec["u"], str) and rec["u"]
        resolved[rec["n"]] = rec
    return resolved


def test_senml_tenant(ran: tuple[City, Any]) -> None:
    city, probe = ran
    msgs = telemetry(probe, "acme")
    expected = [r for r in city.readings if r.device == "ap-0001"]
    assert len(msgs) == len(expected) > 0
    for (_, pack), reading in zip(msgs, expected, strict=True):
        recs = check_senml(pack, "ap-0001")
        assert recs["seq"]["v"] == reading.seq
        assert recs["status"]["vs"] == reading.values["status"]
        assert recs["battery"] == {"n": "battery", "u": "%", "v": reading.values["battery"]}
        epoch = city.runtime.scenario.start.timestamp() + reading.measured_at
        assert pack[0]["bt"] == pytest.approx(epoch, abs=0.001)


def test_ngsi_ld_tenant(ran: tuple[City, Any]) -> None:
    city, probe = ran
    msgs = telemetry(probe, "open")
    expected = [r for r in city.readings if r.device == "ol-0001"]
    assert len(msgs) == len(expected) > 0
    for (_, entity), reading in zip(msgs, expected, strict=True):
        assert entity["id"] == "urn:ngsi-ld:Streetlight:ol-0001" and entity["type"] == "Streetlight"
        assert entity["@context"]
        level = entity["dimmingLevel"]
        assert level["type"] == "Property" and level["value"] == reading.values["level"]
        assert level["unitCode"] == "P1"
        assert entity["powerConsumption"]["unitCode"] == "WTT"
        assert entity["energyConsumed"]["unitCode"] == "KWH"
        observed = datetime.fromisoformat(level["observedAt"].replace("Z", "+00:00"))
        assert observed.timestamp() == pytest.approx(
            city.runtime.scenario.start.timestamp() + reading.measured_at, abs=0.001
        )
        assert entity["seq"]["value"] == reading.seq
        loc = entity["location"]
        assert loc["type"] == "GeoProperty" and loc["value"]["type"] == "Point"
        info = city.runtime.devices["ol-0001"]
        assert loc["value"]["coordinates"] == [info.lon, info.lat]
        for name, attr in entity.items():
            if name not in ("id", "type", "@context", "location"):
                assert attr["type"] == "Property" and "observedAt" in attr, name


def test_native_tenant_and_v1(ran: tuple[City, Any]) -> None:
    city, probe = ran
    native = telemetry(probe, "comune")
    assert {doc["device"] for _, doc in native} == {"cp-0001", "cp-0002", "cl-0001"}
    assert all(set(doc) == {"device", "type", "tenant", "ts", "seq", "values"} for _, doc in native)
    v1 = [(t, json.loads(p)) for t, p, _ in probe.messages if t.startswith("icity/")]
    assert len(v1) == len(city.readings)
    for (name, doc), reading in zip(
        sorted(v1, key=lambda m: (m[1]["id"], m[1]["ts"])),
        sorted(city.readings, key=lambda r: (r.device, r.measured_at)),
        strict=True,
    ):
        assert name == f"icity/mqttville/{reading.device}/data"
        assert set(doc) == {"id", "ts", "value"} and doc["value"] == dict(reading.values)
