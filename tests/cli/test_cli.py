"""The headless command line as a user runs it (subprocesses, real files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from smartzone.cli import main

FIXTURE = str(Path(__file__).parents[1] / "fixtures" / "testville.yaml")


def _endpoint_off_flags() -> list[str]:
    """Headless core runs switch off whichever endpoints this installation has."""
    help_text = subprocess.run(
        [sys.executable, "-m", "smartzone", "run", "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    return [flag for flag in ("--no-mqtt", "--no-modbus") if flag in help_text]


OFF = _endpoint_off_flags()


def smartzone(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smartzone", *args], capture_output=True, text=True, timeout=timeout)


def test_fast_run_writes_identical_traces_for_the_same_seed(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    for path, seed in ((a, "7"), (b, "7"), (c, "8")):
        proc = smartzone("run", FIXTURE, "--fast", "--duration", "24h", "--seed", seed, "--trace", str(path), *OFF)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    lines = [json.loads(line) for line in a.read_text().splitlines()]
    assert lines[0]["kind"] == "manifest" and lines[0]["seed"] == 7
    kinds = {line["kind"] for line in lines[1:]}
    assert "reading" in kinds
    readings = [r for r in lines if r["kind"] == "reading"]
    assert readings[-1]["ts"].startswith("2026-11-23T") or readings[-1]["ts"].startswith("2026-11-24T")
    assert all(r["ts"].endswith("Z") and len(r["ts"]) == 24 for r in readings)


def test_progress_and_summary_lines(tmp_path: Path) -> None:
    proc = smartzone("run", FIXTURE, "--fast", "--duration", "2h", *OFF)
    assert proc.returncode == 0
    assert "seed 1" in proc.stderr and "done: simulated 2h" in proc.stderr


def test_bad_cli_values_exit_2() -> None:
    for args in (["--duration", "forever"], ["--speed", "0"], ["--seed", "-1"]):
        proc = smartzone("run", FIXTURE, *args, *OFF)
        assert proc.returncode == 2, args
        assert "Traceback" not in proc.stderr
        assert proc.stderr.startswith("smartzone: --")


def test_unknown_scenario_name_is_a_clear_error() -> None:
    proc = smartzone("run", "atlantis")
    assert proc.returncode == 2
    assert "atlantis.yaml: cannot read file" in proc.stderr


def test_devices_lists_types_signals_and_commands(capsys) -> None:
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "street-light" in out and "command dim(level: int 0..100)" in out and "signal  power" in out


def test_validate_ok_files(capsys) -> None:
    assert main(["validate", FIXTURE]) == 0
    assert "ok (scenario testville, 5 devices)" in capsys.readouterr().out
