"""Fixtures: a running simulated city with real Modbus gateways on ephemeral 127.0.0.1 ports."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient, ModbusTlsClient

from smartzone.core.events import CommandResult
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.modbus import ModbusGateways
from smartzone.endpoints.modbus.certs import user_files, write_certs
from smartzone.runtime.api import Runtime

FIXTURES = Path(__file__).parents[2] / "fixtures"
RIG = FIXTURES / "modbus" / "test-rig.yaml"
RIGVILLE = FIXTURES / "modbus" / "rigville.yaml"
ACCESS_CITY = FIXTURES / "access-city.yaml"  # owners, apps with grants, an admin (Modbus/TCP Security)
HOST = "127.0.0.1"


@dataclass
class City:
    rt: Runtime
    gateways: ModbusGateways

    def settle(self, device: str, results: list, count: int = 1) -> None:
        """Advance the paused simulation until `count` command results for `device` arrived.

        A Modbus write is answered once accepted; the command then crosses the device's
        simulated downlink, which needs simulated time to pass.
        """
        for _ in range(60):  # at most 10 simulated minutes
            if len([r for r in results if r.device == device]) >= count:
                return
            self.rt.step(10).result(30)
        raise AssertionError(f"no command result for {device} after 10 simulated minutes: {results}")

    def where(self, device: str) -> tuple[int, int]:
        """(port, unit id) of a device."""
        for g in self.gateways.gateways:
            for unit, info in g.plan.units.items():
                if info.id == device:
                    return g.port, unit
        raise KeyError(device)


@pytest.fixture(scope="session")
def rig_catalog() -> Catalog:
    catalog = Catalog.builtin()
    catalog.add_file(RIG)
    return catalog


def _start_city(scenario: Runtime, tls_dir: Path | None = None) -> Iterator[City]:
    rt = scenario
    gateways = None
    try:
        rt.start()
        rt.pause().result(10)
        rt.step(7200).result(60)  # two simulated hours: every device has reported at least once
        gateways = ModbusGateways.start(rt, 0, tls_dir=tls_dir)
        yield City(rt, gateways)
    finally:
        if gateways is not None:
            gateways.close()
        rt.stop()


@pytest.fixture
def city(rig_catalog: Catalog) -> Iterator[City]:
    """Rigville (two declared gateways: test rigs, street lights + parking spots), paused."""
    yield from _start_city(Runtime(load_scenario(RIGVILLE, rig_catalog), rig_catalog))


FOREIGN = "127.0.0.2"  # a loopback source address that the guarded rules treat as another machine
GUARDED_GATEWAYS = """gateways:
  - id: rigs
    tenant: acqua
    access: {read: [127.0.0.0/8], write: [127.0.0.2]}
  - id: city
    tenant: comune
    types: [street-light, parking-spot]
    port_offset: 5
    access: {read: [127.0.0.2/32], write: []}
"""


def guarded_scenario(tmp_path: Path) -> Path:
    """Rigville whose gateways only let 127.0.0.2 write ('rigs') or do anything ('city')."""
    text = RIGVILLE.read_text(encoding="utf-8")
    path = tmp_path / "guarded.yaml"
    path.write_text(text[: text.index("gateways:")] + GUARDED_GATEWAYS, encoding="utf-8")
    return path


@pytest.fixture
def guarded_city(rig_catalog: Catalog, tmp_path: Path) -> Iterator[City]:
    """Rigville with access rules: from 127.0.0.1 'rigs' is read-only and 'city' refuses everything."""
    path = guarded_scenario(tmp_path)
    yield from _start_city(Runtime(load_scenario(path, rig_catalog), rig_catalog))


@pytest.fixture
def results(city: City) -> Iterator[list[CommandResult]]:
    """Every CommandResult published during the test (appended on the engine thread)."""
    seen: list[CommandResult] = []
    unsubscribe = city.rt.subscribe(seen.append, (CommandResult,))
    yield seen
    unsubscribe()


@pytest.fixture
def client_factory() -> Iterator:
    """make(port, source=None) -> a connected pymodbus ModbusTcpClient (from `source`), closed after the test."""
    clients: list[ModbusTcpClient] = []

    def make(port: int, source: str | None = None) -> ModbusTcpClient:
        client = ModbusTcpClient(HOST, port=port, timeout=5, retries=0, source_address=(source, 0) if source else None)
        clients.append(client)
        assert client.connect(), f"cannot connect to {HOST}:{port}"
        return client

    yield make
    for client in clients:
        client.close()


# --- Modbus/TCP Security ------------------------------------------------------------------
@pytest.fixture(scope="module")
def access_catalog() -> Catalog:
    return Catalog.builtin()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory, access_catalog: Catalog) -> Path:
    folder = tmp_path_factory.mktemp("modbus-certs")
    write_certs(load_scenario(ACCESS_CITY, access_catalog), folder)
    return folder


@pytest.fixture
def tls_city(access_catalog: Catalog, certs: Path) -> Iterator[City]:
    """Accessville with every gateway serving Modbus/TCP Security, paused."""
    yield from _start_city(Runtime(load_scenario(ACCESS_CITY, access_catalog), access_catalog), certs)


def client_context(certs: Path, user: str | None, check_hostname: bool = False) -> ssl.SSLContext:
    """A client context trusting the lab's CA, presenting `user`'s certificate (if any)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(certs / "ca.pem")
    if user is not None:
        ctx.load_cert_chain(*user_files(certs, user))
    ctx.check_hostname = check_hostname  # pymodbus's sync TLS client passes no server_hostname
    return ctx


@pytest.fixture
def tls_client() -> Iterator:
    """make(port, ctx) -> a connected pymodbus ModbusTlsClient, closed after the test."""
    clients: list[ModbusTlsClient] = []

    def make(port: int, ctx: ssl.SSLContext) -> ModbusTlsClient:
        client = ModbusTlsClient(HOST, port=port, sslctx=ctx, timeout=5, retries=0)
        clients.append(client)
        assert client.connect(), f"cannot connect to {HOST}:{port} with TLS"
        return client

    yield make
    for client in clients:
        client.close()
