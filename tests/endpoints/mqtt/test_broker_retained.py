"""Retained documents are never lost: a late subscriber reads every one it may read, on every backend.

A large city (barcelona: about 2,800 retained documents, catalogs of up to 145 kB) is published
by the bridge; then a subscriber connects, as an admin with `#` and as an ordinary tenant owner,
and must receive every retained document SmartZone published that it may read (mosquitto's
default per-client queue of 1,000 messages once dropped a third of them, the catalog included).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.mqtt.bridge import Bridge
from smartzone.endpoints.mqtt.broker import Broker, service_address
from smartzone.runtime.api import Runtime

SCENARIO = Path(__file__).resolve().parents[3] / "scenarios" / "barcelona.yaml"
OWNER = ("ajuntament-barcelona-owner", "ajuntament-barcelona-gvyB", "ajuntament-barcelona")
WAIT_S = 60.0


@pytest.fixture(params=["embedded", "mosquitto"])
def published(
    request: pytest.FixtureRequest, start_test_broker: Callable[..., Broker], catalog: Catalog
) -> Iterator[tuple[Broker, dict[str, bytes]]]:
    """A broker holding barcelona's retained documents: (broker, {topic: payload} SmartZone published)."""
    broker = start_test_broker(request.param, load_scenario(SCENARIO, catalog))
    runtime = Runtime.load(SCENARIO)
    bridge = Bridge(runtime, service_address(broker))
    bridge.start()  # waits until the broker acknowledged every retained document
    try:
        docs = {topic: payload for msgs in bridge.retained_documents().values() for topic, payload, _, _ in msgs}
        yield broker, docs
    finally:
        try:
            runtime.stop()
        finally:
            bridge.close()


def _admin(broker: Broker) -> tuple[str, str]:
    scenario = broker.policy.scenario  # type: ignore[attr-defined]
    user = next(u for u in scenario.users if u.role == "admin")
    return user.name, user.password


@pytest.mark.parametrize("qos", [0, 1])
def test_a_late_admin_reads_every_retained_document(published, mqtt_client, qos: int) -> None:
    broker, docs = published
    name, password = _admin(broker)
    probe = mqtt_client(broker, name, password, f"{name}-late")
    probe.subscribe("#", qos=qos)
    assert probe.wait_for(lambda: len(probe.messages) >= len(docs), WAIT_S), f"{len(probe.messages)} of {len(docs)}"
    got = {t: p for t, p, retained in probe.messages if retained}
    assert got == docs
    assert any(t.endswith("/catalog") for t in got)


def test_a_late_owner_reads_every_retained_document_of_its_tenant(published, mqtt_client) -> None:
    broker, docs = published
    user, password, tenant = OWNER
    prefix = f"sz/v2/barcelona/{tenant}/"
    mine = {t: p for t, p in docs.items() if t.startswith(prefix)}
    probe = mqtt_client(broker, user, password, f"{user}-late")
    assert probe.subscribe(f"{prefix}#", qos=1) == [1]
    assert probe.wait_for(lambda: len(probe.messages) >= len(mine), WAIT_S), f"{len(probe.messages)} of {len(mine)}"
    assert {t: p for t, p, retained in probe.messages if retained} == mine
    assert f"{prefix}catalog" in mine
