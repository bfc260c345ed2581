"""The city's public holidays: from the `holidays` package and the scenario's own table.

A scenario names its country and region (`calendar: {country: IT, subdivision: BO}`);
the national and regional holidays come from the `holidays` package (python-holidays,
maintained from the official gazettes), and `extra` adds local ones it does not carry
(a city's patron saint, e.g. La Merce in Barcelona). The clock turns the dates into day
types (core/clock.py): on a holiday the rest-day profiles apply and weekday-only timeline
events do not run.
"""

from __future__ import annotations

from datetime import date, datetime

import holidays as pyholidays

from smartzone.definitions.scenario import CalendarSpec


def holiday_dates(spec: CalendarSpec | None, start: datetime, years: int = 2) -> dict[date, str]:
    """Public holidays (date -> name) from the start year on, for *years* years."""
    if spec is None:
        return {}
    first = start.year
    span = range(first, first + years)
    found: dict[date, str] = {}
    if spec.country is not None:
        table = pyholidays.country_holidays(spec.country, subdiv=spec.subdivision, years=span)
        found.update({day: str(name) for day, name in sorted(table.items())})
    for extra in spec.extra:
        parts = [int(x) for x in extra.date.split("-")]
        if len(parts) == 3:  # one date
            found[date(*parts)] = extra.name
        else:  # every year: MM-DD
            for year in span:
                found[date(year, *parts)] = extra.name
    return found
