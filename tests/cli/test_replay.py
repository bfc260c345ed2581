"""Record a city on real endpoints (an app's MQTT command, a Modbus write), re-simulate it
byte for byte, and replay it on real endpoints to an ordinary app user and a Modbus client."""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.client import ModbusTcpClient

from smartzone.cli import main
from smartzone.cli.replay_cmd import _offset
from smartzone.definitions.units import format_duration
from smartzone.endpoints.modbus import ModbusGateways
from smartzone.endpoints.mqtt import service as mqtt_service
from smartzone.errors import UsageError
from smartzone.runtime.api import Runtime
from smartzone.runtime.recording import Recorder, read_recording, scenario_header
from smartzone.runtime.replay import REPLAY_REFUSED, replay_runtime

MQTT_CITY = Path(__file__).parents[1] / "fixtures" / "mqtt-city.yaml"
BASE = "sz/v2/mqttville/comune"
LIGHT = f"{BASE}/street-light/cl-0001"
SPEED = 300.0
WAIT_S = 20.0


class App:
    """An ordinary app user of the scenario (read comune and acme, command comune)."""

    def __init__(self, port: int, client_id: str) -> None:
        self.cond = threading.Condition()
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.username_pw_set("app", "app-pw")
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe([(f"{BASE}/+/+/telemetry", 1), (f"{LIGHT}/cmd/ack", 1)])
        assert self.subscribed.wait(WAIT_S), "no SUBACK"

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.cond:
            self.messages.append((msg.topic, json.loads(msg.payload)))
            self.cond.notify_all()

    def wait_for(self, pred: Any) -> list[tuple[str, dict[str, Any]]]:
        deadline = time.monotonic() + WAIT_S
        with self.cond:
            while not pred(self.messages):
                left = deadline - time.monotonic()
                assert left > 0, f"timed out; got {self.messages[-5:]}"
                self.cond.wait(left)
            return list(self.messages)

    def command(self, cid: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        self.client.publish(f"{LIGHT}/cmd", json.dumps({"id": cid, "action": action, "params": params}), qos=1)
        msgs = self.wait_for(lambda ms: any(t.endswith("/ack") and p.get("id") == cid for t, p in ms))
        return next(p for t, p in msgs if t.endswith("/ack") and p.get("id") == cid)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _light_unit(gateways: ModbusGateways) -> tuple[int, int]:
    gw = next(g for g in gateways.gateways if any(d.id == "cl-0001" for d in g.plan.units.values()))
    return gw.port, next(u for u, d in gw.plan.units.items() if d.id == "cl-0001")


def _registers(gateways: ModbusGateways, write: int | None = None) -> list[int]:
    port, unit = _light_unit(gateways)
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=5, retries=0)
    try:
        assert client.connect()
        if write is not None:
            assert not client.write_register(0, write, device_id=unit).isError()
        rr = client.read_input_registers(0, count=14, device_id=unit)
        hr = client.read_holding_registers(0, count=1, device_id=unit)  # the level state
        assert not rr.isError() and not hr.isError(), (rr, hr)
        return [*rr.registers, *hr.registers]
    finally:
        client.close()


def _serve(rt: Runtime) -> tuple[Any, ModbusGateways]:
    svc = mqtt_service.start(rt, argparse.Namespace(broker="embedded", mqtt_port=0, no_mqtt=False))
    try:
        return svc, ModbusGateways.start(rt, 0)
    except BaseException:
        svc.close()
        raise


def _record(path: Path) -> list[int]:
    """A paced run with an app's command and a Modbus write; the light's final input registers."""
    rt = Runtime.load(MQTT_CITY, speed=SPEED)
    recorder = Recorder.open(path)
    recorder.attach(rt, scenario_header(rt, fast=False, speed=SPEED, duration=None))
    svc, gateways = _serve(rt)
    app = None
    try:
        rt.start()
        app = App(svc.broker.port, "app-recorded")
        assert app.command("r1", "dim", {"level": 40})["ok"] is True
        _registers(gateways, write=33)  # holding register 0: the light's level
        app.wait_for(lambda ms: sum(t.endswith("telemetry") for t, _ in ms) >= 20)
    finally:
        if app is not None:
            app.close()
        rt.stop()
        final = _registers(gateways)
        gateways.close()
        svc.close()
    rt.network_summary()
    assert recorder.close(rt.sim_time) is None
    return final


def test_record_resimulate_and_replay_on_real_endpoints(tmp_path: Path) -> None:
    recording, again = tmp_path / "city.jsonl.gz", tmp_path / "again.jsonl.gz"
    final = _record(recording)
    _, records = read_recording(recording)
    recs = list(records)
    sources = [(r["source"], r["args"]["action"]) for r in recs if r.get("input") == "DeviceCommand"]
    assert sources == [("mqtt", "dim"), ("modbus", "dim")]

    # re-simulation: the same event stream, byte for byte
    assert main(["replay", str(recording), "--resimulate", "--out", str(again), "--quiet"]) == 0
    body = [gzip.decompress(p.read_bytes()).split(b"\n", 1)[1] for p in (recording, again)]
    assert body[0] == body[1]

    # replay: an app sees the recorded readings of its tenants, in order; a command is refused
    readings = [r for r in recs if r["kind"] == "reading" and r["device"] in ("cp-0001", "cp-0002", "cl-0001")]
    rt = replay_runtime(recording, speed=SPEED * 2, workdir=tmp_path / "replay")
    svc, gateways = _serve(rt)
    app = None
    try:
        app = App(svc.broker.port, "app-replay")
        paused = rt.pause()  # commands are sent while the replay is paused, so it cannot end first
        rt.start()
        paused.result(WAIT_S)
        ack = app.command("x1", "dim", {"level": 10})
        assert ack["ok"] is False and ack["error"] == {"code": "forbidden", "message": REPLAY_REFUSED}
        _registers(gateways, write=90)  # acknowledged on the wire, refused by the replay
        deadline = time.monotonic() + WAIT_S
        while rt.world.refused < 2 and time.monotonic() < deadline:  # the write reaches the world asynchronously
            time.sleep(0.01)
        assert rt.world.refused == 2
        rt.resume()
        assert rt.wait(WAIT_S * 3)
        msgs = app.wait_for(lambda ms: sum(t.endswith("telemetry") for t, _ in ms) >= len(readings))
        got = [(p["device"], p["seq"], p["values"], p["ts"]) for t, p in msgs if t.endswith("telemetry")]
        # a payload's ts is when the device measured (docs/api.md)
        expected = [(r["device"], r["seq"], r["values"], rt.iso_time(r.get("measured") or r["t"])) for r in readings]
        for device in ("cp-0001", "cp-0002", "cl-0001"):
            assert [g for g in got if g[0] == device] == [e for e in expected if e[0] == device]
        replayed = _registers(gateways)
    finally:
        if app is not None:
            app.close()
        rt.stop()
        gateways.close()
        svc.close()
    assert replayed[3:5] == final[3:5] and replayed[10:] == final[10:]  # seq and the signal block
    assert replayed[-1] == final[-1] == 33  # the light's level: the recorded Modbus write, not the refused one


TESTVILLE = str(Path(__file__).parents[1] / "fixtures" / "testville.yaml")
OFF = ["--no-mqtt", "--no-modbus"]


def _cli_recording(tmp_path: Path) -> Path:
    path = tmp_path / "tv.jsonl.gz"
    assert main(["run", TESTVILLE, "--fast", "--duration", "4h", *OFF, "--record", str(path), "--quiet"]) == 0
    return path


def _play(rt: Runtime, stop_after: int | None = None) -> list[Any]:
    played: list[Any] = []

    def collect(event: Any) -> None:
        played.append(event)
        if stop_after is not None and len(played) >= stop_after:
            rt.engine.request_stop()

    rt.subscribe(collect)
    try:
        rt.start()
        assert rt.wait(WAIT_S * 3)
    finally:
        rt.stop()
    return played


def test_replay_from_to_starts_with_the_state_at_from(tmp_path: Path) -> None:
    path = _cli_recording(tmp_path)
    recs = [r for r in read_recording(path)[1] if r["kind"] == "reading"]
    first, last = 3600.0, 7200.0
    rt = replay_runtime(path, speed=1e6, first=first, last=last, workdir=tmp_path / "w")
    before = {r["device"]: r for r in recs if r["t"] < first}  # the last reading of each device before --from
    for device, r in before.items():
        assert rt.live.get(device).values == r["values"] and rt.live.get(device).seq == r["seq"]
    played = _play(rt)
    assert [e.record() for e in played if e.kind == "reading"] == [
        {k: v for k, v in r.items() if k != "ts"} for r in recs if first <= r["t"] <= last
    ]


def test_replay_loop_goes_on_with_time_moving_forward(tmp_path: Path) -> None:
    path = _cli_recording(tmp_path)
    recs = [r for r in read_recording(path)[1] if r["kind"] == "reading"]
    rt = replay_runtime(path, speed=1e6, first=0.0, last=3600.0, loop=True, workdir=tmp_path / "w")
    one_pass = [r for r in recs if r["t"] <= 3600.0]
    played = _play(rt, stop_after=3 * len(one_pass))
    readings = [e for e in played if e.kind == "reading"]
    second = readings[len(one_pass) : 2 * len(one_pass)]
    assert [(e.device, e.values) for e in second] == [(r["device"], r["values"]) for r in one_pass]
    assert [e.t for e in second] == [r["t"] + 3600.0 for r in one_pass]


def test_replay_cli_plays_and_tells_what_it_did(tmp_path: Path) -> None:
    path = _cli_recording(tmp_path)
    events = [r for r in read_recording(path)[1] if r["kind"] not in ("input", "end")]
    done = _cli("replay", str(path), "--speed", "1000000", *OFF)
    assert done.returncode == 0, done.stderr
    line = f"replay done: {len(events)} events played up to {format_duration(events[-1]['t'])}, 0 command(s) refused"
    assert line in done.stderr
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(gzip.compress(b"{}\n"))
    failed = _cli("replay", str(bad), *OFF)
    assert failed.returncode == 2
    assert failed.stderr.strip() == f"smartzone: {bad}: line 1: not a SmartZone recording header"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smartzone", *args], capture_output=True, text=True, timeout=120)


def test_an_unwritable_recording_is_one_clear_line(tmp_path: Path) -> None:
    run = ["run", TESTVILLE, "--fast", "--duration", "1h", *OFF, "--quiet", "--record"]
    where = tmp_path / "no" / "x"
    missing = _cli(*run, str(where))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"smartzone: --record: cannot write {where}: No such file or directory"
    full = _cli(*run, "/dev/full")
    assert full.returncode == 1
    assert "smartzone: recording /dev/full: cannot write: No space left on device" in full.stderr
    assert "Traceback" not in full.stderr


@pytest.mark.parametrize(
    ("text", "seconds"), [("14h32min", 52320.0), ("14:32", 52320.0), ("0:00:05", 5.0), ("90min", 5400.0)]
)
def test_from_and_to_take_durations_and_clock_times(text: str, seconds: float) -> None:
    assert _offset("--from", text) == seconds


@pytest.mark.parametrize("text", ["soon", "1hx", "14:99", "-1h"])
def test_a_bad_offset_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match=r"^--from: "):
        _offset("--from", text)
