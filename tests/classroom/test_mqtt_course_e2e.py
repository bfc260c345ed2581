"""The shipped course "MQTT on the city", run end to end: `smartzone class start` in its own process,
trainees scripted with real clients only (mosquitto_sub/pub, paho) and their handouts' details.

It shows that a too-wide subscription and a wrong answer do not count, that two trainees got
different devices, that progress is saved, exported and resumed, and that the trainer's CLI reads it.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from smartzone.endpoints.mqtt.broker.backends.mosquitto import find_mosquitto

ROOT = Path(__file__).resolve().parents[2]
CITY = ROOT / "tests" / "fixtures" / "classroom-city.yaml"
WAIT_S = 30.0

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(shutil.which("mosquitto_sub") is None, reason="needs mosquitto-clients"),
]


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartzone", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def _wait(what: str, ok: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ok()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Handout:
    """What a trainee reads on its paper: credentials, broker, its device's topics, its level."""

    def __init__(self, path: Path) -> None:
        text = html.unescape(path.read_text(encoding="utf-8"))
        left = re.findall(r"\{(?:device\w*|level|city|user|answer_topic)\}", text)
        assert not left, f"unfilled template names in the handout: {left}"
        sub = re.search(r"mosquitto_sub (-h \S+ -p \d+ -u \S+ -P \S+)", text)
        assert sub, "the handout has a mosquitto_sub line"
        words = shlex.split(sub.group(1))
        opts = dict(zip(words[::2], words[1::2], strict=True))
        self.host, self.port, self.user, self.password = opts["-h"], int(opts["-p"]), opts["-u"], opts["-P"]
        telemetry = re.search(r"(sz/v2/[a-z0-9-]+/[a-z0-9-]+/[a-z0-9-]+/[a-z0-9-]+)/telemetry", text)
        assert telemetry
        self.base = telemetry.group(1)
        self.device = self.base.rsplit("/", 1)[1]
        self.catalog = re.search(r"(sz/v2/[a-z0-9-]+/[a-z0-9-]+/catalog)", text).group(1)  # type: ignore[union-attr]
        self.answer_topic = re.search(r"(sz/v2/[a-z0-9-]+/class/[a-z0-9-]+/answer)", text).group(1)  # type: ignore[union-attr]
        self.level = int(re.search(r'"level": (\d+)', text).group(1))  # type: ignore[union-attr]

    def auth(self, suffix: str) -> list[str]:
        return [
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-u",
            self.user,
            "-P",
            self.password,
            "-i",
            f"{self.user}-{suffix}",
        ]


def _sub(h: Handout, topics: list[str], count: int, suffix: str = "sub") -> list[str]:
    args = ["mosquitto_sub", *h.auth(suffix), "-v", "-C", str(count), "-W", "30"]
    for t in topics:
        args += ["-t", t]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=40)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def _pub(h: Handout, topic: str, payload: str) -> None:
    proc = subprocess.run(
        ["mosquitto_pub", *h.auth("pub"), "-t", topic, "-m", payload], capture_output=True, timeout=20
    )
    assert proc.returncode == 0, proc.stderr


class Commander:
    """A paho app: subscribes to the device's acks, sends commands, returns the ack of each."""

    def __init__(self, h: Handout) -> None:
        self.acks: dict[str, dict[str, Any]] = {}
        self.cond = threading.Condition()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{h.user}-app")
        self.client.username_pw_set(h.user, h.password)
        self.client.on_message = self._message
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe(f"{h.base}/cmd/ack", qos=1)
        self.base = h.base
        self.client.connect(h.host, h.port)
        self.client.loop_start()
        assert self.subscribed.wait(WAIT_S)

    def _message(self, client: Any, userdata: Any, msg: Any) -> None:
        body = json.loads(msg.payload)
        with self.cond:
            self.acks[body["id"]] = body
            self.cond.notify_all()

    def command(self, cid: str, level: int) -> dict[str, Any]:
        payload = json.dumps({"id": cid, "action": "dim", "params": {"level": level}})
        self.client.publish(f"{self.base}/cmd", payload, qos=1)
        with self.cond:
            assert self.cond.wait_for(lambda: cid in self.acks, WAIT_S), f"no ack for {cid}"
            return self.acks[cid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _progress(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "progress.json").read_text())["cells"]
    except (OSError, ValueError):
        return {}


def _cell(folder: Path, user: str, step: str) -> dict[str, Any]:
    return _progress(folder).get(user, {}).get(step, {})


@pytest.mark.parametrize("broker", ["embedded", "mosquitto"])
def test_two_trainees_take_the_mqtt_course(tmp_path: Path, broker: str) -> None:
    if broker == "mosquitto" and find_mosquitto() is None:
        pytest.skip("needs mosquitto")
    out = tmp_path / "class"
    log = (tmp_path / "class.log").open("w")
    cmd = [
        sys.executable, "-m", "smartzone", "class", "start", "mqtt-basics", "--trainees", "2",
        "--scenario", str(CITY), "--broker", broker, "--mqtt-port", "0", "--no-modbus", "--speed", "10",
        "--out", str(out), "--board-every", "1",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        _wait("the handouts", lambda: proc.poll() is not None or len(list(out.glob("handout-*.html"))) == 2)
        assert proc.poll() is None, (tmp_path / "class.log").read_text()
        one, two = Handout(out / "handout-trainee-01.html"), Handout(out / "handout-trainee-02.html")
        assert one.device != two.device, "two trainees get different devices"
        assert (one.user, two.user) == ("trainee-01", "trainee-02")

        # a subscription over the whole city delivers, but does not count
        assert _sub(one, ["sz/v2/classville/#"], 1, "wide")
        _wait("the wide try", lambda: _cell(out, "trainee-01", "subscribe").get("attempts", 0) >= 1)
        assert _cell(out, "trainee-01", "connect")["done"]
        assert not _cell(out, "trainee-01", "subscribe")["done"]
        # trainee 2 only ever subscribes wide
        assert _sub(two, [f"{two.base}/#".rsplit("/", 3)[0] + "/#"], 1, "wide")

        assert _sub(one, [f"{one.base}/telemetry"], 1)
        _wait("subscribe", lambda: _cell(out, "trainee-01", "subscribe").get("done"))
        assert not _cell(out, "trainee-01", "discover")["done"], "the wide filter delivered meta: it does not count"
        assert len(_sub(one, [f"{one.base}/meta", one.catalog], 2)) == 2
        _wait("discover", lambda: _cell(out, "trainee-01", "discover").get("done"))

        app = Commander(one)
        try:
            assert app.command("dim-1", one.level)["ok"] is True
            bad = app.command("dim-2", 140)
        finally:
            app.close()
        assert bad["ok"] is False
        _wait("dim", lambda: _cell(out, "trainee-01", "dim").get("done"))

        _pub(one, one.answer_topic, json.dumps({"step": "invalid", "value": "forbidden"}))
        _wait("the wrong answer", lambda: _cell(out, "trainee-01", "invalid").get("attempts", 0) >= 3)
        assert not _cell(out, "trainee-01", "invalid")["done"], "a wrong answer does not count"
        _pub(one, one.answer_topic, json.dumps({"step": "invalid", "value": bad["error"]["code"]}))
        _wait("the right answer", lambda: _cell(out, "trainee-01", "invalid").get("done"))

        status = _cli("class", "status", str(out))
        assert status.returncode == 0 and re.search(r"trainee-01 +##### +5/5 +score 5", status.stdout), status.stdout
        assert re.search(r"trainee-02 +#xx\.\. +1/5", status.stdout), status.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        log.close()
    text = (tmp_path / "class.log").read_text()
    assert code == 0, text
    assert "trainee-01" in text and "Traceback" not in text
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert {(r["user"], r["step"]) for r in rows if r["done"] == "True"} == {
        ("trainee-01", s) for s in ("connect", "subscribe", "discover", "dim", "invalid")
    } | {("trainee-02", "connect")}
    assert "MQTT on the city" in (out / "summary.html").read_text()

    # the same folder again: same roster, same devices, and done stays done
    again = _cli(
        "class", "start", "mqtt-basics", "--scenario", str(CITY), "--broker", broker, "--mqtt-port", "0",
        "--no-modbus", "--out", str(out), "--duration", "1", timeout=90,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert Handout(out / "handout-trainee-01.html").device == one.device
    assert Handout(out / "handout-trainee-01.html").password == one.password
    assert _cell(out, "trainee-01", "invalid")["done"]


def test_bind_serves_the_class_on_the_given_address(tmp_path: Path) -> None:
    out = tmp_path / "class"
    cmd = [
        sys.executable, "-m", "smartzone", "class", "start", "mqtt-basics", "--scenario", str(CITY),
        "--bind", "127.0.0.2", "--mqtt-port", "0", "--modbus-port", "0", "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        handout = out / "handout-trainee-01.html"
        _wait("the handout", lambda: proc.poll() is not None or handout.exists())
        assert proc.poll() is None
        h = Handout(handout)
        assert h.host == "127.0.0.2"
        assert "127.0.0.2" in html.unescape(handout.read_text()).split("mbpoll", 1)[1].split("\n", 1)[0]
        assert _sub(h, ["sz/v2/classville/tenants"], 1)
        _wait("the connection seen", lambda: _cell(out, "trainee-01", "connect").get("done"))
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", h.port), timeout=5):
            pass  # not served on the loopback address the class was not bound to
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
