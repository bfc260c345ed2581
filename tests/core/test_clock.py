"""SimClock: ISO timestamps (cached per second) equal the plain datetime computation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from smartzone.core.clock import SimClock


def plain_iso(start: datetime, t: float) -> str:
    moment = start.astimezone(UTC) + timedelta(seconds=round(t, 3))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@pytest.mark.parametrize(
    "start",
    [
        datetime(2026, 11, 23, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC),  # crosses a year at t = 0.001
        datetime(2026, 3, 29, 1, 59, 58, 500_000, tzinfo=UTC),
    ],
)
def test_iso_matches_datetime_arithmetic(start: datetime) -> None:
    clock = SimClock(start, "Europe/Rome")
    rng = random.Random(7)
    samples = [0.0, 0.0005, 0.0015, 0.001, 0.999, 0.9995, 0.9999, 1.0, 59.9996, 3599.9994, 86_400.0]
    samples += [rng.uniform(0, 2 * 86_400) for _ in range(3000)]
    samples += [round(rng.uniform(0, 100), 4) for _ in range(3000)]
    for t in samples:
        assert clock.iso(t) == plain_iso(start, t), t


def test_iso_known_value() -> None:
    clock = SimClock(datetime(2026, 11, 21, 8, 0, tzinfo=UTC), "Europe/Rome")
    assert clock.iso(5.25) == "2026-11-21T08:00:05.250Z"
    assert clock.iso(5.25) == "2026-11-21T08:00:05.250Z"  # cached prefix
