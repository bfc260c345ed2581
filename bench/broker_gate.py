"""Cost of SmartZone's CONNECT gate on the mosquitto data path (ratios, one run).

The mosquitto backend relays every byte through the gate (front.py). This measures, on
the same mosquitto process, a paho publisher -> paho subscriber flow
  (a) direct on mosquitto's private unix socket (no gate: the baseline), and
  (b) through the gate's public TCP port (publisher = service account, raw relay;
      subscriber = a scenario user, packet-framed relay),
as sustained throughput (QoS 0, N messages) and as latency p50/p99 at a fixed rate.
The embedded backend hands the socket to amqtt after CONNECT, so it has no relay cost.

    python bench/broker_gate.py [--messages 20000] [--rate 1000] [--seconds 3]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.mqtt.broker.backends.mosquitto import MosquittoBroker

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "sz/v2/accessville/comune/parking-spot/cp-0001/telemetry"
PAYLOAD_PAD = b"x" * 120  # about a native reading's size
WINDOW = 500  # messages in flight (mosquitto drops QoS 0 past max_queued_messages = 1000)


def client(target: dict[str, Any], user: str, password: str, cid: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, transport=target["transport"])
    c.username_pw_set(user, password)
    connected = threading.Event()
    c.on_connect = lambda *a: connected.set()
    c.connect(target["host"], target.get("port", 1883))
    c.loop_start()
    if not connected.wait(10):
        raise RuntimeError(f"{cid}: no CONNACK")
    return c


def run_flow(
    target: dict[str, Any], svc: tuple[str, str], messages: int, rate: float, seconds: float
) -> dict[str, float]:
    received: list[int] = []
    lat: list[float] = []
    done = threading.Event()
    subscribed = threading.Event()
    cond = threading.Condition()
    expect = [messages]

    def on_message(c: Any, u: Any, msg: Any) -> None:
        now = time.perf_counter_ns()
        with cond:
            received.append(now)
            lat.append((now - int(msg.payload[:20])) / 1e6)
            cond.notify_all()
        if len(received) >= expect[0]:
            done.set()

    sub = client(target, "admin", "admin-pw", "admin-bench")
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.subscribe(TOPIC, 0)
    subscribed.wait(10)
    pub = client(target, svc[0], svc[1], f"{svc[0]}-bench")
    try:
        t0 = time.perf_counter()
        for sent in range(messages):
            # sliding window: stay below mosquitto's per-client queue so nothing is dropped
            with cond:
                if not cond.wait_for(lambda sent=sent: sent - len(received) < WINDOW, 10):
                    raise RuntimeError("subscriber stalled")
            pub.publish(TOPIC, b"%020d" % time.perf_counter_ns() + PAYLOAD_PAD, qos=0)
        done.wait(60)
        throughput = len(received) / (time.perf_counter() - t0)
        received.clear()
        lat.clear()
        done.clear()
        count = int(rate * seconds)
        expect[0] = count
        start = time.perf_counter()
        for i in range(count):
            due = start + i / rate
            while (delay := due - time.perf_counter()) > 0:
                time.sleep(min(delay, 0.001))
            pub.publish(TOPIC, b"%020d" % time.perf_counter_ns() + PAYLOAD_PAD, qos=0)
        done.wait(60)
        q = statistics.quantiles(lat, n=100)
        return {"throughput": throughput, "p50_ms": q[49], "p99_ms": q[98], "lost": count - len(lat)}
    finally:
        for c in (pub, sub):
            c.disconnect()
            c.loop_stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    scenario = load_scenario(ROOT / "tests" / "fixtures" / "access-city.yaml", Catalog.builtin())
    broker = MosquittoBroker(scenario)
    try:
        svc = (broker.service_user, broker.service_password)
        direct = run_flow({"transport": "unix", "host": str(broker._sock)}, svc, args.messages, args.rate, args.seconds)
        gated = run_flow(
            {"transport": "tcp", "host": broker.host, "port": broker.port}, svc, args.messages, args.rate, args.seconds
        )
    finally:
        broker.close()
    for name, r in (("direct unix socket", direct), ("through the gate", gated)):
        print(
            f"{name:20s} {r['throughput']:9.0f} msg/s   p50 {r['p50_ms']:.3f} ms   p99 {r['p99_ms']:.3f} ms"
            f"   lost {r['lost']}"
        )
    print(f"throughput ratio gate/direct: {gated['throughput'] / direct['throughput']:.2f}")
    print(f"p99 latency added by the gate at {args.rate:.0f} msg/s: {gated['p99_ms'] - direct['p99_ms']:+.3f} ms")


if __name__ == "__main__":
    main()
