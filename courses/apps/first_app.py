"""A parking counter for the course "Certify your first app" (courses/certify-first-app.yaml).

It counts how many parking spots of your tenant are occupied and prints the count. It works on a
good day, but `smartzone certify` fails it: find out why in the report, fix it, certify again.
It reads the city's connection settings from the environment, as every SmartZone app should
(docs/api.md, "Environment variables for apps"); `smartzone certify` and the class set them.
"""

from __future__ import annotations

import json
import os
import threading

import paho.mqtt.client as mqtt

CITY = os.environ["SZ_CITY"]
TENANT = os.environ["SZ_TENANTS"].split(",")[0]
occupied: dict[str, bool] = {}
last_seq: dict[str, int] = {}


def on_connect(client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
    client.subscribe(f"sz/v2/{CITY}/#")  # everything, to be sure nothing is missed


def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
    if not msg.topic.endswith("/telemetry") or "/parking-spot/" not in msg.topic:
        return
    reading = json.loads(msg.payload)
    device, seq = reading["device"], reading["seq"]
    if device in last_seq and seq != last_seq[device] + 1:
        print(f"{device}: seq {seq} after {last_seq[device]}: the data is broken, giving up", flush=True)
        os._exit(3)  # paho runs this in its own thread: end the whole app at once
    last_seq[device] = seq
    occupied[device] = reading["values"].get("status") == "occupied"
    print(f"{sum(occupied.values())} of {len(occupied)} spots occupied", flush=True)


def main() -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=os.environ["SZ_MQTT_CLIENT_ID"])
    client.username_pw_set(os.environ["SZ_USER"], os.environ["SZ_PASSWORD"])
    client.on_connect, client.on_message = on_connect, on_message
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.connect_async(os.environ["SZ_MQTT_HOST"], int(os.environ["SZ_MQTT_PORT"]))
    client.loop_start()
    threading.Event().wait()  # until certification (or Ctrl-C) stops the app


if __name__ == "__main__":
    main()
