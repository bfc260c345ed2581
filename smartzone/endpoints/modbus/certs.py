"""Certificates for Modbus/TCP Security: a lab CA, the gateways' server certificate, one per user.

    write_certs(scenario, Path("certs"), hosts=["127.0.0.1"])

writes into the folder:

    ca.pem, ca-key.pem              the lab's CA (kept: running again reuses it, so certificates
                                    already handed out stay valid)
    server.pem, server-key.pem      the gateways' certificate: localhost, 127.0.0.1, ::1 and `hosts`
    users/{user}.pem, {user}-key.pem  one client certificate per scenario user: CN = the user name,
                                    the role in the extension 1.3.6.1.4.1.50316.802.1 (UTF8String)

Private keys are written 0600. Keys are ECDSA P-256 (fast to make for a class of 30, and
what TLS 1.2 and 1.3 clients all speak). Certificates are valid for `days` (default 365).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.modbus.security import CA_CERT, ROLE_OID, SERVER_CERT, SERVER_KEY, utf8string

CA_KEY = "ca-key.pem"
USERS_DIR = "users"
DEFAULT_DAYS = 365


@dataclass(frozen=True)
class Issued:
    """What write_certs wrote: the folder, whether the CA was new, and the users' certificate files."""

    folder: Path
    new_ca: bool
    users: dict[str, tuple[Path, Path]]  # user -> (certificate, key)


def user_files(folder: Path, user: str) -> tuple[Path, Path]:
    """(certificate, key) of a user's client certificate inside a certificate folder."""
    return folder / USERS_DIR / f"{user}.pem", folder / USERS_DIR / f"{user}-key.pem"


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode on open: set it anyway
        os.write(fd, data)
    finally:
        os.close(fd)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(cn: str, city: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"SmartZone {city}"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, days: int
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))  # tolerate a lab PC's clock a little behind
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def _ca(folder: Path, city: str, days: int) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, bool]:
    cert_path, key_path = folder / CA_CERT, folder / CA_KEY
    if cert_path.is_file() and key_path.is_file():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path}: not an EC private key made by smartzone modbus-certs")
        return x509.load_pem_x509_certificate(cert_path.read_bytes()), key, False
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"SmartZone Modbus CA ({city})", city)
    cert = (
        _builder(name, name, key, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    _write_cert(cert_path, cert)
    return cert, key, True


def _leaf(
    ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, cn: str, city: str, days: int
) -> tuple[x509.CertificateBuilder, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(_name(cn, city), ca.subject, key, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    return builder, key


def _san(hosts: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for host in ["localhost", "127.0.0.1", "::1", *hosts]:
        try:
            entry: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            entry = x509.DNSName(host)
        if entry not in entries:
            entries.append(entry)
    return x509.SubjectAlternativeName(entries)


def write_certs(scenario: Scenario, folder: Path, hosts: list[str] | None = None, days: int = DEFAULT_DAYS) -> Issued:
    """Write (or renew) the lab's certificates for `scenario` into `folder` (see the module docstring)."""
    (folder / USERS_DIR).mkdir(parents=True, exist_ok=True)
    ca, ca_key, new_ca = _ca(folder, scenario.city, days)
    server, server_key = _leaf(ca, ca_key, "SmartZone Modbus gateways", scenario.city, days)
    server_cert = (
        server.add_extension(_san(hosts or []), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(folder / SERVER_KEY, server_key)
    _write_cert(folder / SERVER_CERT, server_cert)
    users: dict[str, tuple[Path, Path]] = {}
    for user in scenario.users:
        builder, key = _leaf(ca, ca_key, user.name, scenario.city, days)
        cert = (
            builder.add_extension(x509.UnrecognizedExtension(ROLE_OID, utf8string(user.role)), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        cert_path, key_path = user_files(folder, user.name)
        _write_key(key_path, key)
        _write_cert(cert_path, cert)
        users[user.name] = (cert_path, key_path)
    return Issued(folder, new_ca, users)
