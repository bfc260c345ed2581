"""Start a class's endpoints on the lab's address (`--bind`), reusing the run's MQTT and Modbus parts.

`smartzone run` binds 127.0.0.1 through its service specs (runtime/services.py); a class may be
served on the lab's network, so it starts the same pieces (the managed broker, the bridge and its
supervisor; the Modbus gateways) with the address it is given. The broker must be managed: the
class observes trainees at its gate.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
from pathlib import Path
from typing import Any

from smartzone.endpoints.modbus.service import GatewayStartError, ModbusGateways
from smartzone.endpoints.mqtt.bridge import Bridge
from smartzone.endpoints.mqtt.broker import service_address, start_broker
from smartzone.endpoints.mqtt.service import MqttService, supervise
from smartzone.errors import EndpointError, UsageError


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
    services: list[Any] = []
    broker = start_broker(backend, rt.scenario, host=args.bind, port=args.mqtt_port)
    try:
        bridge = Bridge(rt, service_address(broker))
        bridge.start()
    except BaseException:
        broker.close()
        raise
    services.append(MqttService(broker, bridge, supervise(rt, broker, bridge)))
    if not args.no_modbus:
        try:
            services.append(ModbusGateways.start(rt, args.modbus_port, host=args.bind, tls_dir=modbus_tls))
        except GatewayStartError as exc:
            close_all(services)
            raise EndpointError(str(exc)) from None
        except BaseException:
            close_all(services)
            raise
    return services


def close_all(services: list[Any]) -> None:
    for service in reversed(services):
        with contextlib.suppress(Exception):
            service.close()
