"""Real devices in the city, end to end, written from docs/api.md and docs/owners.md: an app
connected as an ordinary user reads and commands a REAL pymodbus meter and a REAL paho meter
exactly like simulated devices; another owner can neither read the ingest topic nor command them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pymodbus.client import ModbusTcpClient

from smartzone.definitions.catalog import Catalog
from tests.endpoints.mqtt.conftest import Probe, has_mosquitto
from tests.endpoints.realdevice.rig import BASE, HOST, INGEST, MeterServer, VendorMeter, running_city, scenario

MQTT_DEV = f"{BASE}/acme/acme-pm3/pm3-real-mqtt"
MODBUS_DEV = f"{BASE}/acme/acme-pm3/pm3-real-modbus"


@pytest.fixture
def bridged_catalog() -> Catalog:
    return Catalog.builtin().copy()


@pytest.fixture
def meter() -> Iterator[MeterServer]:
    server = MeterServer()
    yield server
    server.close()


def docs(probe: Probe, topic: str) -> list[dict]:
    return [json.loads(p) for p in probe.received(topic) if p]


def ack_of(probe: Probe, topic: str, cid: str) -> dict | None:
    return next((a for a in docs(probe, f"{topic}/cmd/ack") if a.get("id") == cid), None)


def test_an_app_reads_and_commands_real_devices(bridged_catalog: Catalog, meter: MeterServer) -> None:
    with running_city(scenario(bridged_catalog, meter.port), bridged_catalog) as (_rt, port):
        app = Probe(port, "acme-app", "app-secret", "acme-app-1")
        vendor = VendorMeter(port)
        try:
            assert app.connect() == 0
            assert app.subscribe(f"{BASE}/acme/acme-pm3/+/#", 1) == [1]
            # the Modbus meter is polled: its registers arrive as the contract's reading
            assert app.wait_for(lambda: bool(docs(app, f"{MODBUS_DEV}/telemetry")), 15)
            reading = docs(app, f"{MODBUS_DEV}/telemetry")[0]
            assert reading["device"] == "pm3-real-modbus" and reading["type"] == "acme-pm3" and reading["seq"] >= 1
            assert reading["values"] == {"voltage": 231.0, "current": 3.25, "power": 0.751, "relay": True}
            assert app.wait_for(
                lambda: {"state": "online"}.items() <= (docs(app, f"{MODBUS_DEV}/status") or [{}])[-1].items()
            )
            # the MQTT meter publishes its own JSON on the ingest topic
            vendor.send(volts_dv=2305)
            assert app.wait_for(lambda: bool(docs(app, f"{MQTT_DEV}/telemetry")), 15)
            reading = docs(app, f"{MQTT_DEV}/telemetry")[0]
            assert reading["seq"] == 1
            assert reading["values"] == {"voltage": 230.5, "current": 4.5, "power": 1.04, "energy": 12.5, "relay": True}
            meta = docs(app, f"{MQTT_DEV}/meta")[-1]
            assert "set_relay" in json.dumps(meta)
            # a command in the contract becomes the vendor's message; its answer is the ack
            app.publish(f"{MQTT_DEV}/cmd", json.dumps({"id": "m1", "action": "set_relay", "params": {"closed": False}}))
            assert app.wait_for(lambda: ack_of(app, MQTT_DEV, "m1") is not None, 15)
            assert vendor.commands == [{"req": "m1", "relay": "off"}]
            assert ack_of(app, MQTT_DEV, "m1") | {"ts": None} == {
                "id": "m1",
                "ok": True,
                "ts": None,
                "state": {"relay": False},
            }
            # a command to the Modbus meter is a coil write on the real device
            app.publish(
                f"{MODBUS_DEV}/cmd", json.dumps({"id": "b1", "action": "set_relay", "params": {"closed": False}})
            )
            assert app.wait_for(lambda: ack_of(app, MODBUS_DEV, "b1") is not None, 15)
            assert ack_of(app, MODBUS_DEV, "b1")["ok"] is True
            client = ModbusTcpClient(HOST, port=meter.port, timeout=2)
            try:
                assert client.connect()
                assert client.read_coils(0, count=1, device_id=1).bits[0] is False
            finally:
                client.close()
            # a device that does not answer: a `timeout` ack, and nothing changes
            vendor.silent = True
            app.publish(f"{MQTT_DEV}/cmd", json.dumps({"id": "m2", "action": "set_relay", "params": {"closed": True}}))
            assert app.wait_for(lambda: ack_of(app, MQTT_DEV, "m2") is not None, 15)
            ack = ack_of(app, MQTT_DEV, "m2")
            assert ack["ok"] is False and ack["error"]["code"] == "timeout"
        finally:
            vendor.close()
            app.close()


BACKENDS = ["embedded", pytest.param("mosquitto", marks=pytest.mark.skipif(not has_mosquitto(), reason="no mosquitto"))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_nobody_else_reads_the_ingest_topic_or_commands_the_device(
    bridged_catalog: Catalog, meter: MeterServer, backend: str
) -> None:
    with running_city(scenario(bridged_catalog, meter.port), bridged_catalog, backend) as (_rt, port):
        other = Probe(port, "other-owner", "other-secret", "other-owner-1")
        other_app = Probe(port, "other-app", "app-secret", "other-app-1")
        reader = Probe(port, "acme-app", "app-secret", "acme-app-2")  # may read acme, not its ingest topics
        vendor = VendorMeter(port)
        try:
            for probe in (other, other_app, reader):
                assert probe.connect() == 0
            assert other.subscribe(f"{INGEST}/#", 1)[0] >= 0x80
            assert other_app.subscribe(f"{INGEST}/#", 1)[0] >= 0x80
            assert reader.subscribe(f"{INGEST}/#", 1)[0] >= 0x80
            assert reader.subscribe(f"{BASE}/acme/#", 1) == [1]  # granted: delivers only what it may read
            for probe in (other, other_app):
                assert probe.subscribe(f"{MQTT_DEV}/cmd/ack", 1)[0] >= 0x80
                probe.publish(
                    f"{MQTT_DEV}/cmd", json.dumps({"id": "x1", "action": "set_relay", "params": {"closed": False}})
                )
            vendor.send()
            assert reader.wait_for(lambda: bool(docs(reader, f"{MQTT_DEV}/telemetry")), 15)
            # the reading went through; the intruders' commands never reached the device
            reader.publish(
                f"{MQTT_DEV}/cmd", json.dumps({"id": "ok1", "action": "set_relay", "params": {"closed": True}})
            )
            assert reader.wait_for(lambda: ack_of(reader, MQTT_DEV, "ok1") is not None, 15)
            assert [c["req"] for c in vendor.commands] == ["ok1"]
            assert not [t for t, _p, _r in reader.messages if "/ingest/" in t]
            assert not other.messages and not [t for t, _p, _r in other_app.messages if "acme" in t]
        finally:
            vendor.close()
            for probe in (other, other_app, reader):
                probe.close()


def test_an_unreachable_device_is_offline_with_one_line_and_the_city_runs_on(bridged_catalog: Catalog) -> None:
    from tests.endpoints.realdevice.rig import free_port

    port = free_port()  # nobody listens there
    with running_city(scenario(bridged_catalog, port), bridged_catalog) as (rt, mqtt_port):
        app = Probe(mqtt_port, "acme-app", "app-secret", "acme-app-3")
        try:
            assert app.connect() == 0
            assert app.subscribe(f"{MODBUS_DEV}/status", 1) == [1]
            assert app.wait_for(lambda: bool(docs(app, f"{MODBUS_DEV}/status")))
            assert docs(app, f"{MODBUS_DEV}/status")[-1]["state"] == "offline"
            part = "real device pm3-real-modbus"
            assert app.wait_for(lambda: rt.health.snapshot().get(part) is not None, 10)
            assert rt.running and not rt.health.failed
            lines = [line for line in rt.health.summary_lines() if part in line]
            assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0]
        finally:
            app.close()
