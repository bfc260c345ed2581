"""Test sample: publishes a known mix once, then idles, and prints what it sent.

Used by tests/certify to check that every publish of an app appears exactly once in the
certification report. On one connection, right after reading the tenant's catalog, it sends:
valid commands (QoS 0 and 1), a retained valid command and the empty retained message that
clears it, malformed payloads, unknown actions (also `dim` to a parking spot, which has no
commands), out-of-range parameters, a command naming the wrong device type, commands to a
tenant it may not command, and publishes to topics that are not commands (`other`: its
tenant's telemetry and a topic of its own there, v1, a private topic; an app user may not
publish them, an owner may publish in its tenant). Each publish waits until paho has written
it; the last line of its output is `SENT {json}` with the count per kind, which the test
compares with the report.
"""

from __future__ import annotations

import json
import time

import szapp

state: dict = {"catalog": None}


def on_connect(client, userdata, flags, reason, props):
    if not reason.is_failure:
        client.subscribe(f"sz/v2/{szapp.CITY}/{szapp.tenants()[0]}/catalog", qos=1)


def on_message(client, userdata, msg):
    try:
        if msg.topic.endswith("/catalog") and state["catalog"] is None:
            state["catalog"] = json.loads(msg.payload)["devices"]
    except Exception as exc:  # a strange message must never stop the app
        szapp.log("ignored", msg.topic, type(exc).__name__, exc)


def plan(devices: list[dict]) -> list[tuple[str, str, bytes, int, bool]]:
    """(kind, topic, payload, qos, retain) of every publish, in the order sent."""
    light = next(d for d in devices if d["type"] == "street-light")
    spot = next(d for d in devices if d["type"] == "parking-spot")
    lcmd, scmd = f"{light['topic']}/cmd", f"{spot['topic']}/cmd"
    denied_cmd = f"sz/v2/{szapp.CITY}/not-my-tenant/parking-spot/x-1/cmd"  # outside its command grants
    wrong_type = lcmd.replace("/street-light/", "/parking-spot/")

    def cmd(i: int, action: str, params: dict) -> bytes:
        return szapp.cmd_payload(f"mix-{i}", action, params).encode()

    out = [
        ("command", lcmd, cmd(1, "dim", {"level": 40}), 1, False),
        ("command", lcmd, cmd(2, "dim", {"level": 60}), 1, False),
        ("command", lcmd, cmd(3, "switch", {"on": True}), 0, False),
        ("command", lcmd, cmd(4, "switch", {"on": False}), 0, False),
        ("command", lcmd, cmd(5, "set_mode", {"mode": "auto"}), 1, True),  # retained: the city refuses it
        ("cleared", lcmd, b"", 1, True),  # clears the retained command
        ("malformed", lcmd, b"not json", 0, False),
        ("malformed", lcmd, b'{"action": "dim", "params": {"level": 1}}', 1, False),  # no id
        ("malformed", lcmd, b"[1, 2]", 0, False),
        ("malformed", wrong_type, cmd(6, "dim", {"level": 10}), 0, False),  # no such parking spot
        ("unknown_action", lcmd, cmd(7, "blink", {}), 1, False),
        ("unknown_action", lcmd, cmd(8, "explode", {"now": True}), 0, False),
        ("unknown_action", scmd, cmd(9, "dim", {"level": 50}), 1, False),  # a parking spot cannot dim
        ("unknown_action", scmd, cmd(10, "switch", {"on": True}), 0, False),
        ("invalid_params", lcmd, cmd(11, "dim", {"level": 150}), 1, False),
        ("invalid_params", lcmd, cmd(12, "dim", {"brightness": 5}), 0, False),
        ("denied", denied_cmd, cmd(13, "dim", {"level": 5}), 1, False),
        ("denied", denied_cmd, cmd(14, "dim", {"level": 5}), 0, False),
        ("other", f"{light['topic']}/telemetry", b'{"level": 1}', 0, False),
        ("other", f"sz/v2/{szapp.CITY}/{szapp.tenants()[0]}/mixed-app/notes", b"hello", 1, True),
        ("other", f"icity/{szapp.CITY}/{light['id']}/data", b"{}", 0, False),
        ("other", "mixed-app/status", b"alive", 1, True),
    ]
    return out


def main():
    client = szapp.client()
    client.on_connect, client.on_message = on_connect, on_message
    client.connect_async(*szapp.host_port())
    client.loop_start()
    deadline = time.monotonic() + 20
    while state["catalog"] is None and time.monotonic() < deadline and not szapp.STOP.is_set():
        time.sleep(0.05)
    sent: dict[str, int] = {}
    qos: dict[str, int] = {"0": 0, "1": 0}
    retained = 0
    if state["catalog"] is not None:
        for kind, topic, payload, q, retain in plan(state["catalog"]):
            info = client.publish(topic, payload, qos=q, retain=retain)
            info.wait_for_publish(timeout=5)
            if info.is_published():
                sent[kind] = sent.get(kind, 0) + 1
                qos[str(q)] += 1
                retained += retain
    szapp.log("SENT " + json.dumps({"total": sum(sent.values()), "kinds": sent, "qos": qos, "retained": retained}))
    szapp.STOP.wait(60)
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
