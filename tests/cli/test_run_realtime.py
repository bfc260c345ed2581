"""A real-time run as a user starts it: live summary, then Ctrl-C stops it cleanly (exit 0)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

FIXTURE = str(Path(__file__).parents[1] / "fixtures" / "testville.yaml")


def test_ctrl_c_stops_a_realtime_run_cleanly(tmp_path: Path, endpoints_off: list[str]) -> None:
    err_path = tmp_path / "stderr.txt"
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "smartzone", "run", FIXTURE, "--speed", "600", *endpoints_off],
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while "online" not in err_path.read_text() and time.monotonic() < deadline:
                assert proc.poll() is None, err_path.read_text()
                time.sleep(0.05)
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    text = err_path.read_text()
    assert code == 0, text
    assert "real time x600" in text
    assert "5/5 online" in text
    assert "stopped: simulated" in text
    assert "Traceback" not in text
