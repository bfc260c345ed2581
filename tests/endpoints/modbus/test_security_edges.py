"""Modbus/TCP Security against clients that get it wrong: each is refused or closed, others go on.

Bad certificates (a role the scenario does not give, a name that is no user, another CA,
none at all), plain Modbus TCP and garbage sent to the TLS port, a client that never
finishes its handshake; and a gateway whose listener dies comes back still speaking TLS.
After each, a good client of another user must still be answered.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.modbus import handler
from smartzone.endpoints.modbus.certs import write_certs
from smartzone.endpoints.modbus.security import ROLE_OID, Authority, utf8string
from smartzone.runtime.api import Runtime

from .conftest import ACCESS_CITY, HOST, City, _start_city, client_context
from .test_security import ILLEGAL_FUNCTION
from .wire import closed_by_peer, read_ir, recv_frames

HANDSHAKE_S = 0.5  # the quick city's handshake timeout


def issue(certs: Path, out: Path, cn: str, role: str | None) -> tuple[Path, Path]:
    """A client certificate signed by the lab's CA with any CN and role (or no role extension)."""
    ca = x509.load_pem_x509_certificate((certs / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((certs / "ca-key.pem").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if role is not None:
        builder = builder.add_extension(x509.UnrecognizedExtension(ROLE_OID, utf8string(role)), critical=False)
    cert_path, key_path = out / f"{cn}.pem", out / f"{cn}-key.pem"
    cert_path.write_bytes(builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def write_hr(tid: int, unit: int, address: int, value: int) -> bytes:
    """A raw Modbus TCP 'write single register' (FC6) frame."""
    return struct.pack(">HHHBBHH", tid, 0, 6, unit, 6, address, value)


def context_with(certs: Path, cert: tuple[Path, Path] | None) -> ssl.SSLContext:
    ctx = client_context(certs, None)
    if cert is not None:
        ctx.load_cert_chain(*cert)
    return ctx


def ask(port: int, ctx: ssl.SSLContext, unit: int, frame: bytes | None = None) -> bytes | None:
    """Send one request over TLS; its answer, or None when the server refused or closed the connection."""
    try:
        with socket.create_connection((HOST, port), timeout=5) as raw, ctx.wrap_socket(raw) as tls:
            tls.sendall(frame or read_ir(9, unit, 0, 2))
            frames = recv_frames(tls, 1)  # type: ignore[arg-type]
            return frames[0] if frames else None
    except (ssl.SSLError, ConnectionError, OSError):
        return None


def assert_served(certs: Path, port: int, unit: int) -> None:
    """A good client (admin) is answered with the unit's registers."""
    answer = ask(port, client_context(certs, "admin"), unit)
    assert answer is not None and answer[7] == 4 and answer[8] == 4, answer


def test_a_role_the_scenario_does_not_give_is_refused_every_request(
    tls_city: City, certs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port, unit = tls_city.where("ol-0001")
    forged = context_with(certs, issue(certs, tmp_path, "app", "admin"))  # app is an app, not an admin
    for frame in (read_ir(1, unit, 0, 2), write_hr(2, unit, 0, 30)):  # FC4, FC6
        answer = ask(port, forged, unit, frame)
        assert answer is not None and answer[7] & 0x80 and answer[8] == ILLEGAL_FUNCTION
    assert tls_city.gateways.stats()["denied"]["open-centro"] == {"app@127.0.0.1:read": 1, "app@127.0.0.1:write": 1}
    err = capsys.readouterr().err
    assert "certificate role 'admin' is not app's role in the scenario (app)" in err
    assert_served(certs, port, unit)


def test_a_certificate_without_a_role_gets_the_users_role(tls_city: City, certs: Path, tmp_path: Path) -> None:
    port, unit = tls_city.where("cl-0001")
    plain = context_with(certs, issue(certs, tmp_path, "owner-comune", None))
    answer = ask(port, plain, unit, write_hr(3, unit, 0, 30))
    assert answer is not None and answer[7] == 6  # the echo of a write the owner may make
    assert not any(tls_city.gateways.stats()["denied"].values())


def test_a_name_that_is_no_user_may_do_nothing(tls_city: City, certs: Path, tmp_path: Path) -> None:
    port, unit = tls_city.where("cl-0001")
    stranger = context_with(certs, issue(certs, tmp_path, "mallory", "admin"))
    answer = ask(port, stranger, unit)
    assert answer is not None and answer[8] == ILLEGAL_FUNCTION
    assert tls_city.gateways.stats()["denied"]["comune-centro"] == {"mallory@127.0.0.1:read": 1}


def test_another_ca_no_certificate_plain_tcp_and_garbage_are_closed(
    tls_city: City, certs: Path, tmp_path: Path, access_catalog: Catalog
) -> None:
    port, unit = tls_city.where("cl-0001")
    other = tmp_path / "other-lab"
    write_certs(load_scenario(ACCESS_CITY, access_catalog), other)  # same users, another CA
    foreign = client_context(certs, None)  # trusts our server, presents the other lab's admin
    foreign.load_cert_chain(other / "users" / "admin.pem", other / "users" / "admin-key.pem")
    assert ask(port, foreign, unit) is None
    assert_served(certs, port, unit)
    assert ask(port, client_context(certs, None), unit) is None  # no client certificate
    assert_served(certs, port, unit)
    with socket.create_connection((HOST, port), timeout=5) as plain:  # mbpoll's view: plain Modbus TCP
        plain.sendall(read_ir(5, unit, 0, 2))
        assert closed_by_peer(plain)
    assert_served(certs, port, unit)
    assert not any(tls_city.gateways.stats()["denied"].values())  # refused before any request
    assert [e for e in tls_city.rt.health.events if e.component.startswith("modbus")] == []  # nothing survived


@pytest.fixture
def quick_city(access_catalog: Catalog, certs: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[City]:
    """tls_city whose gateways give a TLS handshake HANDSHAKE_S seconds instead of 10."""
    monkeypatch.setattr(handler, "HANDSHAKE_TIMEOUT_S", HANDSHAKE_S)
    yield from _start_city(Runtime(load_scenario(ACCESS_CITY, access_catalog), access_catalog), certs)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(min_size=1, max_size=600))
def test_garbage_instead_of_a_handshake_is_closed_and_others_go_on(quick_city: City, certs: Path, junk: bytes) -> None:
    port, unit = quick_city.where("cl-0001")
    with socket.create_connection((HOST, port), timeout=5) as raw:
        raw.sendall(junk)
        assert closed_by_peer(raw, timeout=5)  # a bad record at once, or a handshake that never ends
    assert_served(certs, port, unit)


def test_a_silent_client_is_closed_after_the_handshake_timeout(quick_city: City, certs: Path) -> None:
    port, unit = quick_city.where("cl-0001")
    server = next(g.server for g in quick_city.gateways.gateways if g.port == port)
    silent = [socket.create_connection((HOST, port), timeout=5) for _ in range(3)]
    try:
        for s in silent:
            assert closed_by_peer(s, timeout=5)
    finally:
        for s in silent:
            s.close()
    # their handlers never heard of the failure: the next connections drop them (no leak)
    deadline = time.monotonic() + 10
    while len(server.active_connections) > 1:
        assert time.monotonic() < deadline, f"handlers kept: {len(server.active_connections)}"
        assert_served(certs, port, unit)
        time.sleep(0.2)


def test_a_dead_tls_gateway_comes_back_speaking_tls(tls_city: City, certs: Path) -> None:
    g = next(g for g in tls_city.gateways.gateways if g.plan.tenant == "comune")
    port, unit = tls_city.where("cl-0001")
    old = g.server
    tls_city.gateways._loop.call_soon_threadsafe(old.transport.close)
    deadline = time.monotonic() + 10
    while g.server is old or not g.server.is_listening():
        assert time.monotonic() < deadline, "the gateway was not restarted"
        time.sleep(0.05)
    assert g.port == port and g.tls is not None and g.server.tls is g.tls
    assert_served(certs, port, unit)
    with socket.create_connection((HOST, port), timeout=5) as plain:
        plain.sendall(read_ir(5, unit, 0, 2))
        assert closed_by_peer(plain)


def test_a_name_with_control_characters_is_shown_on_one_line(certs: Path, tmp_path: Path, access_catalog) -> None:
    cert_path, _ = issue(certs, tmp_path, "evil\nmodbus: forged line", None)
    der = x509.load_pem_x509_certificate(cert_path.read_bytes()).public_bytes(serialization.Encoding.DER)
    identity, shown, why = Authority(load_scenario(ACCESS_CITY, access_catalog)).identify(der)
    assert identity is None and shown == "evil?modbus: forged line" and "\n" not in why
    assert Authority(load_scenario(ACCESS_CITY, access_catalog)).identify(b"\x30\x03junk")[1] == "(bad certificate)"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(min_size=1, max_size=300))
def test_random_bytes_from_a_read_only_user_change_nothing(tls_city: City, certs: Path, junk: bytes) -> None:
    """app-traffic may only read tenant open: whatever it sends inside TLS, no state changes."""
    port, unit = tls_city.where("ol-0001")
    before = tls_city.rt.snapshot()["ol-0001"].state
    try:
        with socket.create_connection((HOST, port), timeout=5) as raw:
            with client_context(certs, "app-traffic").wrap_socket(raw) as tls:
                tls.sendall(junk + write_hr(7, unit, 0, 37))  # and a well-formed write after it
                recv_frames(tls, 64, timeout=0.5)  # type: ignore[arg-type]
    except (ssl.SSLError, ConnectionError):
        pass  # closed for a bad MBAP header: allowed
    assert_served(certs, port, unit)
    refused = ask(port, client_context(certs, "app-traffic"), unit, write_hr(8, unit, 0, 37))
    assert refused is not None and refused[7] == 0x86 and refused[8] == ILLEGAL_FUNCTION
    tls_city.rt.step(120).result(30)  # a write that got through would have reached the device by now
    assert tls_city.rt.snapshot()["ol-0001"].state == before
