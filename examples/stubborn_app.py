"""Misbehaving sample: calm on a good day, hammers a device that went offline.

Normally one command every 10 s; when the light's status says offline (or an ack says
device_offline) it retries every 0.2 s to "wake it up" until it is online again.
Trips SZ-CMD-04 (repeated commands to an offline device) and SZ-PROBE-01 (a burst of
activity while devices are offline).
"""

from __future__ import annotations

import json
import time
import uuid

import szapp

light = {"topic": None, "offline": False}


def on_connect(client, userdata, flags, reason, props):
    if not reason.is_failure:
        for tenant in szapp.tenants("SZ_COMMAND_TENANTS"):
            client.subscribe(f"sz/v2/{szapp.CITY}/{tenant}/catalog", qos=1)
        if light["topic"]:
            client.subscribe(f"{light['topic']}/cmd/ack", qos=1)
            client.subscribe(f"{light['topic']}/status", qos=1)


def on_message(client, userdata, msg):
    try:
        doc = json.loads(msg.payload)
    except ValueError:
        return
    if msg.topic.endswith("/catalog") and light["topic"] is None:
        lights = [d for d in doc["devices"] if d["type"] == "street-light"]
        if lights:
            light["topic"] = lights[0]["topic"]
            client.subscribe(f"{light['topic']}/cmd/ack", qos=1)
            client.subscribe(f"{light['topic']}/status", qos=1)
    elif msg.topic.endswith("/status"):
        light["offline"] = doc.get("state") == "offline"
    elif msg.topic.endswith("/cmd/ack"):
        if not doc.get("ok") and (doc.get("error") or {}).get("code") == "device_offline":
            light["offline"] = True


def main():
    client = szapp.client()
    client.on_connect, client.on_message = on_connect, on_message
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.connect_async(*szapp.host_port())
    client.loop_start()
    last = 0.0
    while not szapp.STOP.wait(0.2):
        if light["topic"] is None:
            continue
        if light["offline"] or time.monotonic() - last > 10:
            last = time.monotonic()
            payload = szapp.cmd_payload(uuid.uuid4().hex[:12], "dim", {"level": 60})
            client.publish(f"{light['topic']}/cmd", payload, qos=1)
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
