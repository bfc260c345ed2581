"""The sun over the city: elevation, sunrise, sunset, dawn and dusk from the `astral` library.

astral (pure Python, NOAA solar equations including the equation of time and refraction)
gives the times street lights switch by and the elevation that drives daylight, clear-sky
radiation and the daily temperature cycle. Results are cached: elevation per simulated
minute, event times per local date.
"""

from __future__ import annotations

from datetime import date, datetime, time

from astral import Observer
from astral.sun import elevation, sun

from smartzone.core.clock import SimClock

CACHE_LIMIT = 4096
MINUTE = 60.0


class Sun:
    """Solar geometry for one place, in the simulated time of one clock."""

    def __init__(self, clock: SimClock, lat: float, lon: float) -> None:
        self.clock = clock
        self.observer = Observer(latitude=lat, longitude=lon, elevation=0.0)
        self._elevation: dict[int, float] = {}
        self._events: dict[date, dict[str, float]] = {}

    def elevation(self, t: float) -> float:
        """Solar elevation in degrees (with refraction), taken once per simulated minute."""
        minute = int(t // MINUTE)
        value = self._elevation.get(minute)
        if value is None:
            if len(self._elevation) > CACHE_LIMIT:
                self._elevation.clear()
            moment = datetime.fromtimestamp(self.clock.epoch(minute * MINUTE), self.clock.zone)
            value = self._elevation[minute] = float(elevation(self.observer, moment))
        return value

    def events(self, t: float) -> dict[str, float]:
        """Simulated times of dawn, sunrise, noon, sunset and dusk on the local date of *t*.

        Where the sun does not rise or set that day (polar day or night), sunrise and sunset
        fall back to noon +/- 12 h or noon itself, so a light stays on or off all day.
        """
        day = self.clock.date(t)
        found = self._events.get(day)
        if found is None:
            if len(self._events) > CACHE_LIMIT:
                self._events.clear()
            base = self.clock.epoch(0.0)
            try:
                times = sun(self.observer, date=day, tzinfo=self.clock.zone)
                found = {k: v.timestamp() - base for k, v in times.items()}
            except ValueError:  # no sunrise or sunset that day
                noon = datetime.combine(day, time(12), self.clock.zone).timestamp() - base
                up = self.elevation(noon) > 0
                rise, fall = (noon - 43200.0, noon + 43200.0) if up else (noon, noon)
                found = {"dawn": rise, "sunrise": rise, "noon": noon, "sunset": fall, "dusk": fall}
            self._events[day] = found
        return found
