"""The certification Recorder fed with real MQTT packet bytes (split across chunks): every
PUBLISH recorded once, an undecodable one noted, deliveries charged to the filters that
matched them (SZ-COST-01). Real brokers and apps: test_publish_accounting.py, test_examples.py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from smartzone.certify.observer import Recorder
from smartzone.certify.records import Observations
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.mqtt.broker.policy import AccessPolicy, Identity
from smartzone.endpoints.mqtt.codec import Connect, control_packet

CITY = Path(__file__).parent / "certville.yaml"
LIGHT = "sz/v2/certville/comune/street-light/cl-0001"


def _text(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return len(b).to_bytes(2, "big") + b


_packet = control_packet


def publish(topic: str | bytes, payload: bytes, qos: int = 0, retain: bool = False) -> bytes:
    pid = (7).to_bytes(2, "big") if qos else b""
    return _packet(0x30 | qos << 1 | int(retain), _text(topic) + pid + payload)


def subscribe(*filters: str) -> bytes:
    return _packet(0x82, (1).to_bytes(2, "big") + b"".join(_text(f) + b"\x00" for f in filters))


def unsubscribe(*filters: str) -> bytes:
    return _packet(0xA2, (2).to_bytes(2, "big") + b"".join(_text(f) for f in filters))


def recorder(catalog: Catalog) -> tuple[Recorder, Any]:
    policy = AccessPolicy(load_scenario(CITY, catalog), "svc")
    rec = Recorder(Observations("certville", "demo-app", 60.0), policy, lambda: 30.0)
    key = object()

    async def connect() -> None:  # the broker calls it on its event loop
        conn = Connect(4, "demo-app-1", "demo-app", b"demo-app-pw", True, b"")
        assert rec.connect(key, conn, Identity("demo-app", "app"), None) is None

    asyncio.run(connect())
    return rec, key


def test_every_publish_is_recorded_once_even_split_across_chunks(catalog: Catalog) -> None:
    rec, key = recorder(catalog)
    up = b"".join(
        publish(f"{LIGHT}/cmd", b'{"id": "%d", "action": "dim", "params": {"level": 5}}' % i, qos=i % 2)
        for i in range(40)
    )
    up += publish("sz/v2/certville/acme/parking-spot/ap-0001/cmd", b"{}", retain=True)
    for i in range(0, len(up), 7):
        rec.client_bytes(key, up[i : i + 7])
    obs = rec.obs
    assert len(obs.publishes) == 41 and sum(p.qos for p in obs.publishes) == 20
    assert [p.allowed for p in obs.publishes[-2:]] == [True, False] and obs.publishes[-1].retain
    assert not obs.notes
    rec.client_bytes(key, publish(b"sz/\xff/cmd", b"x"))  # not UTF-8: the broker drops the client
    rec.client_bytes(key, publish(b"sz/\xfe/cmd", b"x"))
    assert len(obs.publishes) == 41 and len(obs.notes) == 1 and "could not be decoded" in obs.notes[0]


def test_deliveries_are_charged_to_the_filters_that_matched_them(catalog: Catalog) -> None:
    rec, key = recorder(catalog)
    wide, own, refused = "sz/v2/certville/comune/#", f"{LIGHT}/telemetry", "sz/v2/certville/acme/#"
    rec.client_bytes(key, subscribe(wide, own, refused))
    down = publish("sz/v2/certville/comune/catalog", b"c" * 500, retain=True)  # fetched by the SUBSCRIBE
    down += publish(f"{LIGHT}/telemetry", b"t" * 100, retain=True)
    down += publish(f"{LIGHT}/telemetry", b"t" * 100) * 3  # live: the flag is clear
    for i in range(0, len(down), 11):
        rec.broker_bytes(key, down[i : i + 11])
    costs = rec.obs.filter_costs
    assert set(costs) == {wide, own}  # a refused filter is trimmed by the gate: it costs nothing
    assert (costs[wide].messages, costs[wide].bytes, costs[wide].retained) == (5, 900, 2)
    assert (costs[own].messages, costs[own].bytes, costs[own].retained, costs[own].subscribes) == (4, 400, 1, 1)
    assert rec.obs.delivered_bytes == 900 and sum(rec.obs.retained_by_second.values()) == 2
    rec.client_bytes(key, unsubscribe(wide) + subscribe(own))
    rec.broker_bytes(key, publish(f"{LIGHT}/telemetry", b"t" * 100, retain=True))
    assert costs[wide].messages == 5 and (costs[own].messages, costs[own].subscribes, costs[own].retained) == (5, 2, 2)
