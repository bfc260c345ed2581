"""Devices created at run time in a sandbox tenant are units of the tenant's own sandbox gateway."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from smartzone.core.events import CommandResult
from smartzone.core.sandbox import AddDevice, RemoveDevice
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.modbus import ModbusGateways, plan_gateways
from smartzone.endpoints.modbus.certs import write_certs
from smartzone.endpoints.mqtt import service as mqtt_service
from smartzone.runtime.api import Runtime

from ..mqtt.sandbox_city import REQUEST, RESULT, SANDBOX_CITY
from ..mqtt.test_sandbox_mqtt import ADD_LIGHT
from .conftest import FOREIGN, client_context
from .test_mbpoll import mbpoll, values
from .test_service_cli import _run

GATEWAY_NO_RESPONSE = 0x0B
STREET_LIGHT = 20  # its type code (input register 0)


class SandboxCity:
    def __init__(self, rt: Runtime, gateways: ModbusGateways) -> None:
        self.rt, self.gateways = rt, gateways
        self.results: list[CommandResult] = []
        rt.subscribe(self.results.append, (CommandResult,))

    def add(self, tenant: str, device: str, kind: str = "street-light") -> tuple[str, int, int]:
        """Create `device` and wait for its unit: (gateway id, port, unit id)."""
        assert self.rt.submit(AddDevice(tenant, device, kind, source="test")).result(10) is None
        return self.wait(device, present=True)

    def remove(self, tenant: str, device: str) -> None:
        self.rt.submit(RemoveDevice(tenant, device, source="test")).result(10)
        self.wait(device, present=False)

    def wait(self, device: str, present: bool) -> Any:
        deadline = time.monotonic() + 10
        while (self.gateways.unit_of(device) is not None) != present:
            assert time.monotonic() < deadline, f"{device}: its unit never {'came' if present else 'went'}"
            time.sleep(0.02)
        return self.gateways.unit_of(device)

    def port(self, gateway: str) -> int:
        return next(g.port for g in self.gateways.gateways if g.plan.id == gateway)

    def settle(self, device: str) -> None:
        for _ in range(60):
            if any(r.device == device for r in self.results):
                return
            self.rt.step(10).result(30)
        raise AssertionError(f"no command result for {device}")


@pytest.fixture
def sandbox() -> Iterator[SandboxCity]:
    rt = Runtime.load(SANDBOX_CITY)
    gateways = None
    try:
        rt.start()
        rt.pause().result(10)
        gateways = ModbusGateways.start(rt, 0)
        yield SandboxCity(rt, gateways)
    finally:
        if gateways is not None:
            gateways.close()
        rt.stop()


def test_sandbox_gateways_follow_the_others_and_reserve_the_device_quota() -> None:
    rt = Runtime.load(SANDBOX_CITY)
    plans = plan_gateways(rt.scenario, rt.devices.values())
    assert [p.id for p in plans][-2:] == ["lab-a-sandbox", "lab-b-sandbox"]
    assert [p.port_offset for p in plans] == list(range(len(plans)))
    assert [(p.reserved, p.units) for p in plans[-2:]] == [(2, {}), (10, {})]  # quota 2; the default 10
    assert all(p.reserved == 0 for p in plans[:-2])


def test_every_sandbox_tenant_has_a_gateway_with_its_quota_of_units(sandbox: SandboxCity, client_factory) -> None:
    lines = sandbox.gateways.describe()
    assert any(line.startswith("Modbus gateway lab-a-sandbox: 127.0.0.1:") and "units 1-2 " in line for line in lines)
    assert any("lab-b-sandbox" in line and "units 1-10 " in line and "(0 in use)" in line for line in lines)
    answer = client_factory(sandbox.port("lab-a-sandbox")).read_input_registers(0, count=10, device_id=1)
    assert answer.isError() and answer.exception_code == GATEWAY_NO_RESPONSE  # reserved, not yet in use


def test_a_created_device_is_read_written_and_removed_like_any_unit(sandbox: SandboxCity, client_factory) -> None:
    gateway, port, unit = sandbox.add("lab-a", "a-light-1")
    assert (gateway, unit) == ("lab-a-sandbox", 1)
    assert any("unit 1 = a-light-1" in line for line in sandbox.gateways.describe())
    client = client_factory(port)
    common = client.read_input_registers(0, count=10, device_id=1)
    assert not common.isError() and common.registers[0] == STREET_LIGHT and common.registers[2] & 1  # online
    assert not client.write_register(0, 55, device_id=1).isError()
    sandbox.settle("a-light-1")
    assert sandbox.rt.snapshot()["a-light-1"].state["level"] == 55
    assert client.read_holding_registers(0, count=1, device_id=1).registers == [55]
    assert not client.write_coil(0, False, device_id=1).isError()
    sandbox.results.clear()
    sandbox.settle("a-light-1")
    assert sandbox.rt.snapshot()["a-light-1"].state["on"] is False
    # the second device takes unit 2; removing the first frees unit 1, which the next one takes
    assert sandbox.add("lab-a", "a-light-2")[2] == 2
    sandbox.remove("lab-a", "a-light-1")
    gone = client.read_input_registers(0, count=10, device_id=1)
    assert gone.isError() and gone.exception_code == GATEWAY_NO_RESPONSE
    assert not client.read_input_registers(0, count=10, device_id=2).isError()
    assert sandbox.add("lab-a", "a-spot-3", "parking-spot")[2] == 1
    assert client.read_input_registers(0, count=10, device_id=1).registers[0] != STREET_LIGHT


def test_other_tenants_units_are_unaffected(sandbox: SandboxCity, client_factory) -> None:
    before = {g.plan.id: dict(g.units) for g in sandbox.gateways.gateways}
    sandbox.add("lab-a", "a-light-1")
    after = {g.plan.id: dict(g.units) for g in sandbox.gateways.gateways}
    assert {k: v for k, v in after.items() if k != "lab-a-sandbox"} == {
        k: v for k, v in before.items() if k != "lab-a-sandbox"
    }
    lab_b = client_factory(sandbox.port("lab-b-sandbox")).read_input_registers(0, count=10, device_id=1)
    assert lab_b.isError() and lab_b.exception_code == GATEWAY_NO_RESPONSE
    _, port, unit = sandbox.gateways.unit_of("lb-0001")
    assert not client_factory(port).read_input_registers(0, count=10, device_id=unit).isError()


LAB_B_GATEWAY = """gateways:
  - id: lab-b-rigs
    tenant: lab-b
    access: {read: [127.0.0.0/8], write: [127.0.0.2]}
"""


def test_a_sandbox_gateway_takes_the_access_rules_of_its_tenants_gateway(tmp_path: Path, client_factory) -> None:
    path = tmp_path / "guarded-sandbox.yaml"
    path.write_text(SANDBOX_CITY.read_text(encoding="utf-8") + LAB_B_GATEWAY, encoding="utf-8")
    rt = Runtime.load(path)
    gateways = None
    try:
        rt.start()
        rt.pause().result(10)
        gateways = ModbusGateways.start(rt, 0)
        city = SandboxCity(rt, gateways)
        gateway, port, unit = city.add("lab-b", "b-light-1")
        assert gateway == "lab-b-sandbox"
        local = client_factory(port)
        assert not local.read_input_registers(0, count=10, device_id=unit).isError()
        denied = local.write_register(0, 10, device_id=unit)
        assert denied.isError() and denied.exception_code == 0x01  # only 127.0.0.2 writes
        assert not client_factory(port, FOREIGN).write_register(0, 10, device_id=unit).isError()
        # lab-a declared no gateway: its sandbox gateway has the defaults (loopback writes)
        _, port_a, unit_a = city.add("lab-a", "a-light-1")
        assert not client_factory(port_a).write_register(0, 10, device_id=unit_a).isError()
    finally:
        if gateways is not None:
            gateways.close()
        rt.stop()


def test_devices_created_before_the_gateways_start_get_their_units(client_factory) -> None:
    rt = Runtime.load(SANDBOX_CITY)
    gateways = None
    try:
        rt.start()
        rt.pause().result(10)
        rt.submit(AddDevice("lab-b", "b-light-1", "street-light", source="test")).result(10)
        gateways = ModbusGateways.start(rt, 0)
        deadline = time.monotonic() + 10
        while gateways.unit_of("b-light-1") is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert gateways.unit_of("b-light-1")[::2] == ("lab-b-sandbox", 1)
        assert not any("behind no declared gateway" in line for line in gateways.describe())
        assert all(info.id != "b-light-1" for g in gateways.plans for info in g.units.values())
    finally:
        if gateways is not None:
            gateways.close()
        rt.stop()


@pytest.mark.skipif(shutil.which("mbpoll") is None, reason="mbpoll is not installed (apt install mbpoll)")
def test_mbpoll_reads_a_created_device(sandbox: SandboxCity) -> None:
    _, port, unit = sandbox.add("lab-a", "a-light-1")
    out = mbpoll(port, unit, "-t", "3", "-r", "0", "-c", "10")
    assert out.returncode == 0, out.stderr
    assert values(out.stdout)[0] == str(STREET_LIGHT)


def test_a_new_modbus_thread_keeps_the_sandbox_units_and_the_events_sent_meanwhile(
    sandbox: SandboxCity, client_factory
) -> None:
    sandbox.add("lab-a", "a-light-1")
    old_thread, old_loop = sandbox.gateways._thread, sandbox.gateways._loop
    old_loop.call_soon_threadsafe(old_loop.stop)
    old_thread.join(10)
    sandbox.rt.submit(AddDevice("lab-a", "a-light-2", "street-light", source="test")).result(10)
    deadline = time.monotonic() + 10
    while sandbox.gateways._thread is old_thread or sandbox.gateways.unit_of("a-light-2") is None:
        assert time.monotonic() < deadline, "the sandbox units were not kept in step across the restart"
        time.sleep(0.05)
    assert [sandbox.gateways.unit_of(d)[2] for d in ("a-light-1", "a-light-2")] == [1, 2]
    client = client_factory(sandbox.port("lab-a-sandbox"))
    for unit in (1, 2):
        assert client.read_input_registers(0, count=10, device_id=unit).registers[0] == STREET_LIGHT
    assert not sandbox.rt.health.failed


def test_with_modbus_tls_the_owners_certificate_decides_on_the_sandbox_gateway(tmp_path: Path, tls_client) -> None:
    catalog = Catalog.builtin()
    write_certs(load_scenario(SANDBOX_CITY, catalog), tmp_path)
    rt = Runtime.load(SANDBOX_CITY)
    gateways = None
    try:
        rt.start()
        rt.pause().result(10)
        gateways = ModbusGateways.start(rt, 0, tls_dir=tmp_path)
        assert any("lab-a-sandbox" in line and "Modbus/TCP Security" in line for line in gateways.describe())
        _, port, unit = SandboxCity(rt, gateways).add("lab-a", "a-light-1")
        owner = tls_client(port, client_context(tmp_path, "owner-a"))
        assert owner.read_input_registers(0, count=10, device_id=unit).registers[0] == STREET_LIGHT
        assert not owner.write_register(0, 20, device_id=unit).isError()
        other = tls_client(port, client_context(tmp_path, "owner-b"))
        denied = other.read_input_registers(0, count=10, device_id=unit)
        assert denied.isError() and denied.exception_code == 0x01
    finally:
        if gateways is not None:
            gateways.close()
        rt.stop()


def test_an_owners_mqtt_request_creates_a_device_read_over_modbus(client_factory) -> None:
    rt = Runtime.load(SANDBOX_CITY)
    mqtt_svc = gateways = owner = None
    answers: list[dict] = []
    try:
        mqtt_svc = mqtt_service.start(rt, argparse.Namespace(broker="embedded", mqtt_port=0, no_mqtt=False))
        gateways = ModbusGateways.start(rt, 0)
        rt.start()
        owner = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="owner-a-modbus-test")
        owner.username_pw_set("owner-a", "owner-a-pw")
        owner.on_message = lambda _c, _u, msg: answers.append(json.loads(msg.payload))
        owner.connect(mqtt_svc.broker.host, mqtt_svc.broker.port)
        owner.loop_start()
        owner.subscribe(RESULT, qos=1)
        time.sleep(0.5)  # the subscription is in place before the request
        owner.publish(REQUEST, json.dumps(ADD_LIGHT), qos=1)
        waiting = SandboxCity(rt, gateways)
        gateway, port, unit = waiting.wait("a-light-1", present=True)
        assert (gateway, unit) == ("lab-a-sandbox", 1) and answers and answers[0]["ok"] is True
        assert client_factory(port).read_input_registers(0, count=10, device_id=unit).registers[0] == STREET_LIGHT
    finally:
        if owner is not None:
            owner.loop_stop()
            owner.disconnect()
        rt.stop()
        if gateways is not None:
            gateways.close()
        if mqtt_svc is not None:
            mqtt_svc.close()


def test_smartzone_run_lists_the_sandbox_gateways() -> None:
    done = _run("run", str(SANDBOX_CITY), "--fast", "--duration", "1h", "--no-mqtt", "--modbus-port", "0")
    assert done.returncode == 0, done.stderr
    shown = done.stdout + done.stderr
    assert "Modbus gateway lab-a-sandbox: 127.0.0.1:" in shown and "units 1-2 for devices created at run time" in shown
    assert "lab-a-sandbox: no device matches it" not in shown  # started, though empty
