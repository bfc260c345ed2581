"""Misbehaving sample: trusts the network too much and crashes on a bad day.

It asserts that every parking spot's seq grows by exactly one; the first duplicated,
lost or reordered reading kills it. Trips SZ-APP-01 (the app stops during a probe).
"""

from __future__ import annotations

import json
import os

import szapp

last_seq: dict[str, int] = {}


def on_connect(client, userdata, flags, reason, props):
    if not reason.is_failure:
        for tenant in szapp.tenants():
            client.subscribe(f"sz/v2/{szapp.CITY}/{tenant}/parking-spot/+/telemetry", qos=0)


def on_message(client, userdata, msg):
    doc = json.loads(msg.payload)
    dev, seq = doc["device"], doc["seq"]
    if dev in last_seq and seq != last_seq[dev] + 1:
        szapp.log(f"FATAL: {dev} seq {seq} after {last_seq[dev]}")
        os._exit(3)
    last_seq[dev] = seq


def main():
    client = szapp.client()
    client.on_connect, client.on_message = on_connect, on_message
    client.connect_async(*szapp.host_port())
    client.loop_start()
    szapp.STOP.wait(3600)
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
