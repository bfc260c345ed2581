"""A Modbus write is an MQTT-equivalent command: with MQTT running, the new state shows on `state`."""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.client import ModbusTcpClient

from smartzone.endpoints.modbus import ModbusGateways
from smartzone.endpoints.mqtt import service as mqtt_service
from smartzone.runtime.api import Runtime

MQTT_CITY = Path(__file__).parents[2] / "fixtures" / "mqtt-city.yaml"
STATE = "sz/v2/mqttville/comune/street-light/cl-0001/state"


def test_modbus_dim_shows_on_the_mqtt_state_topic() -> None:
    rt = Runtime.load(MQTT_CITY, speed=1.0)
    mqtt_svc = gateways = sub = client = None
    got = threading.Event()
    states: list[dict] = []

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        states.append(json.loads(msg.payload))
        if states[-1].get("values", {}).get("level") == 33:
            got.set()

    try:
        mqtt_svc = mqtt_service.start(rt, argparse.Namespace(broker="embedded", mqtt_port=0, no_mqtt=False))
        gateways = ModbusGateways.start(rt, 0)
        rt.start()
        sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="admin-modbus-test")
        sub.username_pw_set("admin", "admin-pw")
        sub.on_message = on_message
        sub.connect(mqtt_svc.broker.host, mqtt_svc.broker.port)
        sub.loop_start()
        sub.subscribe(STATE, qos=1)
        plan = next(g for g in gateways.gateways if any(d.id == "cl-0001" for d in g.plan.units.values()))
        unit = next(u for u, d in plan.plan.units.items() if d.id == "cl-0001")
        client = ModbusTcpClient("127.0.0.1", port=plan.port, timeout=5, retries=0)
        assert client.connect()
        assert not client.write_register(0, 33, device_id=unit).isError()
        assert got.wait(15), f"no state with level 33 on {STATE}: {states}"
        assert states[-1]["values"] == {"mode": "manual", "on": True, "level": 33}
    finally:
        if client is not None:
            client.close()
        if sub is not None:
            sub.loop_stop()
            sub.disconnect()
        rt.stop()
        if gateways is not None:
            gateways.close()
        if mqtt_svc is not None:
            mqtt_svc.close()
