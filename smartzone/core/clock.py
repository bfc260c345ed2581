"""Simulated time: seconds since the scenario start, shown as ISO 8601 UTC or local hours.

The clock also knows the city's calendar: the local date and its day type (weekday,
saturday, sunday or holiday), so that demand profiles and timeline events follow the
working week and the public holidays the scenario declares (core/calendar.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

DayType = Literal["weekday", "saturday", "sunday", "holiday"]


class SimClock:
    """Converts simulation seconds to timestamps and to the city's local time of day."""

    def __init__(self, start: datetime, tz: str, holidays: Iterable[date] = ()) -> None:
        self.start = start.astimezone(UTC)
        self.zone = ZoneInfo(tz)
        self.holidays = frozenset(holidays)
        self._epoch = self.start.timestamp()
        self._offsets: dict[int, tuple[float, int, date]] = {}
        self._whole_start = self.start.replace(microsecond=0)
        self._seconds: dict[int, str] = {}  # iso() prefixes by whole second

    def epoch(self, t: float) -> float:
        """Unix epoch seconds of simulated time *t*."""
        return self._epoch + t

    def iso(self, t: float) -> str:
        """'2026-11-21T08:00:05.250Z' for simulated time *t* (rounded to the millisecond).

        Hot path (every telemetry payload): the date and time up to the second are
        formatted once per simulated second and cached.
        """
        micros = self.start.microsecond + round(round(t, 3) * 1_000_000)
        whole, micros = divmod(micros, 1_000_000)
        prefix = self._seconds.get(whole)
        if prefix is None:
            if len(self._seconds) > 4096:
                self._seconds.clear()
            moment = self._whole_start + timedelta(seconds=whole)
            prefix = self._seconds[whole] = moment.strftime("%Y-%m-%dT%H:%M:%S.")
        return f"{prefix}{micros // 1000:03d}Z"

    def _local(self, t: float) -> tuple[float, int, date]:
        hour_index = int(t // 3600)
        cached = self._offsets.get(hour_index)
        if cached is None:
            local = (self.start + timedelta(seconds=hour_index * 3600)).astimezone(self.zone)
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            cached = ((local - midnight).total_seconds() - hour_index * 3600, local.weekday(), local.date())
            if len(self._offsets) > 4096:
                self._offsets.clear()
            self._offsets[hour_index] = cached
        return cached

    def hour(self, t: float) -> float:
        """Local hour of day in [0, 24)."""
        offset = self._local(t)[0]
        return ((t + offset) / 3600.0) % 24.0

    def _day(self, t: float) -> tuple[int, date]:
        """Local weekday and date at t (exact even when the start is not on a whole hour)."""
        offset, wd, day = self._local(t)
        if t + offset >= 86400.0:  # midnight passed within this hour of simulated time
            return (wd + 1) % 7, day + timedelta(days=1)
        return wd, day

    def weekday(self, t: float) -> int:
        """Local day of week, Monday = 0."""
        return self._day(t)[0]

    def date(self, t: float) -> date:
        """Local calendar date."""
        return self._day(t)[1]

    def day_type(self, t: float) -> DayType:
        """weekday, saturday, sunday or holiday (a public holiday wins over the day of week)."""
        wd, day = self._day(t)
        if day in self.holidays:
            return "holiday"
        return "weekday" if wd < 5 else "saturday" if wd == 5 else "sunday"

    def is_weekend(self, t: float) -> bool:
        """True on a rest day: Saturday, Sunday or a public holiday (rest-day profiles apply)."""
        wd, day = self._day(t)
        return wd >= 5 or day in self.holidays
