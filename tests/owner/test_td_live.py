"""A consumer that knows only the exported TD reaches the device: MQTT observe and invoke, Modbus read.

The owner scenario runs with a real embedded broker and real Modbus gateways on ephemeral
ports; the test connects as the scenario's ordinary app user (trial-app) with paho and
pymodbus, using the topics, JSON pointer, unit id, address, datatype and word order the TD gives.
"""

from __future__ import annotations

import argparse
import json
import queue
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.client import ModbusTcpClient

from smartzone.endpoints.modbus import ModbusGateways
from smartzone.endpoints.mqtt import service as mqtt_service
from smartzone.endpoints.td import things
from smartzone.runtime.api import Runtime

OWNER = Path(__file__).parents[2] / "examples" / "owner" / "scenario.yaml"
USER, PASSWORD = "trial-app", "trial-secret"
WAIT_S = 30.0


@pytest.fixture
def live() -> Iterator[tuple[Runtime, dict[str, Any]]]:
    rt = Runtime.load(OWNER)
    service, gateways = None, None
    try:
        service = mqtt_service.start(rt, argparse.Namespace(broker="embedded", mqtt_port=0, no_mqtt=False))
        assert service is not None
        rt.start()
        rt.pause().result(10)
        rt.step(1800).result(60)  # every device has reported
        gateways = ModbusGateways.start(rt, 0)
        (gateway,) = gateways.gateways  # one tenant, one district: one gateway at offset 0
        tds = things(
            rt.scenario,
            rt.catalog.types,
            rt.devices.values(),
            mqtt_url=f"mqtt://127.0.0.1:{service.broker.port}",
            modbus_host="127.0.0.1",
            first_port=gateway.port,
        )
        yield rt, tds["acme-pm3"]
    finally:
        if gateways is not None:
            gateways.close()
        rt.stop()
        if service is not None:
            service.close()


def _client(href: str, inbox: queue.Queue[Any]) -> mqtt.Client:
    host, port = href.removeprefix("mqtt://").split(":")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{USER}-td")
    client.username_pw_set(USER, PASSWORD)
    client.on_message = lambda _c, _u, msg: inbox.put(msg)
    client.on_subscribe = lambda *_a: inbox.put("subscribed")
    client.connect(host, int(port))
    client.loop_start()
    return client


def _next(inbox: queue.Queue[Any], topic: str, wait: float = WAIT_S) -> Any:
    """The next message on *topic* (or the next SUBACK for "subscribed"); queue.Empty after *wait* s."""
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        item = inbox.get(timeout=left)
        if (item == "subscribed" and topic == "subscribed") or getattr(item, "topic", None) == topic:
            return item
    raise queue.Empty


def test_a_td_consumer_observes_invokes_and_reads_registers(live: tuple[Runtime, dict[str, Any]]) -> None:
    rt, td = live
    observe = td["properties"]["voltage"]["forms"][0]
    inbox: queue.Queue[Any] = queue.Queue()
    client = _client(observe["href"], inbox)
    try:
        client.subscribe(observe["mqv:filter"], qos=1)
        _next(inbox, "subscribed")
        rt.step(900).result(60)  # three reporting intervals
        msg = _next(inbox, observe["mqv:filter"])
        payload = json.loads(msg.payload)
        pointer = observe["sz:jsonPointer"].strip("/").split("/")
        voltage = payload[pointer[0]][pointer[1]]
        assert td["properties"]["voltage"]["minimum"] <= voltage <= td["properties"]["voltage"]["maximum"]

        form = td["properties"]["voltage"]["forms"][1]
        host_port = form["href"].removeprefix("modbus+tcp://").split("/")[0]
        with ModbusTcpClient(host_port.split(":")[0], port=int(host_port.split(":")[1])) as mb:
            regs = mb.read_input_registers(
                form["modv:address"], count=form["modv:quantity"], device_id=form["modv:unitID"]
            ).registers
        words = regs if form["modv:mostSignificantWord"] else regs[::-1]
        assert form["modv:type"] == "xsd:float"
        served = struct.unpack(">f", struct.pack(">HH", *words))[0]
        assert served == pytest.approx(rt.snapshot()[td["id"].split(":")[-1]].values["voltage"], abs=0.05)

        action = td["actions"]["set_relay"]["forms"][0]
        client.subscribe(action["sz:ackTopic"], qos=1)
        _next(inbox, "subscribed")
        client.publish(
            action["mqv:topic"], json.dumps({"id": "td-1", "action": "set_relay", "params": {"closed": False}}), qos=1
        )
        for _ in range(20):  # the command crosses the simulated downlink: let simulated time pass
            rt.step(30).result(60)
            try:
                ack = json.loads(_next(inbox, action["sz:ackTopic"], wait=1.0).payload)
                break
            except queue.Empty:
                continue
        else:
            raise AssertionError("no cmd/ack")
        assert ack["id"] == "td-1" and ack["ok"] is True and ack["state"]["relay"] is False
    finally:
        client.loop_stop()
        client.disconnect()
