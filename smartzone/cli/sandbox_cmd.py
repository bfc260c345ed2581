"""`smartzone sandbox add|remove|reset`: change a RUNNING city's sandbox tenant, as its owner would.

    smartzone sandbox add a-light-1 --type street-light --district porto --tenant lab-a \\
        --city bologna --user owner-a --password secret [--host 127.0.0.1 --port 1883]
    smartzone sandbox remove a-light-1 --tenant lab-a ...
    smartzone sandbox reset --tenant lab-a ...

It connects to the city's broker over MQTT as the owner (smartzone.endpoints.mqtt.sandbox_client),
sends one request on `sz/v2/{city}/{tenant}/sandbox/request` and prints the answer in one line.
Connection settings default to the contract's SZ_URL (mqtt://host:port), SZ_USER, SZ_PASSWORD and
SZ_CITY. Exit codes: 0 done, 1 refused by the city (the code and message are printed), unreachable
or no answer in time, 2 usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from smartzone.cli.errors import EXIT_FAILED, EXIT_OK, UsageError
from smartzone.endpoints.mqtt.publisher import BrokerAddress
from smartzone.endpoints.mqtt.sandbox_client import SandboxClientError, send_request
from smartzone.endpoints.mqtt.topics import Topics

DEFAULT_PORT = 1883
PAST = {"add": "added", "remove": "removed", "reset": "reset"}


def add_parser(sub: Any) -> None:
    p = sub.add_parser("sandbox", help="add, remove or reset devices of a sandbox tenant in a running city")
    ops = p.add_subparsers(dest="op", required=True, parser_class=type(p))
    add = ops.add_parser("add", help="create a device in the sandbox")
    add.add_argument("device", help="the new device's id (a-z, 0-9, '-')")
    add.add_argument("--type", required=True, help="its device type, e.g. street-light")
    add.add_argument("--district", help="its district (default: the city's first)")
    add.add_argument("--lat", type=float, help="its latitude (with --lon; default: a random point of the district)")
    add.add_argument("--lon", type=float, help="its longitude (with --lat)")
    add.add_argument("--name", help="its display name")
    remove = ops.add_parser("remove", help="delete a device created in the sandbox")
    remove.add_argument("device", help="the device's id")
    reset = ops.add_parser("reset", help="delete every device created in the sandbox")
    for q in (add, remove, reset):
        _connection_options(q)
        q.set_defaults(handler=sandbox)


def _connection_options(p: argparse.ArgumentParser) -> None:
    host, port = _env_url()
    g = p.add_argument_group("connection (defaults from SZ_URL, SZ_USER, SZ_PASSWORD, SZ_CITY)")
    g.add_argument("--tenant", required=True, help="the sandbox tenant")
    g.add_argument("--city", default=os.environ.get("SZ_CITY"), help="the city id")
    g.add_argument("--host", default=host or "127.0.0.1", help="the broker's host (default 127.0.0.1)")
    g.add_argument("--port", type=int, default=port or DEFAULT_PORT, help=f"the broker's port (default {DEFAULT_PORT})")
    g.add_argument("--user", default=os.environ.get("SZ_USER"), help="the owner's user name")
    g.add_argument("--password", default=os.environ.get("SZ_PASSWORD"), help="the owner's password")
    g.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds to wait (default 10)")


def _env_url() -> tuple[str | None, int | None]:
    """Host and port of SZ_URL (mqtt://host:port), if set and readable (a bad one is ignored here)."""
    try:
        url = urlsplit(os.environ.get("SZ_URL", ""))
        return url.hostname, url.port
    except ValueError:
        return None, None


def _request(args: argparse.Namespace) -> dict[str, Any]:
    if args.op == "reset":
        return {"op": "reset"}
    if args.op == "remove":
        return {"op": "remove", "device": args.device}
    if (args.lat is None) != (args.lon is None):
        raise UsageError("sandbox add: give both --lat and --lon, or neither")
    extra = {k: getattr(args, k) for k in ("district", "lat", "lon", "name") if getattr(args, k) is not None}
    return {"op": "add", "device": args.device, "type": args.type, **extra}


def sandbox(args: argparse.Namespace) -> int:
    for option in ("city", "user", "password"):
        if not getattr(args, option):
            raise UsageError(f"sandbox {args.op}: --{option} is required (or set SZ_{option.upper()})")
    if not 0 < args.port <= 65535:
        raise UsageError(f"sandbox {args.op}: --port must be from 1 to 65535, got {args.port}")
    if args.timeout <= 0:
        raise UsageError(f"sandbox {args.op}: --timeout must be positive, got {args.timeout:g}")
    address = BrokerAddress(args.host, args.port, args.user, args.password)
    try:
        answer = send_request(address, Topics(args.city), args.tenant, _request(args), args.timeout)
    except SandboxClientError as exc:
        print(f"smartzone: sandbox {args.op}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if answer.get("ok") is True:
        devices = ", ".join(answer.get("devices") or []) or "no device"
        print(f"{PAST[args.op]} {devices} in sandbox {args.tenant} at {answer.get('ts')}")
        return EXIT_OK
    error = answer.get("error") or {}
    print(f"smartzone: sandbox {args.op} refused: {error.get('code')}: {error.get('message')}", file=sys.stderr)
    return EXIT_FAILED
