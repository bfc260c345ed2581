"""Modbus/TCP Security: TLS with client certificates that name a scenario user and its role.

The Modbus organisation's "MODBUS/TCP Security" specification (MB-TCP-Security v21) runs
ordinary Modbus/TCP frames (MBAP header included) inside TLS 1.2 or later with mutual
authentication: the server and every client present an X.509 certificate from a CA both
trust. The client certificate carries the client's role in the extension
1.3.6.1.4.1.50316.802.1 (an ASN.1 UTF8String); the server authorises each request by it.

SmartZone maps a client certificate to a scenario user: the subject's common name (CN) is
the user name. A role extension, when present, must be that user's role in the scenario,
else every request of the connection is refused; without it the user's scenario role
applies. What a user may do on a gateway follows the MQTT policy (mqtt/broker/policy/,
docs/api.md "Access") for the gateway's tenant: reading its units needs the right to
receive that tenant's telemetry (owner of the tenant, app with a read grant, admin);
writing needs the right to publish its commands (owner, app with a command grant, admin).
The certificates are made by certs.py (`smartzone modbus-certs`).
"""

from __future__ import annotations

import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from smartzone.core.device import DeviceInfo
from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.mqtt.broker.policy import AccessPolicy, Identity
from smartzone.errors import UsageError

ROLE_OID = x509.ObjectIdentifier("1.3.6.1.4.1.50316.802.1")  # the spec's RoleOID
CA_CERT, SERVER_CERT, SERVER_KEY = "ca.pem", "server.pem", "server-key.pem"
UTF8STRING = 0x0C
MAX_NAME = 64  # a CN longer than this is shown cut (it names nobody anyway)


def utf8string(text: str) -> bytes:
    """DER encoding of an ASN.1 UTF8String (the role extension's value)."""
    data = text.encode("utf-8")
    n = len(data)
    if n < 0x80:
        length = bytes([n])
    elif n <= 0xFF:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82, n >> 8, n & 0xFF]) if n <= 0xFFFF else b""
        if not length:
            raise ValueError("role too long")
    return bytes([UTF8STRING]) + length + data


def parse_utf8string(der: bytes) -> str:
    """The text of a DER UTF8String; ValueError for anything else (other tags, bad lengths, trailing bytes)."""
    if len(der) < 2 or der[0] != UTF8STRING:
        raise ValueError("not an ASN.1 UTF8String")
    first, at = der[1], 2
    if first < 0x80:
        n = first
    elif first in (0x81, 0x82) and len(der) >= 2 + (first - 0x80):
        width = first - 0x80
        n, at = int.from_bytes(der[2 : 2 + width], "big"), 2 + width
    else:
        raise ValueError("unsupported ASN.1 length")
    if len(der) != at + n:
        raise ValueError("ASN.1 length does not match the value")
    return der[at:].decode("utf-8")


def server_context(folder: Path) -> ssl.SSLContext:
    """A TLS 1.2+ server context that requires a client certificate signed by the folder's CA.

    Raises UsageError naming the missing or unreadable file (made by `smartzone modbus-certs`).
    """
    paths = {name: folder / name for name in (CA_CERT, SERVER_CERT, SERVER_KEY)}
    for path in paths.values():
        if not path.is_file():
            raise UsageError(
                f"--modbus-tls {folder}: {path.name} is missing (make the certificates with "
                f"'smartzone modbus-certs --scenario SCENARIO --out {folder}')"
            )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # the spec: TLS 1.2 or later
    ctx.verify_mode = ssl.CERT_REQUIRED  # mutual authentication
    try:
        ctx.load_cert_chain(paths[SERVER_CERT], paths[SERVER_KEY])
        ctx.load_verify_locations(paths[CA_CERT])
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"--modbus-tls {folder}: cannot load the certificates: {exc}") from None
    return ctx


@dataclass(frozen=True)
class Grant:
    """What one TLS connection may do on one gateway, and who it is (for denial lines)."""

    who: str  # the user name, or what the certificate named when it names nobody
    read: bool
    write: bool
    why_not: str  # why a refused request was refused (for the denial line)


@dataclass(frozen=True)
class GatewayTls:
    """A gateway's TLS mode: the server context and what a peer certificate (DER) may do there."""

    context: ssl.SSLContext
    authorise: Callable[[bytes | None], Grant]


class Authority:
    """Certificates -> scenario users -> what they may read and write on a tenant's gateway."""

    def __init__(self, scenario: Scenario) -> None:
        # the service account is never a certificate's user: its password is unusable here
        self.policy = AccessPolicy(scenario, service_password=secrets.token_hex(16))
        self.users = {u.name: u for u in scenario.users}

    def identify(self, der: bytes | None) -> tuple[Identity | None, str, str]:
        """(identity or None, the name shown, why there is no identity) for a peer certificate (DER)."""
        if not der:
            return None, "(no certificate)", "the client sent no certificate"
        try:
            cert = x509.load_der_x509_certificate(der)
            names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            cn = str(names[0].value) if names else ""
            try:
                ext = cert.extensions.get_extension_for_oid(ROLE_OID).value
                role: str | None = parse_utf8string(ext.value if isinstance(ext, x509.UnrecognizedExtension) else b"")
            except x509.ExtensionNotFound:
                role = None
        except Exception as exc:  # verified by the CA, yet unreadable here (e.g. a duplicated extension)
            return None, "(bad certificate)", f"its certificate cannot be read ({type(exc).__name__})"
        # a CN is shown on stderr: keep it to one printable line
        shown = "".join(c if c.isprintable() else "?" for c in cn[:MAX_NAME]) or "(no CN)"
        user = self.users.get(cn)
        if user is None:
            return None, shown, f"certificate CN {shown!r} is not a user of this scenario"
        if role is not None and role != user.role:
            return None, shown, f"certificate role {role[:MAX_NAME]!r} is not {cn}'s role in the scenario ({user.role})"
        return Identity(user.name, user.role), shown, ""

    def grant(self, der: bytes | None, tenant: str, sample: DeviceInfo) -> Grant:
        """What the certificate's user may do on a gateway of `tenant` (sample: one of its devices)."""
        identity, shown, why = self.identify(der)
        if identity is None:
            return Grant(shown, False, False, why)
        topics = self.policy.topics
        read = self.policy.may_receive(identity, topics.device_parts(tenant, sample.type, sample.id, "telemetry"))
        write = self.policy.may_publish(identity, topics.device_parts(tenant, sample.type, sample.id, "cmd"))
        may = "read and write" if read and write else "only read" if read else "only write" if write else "do nothing"
        why = f"{identity.name} ({identity.role}) may {may} on tenant {tenant}'s units"
        return Grant(identity.name, read, write, why)

    def gateway(self, context: ssl.SSLContext, tenant: str, sample: DeviceInfo) -> GatewayTls:
        """The TLS mode of one gateway of `tenant`."""
        return GatewayTls(context, lambda der: self.grant(der, tenant, sample))
