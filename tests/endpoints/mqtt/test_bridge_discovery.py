"""Discovery over MQTT as an ordinary app or owner: the city's `tenants` document, each user's
`access/{user}` document and the per-tenant catalogs, published by the bridge on both backends.

Expectations are written by hand from tests/fixtures/mqtt-city.yaml: comune (native, 2 parking
spots and 1 street light), acme (senml, 1 parking spot), open (ngsi-ld, open data, 1 street
light); app reads comune and acme and commands comune; owner-comune owns comune.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from smartzone.endpoints.mqtt.broker import Broker
from tests.endpoints.mqtt.conftest import Probe, has_mosquitto

from .harness import CITY, City, mosquitto_sub, open_city

BASE = f"sz/v2/{CITY}"
CREDS = {"app": "app-pw", "owner-comune": "comune-pw"}


@pytest.fixture(scope="module", params=["embedded", "mosquitto"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "mosquitto" and not has_mosquitto():
        pytest.skip("mosquitto is not installed")
    return str(request.param)


@pytest.fixture
def city(start_test_broker: Callable[..., Broker], backend: str, catalog: object) -> Iterator[City]:
    from smartzone.definitions.catalog import Catalog, load_scenario

    from .harness import MQTT_CITY

    assert isinstance(catalog, Catalog)
    broker = start_test_broker(backend, load_scenario(MQTT_CITY, catalog))
    c = open_city(broker, fast=True, duration=60)  # the bridge has published its retained documents
    yield c
    c.close()


def settle(probe: Probe, topic_filter: str, expected: set[str]) -> dict[str, object]:
    """Subscribe, wait for the expected retained topics, then for the retained `tenants` document
    of a later subscription (the broker sends a subscription's retained messages before the next
    one's); the retained documents received on `topic_filter`, by topic."""
    assert probe.subscribe(topic_filter, qos=1) == [1], topic_filter
    assert probe.wait_for(lambda: expected <= {t for t, _, _ in probe.messages}), probe.messages
    assert probe.subscribe(f"{BASE}/tenants", qos=1) == [1]
    assert probe.wait_for(lambda: len(probe.received(f"{BASE}/tenants")) >= 1 + (f"{BASE}/tenants" in expected))
    return {t: json.loads(p) for t, p, _ in probe.messages if t != f"{BASE}/tenants" or t in expected}


def test_tenants_document_lists_every_tenant_for_every_user(city: City, clients: list[Probe]) -> None:
    probe = Probe(city.broker.port, "owner-comune", CREDS["owner-comune"], "owner-comune-disc")
    clients.append(probe)
    assert probe.connect() == 0
    assert probe.subscribe(f"{BASE}/tenants", qos=1) == [1]
    assert probe.wait_for(lambda: bool(probe.received(f"{BASE}/tenants")))
    doc = json.loads(probe.received(f"{BASE}/tenants")[0])
    assert doc["city"] == CITY and doc["api_versions"] == ["v2", "v1"]
    by_id = {t["id"]: t for t in doc["tenants"]}
    assert by_id["comune"] == {
        "id": "comune", "name": "Comune", "kind": "city", "open_data": False, "payload_format": "native",
        "devices": 3, "types": {"parking-spot": 2, "street-light": 1}, "catalog": f"{BASE}/comune/catalog",
    }  # fmt: skip
    assert (by_id["acme"]["payload_format"], by_id["acme"]["types"]) == ("senml", {"parking-spot": 1})
    assert (by_id["open"]["payload_format"], by_id["open"]["open_data"]) == ("ngsi-ld", True)


@pytest.mark.parametrize(
    ("user", "catalogs", "read", "command"),
    [("app", {"comune", "acme"}, ["comune", "acme"], ["comune"]), ("owner-comune", {"comune"}, ["comune"], ["comune"])],
)
def test_an_ordinary_user_discovers_its_own_access_and_exactly_its_catalogs(
    city: City, clients: list[Probe], user: str, catalogs: set[str], read: list[str], command: list[str]
) -> None:
    probe = Probe(city.broker.port, user, CREDS[user], f"{user}-disc")
    clients.append(probe)
    assert probe.connect() == 0
    got = settle(probe, f"{BASE}/+/catalog", {f"{BASE}/{t}/catalog" for t in catalogs})
    assert set(got) == {f"{BASE}/{t}/catalog" for t in catalogs}
    assert all(len(doc["devices"]) > 0 for doc in got.values())  # type: ignore[attr-defined]
    mine = Probe(city.broker.port, user, CREDS[user], f"{user}-disc-access")
    clients.append(mine)
    assert mine.connect() == 0
    got = settle(mine, f"{BASE}/access/+", {f"{BASE}/access/{user}"})
    assert set(got) == {f"{BASE}/access/{user}"}
    doc = got[f"{BASE}/access/{user}"]
    assert doc["read_tenants"] == read and doc["command_tenants"] == command  # type: ignore[index]
    assert f"{BASE}/access/{user}" in doc["read"]  # type: ignore[index]


def test_mosquitto_sub_as_an_owner_sees_only_its_own_access_document(city: City) -> None:
    got = mosquitto_sub(city.broker, "owner-comune", CREDS["owner-comune"], f"{BASE}/access/+", 1)
    assert [t for t, _ in got] == [f"{BASE}/access/owner-comune"]
    assert got[0][1]["role"] == "owner"
