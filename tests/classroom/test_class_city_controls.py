"""The trainer's controls that act on the city, against a real running class: a fault pushed to the
class reaches a trainee's paho client, a reset brings the trainee's device back to the course start,
pause stops the step timers, export writes the results; bad arguments get one line and exit 2."""

from __future__ import annotations

import csv
import html
import json
import queue
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.classroom.test_mqtt_course_e2e import ROOT, WAIT_S, _cell, _cli, _wait

CITY = ROOT / "tests" / "fixtures" / "classroom-city.yaml"
COURSE = ROOT / "tests" / "fixtures" / "course-lab.yaml"

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(shutil.which("mbpoll") is None, reason="needs mbpoll"),
]


class Trainee:
    """A trainee's paho app on its handout's credentials, watching its own device's status and state."""

    def __init__(self, handout: Path, device: str) -> None:
        text = html.unescape(handout.read_text(encoding="utf-8"))
        sub = re.search(r"mosquitto_sub -h (\S+) -p (\d+) -u (\S+) -P (\S+)", text)
        assert sub, text
        host, port, self.user, password = sub.groups()
        self.messages: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{self.user}-app")
        self.client.username_pw_set(self.user, password)
        base = f"sz/v2/classville/comune-bologna/street-light/{device}"
        self.client.on_connect = lambda c, *a: c.subscribe([(f"{base}/status", 1), (f"{base}/state", 1)])
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic.rsplit("/", 1)[1], json.loads(m.payload)))
        self.client.connect(host, int(port))
        self.client.loop_start()

    def next(self, channel: str, ok: Any = lambda body: True) -> dict[str, Any]:
        """The next message on `channel` that satisfies `ok` (bounded wait)."""
        while True:
            got, body = self.messages.get(timeout=WAIT_S)
            if got == channel and ok(body):
                return body

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_fault_reset_pause_and_export_on_a_running_class(tmp_path: Path) -> None:
    out = tmp_path / "class"
    log = (tmp_path / "class.log").open("w")
    cmd = [
        sys.executable, "-m", "smartzone", "class", "start", str(COURSE), "--roster", str(_roster(tmp_path)),
        "--scenario", str(CITY), "--mqtt-port", "0", "--modbus-port", "0", "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    trainee = None
    try:
        handout = out / "handout-anna.html"
        _wait("the handouts", lambda: proc.poll() is not None or handout.exists())
        assert proc.poll() is None, (tmp_path / "class.log").read_text()
        city = json.loads((out / "devices.json").read_text())
        device, other = city["trainees"]["anna"][0], city["trainees"]["bruno"][0]
        assert device != other and device in handout.read_text()
        trainee = Trainee(handout, device)
        assert trainee.next("status")["state"] == "online"
        start_state = trainee.next("state")["values"]

        # a fault for the whole class: the trainee's own client sees its device go offline
        pushed = _cli("class", "fault", str(out), "--all-trainees-devices", "offline")
        assert pushed.returncode == 0 and "2 device(s)" in pushed.stdout, pushed.stderr
        assert trainee.next("status", lambda b: b["state"] == "offline")
        cleared = _cli("class", "clear-fault", str(out), "--device", device, "offline")
        assert cleared.returncode == 0, cleared.stderr
        assert trainee.next("status", lambda b: b["state"] == "online")

        # the trainee dimmed its light over Modbus, its device went offline, a wrong answer counted:
        # reset puts all of it back to the course start (and leaves the other trainee alone)
        port, unit, host = _mbpoll_line(handout)
        level = 37 if start_state["level"] != 37 else 38
        _mbpoll("-m", "tcp", "-p", port, "-a", unit, "-0", "-t", "4", "-r", "0", "-1", host, str(level))
        assert trainee.next("state", lambda b: b["values"]["level"] == level)
        assert _cli("class", "fault", str(out), "--device", device, "offline").returncode == 0
        assert trainee.next("status", lambda b: b["state"] == "offline")
        assert _cli("class", "answer", str(out), "anna", "guess", "999").returncode == 0
        assert _cli("class", "answer", str(out), "bruno", "guess", "999").returncode == 0
        _wait("the attempts", lambda: _cell(out, "anna", "guess").get("attempts") == 1)
        assert _cli("class", "reset", str(out), "anna").returncode == 0
        assert trainee.next("status", lambda b: b["state"] == "online")
        assert trainee.next("state", lambda b: b["values"] == start_state)
        _wait("the progress reset", lambda: _cell(out, "anna", "guess").get("attempts") == 0)
        assert _cell(out, "bruno", "guess")["attempts"] == 1

        # pause: the step timers stop; an answer given while paused is timed at the pause
        assert _cli("class", "pause", str(out)).returncode == 0
        _wait("the pause", lambda: json.loads((out / "progress.json").read_text()).get("paused_at"))
        assert "(paused)" in _cli("class", "status", str(out)).stdout
        answer = str(_target(out / "handout-bruno.html"))
        assert _cli("class", "answer", str(out), "bruno", "guess", answer).returncode == 0
        _wait("bruno's answer", lambda: _cell(out, "bruno", "guess").get("done"))
        saved = json.loads((out / "progress.json").read_text())
        paused_elapsed = saved["paused_at"] - saved["started"] - saved["paused_s"]
        assert saved["cells"]["bruno"]["guess"]["time"] == round(paused_elapsed, 1)
        assert _cli("class", "resume", str(out)).returncode == 0
        _wait("the resume", lambda: json.loads((out / "progress.json").read_text()).get("paused_at") is None)

        # bad arguments: one line, exit 2, nothing queued
        queued = (out / "controls.jsonl").read_text()
        for args, words in (
            (("fault", str(out), "--device", "nope-1", "offline"), "no device 'nope-1'"),
            (("fault", str(out), "--device", device, "melted"), "fault 'melted'"),
            (("fault", str(out), "offline"), "--all-trainees-devices"),
            (("reset", str(out), "carla"), "no trainee 'carla'"),
            (("hint", str(out), "anna", "nostep"), "no step 'nostep'"),
        ):
            bad = _cli("class", *args)
            assert bad.returncode == 2 and words in bad.stderr and "Traceback" not in bad.stderr, (args, bad.stderr)
        assert (out / "controls.jsonl").read_text() == queued

        # export on demand, while the class runs
        exported = _cli("class", "export", str(out))
        assert exported.returncode == 0, exported.stderr
        doc = json.loads((out / "results.json").read_text())
        bruno = next(t for t in doc["trainees"] if t["user"] == "bruno")
        assert bruno["name"] == "Bruno Bianchi" and bruno["steps"]["guess"]["done"] and bruno["score"] == 2
        assert doc["title"] == "Modbus lab" and doc["averages"]["score"] == 1.0
        assert "Bruno Bianchi" in (out / "summary.html").read_text()
    finally:
        if trainee is not None:
            trainee.close()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        log.close()
    text = (tmp_path / "class.log").read_text()
    assert code == 0 and "Traceback" not in text, text
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [(r["user"], r["step"]) for r in rows if r["done"] == "True"] == [("bruno", "guess")]


def _roster(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text("name,user\nAnna Rossi,anna\nBruno Bianchi,bruno\n", encoding="utf-8")
    return path


def _mbpoll_line(handout: Path) -> tuple[str, str, str]:
    text = html.unescape(handout.read_text(encoding="utf-8"))
    found = re.search(r"mbpoll -m tcp -p (\d+) -a (\d+) -0 -t 3 -r 0 -c 10 -1 ([0-9A-Za-z.:-]+)", text)
    assert found, text
    return found.group(1), found.group(2), found.group(3)


def _mbpoll(*args: str) -> None:
    proc = subprocess.run(["mbpoll", *args], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _target(handout: Path) -> int:
    found = re.search(r"Submit your target, (\d+),", html.unescape(handout.read_text(encoding="utf-8")))
    assert found
    return int(found.group(1))
