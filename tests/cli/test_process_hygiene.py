"""Process hygiene of the CLI, as a shell runs it: signals in the background, closed pipes, a full disk.

Subprocesses only: the signal dispositions, pipes and exit codes are the process's own.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURE = str(Path(__file__).parents[1] / "fixtures" / "testville.yaml")
WAIT_S = 30.0
SMARTZONE = [sys.executable, "-m", "smartzone"]


def _background() -> None:
    """What a non-interactive shell does for `cmd &`: the child starts with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


def _wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    """Poll a condition of another process (no event to wait on) until a bounded deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children, and the brokers' own children)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _broker() -> str:
    return "mosquitto" if shutil.which("mosquitto") else "embedded"


@pytest.mark.parametrize(("how", "sig"), [("background", signal.SIGINT), ("terminal", signal.SIGTERM)])
def test_a_signal_stops_a_run_cleanly(tmp_path: Path, how: str, sig: signal.Signals) -> None:
    """SIGINT with SIGINT inherited as ignored (`smartzone run &`), and SIGTERM: summary, children
    stopped, ports freed, exit 0."""
    err_path = tmp_path / "stderr.txt"
    args = ["run", FIXTURE, "--speed", "600", "--broker", _broker(), "--mqtt-port", "0", "--modbus-port", "0"]
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [*SMARTZONE, *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
            preexec_fn=_background if how == "background" else None,
        )
        try:
            assert _wait_until(lambda: "online" in err_path.read_text() or proc.poll() is not None)
            assert proc.poll() is None, err_path.read_text()
            text = err_path.read_text()
            ports = [int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", text)]
            children = _descendants(proc.pid)
            proc.send_signal(sig)
            code = proc.wait(timeout=WAIT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    text = err_path.read_text()
    assert code == 0, text
    assert "stopped: simulated" in text and "Traceback" not in text
    assert len(ports) >= 2  # the broker and the Modbus gateway were up
    assert _wait_until(lambda: not any(_alive(p) for p in children), 10), "a child outlived the run"
    assert all(_port_free(p) for p in ports)


def _small_pipe() -> tuple[int, int]:
    """A pipe of one page: the writer meets a closed reader at once (Linux pipes can hold 1 MB)."""
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    return r, w


@pytest.mark.parametrize("command", [["devices"], ["export", "asyncapi", "bologna"]], ids=" ".join)
def test_a_closed_stdout_pipe_ends_quietly(command: list[str]) -> None:
    """`smartzone devices | true` (the reader is gone before the first write): no traceback, exit 1."""
    r, w = os.pipe()
    os.close(r)
    proc = subprocess.Popen([*SMARTZONE, *command], stdout=w, stderr=subprocess.PIPE)
    os.close(w)
    try:
        _, err = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert err == b"", err.decode(errors="replace")[-2000:]
    assert proc.returncode == 1


def test_a_closed_stderr_pipe_ends_a_run_and_stops_its_children() -> None:
    """`smartzone run 2>&1 | head -1`: the run ends (no hang) and its broker does not outlive it."""
    r, w = _small_pipe()
    args = ["run", FIXTURE, "--speed", "600", "--broker", _broker(), "--mqtt-port", "0", "--modbus-port", "0"]
    proc = subprocess.Popen([*SMARTZONE, *args], stdout=subprocess.DEVNULL, stderr=w)
    os.close(w)
    try:
        with os.fdopen(r, "rb") as reader:
            seen = b""
            while b"online" not in seen and len(seen) < 100_000:
                chunk = reader.read1(4096)
                if not chunk:
                    break
                seen += chunk
            assert b"online" in seen, seen.decode(errors="replace")
            children = _descendants(proc.pid)
        code = proc.wait(timeout=WAIT_S)  # the next status line meets the closed pipe
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert code == 1
    assert _wait_until(lambda: not any(_alive(p) for p in children), 10), "a child outlived the run"


@pytest.mark.parametrize("duration", ["7d", "1min"])  # a write fails mid-run (400 kB) / only the last flush fails
def test_a_full_disk_for_the_trace_is_one_line_and_exit_1(duration: str, endpoints_off: list[str]) -> None:
    proc = subprocess.run(
        [
            *SMARTZONE,
            "run",
            FIXTURE,
            "--fast",
            "--duration",
            duration,
            "--trace",
            "/dev/full",
            "--quiet",
            *endpoints_off,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "trace file /dev/full" in lines[0] and "No space left on device" in lines[0]


def test_sigint_in_the_background_stops_a_certification_and_its_app(tmp_path: Path) -> None:
    city = Path(__file__).parents[1] / "certify" / "certville.yaml"
    pid_file = tmp_path / "app.pid"
    app = f"{sys.executable} -c \"import os, time; open('{pid_file}', 'w').write(str(os.getpid())); time.sleep(120)\""
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    args = ["certify", str(city), "--app", app, "--user", "demo-app", "--report", str(tmp_path / "report")]
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen([*SMARTZONE, *args], stdout=out, stderr=err, preexec_fn=_background)
        try:
            assert _wait_until(lambda: (pid_file.exists() and pid_file.read_text() != "") or proc.poll() is not None)
            assert proc.poll() is None, err_path.read_text()
            app_pid = int(pid_file.read_text())
            children = _descendants(proc.pid)
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=WAIT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    err_text = err_path.read_text()
    assert code == 130, err_text
    assert "certify: interrupted" in err_text and "Traceback" not in err_text
    assert app_pid in children
    assert _wait_until(lambda: not any(_alive(p) for p in children), 10), "the app or a broker outlived certify"


def test_stop_requests_first_signal_asks_second_unwinds_then_restores() -> None:
    """In-process: the handlers of `smartzone run` (cli/process.py), with SIGINT ignored before."""
    from smartzone.cli.process import stop_requests

    asked = []
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as inherited by `smartzone run &`
    try:
        with stop_requests(lambda: asked.append(1)) as stopped:
            os.kill(os.getpid(), signal.SIGINT)
            assert _wait_until(stopped.is_set, 5) and asked == [1]
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGTERM)
                _wait_until(lambda: False, 5)  # the handler raises here, at the latest
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # restored
    finally:
        signal.signal(signal.SIGINT, previous)
