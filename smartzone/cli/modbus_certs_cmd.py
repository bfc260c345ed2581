"""`smartzone modbus-certs --scenario S --out DIR`: certificates for Modbus/TCP Security.

Writes a lab CA, the gateways' server certificate (localhost, 127.0.0.1, ::1 and each
`--bind` address) and one client certificate per scenario user (CN = user, role in the
Modbus role extension); `smartzone run S --modbus-tls DIR` then serves TLS with them.
See docs/modbus.md "Modbus/TCP Security".
"""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path
from typing import Any

from smartzone.cli.errors import EXIT_OK, UsageError
from smartzone.cli.options import add_devices_option, catalog_from_args
from smartzone.definitions.catalog import load_scenario, resolve_scenario
from smartzone.endpoints.modbus.certs import DEFAULT_DAYS, USERS_DIR, write_certs


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "modbus-certs",
        help="certificates for Modbus/TCP Security: a CA, the gateways' server and one per scenario user",
    )
    p.add_argument("--scenario", help="scenario file or shipped name (default: the default scenario)")
    p.add_argument("--out", metavar="DIR", required=True, help="folder to write (an existing CA there is kept)")
    p.add_argument(
        "--bind",
        metavar="ADDR",
        action="append",
        default=[],
        help="another address or host name the gateways are reached at (repeatable; localhost and 127.0.0.1 always)",
    )
    p.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"validity in days (default {DEFAULT_DAYS})")
    add_devices_option(p)
    p.set_defaults(handler=run)


def _check_host(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    labels = text.split(".")
    if not text or len(text) > 253 or not all(lb and len(lb) <= 63 and lb.replace("-", "").isalnum() for lb in labels):
        raise UsageError(f"--bind: {text!r} is neither an IP address nor a host name")
    return text.lower()


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.days <= 3650:
        raise UsageError(f"--days must be 1..3650, got {args.days}")
    hosts = [_check_host(h) for h in args.bind]
    scenario = load_scenario(resolve_scenario(args.scenario), catalog_from_args(args))
    folder = Path(args.out)
    try:
        issued = write_certs(scenario, folder, hosts, args.days)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--out {folder}: cannot write the certificates: {exc}") from None
    ca = "a new CA" if issued.new_ca else "kept the CA already there"
    print(
        f"wrote {len(issued.users)} client certificates ({', '.join(issued.users)}) to {folder / USERS_DIR}/, "
        f"the server certificate and {ca} (ca.pem) in {folder}/"
    )
    print(f"serve them: smartzone run {args.scenario or ''} --modbus-tls {folder}".replace("  ", " "))
    return EXIT_OK
