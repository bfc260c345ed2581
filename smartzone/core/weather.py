"""The city's weather from its climate statistics for the month (scenario `climate`).

Wet and dry days follow a two-state Markov chain whose long-run share of wet days is
`rain_days / 30` (with day-to-day persistence, as observed: Gabriel & Neumann 1962); a wet
day's rainfall is exponential with mean `rain_mm / rain_days` (Wilks, Statistical Methods
in the Atmospheric Sciences, ch. 4), falling in one or two spells of 2-6 hours. Cloud
cover is drawn per day (overcast when wet) around the month's mean. Global horizontal
radiation is the Haurwitz clear-sky model scaled by the Kasten-Czeplak cloud factor
(1 - 0.75 C^3.4). Temperature has its minimum at sunrise and its maximum about two hours
after solar noon, with a smaller swing under cloud, plus a slow hourly anomaly.
"""

from __future__ import annotations

import math
import random
from collections.abc import Generator
from datetime import date
from typing import Any

import simpy

from smartzone.core.clock import SimClock
from smartzone.core.sun import Sun
from smartzone.definitions.scenario import Climate

PERSISTENCE = 0.3  # extra chance that a wet day follows a wet day
HOUR = 3600.0


class Weather:
    """Daily wet/dry and cloud draws, hourly rain and temperature anomaly, from one stream."""

    def __init__(self, clock: SimClock, sun: Sun, climate: Climate, rng: random.Random) -> None:
        self.clock, self.sun, self.climate, self._rng = clock, sun, climate, rng
        self.p_wet = climate.wet_day_chance()
        rain_days = climate.rain_days if climate.rain_days is not None else self.p_wet * 30.0
        self.mean_wet_mm = climate.rain_mm / rain_days if rain_days > 0 else 0.0
        self.temp_anomaly = rng.gauss(0.0, 1.5)
        self.rain_mm_h = 0.0
        self.wet = rng.random() < self.p_wet
        self.cloud_today = self._draw_cloud()
        self._hourly_rain: dict[int, float] = {}
        self._draw_rain()
        self._day: date | None = None

    def _draw_cloud(self) -> float:
        if self.wet:
            return self._rng.uniform(0.8, 1.0)
        c, p = self.climate.cloud_cover, self.p_wet
        dry_mean = min(0.95, max(0.05, (c - p * 0.9) / (1.0 - p))) if p < 1 else c
        return self._rng.betavariate(2.0 * dry_mean, 2.0 * (1.0 - dry_mean))

    def _new_day(self) -> None:
        rng = self._rng
        stay = self.p_wet + PERSISTENCE * (1.0 - self.p_wet) if self.wet else self.p_wet * (1.0 - PERSISTENCE)
        self.wet = rng.random() < stay
        self.cloud_today = self._draw_cloud()
        self._draw_rain()

    def _draw_rain(self) -> None:
        """Today's rain by local hour: an exponential total in one or two spells."""
        rng = self._rng
        self._hourly_rain = {}
        if self.wet and self.mean_wet_mm > 0:
            total = rng.expovariate(1.0 / self.mean_wet_mm)
            spells = 1 if rng.random() < 0.6 else 2
            for _ in range(spells):
                start, hours = rng.randrange(24), rng.randint(2, 6)
                weights = [rng.uniform(0.5, 1.5) for _ in range(hours)]
                for i, w in enumerate(weights):
                    h = (start + i) % 24
                    self._hourly_rain[h] = self._hourly_rain.get(h, 0.0) + total / spells * w / sum(weights)

    def process(self, env: simpy.Environment) -> Generator[Any, Any, None]:
        """Hourly: a new day at local midnight, this hour's rain, the temperature anomaly."""
        while True:
            t = env.now
            day = self.clock.date(t)
            if day != self._day:
                if self._day is not None:
                    self._new_day()
                self._day = day
            self.rain_mm_h = self._hourly_rain.get(int(self.clock.hour(t)), 0.0)
            self.temp_anomaly = 0.95 * self.temp_anomaly + self._rng.gauss(0.0, 0.35)
            yield env.timeout(HOUR)

    def cloud(self, t: float) -> float:
        """Cloud cover 0-1 now (overcast while it rains)."""
        return 1.0 if self.rain_mm_h > 0 else self.cloud_today

    def radiation(self, t: float) -> float:
        """Global horizontal irradiance, W/m2."""
        elev = self.sun.elevation(t)
        if elev <= 0:
            return 0.0
        s = math.sin(math.radians(elev))
        clear = 1098.0 * s * math.exp(-0.057 / s)
        return clear * (1.0 - 0.75 * self.cloud(t) ** 3.4)

    def temperature(self, t: float) -> float:
        """Air temperature, deg C: minimum at sunrise, maximum two hours after solar noon."""
        ev = self.sun.events(t)
        rise, peak = ev["sunrise"], ev["noon"] + 2.0 * HOUR
        c_mean = self.climate.cloud_cover
        amp = self.climate.temp_amplitude_c * (1.3 - 0.6 * self.cloud(t)) / (1.3 - 0.6 * c_mean)
        if t < rise:  # before today's sunrise: the fall that began after yesterday's peak
            start, end, sign = peak - 86400.0, rise, 1.0
        elif t < peak:
            start, end, sign = rise, peak, -1.0
        else:
            start, end, sign = peak, rise + 86400.0, 1.0
        phase = math.pi * (t - start) / (end - start)
        swing = sign * amp * math.cos(phase)
        return self.climate.temp_mean_c + swing + self.temp_anomaly - min(self.rain_mm_h, 5.0) * 0.4
