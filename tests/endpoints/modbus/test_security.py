"""Modbus/TCP Security: certificates for a lab, and real pymodbus TLS clients as the scenario's users.

The city is tests/fixtures/access-city.yaml (default gateways comune-centro, acme-centro,
open-centro): owner-comune owns comune; app-traffic reads comune and open and commands
comune; app reads acme and commands open; admin does everything.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from pymodbus.client import AsyncModbusTlsClient, ModbusTlsClient
from pymodbus.exceptions import ModbusException

from smartzone.cli import main
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.modbus.certs import user_files, write_certs
from smartzone.endpoints.modbus.security import ROLE_OID, parse_utf8string, utf8string
from smartzone.errors import UsageError
from smartzone.runtime.api import Runtime

from .conftest import ACCESS_CITY, HOST, City, client_context
from .test_service_cli import _run
from .wire import read_ir, recv_frames

ILLEGAL_FUNCTION = 0x01


def tenant_port(city: City, tenant: str) -> int:
    return next(g.port for g in city.gateways.gateways if g.plan.tenant == tenant)


# --- certificates ------------------------------------------------------------------------
def test_the_role_extension_is_a_der_utf8string() -> None:
    assert utf8string("app") == b"\x0c\x03app"
    assert parse_utf8string(utf8string("owner")) == "owner"
    long = "r" * 300
    assert parse_utf8string(utf8string(long)) == long and utf8string(long)[:4] == b"\x0c\x82\x01\x2c"
    for bad in (b"", b"\x13\x03app", b"\x0c\x05app", b"\x0c\x03apps", b"\x0c\x84\x00\x00\x00\x03app"):
        with pytest.raises(ValueError):
            parse_utf8string(bad)


def test_modbus_certs_writes_a_ca_a_server_and_one_certificate_per_user(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lab"
    assert main(["modbus-certs", "--scenario", str(ACCESS_CITY), "--out", str(out), "--bind", "10.1.2.3"]) == 0
    printed = capsys.readouterr().out
    assert "5 client certificates" in printed and str(out) in printed
    ca = x509.load_pem_x509_certificate((out / "ca.pem").read_bytes())
    server = x509.load_pem_x509_certificate((out / "server.pem").read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1", "10.1.2.3"}
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    roles = {}
    for user in ("admin", "owner-comune", "owner-acme", "app-traffic", "app"):
        cert_path, key_path = user_files(out, user)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        assert cert.issuer == ca.subject
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == user
        ext = cert.extensions.get_extension_for_oid(ROLE_OID).value
        assert isinstance(ext, x509.UnrecognizedExtension)
        roles[user] = parse_utf8string(ext.value)
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert roles == {
        "admin": "admin",
        "owner-comune": "owner",
        "owner-acme": "owner",
        "app-traffic": "app",
        "app": "app",
    }
    for key in ("ca-key.pem", "server-key.pem"):
        assert stat.S_IMODE((out / key).stat().st_mode) == 0o600
    # again: the CA is kept, so certificates already handed out stay valid
    assert main(["modbus-certs", "--scenario", str(ACCESS_CITY), "--out", str(out)]) == 0
    assert "kept the CA" in capsys.readouterr().out
    assert x509.load_pem_x509_certificate((out / "ca.pem").read_bytes()) == ca


def test_tls_mode_without_certificates_is_one_clear_error(access_catalog: Catalog, tmp_path: Path) -> None:
    rt = Runtime(load_scenario(ACCESS_CITY, access_catalog), access_catalog)
    from smartzone.endpoints.modbus import ModbusGateways

    with pytest.raises(UsageError, match=r"ca\.pem is missing .*smartzone modbus-certs"):
        ModbusGateways.start(rt, 0, tls_dir=tmp_path)


# --- authorisation, as the scenario's users ---------------------------------------------------
def test_an_app_reads_what_it_may_read_and_its_writes_are_denied_0x01(
    tls_city: City, certs: Path, tls_client, capsys: pytest.CaptureFixture[str]
) -> None:
    city = tls_city
    port, unit = city.where("ol-0001")  # the open tenant's street light: app-traffic reads, may not command
    client = tls_client(port, client_context(certs, "app-traffic"))
    ok = client.read_input_registers(0, count=3, device_id=unit)
    assert not ok.isError() and ok.registers[0] != 0  # the type code
    before = city.rt.snapshot()["ol-0001"].state
    for denied in (client.write_register(0, 40, device_id=unit), client.write_coil(0, False, device_id=unit)):
        assert denied.isError() and denied.exception_code == ILLEGAL_FUNCTION
    city.rt.step(120).result(30)
    assert city.rt.snapshot()["ol-0001"].state == before
    assert city.gateways.stats()["denied"]["open-centro"] == {"app-traffic@127.0.0.1:write": 2}
    live = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("modbus: gateway open-centro")]
    assert live == [
        "modbus: gateway open-centro: write denied to app-traffic@127.0.0.1 (function 6, unit 1): "
        "app-traffic (app) may only read on tenant open's units"
    ]
    # an app with no grant on acme's tenant cannot even read there
    other = tls_client(tenant_port(city, "acme"), client_context(certs, "app-traffic"))
    refused = other.read_input_registers(0, count=1, device_id=1)
    assert refused.isError() and refused.exception_code == ILLEGAL_FUNCTION


def test_a_command_grant_writes_without_reading(tls_city: City, certs: Path, tls_client) -> None:
    city = tls_city
    port, unit = city.where("ol-0001")
    client = tls_client(port, client_context(certs, "app"))  # app: command grant on open, no read grant
    refused = client.read_holding_registers(0, count=1, device_id=unit)
    assert refused.isError() and refused.exception_code == ILLEGAL_FUNCTION
    assert not client.write_register(0, 40, device_id=unit).isError()
    assert city.gateways.stats()["denied"]["open-centro"] == {"app@127.0.0.1:read": 1}


def test_an_owner_writes_its_own_units_and_nobody_elses(tls_city: City, certs: Path, tls_client) -> None:
    city = tls_city
    port, unit = city.where("cl-0001")
    owner = tls_client(port, client_context(certs, "owner-comune"))
    assert not owner.write_register(0, 40, device_id=unit).isError()
    for _ in range(60):  # the command crosses the simulated downlink
        if city.rt.snapshot()["cl-0001"].state.get("level") == 40:
            break
        city.rt.step(10).result(30)
    assert city.rt.snapshot()["cl-0001"].state["level"] == 40
    assert owner.read_holding_registers(0, count=1, device_id=unit).registers == [40]
    foreign = tls_client(tenant_port(city, "acme"), client_context(certs, "owner-comune"))
    refused = foreign.read_input_registers(0, count=1, device_id=1)
    assert refused.isError() and refused.exception_code == ILLEGAL_FUNCTION
    assert city.gateways.stats()["denied"]["acme-centro"] == {"owner-comune@127.0.0.1:read": 1}


def test_the_async_client_verifies_the_server_by_address(tls_city: City, certs: Path) -> None:
    port, unit = tls_city.where("cl-0001")

    async def read() -> list[int]:
        client = AsyncModbusTlsClient(
            HOST, port=port, sslctx=client_context(certs, "admin", check_hostname=True), timeout=5, retries=0
        )
        try:
            assert await client.connect()
            answer = await client.read_input_registers(0, count=2, device_id=unit)
            return list(answer.registers)
        finally:
            client.close()

    assert asyncio.run(read())[0] != 0
    assert not any(tls_city.gateways.stats()["denied"].values())
    line = next(ln for ln in tls_city.gateways.describe() if "comune-centro" in ln)
    assert "Modbus/TCP Security (TLS, client certificates" in line and "mbpoll" not in line


def test_smartzone_run_serves_tls_or_says_in_one_line_what_is_missing(certs: Path, tmp_path: Path) -> None:
    base = ["run", str(ACCESS_CITY), "--no-mqtt", "--modbus-port", "0", "--fast", "--duration", "10min"]
    missing = _run(*base, "--modbus-tls", str(tmp_path / "none"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines()[-1] == (
        f"smartzone: --modbus-tls {tmp_path / 'none'}: ca.pem is missing (make the certificates with "
        f"'smartzone modbus-certs --scenario SCENARIO --out {tmp_path / 'none'}')"
    )
    served = _run(*base, "--modbus-tls", str(certs))
    assert served.returncode == 0, served.stderr
    line = next(ln for ln in served.stderr.splitlines() if ln.startswith("Modbus gateway comune-centro: 127.0.0.1:"))
    assert f"Modbus/TCP Security (TLS, client certificates from {certs})" in line


def test_tls_1_2_is_served_and_nothing_older_is_allowed(tls_city: City, certs: Path) -> None:
    port, unit = tls_city.where("cl-0001")
    ctx = client_context(certs, "admin")
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection((HOST, port), timeout=5) as raw, ctx.wrap_socket(raw) as tls:
        assert tls.version() == "TLSv1.2"
        tls.sendall(read_ir(1, unit, 0, 1))
        (answer,) = recv_frames(tls, 1)  # type: ignore[arg-type]
        assert answer[7] == 4
    server = next(g.server for g in tls_city.gateways.gateways if g.port == port)
    assert server.tls is not None and server.tls.context.minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--bind", "lab pc"], "--bind: 'lab pc' is neither an IP address nor a host name"),
        (["--days", "0"], "--days must be 1..3650, got 0"),
    ],
)
def test_modbus_certs_mistakes_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code = main(["modbus-certs", "--scenario", str(ACCESS_CITY), "--out", str(tmp_path / "c"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().splitlines() == [f"smartzone: {message}"]
    assert not (tmp_path / "c").exists()


def test_modbus_certs_into_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    assert main(["modbus-certs", "--scenario", str(ACCESS_CITY), "--out", str(blocker)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"smartzone: --out {blocker}: cannot write the certificates:")


def test_a_pymodbus_client_with_another_labs_certificate_is_refused(
    tls_city: City, certs: Path, tmp_path: Path, access_catalog: Catalog
) -> None:
    port, unit = tls_city.where("cl-0001")
    other = tmp_path / "other-lab"
    write_certs(load_scenario(ACCESS_CITY, access_catalog), other)  # the same user names, another CA
    foreign = client_context(certs, None)
    foreign.load_cert_chain(*user_files(other, "owner-comune"))
    client = ModbusTlsClient(HOST, port=port, sslctx=foreign, timeout=3, retries=0)
    try:
        # TLS 1.2 refuses in the handshake; with TLS 1.3 the client learns it at its first request
        if client.connect():
            with pytest.raises(ModbusException):
                client.read_input_registers(0, count=1, device_id=unit)
    finally:
        client.close()
    good = ModbusTlsClient(HOST, port=port, sslctx=client_context(certs, "owner-comune"), timeout=5, retries=0)
    try:
        assert good.connect() and not good.read_input_registers(0, count=1, device_id=unit).isError()
    finally:
        good.close()
