"""Statistical plausibility of the shipped device types on a real simulated day.

A small fixed-seed city (tests/fixtures/plausibility-city.yaml: every type, a few devices
each, a Monday in November) runs for 24 simulated hours once per module; the checks compare
the shapes the YAML files promise with what the devices really report: rush hours, night
troughs, correlations, monotonic meters, collections, and actuators whose commands show.
Margins are wide so that they hold for any seed; the seed is fixed so that runs repeat.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from smartzone.core.commands import DeviceCommand
from smartzone.core.events import CommandResult, Reading
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog, load_scenario

CITY = Path(__file__).parents[1] / "fixtures" / "plausibility-city.yaml"
H = 3600.0


class Day:
    """Readings of one simulated day, grouped for the checks."""

    def __init__(self, world: World, readings: list[Reading]) -> None:
        self.world = world
        self.readings = readings

    def of(self, dtype: str, land_use: str | None = None) -> list[Reading]:
        devices = self.world.devices
        return [
            r
            for r in self.readings
            if devices[r.device].info.type == dtype and land_use in (None, devices[r.device].land_use)
        ]

    def between(self, dtype: str, start_h: float, end_h: float, land_use: str | None = None) -> list[Reading]:
        """Readings measured from start_h to end_h local time (the fixture starts at local midnight)."""
        return [r for r in self.of(dtype, land_use) if start_h * H <= r.measured_at < end_h * H]

    def mean(
        self,
        dtype: str,
        signal: str,
        start_h: float,
        end_h: float,
        f: Callable[[Any], float] = float,
        land_use: str | None = None,
    ) -> float:
        values = [f(r.values[signal]) for r in self.between(dtype, start_h, end_h, land_use)]
        assert len(values) >= 3, f"too few {dtype} readings between {start_h} and {end_h} h"
        return statistics.fmean(values)


def run_city(seed: int | None = None) -> tuple[World, list[Reading]]:
    catalog = Catalog.builtin()
    world = World(load_scenario(CITY, catalog), catalog, seed=seed)
    readings: list[Reading] = []
    world.bus.subscribe(lambda e: readings.append(e) if isinstance(e, Reading) else None)
    return world, readings


@pytest.fixture(scope="module")
def day() -> Day:
    world, readings = run_city()
    world.run(24 * H)
    return Day(world, readings)


def by_device(readings: Iterable[Reading]) -> dict[str, list[Reading]]:
    out: dict[str, list[Reading]] = defaultdict(list)
    for r in readings:
        out[r.device].append(r)
    for rs in out.values():
        rs.sort(key=lambda r: r.measured_at)
    return out


def command(world: World, device: str, action: str, **params: Any) -> CommandResult:
    """Send a command and run until the device has applied it (it may cross a simulated link)."""
    results: list[CommandResult | None] = []
    world.execute(DeviceCommand(device, action, params, id=f"t-{action}"), results.append)
    deadline = world.now + 120.0
    while not results and world.now < deadline:
        world.run(world.now + 1.0)
    assert results and results[0] is not None and results[0].ok, results
    return results[0]


# --- traffic and what it drives ---------------------------------------------------------------
def test_no2_morning_rush_exceeds_night(day: Day) -> None:
    rush = day.mean("air-quality", "no2", 8, 9)
    night = day.mean("air-quality", "no2", 3, 4)
    assert rush > 1.8 * night, (rush, night)
    assert 10 < night < 60 and 30 < rush < 200  # ug/m3, EEA urban traffic-station range


def test_o3_is_titrated_by_no2_in_the_dark(day: Day) -> None:
    """Without sunlight (before 07:00, after 17:00 in November) nothing makes ozone: more NO2, less O3."""
    for device, rs in by_device(day.of("air-quality")).items():
        dark = [r for r in rs if not 7 * H <= r.measured_at < 17 * H]
        no2 = [r.values["no2"] for r in dark]
        o3 = [r.values["o3"] for r in dark]
        assert statistics.correlation(no2, o3) < -0.4, device


def test_particulate_matter_is_ordered_and_plausible(day: Day) -> None:
    rs = day.of("air-quality")
    assert all(r.values["pm10"] >= r.values["pm25"] for r in rs)
    assert 10 < statistics.fmean(r.values["pm10"] for r in rs) < 80


def test_noise_follows_traffic(day: Day) -> None:
    rs = day.of("noise-meter")
    laeq = [r.values["laeq"] for r in rs]
    traffic = [day.world.ctx.traffic(r.measured_at, day.world.devices[r.device].traffic_weight) for r in rs]
    assert statistics.correlation(laeq, traffic) > 0.7
    rush, night = day.mean("noise-meter", "laeq", 8, 9), day.mean("noise-meter", "laeq", 3, 4)
    assert rush - night > 6.0, (rush, night)  # dB(A): roughly 10*log10 of the traffic ratio
    assert all(r.values["lamax"] > r.values["la90"] for r in rs)


def test_traffic_counter_rush_hour_exceeds_night_and_slows_down(day: Day) -> None:
    rush_count = day.mean("traffic-counter", "count", 8, 9)
    night_count = day.mean("traffic-counter", "count", 2, 4)
    assert rush_count > 5 * night_count, (rush_count, night_count)
    assert day.mean("traffic-counter", "speed", 8, 9) < day.mean("traffic-counter", "speed", 2, 4) - 8
    assert day.mean("traffic-counter", "occupancy", 8, 9) > day.mean("traffic-counter", "occupancy", 2, 4)


def test_parking_occupancy_midday_exceeds_early_morning(day: Day) -> None:
    occupied = lambda v: 1.0 if v == "occupied" else 0.0  # noqa: E731
    midday = day.mean("parking-spot", "status", 11, 14, occupied, land_use="centre")
    early = day.mean("parking-spot", "status", 3.5, 5, occupied, land_use="centre")
    assert midday > early + 0.15, (midday, early)  # the centre fills by day
    home_night = day.mean("parking-spot", "status", 1, 5, occupied, land_use="residential")
    home_noon = day.mean("parking-spot", "status", 11, 14, occupied, land_use="residential")
    assert home_night > home_noon + 0.15, (home_night, home_noon)  # residents park overnight


# --- utilities --------------------------------------------------------------------------------
def test_water_meter_index_never_decreases_and_flow_has_a_night_trough(day: Day) -> None:
    for device, rs in by_device(day.of("water-meter")).items():
        volumes = [r.values["volume"] for r in rs]
        assert all(b >= a for a, b in pairwise(volumes)), device
        assert volumes[-1] > volumes[0]
    assert day.mean("water-meter", "flow", 7, 9) > 3 * day.mean("water-meter", "flow", 2, 4.5)


def test_energy_meter_power_is_the_sum_of_phases_and_peaks_in_the_evening(day: Day) -> None:
    for r in day.of("energy-meter"):
        v = r.values
        expected = 0.00095 * sum(v[f"voltage_l{i}"] * v[f"current_l{i}"] for i in (1, 2, 3))
        assert v["power"] == pytest.approx(expected, abs=0.01)
        assert 207 <= v["voltage_l1"] <= 253
    assert day.mean("energy-meter", "power", 19, 21) > 2 * day.mean("energy-meter", "power", 3, 5)
    for device, rs in by_device(day.of("energy-meter")).items():
        energy = [r.values["energy"] for r in rs]
        assert all(b >= a for a, b in pairwise(energy)), device


def test_weather_humidity_moves_against_temperature(day: Day) -> None:
    rs = day.of("weather-station")
    corr = statistics.correlation([r.values["temperature"] for r in rs], [r.values["humidity"] for r in rs])
    assert corr < -0.6
    assert day.mean("weather-station", "solar_radiation", 0, 5) == 0.0
    assert day.mean("weather-station", "solar_radiation", 11, 13) > 150


def test_waste_bins_drop_after_the_morning_collection(day: Day) -> None:
    # Monday is a collection day (05:30): every bin's level falls to a small residue.
    last_before, first_after = [], []
    for device, rs in by_device(day.of("waste-bin")).items():
        before = [r.values["fill_level"] for r in rs if r.measured_at < 5.5 * H]
        after = [r.values["fill_level"] for r in rs if 5.5 * H <= r.measured_at < 7.5 * H]
        assert before and after, device
        assert after[0] <= 10, (device, after[0])
        if before[-1] > 20:  # (a bin may start the run nearly empty)
            assert after[0] < before[-1] - 10, (device, before[-1], after[0])
        later = [r.values["fill_level"] for r in rs if r.measured_at >= 5.5 * H]
        assert later[-1] > later[0] + 10  # and fills up again during the day
        last_before.append(before[-1])
        first_after.append(after[0])
    assert statistics.fmean(last_before) > statistics.fmean(first_after) + 15


def test_street_lights_follow_dusk_and_dawn(day: Day) -> None:
    assert day.mean("street-light", "level", 11, 14) == 0
    assert day.mean("street-light", "level", 19, 23) == 100
    assert 0 < day.mean("street-light", "level", 1, 4) < 100  # dimmed after midnight


# --- actuators ----------------------------------------------------------------------------------
def test_dimming_a_street_light_lowers_its_power() -> None:
    world, readings = run_city(seed=11)
    world.run(20 * H)  # 20:00, dark: the lights are at full level
    light = "light-0001"
    before = world.devices[light].values["power"]
    command(world, light, "dim", level=30)
    world.run(world.now + 60.0)
    after = [r for r in readings if r.device == light and r.values["level"] == 30]
    assert after, "the dim shows in a reading at once (level is reported on change)"
    assert before > 80 and after[-1].values["power"] < 0.45 * before


def test_ev_charger_power_respects_limit_and_enable() -> None:
    world, readings = run_city(seed=12)
    world.run(12 * H)
    ev = [r for r in readings if world.devices[r.device].info.type == "ev-charger"]
    assert all(r.values["power"] == 0 for r in ev if not r.values["charging"])
    assert any(r.values["power"] > 10 for r in ev if r.values["charging"])  # 11 kW on-board charger
    devices = sorted({r.device for r in ev})
    for d in devices:
        command(world, d, "set_power_limit", limit=3.7)
    command(world, devices[0], "enable", enabled=False)
    start = world.now
    world.run(world.now + 6 * H)
    later = [r for r in readings if r.device in devices and r.measured_at > start]
    assert later and all(r.values["power"] <= 3.7 + 0.5 for r in later)
    assert any(r.values["power"] > 3 for r in later)
    assert all(r.values["power"] == 0 and not r.values["charging"] for r in later if r.device == devices[0])


def test_closing_a_water_valve_stops_flow_and_raises_pressure() -> None:
    world, readings = run_city(seed=13)
    world.run(8 * H)  # morning peak
    valve = "valve-0001"
    open_flow = world.devices[valve].values["flow"]
    open_pressure = world.devices[valve].values["pressure"]
    command(world, valve, "set_opening", opening=0)
    world.run(world.now + 30 * 60)
    closed = [r for r in readings if r.device == valve and r.values["opening"] == 0]
    assert closed and all(r.values["flow"] == 0 for r in closed)
    assert open_flow > 5 and statistics.fmean(r.values["pressure"] for r in closed) > open_pressure + 0.1


def test_traffic_signal_flash_mode_shows_flashing_amber() -> None:
    world, readings = run_city(seed=14)
    world.run(H)
    signal = "tl-0001"
    phases = {r.values["phase"] for r in readings if r.device == signal}
    assert phases <= {"ns-green", "ns-amber", "all-red", "ew-green", "ew-amber"}
    command(world, signal, "set_mode", mode="flash")
    start = world.now
    world.run(world.now + H)
    later = [r for r in readings if r.device == signal and r.measured_at >= start]
    assert later and all(r.values["phase"] == "flashing-amber" and r.values["power"] < 100 for r in later)
