"""Node-RED 4.1 as a tested client: examples/node-red/ against a running city (docs/node-red.md).

The real `smartzone run` in a child process (ports 0, read from its banner), the shipped flow
run headless by Node-RED with node-red-contrib-modbus 5.23.3 (npm_cache.py), connected as the
ordinary app user with the broker node's client id left blank. The flow keeps what arrived
and shows it on an HTTP endpoint, which the test reads: telemetry turned into dashboard
messages, the ack of its command, Modbus input registers and a discrete input.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smartzone.cli.errors import EXIT_OK

from .conftest import Probe, has_mosquitto
from .harness import MQTT_CITY, free_port
from .npm_cache import node_modules

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "node-red"
WAIT_S = 60.0


class Lines:
    """A child process's merged output, collected line by line on a thread (bounded waits)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc, self.lines, self.eof = proc, [], False
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, name="test-child-output", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def match(self, pattern: str, timeout: float = WAIT_S) -> re.Match[str] | None:
        def found() -> re.Match[str] | None:
            return next((m for line in self.lines if (m := re.search(pattern, line))), None)

        with self.cond:
            self.cond.wait_for(lambda: found() is not None or self.eof, timeout)
            return found()

    def stop(self, sig: int = signal.SIGINT) -> int | None:
        """Signal the process, wait for it (bounded), kill it if it hangs; its exit code."""
        code = None
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            code = self.proc.wait(WAIT_S)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            self.thread.join(10)
            if self.proc.stdout is not None and not self.thread.is_alive():
                self.proc.stdout.close()  # the pipe's fd, read to its end by the thread
        return code

    def text(self) -> str:
        with self.cond:
            return "".join(self.lines)


def spawn(argv: list[str], env: dict[str, str] | None = None) -> Lines:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    return Lines(proc)


@pytest.fixture(params=["embedded", "mosquitto"])
def city(request: pytest.FixtureRequest) -> Iterator[Lines]:
    if request.param == "mosquitto" and not has_mosquitto():
        pytest.skip("mosquitto is not installed")
    ports = ["--mqtt-port", "0", "--modbus-port", "0"]
    run = spawn([sys.executable, "-m", "smartzone", "run", str(MQTT_CITY), "--broker", str(request.param), *ports])
    try:
        yield run
    finally:
        run.stop()


def results(port: int) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/smartzone/results", timeout=5) as answer:
            return dict(json.loads(answer.read()))
    except (OSError, ValueError):  # Node-RED not listening yet
        return {}


def complete(got: dict[str, Any]) -> bool:
    return all(k in got for k in ("telemetry", "ack", "registers", "discrete"))


def test_node_red_flow_as_an_ordinary_user_with_a_blank_client_id(city: Lines, tmp_path: Path) -> None:
    modules = node_modules()
    mqtt = city.match(r"MQTT broker \(\w+\): mqtt://127\.0\.0\.1:(\d+)")
    modbus = city.match(r"Modbus gateway comune-centro: 127\.0\.0\.1:(\d+)")
    assert mqtt is not None and modbus is not None, city.text()
    user_dir = tmp_path / "node-red"
    user_dir.mkdir()
    for name in ("flows.json", "flows_cred.json"):
        shutil.copy(EXAMPLE / name, user_dir / name)
    flow = json.loads((EXAMPLE / "flows.json").read_text())
    [broker_node] = [n for n in flow if n["type"] == "mqtt-broker"]
    assert broker_node["clientid"] == ""  # what most people leave it as
    port = free_port()
    env = {
        **os.environ,
        **{"SZ_MQTT_HOST": "127.0.0.1", "SZ_MQTT_PORT": mqtt.group(1), "SZ_USER": "app", "SZ_PASSWORD": "app-pw"},
        **{"SZ_CITY": "mqttville", "SZ_TENANT": "comune", "SZ_LIGHT": "cl-0001"},
        **{"SZ_MODBUS_HOST": "127.0.0.1", "SZ_MODBUS_PORT": modbus.group(1), "SZ_NODE_RED_PORT": str(port)},
    }
    settings = ["--settings", str(EXAMPLE / "settings.js"), "--userDir", str(user_dir)]
    red = spawn(["node", str(modules / "node-red" / "red.js"), *settings], env)
    try:
        got: dict[str, Any] = {}
        deadline = time.monotonic() + WAIT_S
        while not complete(got) and time.monotonic() < deadline and red.proc.poll() is None:
            got = results(port)
            time.sleep(0.25)
        assert complete(got), (got, red.text()[-2000:], city.text()[-2000:])
    finally:
        red.stop(signal.SIGTERM)
    # telemetry, as a dashboard message: "device signal" and a number
    device, _, signal_name = got["telemetry"]["topic"].partition(" ")
    assert device in ("cp-0001", "cp-0002", "cl-0001") and signal_name
    assert isinstance(got["telemetry"]["payload"], int | float)
    ack = got["ack"]
    assert ack["id"].startswith("nodered-") and ack["ok"] is True and ack["state"]["level"] == 25
    registers = got["registers"]
    assert len(registers) == 12 and registers[1] == 1  # register 1: the map version
    discrete = got["discrete"]
    assert len(discrete) == 8 and all(isinstance(b, bool) for b in discrete)  # FC2 pads to a byte of 8 bits
    out = city.text()
    assert "mqtt: refused" not in out and "mqtt: denied" not in out, out[-2000:]  # the blank id got in
    # a filter the app may not read: said live on stderr, and totalled in the run summary
    probe = Probe(int(mqtt.group(1)), "app", "app-pw", "")
    try:
        assert probe.connect() == 0
        assert probe.subscribe("sz/v2/mqttville/open/#")[0] >= 0x80
        assert city.match(r"mqtt: denied SUBSCRIBE of app to 'sz/v2/mqttville/open/#'; app may read ") is not None
    finally:
        probe.close()
    code = city.stop()
    out = city.text()
    assert code == EXIT_OK, out[-2000:]
    assert "mqtt: 1 SUBSCRIBE denied (app 1)" in out, out[-2000:]
