"""Start a class's endpoints on the lab's address (`--bind`) through the composition root (wiring.py).

`smartzone run` binds 127.0.0.1; a class may be served on the lab's network, so its options
carry the address (`bind`), and Modbus/TCP Security when the class made certificates. The
broker must be managed: the class observes trainees at its gate.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
from pathlib import Path
from typing import Any

from smartzone.errors import UsageError
from smartzone.wiring import start_services


def public_host(bind: str) -> str:
    """The address trainees type: the bound one, or this machine's name when bound to all addresses."""
    if bind not in ("0.0.0.0", "::", ""):
        return bind
    with contextlib.suppress(OSError):
        return socket.gethostbyname(socket.gethostname())
    return socket.gethostname()


def start_endpoints(rt: Any, args: argparse.Namespace, modbus_tls: Path | None = None) -> list[Any]:
    """The started services (MQTT first, then Modbus unless --no-modbus); EndpointError if one cannot start.

    `modbus_tls`: a folder of certificates (endpoints/modbus/certs.py) to serve Modbus/TCP Security.
    """
    backend = args.broker
    if "://" in backend:
        raise UsageError("a class needs a broker SmartZone runs (embedded, mosquitto or auto): it observes trainees")
    for flag, port in (("--mqtt-port", args.mqtt_port), ("--modbus-port", args.modbus_port)):
        if not 0 <= port <= 65535:
            raise UsageError(f"{flag} must be from 0 to 65535, got {port}")
    options = argparse.Namespace(**vars(args))
    options.modbus_tls = str(modbus_tls) if modbus_tls is not None else None
    services: list[Any] = []
    try:
        start_services(rt, options, services)
    except BaseException:
        close_all(services)
        raise
    return services


def close_all(services: list[Any]) -> None:
    for service in reversed(services):
        with contextlib.suppress(Exception):
            service.close()
