"""The wiring of a running city: the one composition root.

A running city is a Runtime (world, engine, health) and the endpoints around it: the MQTT
broker with the bridge that publishes the city, the Modbus gateways, and the links to the real
devices the scenario bridges into the city (endpoints/realdevice; their ingest topics are on the
MQTT service's broker). `smartzone run`,
`replay`, `certify`, `class start` and the GUI all build theirs here, with the same
command-line options, so a city looks the same on the wire whichever way it was started.

The endpoints sit below the runtime (they are handed it and never import it); this module sits
above both. They are imported lazily, so that `smartzone validate` and friends never load a
protocol library.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from smartzone.runtime.api import Runtime
from smartzone.runtime.services import Service, ServiceSpec


def service_specs(started: dict[str, Service] | None = None) -> list[ServiceSpec]:
    """The endpoints of a city, in start order: MQTT (broker and bridge), Modbus, then the real
    devices (`started`: the services already running, by name: the real devices' ingest topics
    are on the MQTT service's broker)."""
    from smartzone.endpoints.modbus import service as modbus_service
    from smartzone.endpoints.mqtt import service as mqtt_service
    from smartzone.endpoints.mqtt.broker import service_address
    from smartzone.endpoints.realdevice import service as realdevice_service

    running = started if started is not None else {}

    def start_real_devices(rt: Runtime, args: argparse.Namespace) -> Service | None:
        mqtt = running.get(mqtt_service.NAME)
        ingest = service_address(mqtt.broker) if isinstance(mqtt, mqtt_service.MqttService) else None
        return realdevice_service.start(rt, args, ingest)

    specs = [ServiceSpec(s.NAME, s.add_options, s.start) for s in (mqtt_service, modbus_service)]
    return [*specs, ServiceSpec(realdevice_service.NAME, lambda _parser: None, start_real_devices)]


def add_service_options(parser: argparse.ArgumentParser) -> None:
    """The endpoints' options (--broker, --mqtt-port, --modbus-port, ...) on a command's parser."""
    for spec in service_specs():
        spec.add_options(parser)


def service_args(argv: Sequence[str] = (), overrides: argparse.Namespace | None = None) -> argparse.Namespace:
    """Endpoint options for a city started without a command line (the GUI): the defaults of
    `smartzone run`, then `argv` (unknown ones ignored), then the fields of `overrides`."""
    parser = argparse.ArgumentParser(add_help=False)
    add_service_options(parser)
    args, _unknown = parser.parse_known_args(list(argv))
    for key, value in vars(overrides or argparse.Namespace()).items():
        if hasattr(args, key):
            setattr(args, key, value)
    return args


def start_services(
    rt: Runtime,
    args: argparse.Namespace,
    into: list[Service],
    describe: Callable[[str], None] | None = None,
    on_error: Callable[[str, Exception], None] | None = None,
    on_start: Callable[[str, Service], None] | None = None,
) -> None:
    """Start every enabled endpoint of `rt`'s city.

    Each service is appended to `into` as soon as it runs, so the caller's clean-up closes what
    started even when a later one fails. `describe` gets each line telling a user how to connect.
    An endpoint that cannot start raises (EndpointError: exit 3 on the command line) unless
    `on_error` is given: then it gets (service name, error) and the others still start (the
    GUI shows the error and keeps the city). `on_start` gets (service name, service) of each one started.
    """
    started: dict[str, Service] = {}
    for spec in service_specs(started):
        try:
            service = spec.start(rt, args)
        except Exception as exc:
            if on_error is None:
                raise
            on_error(spec.name, exc)
            continue
        if service is not None:
            into.append(service)
            started[spec.name] = service
            if on_start is not None:
                on_start(spec.name, service)
            if describe is not None:
                for line in service.describe():
                    describe(line)
