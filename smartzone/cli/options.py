"""Checks of command-line values shared by several subcommands (errors exit 2)."""

from __future__ import annotations

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
