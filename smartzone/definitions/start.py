"""When a run starts in simulated time: the scenario's `start`, a busy hour for real-time runs,
or what the user asked for (`--start`, `--start-hour`).

Fast runs (and so traces, determinism checks and certification) keep the scenario's `start`
unless told otherwise: the same scenario and seed must give the same trace. Real-time runs
start on the same date at the scenario's `realtime_start_hour` (default 08:00) in the city's
local time, so someone who starts SmartZone to look at it sees a city that is awake.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from smartzone.definitions.scenario import Scenario


def at_local_hour(scenario: Scenario, hour: float) -> datetime:
    """The scenario's start date at `hour` (0 <= hour < 24) local time, in UTC."""
    if not 0 <= hour < 24:
        raise ValueError(f"the start hour must be from 0 to 23.99, got {hour:g}")
    zone = ZoneInfo(scenario.timezone)
    day = scenario.start.astimezone(zone).date()
    local = datetime.combine(day, time(0), tzinfo=zone) + timedelta(hours=hour)
    # recombine so that a DST change on that day gives the wall-clock hour asked for
    local = datetime.combine(day, local.time(), tzinfo=zone)
    return local.astimezone(UTC)


def parse_start(scenario: Scenario, text: str) -> datetime:
    """An ISO 8601 date and time; without a UTC offset it is the city's local time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date and time (e.g. 2026-11-23T08:00): {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(scenario.timezone))
    return value.astimezone(UTC)


def run_start(scenario: Scenario, *, fast: bool, start: str | None = None, start_hour: float | None = None) -> datetime:
    """The simulated start instant of a run (see the module docstring); ValueError for bad input."""
    if start is not None and start_hour is not None:
        raise ValueError("give either a start date and time or a start hour, not both")
    if start is not None:
        return parse_start(scenario, start)
    if start_hour is not None:
        return at_local_hour(scenario, start_hour)
    if fast:
        return scenario.start
    return at_local_hour(scenario, scenario.realtime_start_hour)
