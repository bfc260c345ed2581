"""Misbehaving sample: reads far more than it uses.

Trips SZ-SUB-01 (subscribes to '#'), SZ-ACL-01 (reads the city's tenant list and subscribes
to every tenant in it, granted or not), SZ-SUB-02 and SZ-TRAFFIC-01 (takes in a whole tenant
to use one street light), SZ-API-01 (subscribes to the deprecated v1 topics) and SZ-QOS-01
(QoS 2 subscription).
"""

from __future__ import annotations

import json
import time
import uuid

import szapp

light = {"topic": None, "sent": False}


def on_connect(client, userdata, flags, reason, props):
    if reason.is_failure:
        return
    client.subscribe("#", qos=0)
    client.subscribe(f"icity/{szapp.CITY}/+/data", qos=0)
    client.subscribe(f"sz/v2/{szapp.CITY}/tenants", qos=1)


def on_message(client, userdata, msg):
    if msg.topic == f"sz/v2/{szapp.CITY}/tenants":  # every tenant, whether granted or not
        for tenant in json.loads(msg.payload)["tenants"]:
            client.subscribe(f"sz/v2/{szapp.CITY}/{tenant['id']}/#", qos=2)
            client.subscribe(f"sz/v2/{szapp.CITY}/{tenant['id']}/catalog", qos=2)
        return
    parts = msg.topic.split("/")
    if light["topic"] is None and len(parts) == 7 and parts[4] == "street-light":
        light["topic"] = "/".join(parts[:6])


def main():
    client = szapp.client()
    client.on_connect, client.on_message = on_connect, on_message
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.connect_async(*szapp.host_port())
    client.loop_start()
    last = 0.0
    while not szapp.STOP.wait(0.2):
        if light["topic"] and time.monotonic() - last > 5:
            last = time.monotonic()
            payload = szapp.cmd_payload(uuid.uuid4().hex[:12], "dim", {"level": 50})
            client.publish(f"{light['topic']}/cmd", payload, qos=1)
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
