"""Misbehaving sample: commands a street light in a tight loop, badly.

Trips SZ-CMD-01 and SZ-PUB-01 (20 commands a second to one device), SZ-CMD-02 (every
tenth command retained), SZ-CMD-03 (malformed JSON and out-of-range parameters) and
SZ-CMD-04 (keeps going when the light is offline).
"""

from __future__ import annotations

import itertools

import szapp

light = {"topic": None}


def on_connect(client, userdata, flags, reason, props):
    if not reason.is_failure:
        for tenant in szapp.tenants("SZ_COMMAND_TENANTS"):
            client.subscribe(f"sz/v2/{szapp.CITY}/{tenant}/catalog", qos=1)


def on_message(client, userdata, msg):
    if msg.topic.endswith("/catalog") and light["topic"] is None:
        import json

        lights = [d for d in json.loads(msg.payload)["devices"] if d["type"] == "street-light"]
        if lights:
            light["topic"] = lights[0]["topic"]
            client.subscribe(f"{light['topic']}/cmd/ack", qos=1)


def main():
    client = szapp.client()
    client.on_connect, client.on_message = on_connect, on_message
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.connect_async(*szapp.host_port())
    client.loop_start()
    for n in itertools.count():
        if szapp.STOP.wait(0.05):
            break
        if light["topic"] is None:
            continue
        topic = f"{light['topic']}/cmd"
        if n % 25 == 0:
            client.publish(topic, "{not json", qos=0)
        elif n % 25 == 1:
            client.publish(topic, szapp.cmd_payload(f"c{n}", "dim", {"level": 250}), qos=0)
        else:
            client.publish(topic, szapp.cmd_payload(f"c{n}", "dim", {"level": n % 100}), qos=0, retain=n % 10 == 2)
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
