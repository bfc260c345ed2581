"""A class of 30 on one machine: progress latency to the board, and what the class costs.

`python bench/class_bench.py [--trainees 30] [--seconds 60]` starts `smartzone class start mqtt-basics`
on a small city with a street light per trainee (reporting every 5 simulated seconds, x10), then 30
scripted trainees (one paho client each, on loopback) work through the course at once, as in the
course's end-to-end test. For every step a trainee completes, the latency is the wall time from the
trainee's last action the step needs (CONNACK, the first reading, the retained documents, the ack,
the PUBACK of the answer) to the moment the class's progress.json (what `class status` and the board
read) shows the step done; progress.json is polled every 20 ms, so latencies carry up to 20 ms of
polling. CPU seconds (the process and its children, the broker included) are counted over --window
wall seconds from the moment the class is ready (its handouts written; the trainees work and then
stay connected), and compared with the same city under `smartzone run` over the same window from
the moment it is ready, with no class and no trainees; so is the peak resident memory of the
process tree. Everything is bounded: each phase stops after --seconds, whatever happens.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("connect", "subscribe", "discover", "dim", "invalid")
CITY = """schema_version: 1
city: benchville
name: Benchville
country: IT
locale: it_IT
timezone: Europe/Rome
start: 2026-11-23T00:00:00Z
seed: 5
center: {{lat: 44.49, lon: 11.34}}
climate: {{temp_mean_c: 8}}
districts:
  - {{id: centro, name: Centro, polygon: [[44.49, 11.33], [44.50, 11.33], [44.50, 11.35], [44.49, 11.35]]}}
tenants:
  - {{id: comune-bologna, name: Comune di Bologna, kind: city}}
users:
  - {{name: admin, password: admin-pw, role: admin}}
fleets:
  - {{type: street-light, tenant: comune-bologna, count: {lights}, id_prefix: bl, report_interval: 5s}}
"""


def _tree(pid: int) -> list[int]:
    """The process and its descendants (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return out


def _cpu_rss(pid: int) -> tuple[float, int]:
    """(CPU seconds, resident kB) summed over the process tree."""
    tick = os.sysconf("SC_CLK_TCK")
    cpu, rss = 0.0, 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            with open(f"/proc/{p}/status") as f:
                rss += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        except (OSError, IndexError, ValueError):
            continue
    return cpu, rss


class Meter:
    """Samples a process tree's CPU and memory until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid, self.cpu, self.peak = pid, 0.0, 0
        self.mark = 0.0  # CPU seconds when the window started
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.sample()

    def sample(self) -> None:
        cpu, rss = _cpu_rss(self.pid)
        self.cpu, self.peak = max(self.cpu, cpu), max(self.peak, rss)

    def start_window(self) -> None:
        self.sample()
        self.mark = self.cpu

    def stop(self) -> float:
        """CPU seconds since start_window()."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()
        return self.cpu - self.mark


class Trainee:
    """One scripted trainee of the MQTT course: a paho client driven by its handout."""

    def __init__(self, handout: Path) -> None:
        text = html.unescape(handout.read_text(encoding="utf-8"))
        sub = re.search(r"mosquitto_sub -h (\S+) -p (\d+) -u (\S+) -P (\S+)", text)
        assert sub, handout
        self.host, self.port, self.user, self.password = sub.group(1), int(sub.group(2)), sub.group(3), sub.group(4)
        self.password = self.password.strip("'")
        base = re.search(r"(sz/v2/[a-z0-9-]+/[a-z0-9-]+/[a-z0-9-]+/[a-z0-9-]+)/telemetry", text)
        assert base
        self.base = base.group(1)
        self.catalog = re.search(r"(sz/v2/[a-z0-9-]+/[a-z0-9-]+/catalog)", text).group(1)  # type: ignore[union-attr]
        self.answer = re.search(r"(sz/v2/[a-z0-9-]+/class/[a-z0-9-]+/answer)", text).group(1)  # type: ignore[union-attr]
        self.level = int(re.search(r'"level": (\d+)', text).group(1))  # type: ignore[union-attr]
        self.acted: dict[str, float] = {}  # step -> monotonic time of the last action it needs
        self.done = threading.Event()
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{self.user}-app")
        self.c.username_pw_set(self.user, self.password)
        self.c.on_connect = self._connected
        self.c.on_message = self._message
        self.c.on_publish = self._published

    def start(self) -> None:
        self.c.connect_async(self.host, self.port)
        self.c.loop_start()

    def _connected(self, c: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.acted["connect"] = time.monotonic()
        c.subscribe([(f"{self.base}/telemetry", 0), (f"{self.base}/meta", 0), (self.catalog, 0)])
        c.subscribe(f"{self.base}/cmd/ack", 1)

    def _message(self, c: Any, userdata: Any, msg: Any) -> None:
        now = time.monotonic()
        with self._lock:
            kind = msg.topic.rsplit("/", 1)[1]
            self._seen.add(kind)
            if kind == "telemetry" and "subscribe" not in self.acted:
                self.acted["subscribe"] = now
            if {"meta", "catalog"} <= self._seen and "discover" not in self.acted:
                self.acted["discover"] = now
                payload = {"id": "dim-1", "action": "dim", "params": {"level": self.level}}
                c.publish(f"{self.base}/cmd", json.dumps(payload), qos=1)
            if kind == "ack":
                body = json.loads(msg.payload)
                if body.get("id") == "dim-1" and "dim" not in self.acted:
                    self.acted["dim"] = now
                    bad = {"id": "dim-2", "action": "dim", "params": {"level": 140}}
                    c.publish(f"{self.base}/cmd", json.dumps(bad), qos=1)
                elif body.get("id") == "dim-2":
                    code = (body.get("error") or {}).get("code")
                    info = c.publish(self.answer, json.dumps({"step": "invalid", "value": code}), qos=1)
                    self._answer_mid = info.mid

    def _published(self, c: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        if mid == getattr(self, "_answer_mid", None):
            self.acted["invalid"] = time.monotonic()

    def stop(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def _start(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as f:
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)


def _end(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def run_class(
    city: Path, work: Path, trainees: int, seconds: float, window: float
) -> tuple[list[float], float, int, float, int]:
    """(latencies s, CPU s over the window, peak kB, time to complete s, steps seen done) of the class."""
    out = work / "class"
    cmd = [sys.executable, "-m", "smartzone", "class", "start", "mqtt-basics", "--trainees", str(trainees)]
    cmd += ["--scenario", str(city), "--mqtt-port", "0", "--no-modbus", "--speed", "10", "--out", str(out)]
    proc = _start(cmd, work / "class.log")
    meter = Meter(proc.pid)
    t0 = time.monotonic()
    people: list[Trainee] = []
    seen: dict[tuple[str, str], float] = {}
    try:
        deadline = t0 + seconds
        log = work / "class.log"
        while "roster and handouts in" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)  # the class prints this line once every handout is written
        meter.start_window()
        ready = time.monotonic()
        people = [Trainee(h) for h in sorted(out.glob("handout-*.html"))]
        for p in people:
            p.start()
        while time.monotonic() < deadline and len(seen) < trainees * len(STEPS):
            now = time.monotonic()
            try:
                cells = json.loads((out / "progress.json").read_text())["cells"]
            except (OSError, ValueError):
                cells = {}
            for user, row in cells.items():
                for step, cell in row.items():
                    if cell.get("done") and (user, step) not in seen:
                        seen[(user, step)] = now
            time.sleep(0.02)
        wall = time.monotonic() - ready
        while time.monotonic() < min(ready + window, deadline):  # the trainees stay connected
            time.sleep(0.1)
    finally:
        cpu = meter.stop()
        for p in people:
            p.stop()
        _end(proc)
    latencies = []
    for p in people:
        for step, acted in p.acted.items():
            if (p.user, step) in seen:
                latencies.append(max(0.0, seen[(p.user, step)] - acted))
    return latencies, cpu, meter.peak, wall, len(seen)


def run_city(city: Path, work: Path, seconds: float, window: float) -> tuple[float, int]:
    """(CPU s over the window, peak kB) of the same city under `smartzone run`, no class, no clients."""
    cmd = [sys.executable, "-m", "smartzone", "run", str(city), "--mqtt-port", "0", "--no-modbus", "--speed", "10"]
    log = work / "run.log"
    proc = _start(cmd, log)
    meter = Meter(proc.pid)
    deadline = time.monotonic() + seconds
    try:
        while "publishing" not in log.read_text() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)  # ready: the bridge publishes the city
        meter.start_window()
        end = min(time.monotonic() + window, deadline)
        while time.monotonic() < end and proc.poll() is None:
            time.sleep(0.1)
    finally:
        cpu = meter.stop()
        _end(proc)
    return cpu, meter.peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trainees", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=120.0, help="bound on each phase (wall seconds)")
    ap.add_argument("--window", type=float, default=60.0, help="wall seconds CPU is counted over, from ready")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        city = work / "benchville.yaml"
        city.write_text(CITY.format(lights=args.trainees + 2), encoding="utf-8")
        lat, cpu, peak, wall, done = run_class(city, work, args.trainees, args.seconds, args.window)
        base_cpu, base_peak = run_city(city, work, args.seconds, args.window)
    lat.sort()
    total = args.trainees * len(STEPS)
    print(f"class of {args.trainees} on mqtt-basics: {done}/{total} steps done {wall:.1f} s after the class was ready")
    if lat:
        pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
        print(f"progress latency to the board: p50 {pick(0.5):.3f} s  p99 {pick(0.99):.3f} s  max {lat[-1]:.3f} s")
    cpu_ratio = cpu / max(base_cpu, 0.01)
    over = f"CPU over {args.window:.0f} s from ready"
    print(f"{over}: class {cpu:.1f} s, city alone {base_cpu:.1f} s: ratio {cpu_ratio:.2f}")
    mem = f"class {peak / 1024:.0f} MB, city alone {base_peak / 1024:.0f} MB"
    print(f"peak memory of the process tree: {mem}: ratio {peak / max(base_peak, 1):.2f}")


if __name__ == "__main__":
    main()
