"""A well-behaved sample app: a parking guide that lights the street when a spot is taken.

- discovers devices from the tenant's retained catalog, then subscribes to three parking
  spots and one street light by name (no wildcard over the city);
- one long-lived connection, automatic reconnect with exponential backoff (1 s .. 30 s);
- commands the light only when its wish changes, at most every 10 s, QoS 1, not retained,
  and stops commanding a device that answered device_offline until it is online again;
- when its light goes offline, turns a backup light fully on, once (the city's profile
  expects that within a few seconds);
- polls one Modbus unit no faster than its data changes (report interval / speed);
- never exits on a strange message.
"""

from __future__ import annotations

import json
import time
import uuid

import szapp
from pymodbus.client import ModbusTcpClient

state = {
    "spots": [],
    "light": None,
    "light_topic": None,
    "backup_topic": None,
    "offline": set(),
    "last_cmd": 0.0,
    "occupied": set(),
    "wish": None,
}


def on_connect(client, userdata, flags, reason, props):
    if reason.is_failure:
        szapp.log("connect refused:", reason)
        return
    for tenant in szapp.tenants():
        client.subscribe(f"sz/v2/{szapp.CITY}/{tenant}/catalog", qos=1)
    subscribe_devices(client)


def subscribe_devices(client):
    for topic in state["spots"]:
        client.subscribe(f"{topic}/telemetry", qos=0)
    if state["light_topic"]:
        client.subscribe(f"{state['light_topic']}/status", qos=1)
        client.subscribe(f"{state['light_topic']}/cmd/ack", qos=1)


def on_message(client, userdata, msg):
    try:
        handle(client, msg.topic, json.loads(msg.payload or b"null"))
    except Exception as exc:  # a strange message must never stop the app
        szapp.log("ignored message on", msg.topic, type(exc).__name__, exc)


def handle(client, topic, doc):
    if topic.endswith("/catalog") and not state["spots"]:
        spots = [d for d in doc["devices"] if d["type"] == "parking-spot"][:3]
        lights = [d for d in doc["devices"] if d["type"] == "street-light"][:2]
        if spots and lights:
            state["spots"] = [d["topic"] for d in spots]
            state["light"], state["light_topic"] = lights[0]["id"], lights[0]["topic"]
            state["backup_topic"] = lights[-1]["topic"] if len(lights) > 1 else None
            subscribe_devices(client)
            szapp.log("watching", [d["id"] for d in spots], "and", state["light"])
    elif topic.endswith("/telemetry") and isinstance(doc, dict):
        occupied = (doc.get("values") or {}).get("status") == "occupied"
        (state["occupied"].add if occupied else state["occupied"].discard)(doc.get("device"))
    elif topic.endswith("/status") and isinstance(doc, dict):
        if doc.get("state") == "online":
            state["offline"].discard(state["light"])
        elif doc.get("state") == "offline" and state["light"] not in state["offline"]:
            state["offline"].add(state["light"])
            if state["backup_topic"]:  # light the street with the neighbouring lamp instead
                payload = szapp.cmd_payload(uuid.uuid4().hex[:16], "dim", {"level": 100})
                client.publish(f"{state['backup_topic']}/cmd", payload, qos=1, retain=False)
    elif topic.endswith("/cmd/ack") and isinstance(doc, dict):
        if not doc.get("ok") and (doc.get("error") or {}).get("code") == "device_offline":
            state["offline"].add(state["light"])


def maybe_command(client):
    light = state["light"]
    if light is None or light in state["offline"]:
        return
    wish = 80 if state["occupied"] else 20
    if wish == state["wish"] or time.monotonic() - state["last_cmd"] < 10:
        return
    state["wish"], state["last_cmd"] = wish, time.monotonic()
    payload = szapp.cmd_payload(uuid.uuid4().hex[:16], "dim", {"level": wish})
    client.publish(f"{state['light_topic']}/cmd", payload, qos=1, retain=False)


def main():
    client = szapp.client()
    client.on_connect, client.on_message = on_connect, on_message
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.connect_async(*szapp.host_port(), keepalive=30)
    client.loop_start()
    gws = szapp.gateways()
    modbus = ModbusTcpClient(gws[0][0], port=gws[0][1], timeout=2, retries=0) if gws else None
    poll_every = max(1.0, 60.0 / szapp.SPEED)  # the spots report every 60 s simulated
    next_poll = time.monotonic()
    try:
        while not szapp.STOP.wait(0.2):
            maybe_command(client)
            if modbus is not None and time.monotonic() >= next_poll:
                next_poll = time.monotonic() + poll_every
                try:
                    if modbus.connect():
                        modbus.read_input_registers(0, count=12, device_id=1)
                except Exception as exc:
                    szapp.log("modbus:", exc)
    finally:
        if modbus is not None:
            modbus.close()
        client.disconnect()
        client.loop_stop()


if __name__ == "__main__":
    main()
