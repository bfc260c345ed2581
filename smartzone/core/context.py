"""The city around the devices: traffic, daylight, weather and demand over simulated time.

Device behaviours read these through `ctx.NAME` references so that signals correlate the
way they do in a real city (rush-hour traffic raises NO2 and noise, dusk switches lights).

Traffic profile: hourly share of daily flow, normalised to the weekday peak, after the UK
DfT road traffic statistics table TRA0307 (traffic distribution by time of day, urban
roads; weekday, Saturday and Sunday columns) and TRA0305 (Sunday about 80 % of Saturday).
Public holidays use the Sunday profile. The sun comes from core/sun.py (astral), the
weather from core/weather.py (the scenario's climate statistics for the month).
"""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

import simpy

from smartzone.core.clock import SimClock
from smartzone.core.sun import Sun
from smartzone.core.weather import Weather
from smartzone.definitions.scenario import Climate

WEEKDAY_TRAFFIC = (
    0.12,
    0.07,
    0.05,
    0.05,
    0.08,
    0.20,
    0.50,
    0.85,
    1.00,
    0.80,
    0.70,
    0.72,
    0.75,
    0.72,
    0.72,
    0.80,
    0.90,
    1.00,
    0.95,
    0.75,
    0.55,
    0.42,
    0.32,
    0.20,
)
SATURDAY_TRAFFIC = (
    0.20,
    0.14,
    0.10,
    0.07,
    0.06,
    0.08,
    0.14,
    0.25,
    0.40,
    0.55,
    0.65,
    0.72,
    0.75,
    0.72,
    0.70,
    0.70,
    0.72,
    0.75,
    0.70,
    0.60,
    0.50,
    0.42,
    0.35,
    0.27,
)
SUNDAY_TRAFFIC = (
    0.22,
    0.16,
    0.11,
    0.07,
    0.05,
    0.05,
    0.08,
    0.14,
    0.24,
    0.38,
    0.50,
    0.58,
    0.62,
    0.60,
    0.58,
    0.60,
    0.62,
    0.64,
    0.60,
    0.52,
    0.44,
    0.36,
    0.28,
    0.20,
)
PROFILES = {
    "weekday": WEEKDAY_TRAFFIC,
    "saturday": SATURDAY_TRAFFIC,
    "sunday": SUNDAY_TRAFFIC,
    "holiday": SUNDAY_TRAFFIC,
}


def hourly(profile: tuple[float, ...], hour: float) -> float:
    """Linear interpolation in a 24-value hourly profile (value i holds at i:30)."""
    x = (hour - 0.5) % 24.0
    i = int(x)
    frac = x - i
    return profile[i] * (1.0 - frac) + profile[(i + 1) % 24] * frac


class CityContext:
    """Shared, time-varying conditions of one city, driven by its own weather stream."""

    def __init__(self, clock: SimClock, lat: float, lon: float, climate: Climate, weather_rng: random.Random) -> None:
        self.clock = clock
        self.sun = Sun(clock, lat, lon)
        self.weather = Weather(clock, self.sun, climate, weather_rng)
        # Multipliers set by scenario timelines (issue: network and faults); key -> factor.
        self.multipliers: dict[str, float] = {}

    @property
    def rain_mm_h(self) -> float:
        return self.weather.rain_mm_h

    def weather_process(self, env: simpy.Environment) -> Generator[Any, Any, None]:
        """The hourly weather process (register it before the devices)."""
        return self.weather.process(env)

    def factor(self, key: str) -> float:
        return self.multipliers.get(key, 1.0)

    def traffic(self, t: float, weight: float = 1.0) -> float:
        """Traffic intensity, 1.0 = weekday peak on an average road."""
        profile = PROFILES[self.clock.day_type(t)]
        rain_boost = 1.0 + min(self.rain_mm_h, 10.0) * 0.02
        return hourly(profile, self.clock.hour(t)) * weight * rain_boost * self.factor("traffic")

    def daylight(self, t: float) -> float:
        """0 at night, 1 in full daylight, ramps through civil twilight (-6 to +6 deg); dimmer under cloud."""
        ramp = max(0.0, min(1.0, (self.sun.elevation(t) + 6.0) / 12.0))
        return ramp * (1.0 - 0.4 * self.weather.cloud(t) ** 2)

    def sun_event(self, name: str, t: float) -> float:
        """Simulated time of `sunrise`, `sunset`, `dawn`, `dusk` or `noon` on the local date of t."""
        return self.sun.events(t)[name]

    def temperature(self, t: float) -> float:
        """Air temperature in deg C."""
        return self.weather.temperature(t)

    def rain(self, t: float) -> float:
        """Rain intensity in mm/h."""
        return self.rain_mm_h

    def radiation(self, t: float) -> float:
        """Global horizontal irradiance in W/m2."""
        return self.weather.radiation(t)

    def cloud(self, t: float) -> float:
        """Cloud cover 0-1."""
        return self.weather.cloud(t)

    def demand(self, t: float, district: str, weight: float = 1.0) -> float:
        """Demand multiplier for a district (1.0 normally; timelines raise it for events)."""
        return weight * self.factor("demand") * self.factor(f"demand:{district}")
