"""When a run starts in simulated time: a busy local hour in real time, the scenario's start
when fast (traces stay as they were), or --start / --start-hour; bad values exit 2 in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.start import at_local_hour, run_start

FIXTURE = str(Path(__file__).parents[1] / "fixtures" / "testville.yaml")  # Rome, start 2026-11-23T00:00Z


def smartzone(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smartzone", *args], capture_output=True, text=True, timeout=120)


def header(proc: subprocess.CompletedProcess[str]) -> str:
    return next(line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("SmartZone |"))


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["--speed", "3600", "--duration", "1min"], "2026-11-23T07:00:00.000Z"),  # 08:00 in Rome
        (["--fast", "--duration", "10min"], "2026-11-23T00:00:00.000Z"),  # the scenario's own start
        (["--fast", "--duration", "10min", "--start-hour", "17.5"], "2026-11-23T16:30:00.000Z"),
        (["--fast", "--duration", "10min", "--start", "2026-11-21T08:00"], "2026-11-21T07:00:00.000Z"),
        (["--speed", "3600", "--duration", "1min", "--start", "2026-11-21T08:00+00:00"], "2026-11-21T08:00:00.000Z"),
    ],
)
def test_the_start_of_a_run(args: list[str], start: str, endpoints_off: list[str]) -> None:
    proc = smartzone("run", FIXTURE, *args, *endpoints_off)
    assert proc.returncode == 0, proc.stderr
    assert f"start {start} |" in header(proc)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start-hour", "24"], "smartzone: --start-hour: the start hour must be from 0 to 23.99, got 24"),
        (["--start", "monday"], "smartzone: --start: not an ISO 8601 date and time"),
        (["--start", "2026-11-21T08:00", "--start-hour", "8"], "give either a start date and time or a start hour"),
    ],
)
def test_a_bad_start_exits_2_in_one_line(args: list[str], message: str, endpoints_off: list[str]) -> None:
    proc = smartzone("run", FIXTURE, "--fast", "--duration", "1min", *args, *endpoints_off)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_the_local_hour_holds_across_a_daylight_saving_change(catalog: Catalog) -> None:
    sc = load_scenario(Path(FIXTURE), catalog)
    spring = sc.model_copy(update={"start": sc.start.replace(year=2026, month=3, day=29)})  # CET -> CEST at 02:00
    assert at_local_hour(spring, 8).isoformat() == "2026-03-29T06:00:00+00:00"
    assert at_local_hour(sc, 8).isoformat() == "2026-11-23T07:00:00+00:00"
    assert run_start(sc.model_copy(update={"realtime_start_hour": 18}), fast=False).hour == 17
