"""`smartzone run` when its mosquitto is killed: the outage is on stderr, in the summary and in
the trace; a mosquitto that cannot start again ends the run with exit 1 naming the broker.

The real command line in a child process, with the real mosquitto started through a wrapper
found first on PATH (as `find_mosquitto` finds any mosquitto): the wrapper records each
start's pid (exec keeps it, so it is mosquitto's) and refuses to start once told to.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartzone.cli.errors import EXIT_FAILED, EXIT_OK

from .conftest import has_mosquitto
from .harness import MQTT_CITY

COMPONENT = "mqtt broker (mosquitto)"
WAIT_S = 60.0


class Run:
    """`python -m smartzone run ...` in a child process; its stderr lines collected by a thread."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smartzone", "run", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self.eof = False
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, name="test-stderr", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait_line(self, text: str, timeout: float = WAIT_S) -> bool:
        """Wait (bounded) until a line containing `text` was printed (False at EOF or timeout)."""

        def seen() -> bool:
            return any(text in line for line in self.lines)

        with self.cond:
            self.cond.wait_for(lambda: seen() or self.eof, timeout)
            return seen()

    def finish(self, timeout: float = WAIT_S) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            self.reader.join(10)
        return code, "".join(self.lines)


@pytest.fixture
def wrapped(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A `mosquitto` wrapper on PATH: writes its pid to DIR/pid.N, fails while DIR/broken exists."""
    if not has_mosquitto():
        pytest.skip("mosquitto is not installed")
    from smartzone.endpoints.mqtt.broker.backends.mosquitto import find_mosquitto

    real = find_mosquitto()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "mosquitto"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"if [ -e {tmp_path}/broken ]; then echo 'mosquitto broken on purpose' >&2; exit 1; fi\n"
        f"echo $$ > {tmp_path}/pid.$(ls {tmp_path} | grep -c '^pid\\.')\n"
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    yield tmp_path, env


def _run(tmp: Path, env: dict[str, str]) -> Run:
    args = [str(MQTT_CITY), "--broker", "mosquitto", "--mqtt-port", "0", "--no-modbus", "--trace", str(tmp / "t.jsonl")]
    run = Run(args, env)
    assert run.wait_line("publishing 5 devices"), "".join(run.lines)
    return run


def _health_lines(trace: Path) -> list[dict[str, object]]:
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    return [r for r in records if r.get("kind") == "health"]


def test_a_killed_mosquitto_is_restarted_reported_and_traced(wrapped: tuple[Path, dict[str, str]]) -> None:
    tmp, env = wrapped
    run = _run(tmp, env)
    first = int((tmp / "pid.0").read_text())
    os.kill(first, signal.SIGKILL)
    assert run.wait_line(f"smartzone: up: {COMPONENT}"), "".join(run.lines)
    run.proc.send_signal(signal.SIGTERM)  # the user stops the run: it ends normally
    code, err = run.finish()
    assert code == EXIT_OK, err
    assert f"smartzone: down: {COMPONENT}: mosquitto (pid {first}) was killed by SIGKILL" in err
    assert f"health: {COMPONENT}: 1 outage(s)" in err and "Traceback" not in err
    assert int((tmp / "pid.1").read_text()) != first
    states = [(r["component"], r["state"]) for r in _health_lines(tmp / "t.jsonl")]
    assert states == [(COMPONENT, "down"), (COMPONENT, "up")]


def test_a_mosquitto_that_cannot_start_again_ends_the_run_with_exit_1(wrapped: tuple[Path, dict[str, str]]) -> None:
    tmp, env = wrapped
    run = _run(tmp, env)
    (tmp / "broken").touch()
    os.kill(int((tmp / "pid.0").read_text()), signal.SIGKILL)
    code, err = run.finish()
    assert code == EXIT_FAILED, err
    assert "smartzone: the run failed at " in err and f"{COMPONENT}: mosquitto (pid " in err
    assert "could not be restarted (3 attempts)" in err and "mosquitto broken on purpose" in err
    assert "Traceback" not in err
    assert [r["state"] for r in _health_lines(tmp / "t.jsonl")][:1] == ["down"]
