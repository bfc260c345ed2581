"""The city around the devices: traffic, daylight, weather and demand over simulated time.

Device behaviours read these through `ctx.NAME` references so that signals correlate the
way they do in a real city (rush-hour traffic raises NO2 and noise, dusk switches lights).

Traffic profile: hourly share of daily flow, normalised to the weekday peak, after the UK
DfT road traffic statistics table TRA0307 (traffic distribution by time of day, urban
roads). Daylight: solar elevation (NOAA approximation), 0 below civil twilight (-6 deg),
1 above +6 deg.
"""

from __future__ import annotations

import math
import random
from collections.abc import Generator
from typing import Any

import simpy

from smartzone.core.clock import SimClock

WEEKDAY_TRAFFIC = (
    0.12, 0.07, 0.05, 0.05, 0.08, 0.20, 0.50, 0.85, 1.00, 0.80, 0.70, 0.72,
    0.75, 0.72, 0.72, 0.80, 0.90, 1.00, 0.95, 0.75, 0.55, 0.42, 0.32, 0.20,
)
WEEKEND_TRAFFIC = (
    0.20, 0.14, 0.10, 0.07, 0.06, 0.08, 0.14, 0.25, 0.40, 0.55, 0.65, 0.72,
    0.75, 0.72, 0.70, 0.70, 0.72, 0.75, 0.70, 0.60, 0.50, 0.42, 0.35, 0.27,
)


def hourly(profile: tuple[float, ...], hour: float) -> float:
    """Linear interpolation in a 24-value hourly profile (value i holds at i:30)."""
    x = (hour - 0.5) % 24.0
    i = int(x)
    frac = x - i
    return profile[i] * (1.0 - frac) + profile[(i + 1) % 24] * frac


class CityContext:
    """Shared, time-varying conditions of one city, driven by its own weather stream."""

    def __init__(
        self,
        clock: SimClock,
        lat: float,
        lon: float,
        temp_mean_c: float,
        temp_amplitude_c: float,
        rain_chance: float,
        weather_rng: random.Random,
    ) -> None:
        self.clock = clock
        self.lat = math.radians(lat)
        self.lon = lon
        self.temp_mean = temp_mean_c
        self.temp_amplitude = temp_amplitude_c
        self.rain_chance = rain_chance
        self._rng = weather_rng
        self.temp_anomaly = weather_rng.gauss(0.0, 1.5)
        self.rain_mm_h = 0.0
        self._rain_left_h = 0
        # Multipliers set by scenario timelines (issue: network and faults); key -> factor.
        self.multipliers: dict[str, float] = {}

    def weather_process(self, env: simpy.Environment) -> Generator[Any, Any, None]:
        """Hourly weather: a slow temperature anomaly and Markov rain showers."""
        while True:
            self.temp_anomaly = 0.9 * self.temp_anomaly + self._rng.gauss(0.0, 0.6)
            if self._rain_left_h > 0:
                self._rain_left_h -= 1
                self.rain_mm_h = max(0.2, self.rain_mm_h * self._rng.uniform(0.6, 1.3))
            elif self._rng.random() < self.rain_chance:
                self._rain_left_h = self._rng.randint(1, 4)
                self.rain_mm_h = self._rng.uniform(0.5, 8.0)
            else:
                self.rain_mm_h = 0.0
            yield env.timeout(3600.0)

    def factor(self, key: str) -> float:
        return self.multipliers.get(key, 1.0)

    def traffic(self, t: float, weight: float = 1.0) -> float:
        """Traffic intensity, 1.0 = weekday peak on an average road."""
        hour = self.clock.hour(t)
        profile = WEEKEND_TRAFFIC if self.clock.is_weekend(t) else WEEKDAY_TRAFFIC
        rain_boost = 1.0 + min(self.rain_mm_h, 10.0) * 0.02
        return hourly(profile, hour) * weight * rain_boost * self.factor("traffic")

    def daylight(self, t: float) -> float:
        """0 at night, 1 in full daylight, ramps through civil twilight."""
        doy = self.clock.day_of_year(t)
        decl = math.radians(23.44) * math.sin(2 * math.pi * (284 + doy) / 365.0)
        utc_hours = (self.clock.epoch(t) % 86400.0) / 3600.0
        solar_hour = utc_hours + self.lon / 15.0
        hour_angle = math.radians(15.0 * (solar_hour - 12.0))
        sin_elev = math.sin(self.lat) * math.sin(decl) + math.cos(self.lat) * math.cos(decl) * math.cos(hour_angle)
        elevation = math.degrees(math.asin(max(-1.0, min(1.0, sin_elev))))
        cloud = 0.6 if self.rain_mm_h > 0 else 1.0
        return max(0.0, min(1.0, (elevation + 6.0) / 12.0)) * cloud

    def temperature(self, t: float) -> float:
        """Air temperature in deg C: daily swing peaking mid-afternoon, plus weather."""
        hour = self.clock.hour(t)
        swing = self.temp_amplitude * math.cos(2 * math.pi * (hour - 15.0) / 24.0)
        return self.temp_mean + swing + self.temp_anomaly - min(self.rain_mm_h, 5.0) * 0.4

    def rain(self, t: float) -> float:
        """Rain intensity in mm/h."""
        return self.rain_mm_h

    def demand(self, t: float, district: str, weight: float = 1.0) -> float:
        """Demand multiplier for a district (1.0 normally; timelines raise it for events)."""
        return weight * self.factor("demand") * self.factor(f"demand:{district}")
