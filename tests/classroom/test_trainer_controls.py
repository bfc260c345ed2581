"""A class with Modbus: a trainee uses mbpoll from its handout; the trainer answers, hints and resets
from the command line while the class runs (`smartzone class answer|hint|reset|status`)."""

from __future__ import annotations

import html
import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.classroom.test_mqtt_course_e2e import ROOT, _cell, _cli, _wait

CITY = ROOT / "tests" / "fixtures" / "classroom-city.yaml"
COURSE = ROOT / "tests" / "fixtures" / "course-lab.yaml"

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(shutil.which("mbpoll") is None, reason="needs mbpoll"),
]


def _mbpoll(*args: str) -> None:
    proc = subprocess.run(["mbpoll", *args], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_modbus_steps_and_trainer_controls(tmp_path: Path) -> None:
    out = tmp_path / "class"
    log = (tmp_path / "class.log").open("w")
    cmd = [
        sys.executable, "-m", "smartzone", "class", "start", str(COURSE), "--trainees", "1",
        "--scenario", str(CITY), "--mqtt-port", "0", "--modbus-port", "0", "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    user = "trainee-01"
    try:
        handout = out / f"handout-{user}.html"
        _wait("the handout", lambda: proc.poll() is not None or handout.exists())
        assert proc.poll() is None, (tmp_path / "class.log").read_text()
        text = html.unescape(handout.read_text())
        line = re.search(r"mbpoll -m tcp -p (\d+) -a (\d+) -0 -t 3 -r 0 -c 10 -1 ([0-9A-Za-z.:-]+)", text)
        assert line, text
        port, unit, host = line.groups()
        target = int(re.search(r"Write (\d+) into holding register 0", text).group(1))  # type: ignore[union-attr]

        _mbpoll("-m", "tcp", "-p", port, "-a", unit, "-0", "-t", "3", "-r", "10", "-c", "1", "-1", host)
        _wait("the read", lambda: _cell(out, user, "read").get("done"))
        assert not _cell(out, user, "write")["done"]

        assert _cli("class", "answer", str(out), user, "guess", str(target + 7)).returncode == 0
        _wait("the wrong answer", lambda: _cell(out, user, "guess").get("attempts") == 1)
        assert not _cell(out, user, "guess")["done"]
        assert _cli("class", "answer", str(out), user, "guess", str(target + 0.3)).returncode == 0
        _wait("the answer within tolerance", lambda: _cell(out, user, "guess").get("done"))
        assert _cell(out, user, "guess")["score"] == 2

        hint = _cli("class", "hint", str(out), user, "write")
        assert hint.returncode == 0 and "hint 1/2: mbpoll -t 4" in hint.stdout, hint.stdout
        _wait("the hint counted", lambda: _cell(out, user, "write").get("hints") == 1)

        _mbpoll("-m", "tcp", "-p", port, "-a", unit, "-0", "-t", "4", "-r", "0", "-1", host, str(target))
        _wait("the write", lambda: _cell(out, user, "write").get("done"))

        assert _cli("class", "reset", str(out), user).returncode == 0
        _wait("the reset", lambda: not any(c["done"] for c in _cells(out, user).values()))
        status = _cli("class", "status", str(out))
        assert re.search(rf"{user} +\.\.\. +0/3 +score 0", status.stdout), status.stdout

        bad = _cli("class", "answer", str(out), "nobody", "guess", "1")
        assert bad.returncode == 2 and "no trainee 'nobody'" in bad.stderr and "Traceback" not in bad.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        log.close()
    assert code == 0, (tmp_path / "class.log").read_text()


def _cells(folder: Path, user: str) -> dict[str, Any]:
    return json.loads((folder / "progress.json").read_text())["cells"][user]
