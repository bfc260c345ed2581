"""Telemetry and retained documents on a real broker, read by paho and mosquitto_sub."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator

import pytest

from smartzone.core.clock import SimClock
from smartzone.core.commands import SetOnline
from smartzone.endpoints.mqtt.broker import Broker

from .harness import CITY, City, mosquitto_sub, open_city, topic, wait_count


@pytest.fixture(params=["embedded", "mosquitto"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def broker(start_test_broker: Callable[..., Broker], backend: str, catalog: object) -> Broker:
    from smartzone.definitions.catalog import Catalog, load_scenario

    from .harness import MQTT_CITY

    assert isinstance(catalog, Catalog)
    return start_test_broker(backend, load_scenario(MQTT_CITY, catalog))


@pytest.fixture
def fast_city(broker: Broker) -> Iterator[City]:
    city = open_city(broker, fast=True, duration=600)
    yield city
    city.close()


def test_every_reading_arrives_with_seq_and_simulated_ts(fast_city: City, broker: Broker, mqtt_client) -> None:
    probe = mqtt_client(broker, "admin", "admin-pw", "admin-telemetry")
    assert probe.subscribe(f"sz/v2/{CITY}/comune/+/+/telemetry", qos=0) == [0]
    fast_city.runtime.start()
    assert fast_city.runtime.wait(30)
    native = [r for r in fast_city.readings if fast_city.runtime.devices[r.device].tenant == "comune"]
    assert len(native) > 20
    assert wait_count(probe, lambda t: t.endswith("/telemetry"), len(native))
    clock = SimClock(fast_city.runtime.scenario.start, fast_city.runtime.scenario.timezone)
    expected = {(r.device, r.seq): clock.iso(r.measured_at) for r in native}
    by_device: dict[str, list[int]] = {}
    for name, payload, retained in probe.messages:
        doc = json.loads(payload)
        assert not retained
        assert name == topic("comune", doc["type"], doc["device"], "telemetry")
        assert doc["tenant"] == "comune"
        assert doc["ts"] == expected[(doc["device"], doc["seq"])]
        by_device.setdefault(doc["device"], []).append(doc["seq"])
    assert set(by_device) == {"cp-0001", "cp-0002", "cl-0001"}
    for device, seqs in by_device.items():
        assert seqs == [r.seq for r in native if r.device == device]  # all of them, in order
        assert seqs[0] == 1
    assert fast_city.bridge.stats()["lost_queue_full"] == 0


def test_late_subscriber_reads_retained_meta_status_state_catalog(fast_city: City, broker: Broker, mqtt_client) -> None:
    probe = mqtt_client(broker, "owner-comune", "comune-pw", "owner-comune-late")
    probe.subscribe(f"sz/v2/{CITY}/comune/#", qos=1)
    wanted = {
        topic("comune", "parking-spot", "cp-0001", "meta"),
        topic("comune", "parking-spot", "cp-0002", "status"),
        topic("comune", "street-light", "cl-0001", "state"),
        f"sz/v2/{CITY}/comune/catalog",
    }
    assert probe.wait_for(lambda: wanted <= {t for t, _, r in probe.messages if r})
    meta = json.loads(probe.received(topic("comune", "street-light", "cl-0001", "meta"))[0])
    assert meta["signals"]["level"] == {"unit": "%", "min": 0, "max": 100, "datatype": "int"}
    assert meta["commands"]["dim"]["properties"]["level"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 100,
        "x-unit": "%",
    }
    assert set(meta["location"]) == {"lat", "lon", "district", "address"}
    for key in ("vendor", "model", "serial", "network", "type", "tenant", "name"):
        assert meta[key]
    state = json.loads(probe.received(topic("comune", "street-light", "cl-0001", "state"))[0])
    # 01:00 in Rome: the auto schedule has the light on at its night level, and the state says so
    assert state == {"ts": "2026-11-23T00:00:00.000Z", "values": {"mode": "auto", "on": True, "level": 60}}
    catalog = json.loads(probe.received(f"sz/v2/{CITY}/comune/catalog")[0])
    assert [d["id"] for d in catalog["devices"]] == ["cp-0001", "cp-0002", "cl-0001"]
    assert "cmd" in catalog["devices"][2]["channels"] and "cmd" not in catalog["devices"][0]["channels"]
    # the mosquitto_sub binary sees the same retained catalog and statuses
    got = mosquitto_sub(broker, "admin", "admin-pw", f"sz/v2/{CITY}/+/+/+/status", 5)
    assert len(got) == 5 and all(doc == {"state": "online", "since": "2026-11-23T00:00:00.000Z"} for _, doc in got)


def test_status_goes_offline_with_since(broker: Broker, mqtt_client) -> None:
    city = open_city(broker, speed=1.0)
    try:
        probe = mqtt_client(broker, "admin", "admin-pw", "admin-status")
        status_topic = topic("comune", "parking-spot", "cp-0002", "status")
        probe.subscribe(status_topic, qos=1)
        assert probe.wait_for(lambda: len(probe.received(status_topic)) == 1)
        city.runtime.start()
        city.runtime.submit(SetOnline("cp-0002", False, "test")).result(5)
        assert probe.wait_for(lambda: len(probe.received(status_topic)) == 2)
        doc = json.loads(probe.received(status_topic)[1])
        assert doc["state"] == "offline" and doc["since"].startswith("2026-11-23T00:00:")
    finally:
        city.close()


def test_gateway_mode_few_connections_on_the_private_socket(fast_city: City) -> None:
    conns = fast_city.bridge.publisher.conns
    assert len(conns) == 1 < len(fast_city.runtime.devices)  # plus the command listener's
    assert fast_city.broker.service_socket  # both managed backends: SmartZone's own clients skip the gate
    for conn in [*conns, fast_city.bridge.commands]:
        sock = conn.client.socket()
        assert isinstance(sock, socket.socket)
        assert sock.family == socket.AF_UNIX and sock.getpeername() == fast_city.broker.service_socket


def test_tcp_connections_to_an_external_broker_set_nodelay(broker: Broker, start_test_broker) -> None:
    url = f"mqtt://{broker.service_user}:{broker.service_password}@127.0.0.1:{broker.port}"
    external = start_test_broker(url, broker.scenario)
    assert external.service_socket is None
    city = open_city(external, fast=True, duration=60)
    try:
        for conn in [*city.bridge.publisher.conns, city.bridge.commands]:
            sock = conn.client.socket()
            assert isinstance(sock, socket.socket) and sock.family == socket.AF_INET
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        city.close()
