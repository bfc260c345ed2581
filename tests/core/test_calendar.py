"""The city's calendar: day types from the holidays package, rest-day profiles, weekday-only events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from netkit import scenario_with

from smartzone.core.calendar import holiday_dates
from smartzone.core.clock import SimClock
from smartzone.core.events import TimelineChanged
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.scenario import CalendarSpec

H = 3600.0
DAY = 86400.0


def test_pilot_cities_holidays() -> None:
    start = datetime(2026, 11, 23, tzinfo=UTC)
    bologna = holiday_dates(CalendarSpec(country="IT", subdivision="BO"), start)
    genoa = holiday_dates(CalendarSpec(country="IT", subdivision="GE"), start)
    london = holiday_dates(CalendarSpec(country="GB", subdivision="ENG"), start)
    barcelona = holiday_dates(
        CalendarSpec(country="ES", subdivision="CT", extra=[{"date": "09-24", "name": "Merce"}]), start
    )
    assert date(2026, 12, 8) in bologna and date(2027, 10, 4) in bologna  # Immacolata, San Petronio
    assert date(2027, 6, 24) in genoa and date(2027, 6, 24) not in bologna  # San Giovanni: Genoa only
    assert date(2026, 12, 28) in london and date(2026, 12, 8) not in london  # Boxing Day (substitute)
    assert date(2026, 12, 26) in barcelona and barcelona[date(2027, 9, 24)] == "Merce"
    assert holiday_dates(None, start) == {}


def test_day_types_in_local_time() -> None:
    # Monday 2026-12-07 00:00 in Rome; 8 December is a holiday (Immacolata Concezione)
    clock = SimClock(datetime(2026, 12, 6, 23, 0, tzinfo=UTC), "Europe/Rome", [date(2026, 12, 8)])
    kinds = [clock.day_type(d * DAY + 12 * H) for d in range(7)]
    assert kinds == ["weekday", "holiday", "weekday", "weekday", "weekday", "saturday", "sunday"]
    assert [clock.is_weekend(d * DAY + 12 * H) for d in range(7)] == [False, True, False, False, False, True, True]
    assert clock.date(DAY - 1) == date(2026, 12, 7) and clock.date(DAY) == date(2026, 12, 8)


def _traffic_by_day(world: World) -> list[float]:
    """Mean traffic intensity 07:00-10:00 local on each day of the first week."""
    out = []
    for d in range(7):
        ts = [d * DAY + h * 60.0 for h in range(7 * 60, 10 * 60, 10)]  # testville's day starts 01:00 local
        out.append(sum(world.ctx.traffic(t - H) for t in ts) / len(ts))
    return out


def test_weekday_only_rush_hour_and_holiday_profile(tmp_path: Path, catalog: Catalog) -> None:
    timeline = [
        {
            "name": "rush",
            "at": "07:30",
            "end": "09:30",
            "daily": True,
            "days": ["weekday"],
            "multiply": {"traffic": 1.2},
        }
    ]
    # testville starts Monday 2026-11-23; declare Wednesday 25 a local holiday
    sc = scenario_with(
        tmp_path,
        catalog,
        timeline=timeline,
        calendar={"country": "IT", "extra": [{"date": "2026-11-25", "name": "test holiday"}]},
    )
    world = World(sc, catalog, network=False)
    edges: list[tuple[float, bool]] = []
    world.bus.subscribe(lambda e: edges.append((e.t, e.active)) if isinstance(e, TimelineChanged) else None)
    world.run(7 * DAY)
    starts = [round(t / DAY, 3) for t, active in edges if active]
    # 07:30 local = 06:30 UTC: Monday, Tuesday, Thursday, Friday; not the holiday, not the weekend
    assert starts == [round(d + 6.5 / 24, 3) for d in (0, 1, 3, 4)]
    assert world.ctx.multipliers == {}
    morning = _traffic_by_day(world)
    assert min(morning[d] for d in (0, 1, 3, 4)) > 2 * max(morning[d] for d in (2, 5, 6))


def test_weekend_alias_and_unreachable_day_type_ends(tmp_path: Path, catalog: Catalog) -> None:
    timeline: list[dict[str, Any]] = [
        {
            "name": "market",
            "at": "09:00",
            "duration": "2h",
            "daily": True,
            "days": ["weekend"],
            "multiply": {"demand": 2},
        },
        {
            "name": "never",
            "at": "09:00",
            "duration": "1h",
            "daily": True,
            "days": ["holiday"],
            "multiply": {"demand": 3},
        },
    ]
    world = World(scenario_with(tmp_path, catalog, timeline=timeline), catalog, network=False)
    names: list[tuple[str, int]] = []
    world.bus.subscribe(
        lambda e: names.append((e.name, int(e.t // DAY))) if isinstance(e, TimelineChanged) and e.active else None
    )
    world.run(8 * DAY)
    assert names == [("market", 5), ("market", 6)]  # Saturday, Sunday; no holiday declared, no hang


def test_local_date_exact_when_the_start_is_not_on_a_whole_hour() -> None:
    clock = SimClock(datetime(2026, 11, 27, 22, 30, tzinfo=UTC), "Europe/Rome")  # Friday 23:30 in Rome
    assert clock.date(1799.0) == date(2026, 11, 27) and clock.day_type(1799.0) == "weekday"
    assert clock.date(1800.0) == date(2026, 11, 28) and clock.day_type(1800.0) == "saturday"
    assert clock.weekday(3599.0) == 5 and clock.is_weekend(1800.0) and not clock.is_weekend(0.0)
