"""The shipped city that shows API versions and formats (genoa), on a real broker as its own
ordinary users: v1 beside v2, SenML and NGSI-LD tenants, and the tenants document saying so."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from smartzone.endpoints.mqtt.bridge import Bridge
from smartzone.endpoints.mqtt.broker import Broker, service_address
from smartzone.runtime.api import Runtime
from tests.endpoints.mqtt.conftest import Probe

from .harness import wait_count

BASE = "sz/v2/genoa"
# passwords as written in scenarios/genoa.yaml (demo credentials)
IRETI = ("ireti-owner", "genoa-ireti-h9WT")
CITIZENS = ("cittadinanzattiva-liguria-owner", "genoa-cittadinanzattiva-liguria-eqdS")
DEMO = ("demo-app", "genoa-demo-app-Anb6")


@pytest.fixture
def genoa(start_test_broker: Callable[..., Broker]) -> Iterator[tuple[Runtime, Broker]]:
    rt = Runtime.load("genoa", fast=True, duration=1800)
    broker = start_test_broker("embedded", rt.scenario)
    bridge = Bridge(rt, service_address(broker))
    bridge.start()
    try:
        yield rt, broker
    finally:
        rt.stop()
        bridge.close()


def connect(broker: Broker, made: list[Probe], user: str, password: str) -> Probe:
    probe = Probe(broker.port, user, password, f"{user}-fmt")
    made.append(probe)
    assert probe.connect() == 0, user
    return probe


def test_genoa_speaks_v1_senml_and_ngsi_ld_to_its_own_users(genoa, clients) -> None:
    rt, broker = genoa
    ireti = connect(broker, clients, *IRETI)
    citizens = connect(broker, clients, *CITIZENS)
    demo = connect(broker, clients, *DEMO)
    assert ireti.subscribe(f"{BASE}/ireti/+/+/telemetry") == [0]
    assert citizens.subscribe(f"{BASE}/cittadinanzattiva-liguria/+/+/telemetry") == [0]
    assert demo.subscribe("icity/genoa/+/data") == [0]  # spans tenants: only its own devices arrive
    assert demo.subscribe(f"{BASE}/tenants", qos=1) == [1]
    rt.start()
    assert wait_count(ireti, lambda t: t.endswith("/telemetry"), 3, timeout=60)
    assert wait_count(citizens, lambda t: t.endswith("/telemetry"), 3, timeout=60)
    assert wait_count(demo, lambda t: t.startswith("icity/"), 3, timeout=60)
    pack = json.loads(ireti.messages[0][1])
    assert isinstance(pack, list) and pack[0]["bn"].startswith("urn:dev:sz:ge-")
    entity = json.loads(citizens.messages[0][1])
    assert entity["id"].startswith("urn:ngsi-ld:") and "@context" in entity
    mine = {d for d, info in rt.devices.items() if info.tenant in ("comune-genova", "enel-x-way")}
    v1 = [(t, json.loads(p)) for t, p, _ in demo.messages if t.startswith("icity/")]
    assert all(t.split("/")[2] in mine and set(doc) == {"id", "ts", "value"} for t, doc in v1), v1[:3]
    tenants = json.loads(demo.received(f"{BASE}/tenants")[0])
    assert tenants["api_versions"] == ["v2", "v1"]
    formats = {t["id"]: t["payload_format"] for t in tenants["tenants"]}
    assert (formats["ireti"], formats["cittadinanzattiva-liguria"], formats["comune-genova"]) == (
        "senml",
        "ngsi-ld",
        "native",
    )
