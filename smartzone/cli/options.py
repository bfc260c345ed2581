"""Checks of command-line values shared by several subcommands (errors exit 2)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from smartzone.definitions.catalog import Catalog
from smartzone.definitions.scenario import Scenario
from smartzone.definitions.start import run_start
from smartzone.definitions.units import parse_duration
from smartzone.errors import UsageError


def positive_speed(speed: float) -> float:
    if speed <= 0:
        raise UsageError(f"--speed must be positive, got {speed:g}")
    return speed


def positive_duration(text: str) -> float:
    """Seconds in a --duration value such as '90min' or '24h'."""
    try:
        duration = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--duration: {exc}") from None
    if duration <= 0:
        raise UsageError("--duration must be positive")
    return duration


def start_options(scenario: Scenario, fast: bool, start: str | None, start_hour: float | None) -> datetime:
    """The simulated start of a run from --start / --start-hour (see definitions/start.py)."""
    try:
        return run_start(scenario, fast=fast, start=start, start_hour=start_hour)
    except ValueError as exc:
        flag = "--start" if start is not None and start_hour is None else "--start-hour"
        raise UsageError(f"{flag}: {exc}") from None


def write_output(text: str, out: str | None, summary: str) -> None:
    """Write a generated document to --out (then say `wrote FILE (summary)`) or to stdout."""
    if not out:
        sys.stdout.write(text)
        return
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--out: cannot write {out}: {exc.strerror}") from None
    print(f"wrote {out} ({summary})")


def add_devices_option(parser: Any) -> None:
    """`--devices DIR`: an owner's folder of device types, added to the built-in catalog."""
    parser.add_argument(
        "--devices",
        metavar="DIR",
        help="a folder of your own device types (*.yaml) to add to the built-in ones (docs/owners.md)",
    )


def catalog_from_args(args: Any) -> Catalog:
    """The built-in catalog plus the types of `--devices DIR` (problems exit 2, naming file and line)."""
    catalog = Catalog.builtin()
    folder = getattr(args, "devices", None)
    if folder:
        path = Path(folder)
        if not path.is_dir():
            raise UsageError(f"--devices: no such folder {folder}")
        if not catalog.add_folder(path):
            raise UsageError(f"--devices: no *.yaml device types in {folder}")
    return catalog
