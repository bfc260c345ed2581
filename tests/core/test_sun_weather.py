"""The sun and the weather from the city's place and date: light switching, rain, temperature, radiation."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import simpy
from astral import Observer
from astral.sun import sun
from netkit import scenario_with

from smartzone.core.clock import SimClock
from smartzone.core.events import Reading
from smartzone.core.simenv import CityEnvironment
from smartzone.core.sun import Sun
from smartzone.core.weather import Weather
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.scenario import Climate

H = 3600.0
DAY = 86400.0
ROME = ZoneInfo("Europe/Rome")


def test_lights_follow_sunset_and_sunrise_with_the_declared_offsets(tmp_path: Path, catalog: Catalog) -> None:
    fleets = [{"type": "street-light", "tenant": "comune", "count": 3, "id_prefix": "l"}]
    sc = scenario_with(tmp_path, catalog, fleets=fleets, dropouts={"fraction": 0})
    world = World(sc, catalog, network=False)
    edges: dict[str, list[tuple[float, bool]]] = {}
    last: dict[str, bool] = {}

    def on(e: object) -> None:
        if isinstance(e, Reading):
            lit = e.values["level"] > 0
            if last.get(e.device, lit) != lit:
                edges.setdefault(e.device, []).append((e.t, lit))
            last[e.device] = lit

    world.bus.subscribe(on)
    world.run(3 * DAY)
    obs = Observer(44.49, 11.34)
    expected = []
    for d in range(3):
        day = date(2026, 11, 23) + timedelta(days=d)
        times = sun(obs, date=day, tzinfo=ROME)
        expected += [(times["sunrise"] - timedelta(minutes=10), False), (times["sunset"] + timedelta(minutes=10), True)]
    start = datetime(2026, 11, 23, tzinfo=UTC)
    want = [((when - start).total_seconds(), lit) for when, lit in expected if when > start]
    for device in ("l-0001", "l-0002", "l-0003"):
        got = edges[device]
        assert [lit for _, lit in got] == [lit for _, lit in want]
        assert all(abs(t - w) < 60.0 for (t, _), (w, _) in zip(got, want, strict=True)), (got, want)
    # the almanac: Bologna, 23 November 2026, sunset 16:40 CET (equation of time included)
    first_on = next(t for t, lit in edges["l-0001"] if lit)
    local = start + timedelta(seconds=first_on)
    assert local.astimezone(ROME).strftime("%H:%M") in ("16:49", "16:50", "16:51")


def _weather(climate: Climate, seed: int = 5) -> tuple[Weather, SimClock, simpy.Environment]:
    clock = SimClock(datetime(2026, 11, 1, tzinfo=ROME), "Europe/Rome")
    env = CityEnvironment()
    weather = Weather(clock, Sun(clock, 44.49, 11.34), climate, random.Random(seed))
    env.process(weather.process(env))
    return weather, clock, env


def test_rain_matches_the_months_statistics() -> None:
    climate = Climate(temp_mean_c=7.5, rain_days=8, rain_mm=85, cloud_cover=0.65)
    weather, clock, env = _weather(climate)
    daily: dict[date, float] = {}
    for hour in range(360 * 24):
        env.run(until=hour * H + 1.0)
        day = clock.date(env.now)
        daily[day] = daily.get(day, 0.0) + weather.rain_mm_h
    wet = sum(1 for mm in daily.values() if mm >= 1.0) / len(daily)
    month_mm = sum(daily.values()) / len(daily) * 30
    assert 0.18 < wet < 0.34  # 8 of 30 days = 0.27
    assert 60 < month_mm < 115  # 85 mm


def test_temperature_minimum_at_sunrise_and_radiation_from_the_sun() -> None:
    climate = Climate(temp_mean_c=7.5, temp_amplitude_c=3.5, rain_days=0, cloud_cover=0.2)
    weather, clock, _env = _weather(climate)
    weather.cloud_today = 0.0
    day0 = 22 * DAY  # 23 November
    samples = [day0 + m * 60.0 for m in range(0, 24 * 60, 5)]
    temps = [weather.temperature(t) for t in samples]
    t_min = samples[temps.index(min(temps))]
    t_max = samples[temps.index(max(temps))]
    events = weather.sun.events(day0 + 12 * H)
    assert abs(t_min - events["sunrise"]) <= 5 * 60.0
    assert 13.5 < clock.hour(t_max) < 15.0
    radiation = [weather.radiation(t) for t in samples]
    assert max(radiation) == max(weather.radiation(t) for t in samples)
    assert all(r == 0.0 for t, r in zip(samples, radiation, strict=True) if weather.sun.elevation(t) <= 0)
    assert 330 < max(radiation) < 420  # Haurwitz clear sky at 44 N in late November (about 380 W/m2)
    weather.cloud_today = 1.0
    assert max(weather.radiation(t) for t in samples) < 0.3 * max(radiation)
