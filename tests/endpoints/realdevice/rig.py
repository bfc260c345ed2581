"""A city with real devices for the tests: a REAL pymodbus server as the Modbus meter, a REAL
paho client (the owner's credentials) as the MQTT meter on the ingest topic, and the city's
services started by the composition root like `smartzone run` does."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.modbus.codec import encode
from smartzone.runtime.api import Runtime
from smartzone.runtime.services import Service
from smartzone.wiring import service_args, start_services
from tests.endpoints.mqtt.conftest import Probe

CITY = Path(__file__).resolve().parents[2] / "fixtures" / "bridged" / "bridged-city.yaml"
BASE = "sz/v2/bridgeville"
INGEST = f"{BASE}/acme/ingest/pm3-real-mqtt"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class MeterServer:
    """A real Modbus TCP energy meter (pymodbus's own server) on an ephemeral port, on its own loop."""

    def __init__(self, port: int = 0, volts_dv: int = 2310) -> None:
        regs = [volts_dv, *encode(3.25, "float32", 1.0, "CDAB"), *encode(751, "uint32")]
        self.inputs = SimData(0, values=regs, datatype=DataType.REGISTERS)
        self.coils = SimData(0, values=[True] * 8, datatype=DataType.BITS)
        device = SimDevice(
            1,
            simdata=(
                [self.coils],
                [SimData(0, values=[False] * 8, datatype=DataType.BITS)],
                [SimData(0, values=[0] * 8, datatype=DataType.REGISTERS)],
                [self.inputs],
            ),
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-modbus-meter", daemon=True)
        self.thread.start()

        async def start() -> ModbusTcpServer:
            server = ModbusTcpServer([device], address=(HOST, port))
            await server.serve_forever(background=True)
            return server

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self.port = int(self.server.transport.sockets[0].getsockname()[1])

    def close(self) -> None:
        if self.loop.is_closed():  # closed already
            return
        asyncio.run_coroutine_threadsafe(self.server.shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def scenario(catalog: Catalog, modbus_port: int) -> Scenario:
    """bridged-city with its Modbus meter at `modbus_port`."""
    sc = load_scenario(CITY, catalog)
    devices = []
    for dev in sc.bridged_devices:
        if dev.modbus is not None:
            dev = dev.model_copy(update={"modbus": dev.modbus.model_copy(update={"port": modbus_port})})
        devices.append(dev)
    return sc.model_copy(update={"bridged_devices": devices})


@contextmanager
def running_city(sc: Scenario, catalog: Catalog, broker: str = "embedded") -> Iterator[tuple[Runtime, int]]:
    """The city running in real time (x10) with its MQTT broker, Modbus gateways and real devices."""
    rt = Runtime(sc, catalog, speed=10.0)
    services: list[Service] = []
    try:
        rt.start()
        args = service_args(overrides=_namespace(broker=broker, mqtt_port=0, modbus_port=0))
        start_services(rt, args, services)
        mqtt = next(s for s in services if hasattr(s, "broker"))
        yield rt, int(mqtt.broker.port)  # type: ignore[attr-defined]
    finally:
        for service in reversed(services):
            service.close()
        rt.stop()


def _namespace(**values: Any) -> Any:
    import argparse

    return argparse.Namespace(**values)


class VendorMeter:
    """The MQTT meter: a paho client with the owner's credentials, publishing its own JSON on the ingest
    topic and answering the vendor commands SmartZone sends it (unless told to stay silent)."""

    def __init__(self, port: int) -> None:
        self.probe = Probe(port, "acme-owner", "acme-secret", "acme-owner-meter")
        code = self.probe.connect()
        if code != 0:
            self.probe.close()
            raise ConnectionRefusedError(f"the broker refused the meter: CONNACK {code}")
        self.silent = False
        self.commands: list[dict[str, Any]] = []
        self.probe.client.message_callback_add(f"{INGEST}/command", self._on_command)
        assert self.probe.subscribe(f"{INGEST}/command", 1) == [1]

    def _on_command(self, client: Any, userdata: Any, msg: Any) -> None:
        doc = json.loads(msg.payload)
        self.commands.append(doc)
        if not self.silent:
            client.publish(f"{INGEST}/answer", json.dumps({"req": doc["req"], "result": "done"}), qos=1)

    def send(self, volts_dv: int = 2305, relay: str = "on", qos: int = 1) -> None:
        doc = {"meas": {"u_dv": volts_dv, "i": 4.5, "p_w": 1040, "e_kwh": 12.5}, "relay": relay}
        self.probe.publish(INGEST, json.dumps(doc), qos)

    def close(self) -> None:
        self.probe.close()
