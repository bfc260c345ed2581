"""What the shipped courses' end-to-end tests share: a class in its own process, its progress file,
and what a trainee reads on its handout (no access to the class's internals: only files and clients)."""

from __future__ import annotations

import html
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 30.0


def wait(what: str, ok: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    """Poll `ok` until it returns something true, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ok()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def cell(folder: Path, user: str, step: str) -> dict[str, Any]:
    """A trainee's cell as the class saved it (empty while there is none)."""
    try:
        return json.loads((folder / "progress.json").read_text())["cells"].get(user, {}).get(step, {})
    except (OSError, ValueError):
        return {}


@contextmanager
def running_class(course: str, tmp: Path, *args: str, trainees: int = 2) -> Iterator[Path]:
    """`smartzone class start COURSE` in its own process until the block ends (then SIGINT, exit 0)."""
    out = tmp / "class"
    log_path = tmp / "class.log"
    cmd = [sys.executable, "-m", "smartzone", "class", "start", course, "--trainees", str(trainees)]
    cmd += ["--mqtt-port", "0", "--modbus-port", "0", "--out", str(out), "--board-every", "1", *args]
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            wait(  # the class prints this line once every handout is written
                "the handouts",
                lambda: proc.poll() is not None or "roster and handouts in" in log_path.read_text(),
            )
            assert proc.poll() is None, log_path.read_text()
            yield out
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
                raise
    text = log_path.read_text()
    assert code == 0 and "Traceback" not in text, text


class Paper:
    """A handout as plain text, and what a trainee copies from it."""

    def __init__(self, path: Path) -> None:
        self.text = re.sub(r"<[^>]+>", " ", html.unescape(path.read_text(encoding="utf-8")))
        left = re.findall(r"\{[a-z_]+\}", self.text)
        assert not left, f"unfilled template names in the handout: {left}"
        sub = re.search(r"mosquitto_sub -h (\S+) -p (\d+) -u (\S+) -P (\S+)", self.text)
        assert sub, "the handout has a mosquitto_sub line"
        self.host, self.port, self.user, self.password = sub.group(1), int(sub.group(2)), sub.group(3), sub.group(4)
        self.city = re.search(r"sz/v2/([a-z0-9-]+)/class/", self.text).group(1)  # type: ignore[union-attr]
        self.answer_topic = f"sz/v2/{self.city}/class/{self.user}/answer"

    def modbus(self, device: str) -> tuple[int, int]:
        """(gateway port, unit id) of one of the trainee's devices, from its Modbus line."""
        m = re.search(rf"Modbus \({re.escape(device)}\):\s+mbpoll -m tcp -p (\d+) -a (\d+)", self.text)
        assert m, f"no Modbus line for {device}"
        return int(m.group(1)), int(m.group(2))

    def after(self, label: str, pattern: str = r"\*?\*?\s*([a-z0-9-]+)") -> str:
        """The first word after `label` in the text (a device id, a gateway ...)."""
        m = re.search(re.escape(label) + pattern, self.text)
        assert m, f"{label!r} is not on the handout"
        return m.group(1)

    def mqtt_auth(self, suffix: str) -> list[str]:
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


def mbpoll(host: str, port: int, unit: int, *args: str, write: int | None = None) -> subprocess.CompletedProcess[str]:
    """One mbpoll run (a fresh TCP connection), as a trainee types it; `write` comes after the host."""
    cmd = ["mbpoll", "-m", "tcp", "-p", str(port), "-a", str(unit), "-0", "-1", "-o", "5", *args, host]
    cmd += [] if write is None else [str(write)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def mbpoll_values(out: str) -> list[int]:
    """The register values mbpoll printed (`[10]: 	231`)."""
    return [int(v) for v in re.findall(r"^\[\d+\]:\s+(-?\d+)", out, re.M)]


def answer(p: Paper, step: str, value: Any) -> None:
    """Publish an answer with mosquitto_pub on the trainee's answer topic."""
    payload = json.dumps({"step": step, "value": value})
    proc = subprocess.run(
        ["mosquitto_pub", *p.mqtt_auth("pub"), "-t", p.answer_topic, "-m", payload], capture_output=True, timeout=20
    )
    assert proc.returncode == 0, proc.stderr
