"""The real-device service of a run: a link per bridged device, commands handed to them.

    devices = RealDevices.start(runtime, ingest=address_of_smartzones_broker)   # None: no ingest
    ...
    devices.close()

Started by the composition root (smartzone/wiring.py) after the MQTT service, whose broker
carries the ingest topics. `smartzone run --no-real-devices` leaves the bridged devices out of
the city altogether (cli/run_cmd.py). Real devices live in wall-clock time whatever the run's
speed: a Modbus device is polled every `poll` real seconds, a command waits `ack_timeout` real
seconds for its answer.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from smartzone.core.bridged import BridgedCommand
from smartzone.core.events import Event
from smartzone.definitions.bridged import INGEST
from smartzone.endpoints.mqtt.publisher import BrokerAddress
from smartzone.endpoints.mqtt.topics import Topics
from smartzone.endpoints.realdevice.link import Host, Link
from smartzone.endpoints.realdevice.modbus_link import ModbusLink
from smartzone.endpoints.realdevice.mqtt_link import MqttConnection, MqttLink
from smartzone.errors import EndpointError

NAME = "realdevice"


class RealDevices:
    """Every bridged device's link, and the bus subscription that hands them their commands."""

    def __init__(self, rt: Host, links: list[Link], connections: list[MqttConnection]) -> None:
        self.rt, self.links, self.connections = rt, {link.spec.id: link for link in links}, connections
        self._unsubscribe: Any = None

    @classmethod
    def start(cls, rt: Any, ingest: BrokerAddress | None) -> RealDevices:
        """Links for the runtime's bridged devices (those it built: `--no-real-devices` built none)."""
        scenario, types, topics = rt.scenario, rt.catalog.types, Topics(rt.scenario.city)
        built = set(rt.devices)
        links: list[Link] = []
        ingest_links: list[MqttLink] = []
        connections: list[MqttConnection] = []
        for spec in scenario.bridged_devices:
            if spec.id not in built:
                continue
            dtype = types[spec.type]
            if spec.modbus is not None:
                links.append(ModbusLink(rt, spec, dtype))
                continue
            mqtt_link = MqttLink(rt, spec, dtype, topics)
            links.append(mqtt_link)
            assert spec.mqtt is not None
            if spec.mqtt.broker == INGEST:
                ingest_links.append(mqtt_link)
                continue
            host, port = spec.mqtt.broker.removeprefix("mqtt://").rsplit(":", 1)
            address = BrokerAddress(host, int(port), spec.mqtt.username, spec.mqtt.password)
            connections.append(MqttConnection(rt, address, f"sz-realdevice-{spec.id}", spec.mqtt.broker, [mqtt_link]))
        if ingest_links:
            if ingest is None:
                names = ", ".join(link.spec.id for link in ingest_links)
                raise EndpointError(f"real devices {names} publish on SmartZone's broker, which is off (--no-mqtt)")
            connections.append(MqttConnection(rt, ingest, "sz_service-realdevice", "SmartZone's broker", ingest_links))
        service = cls(rt, links, connections)
        service._unsubscribe = rt.subscribe(rt.guard("real devices", service._on_event), (BridgedCommand,))
        try:
            for link in links:
                link.start()
            for conn in connections:
                conn.start()
        except BaseException:
            service.close()
            raise
        return service

    def _on_event(self, event: Event) -> None:
        """On the engine thread: hand a command to its device's link (which only enqueues)."""
        if isinstance(event, BridgedCommand):
            link = self.links.get(event.device)
            if link is not None:
                link.command(event)

    def describe(self) -> list[str]:
        lines = []
        for link in self.links.values():
            src = link.spec.modbus
            if src is not None:
                where = f"Modbus modbus://{src.host}:{src.port} unit {src.unit}, polled every {src.poll:g} s"
            else:
                assert isinstance(link, MqttLink)
                where = f"MQTT {link.data_topic}" + (
                    "" if link.source.broker == INGEST else f" on {link.source.broker}"
                )
            lines.append(f"real device {link.spec.id} ({link.spec.type}, tenant {link.spec.tenant}): {where}")
        return lines

    def stats(self) -> dict[str, dict[str, int]]:
        return {i: dict(link.counts) for i, link in self.links.items()}

    def close(self) -> None:
        """Stop every link (idempotent); print what went wrong with the devices, if anything."""
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()
        for conn in self.connections:
            conn.close()
        for link in self.links.values():
            if not isinstance(link, MqttLink):
                link.close()
        for link in self.links.values():
            line = link.summary()
            if line is not None:
                print(line, file=sys.stderr)
        self.connections, self.links = [], {}


def start(rt: Any, args: argparse.Namespace, ingest: BrokerAddress | None) -> RealDevices | None:
    """The service of a run, or None when its city has no real devices."""
    if not any(spec.id in rt.devices for spec in rt.scenario.bridged_devices):
        return None
    return RealDevices.start(rt, ingest)
