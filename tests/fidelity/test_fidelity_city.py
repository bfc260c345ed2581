"""Fidelity tier: a simulated week of Bologna (and a day of each other pilot city) checked
against the references the scenario and device files cite.

- every reading within its signal's declared range (only flagged out-of-range faults may leave it);
- weekday and weekend differ where they should: the morning traffic peak and the rush-hour
  events on weekdays only, and rush hour no longer scales water demand;
- the morning traffic peak lies at 07:00-09:00 local (UK DfT TRA0307, urban roads), and no
  5-minute count exceeds the lane capacity (HCM: about 900 veh/h at signalised roads);
- street lights switch within 5 minutes of the rule their type declares (sunset/sunrise
  plus offsets, on the city's sun times from astral);
- the daily temperature minimum comes near sunrise; a few percent of devices offline;
- traffic obeys one fundamental diagram (Van Aerde): count, occupancy and speed agree
  (q = k v), queues form at the weekday peaks and never at night;
- ozone has its own photochemical day: highest around midday, lowest at the rush hours,
  low in the winter night (ARPAE Bologna hourly data, cited in air-quality.yaml);
- traffic signals run their time-of-day plans: peak on weekday mornings, night plan at night,
  the day plan on a Sunday morning (FHWA Signal Timing Manual, cited in traffic-signal.yaml);
- parking follows land use: residential bays are fuller at night than by day, and fuller at
  night than the centre's (City of Melbourne on-street sensor data, cited in parking-spot.yaml).
"""

from __future__ import annotations

import math
import statistics
from datetime import UTC, timedelta
from typing import Any

import pytest
from astral import Observer
from astral.sun import sun
from weekstats import WeekStats, run_city, subset

from smartzone.definitions.catalog import Catalog, load_scenario, resolve_scenario

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
WEEK_H = 7 * 24
DAY = 86400.0


@pytest.fixture(scope="module")
def bologna(catalog: Catalog) -> WeekStats:
    return run_city(load_scenario(resolve_scenario("bologna"), catalog), catalog, WEEK_H)


@pytest.fixture(scope="module", params=["genoa", "london", "barcelona"])
def other_city(request: pytest.FixtureRequest, catalog: Catalog) -> WeekStats:
    return run_city(subset(load_scenario(resolve_scenario(request.param), catalog), 12), catalog, 48)


def _hourly_means(stats: WeekStats, kinds: set[str], hours: range) -> dict[int, float]:
    clock = stats.world.clock
    start = clock.date(0.0)
    out: dict[int, list[float]] = {h: [] for h in hours}
    for (day, hour), counts in stats.counts.items():
        t_noon = (day - start).days * DAY + 12 * 3600.0
        if clock.day_type(t_noon) in kinds and hour in out:
            out[hour] += counts
    return {h: statistics.mean(v) * 12 for h, v in out.items() if v}  # veh/h from 5-min counts


def test_every_reading_within_its_declared_range(bologna: WeekStats) -> None:
    assert bologna.readings > 500_000
    assert bologna.violations == []


def test_other_cities_readings_within_range(other_city: WeekStats) -> None:
    assert other_city.readings > 5_000
    assert other_city.violations == []


def test_morning_traffic_peak_on_weekdays_at_the_reference_hours(bologna: WeekStats) -> None:
    weekday = _hourly_means(bologna, {"weekday"}, range(5, 12))
    weekend = _hourly_means(bologna, {"saturday", "sunday", "holiday"}, range(5, 12))
    peak = max(weekday, key=weekday.__getitem__)
    assert peak in (7, 8), weekday  # TRA0307: weekday urban peak 08:00-09:00 (07:00-09:00 tolerance)
    assert weekday[8] > 2.0 * weekend[8], (weekday, weekend)
    assert max(weekend, key=weekend.__getitem__) >= 10  # weekend traffic builds to a late-morning plateau


def test_counts_respect_lane_capacity(bologna: WeekStats) -> None:
    dtype = bologna.world.catalog.types["traffic-counter"]
    capacity = dtype.signals["count"].model.capacity_per_h  # type: ignore[union-attr]
    assert capacity is not None
    longest = dtype.report.interval + dtype.report.jitter * 1.5  # the longest period one count covers
    assert bologna.count_max <= math.ceil(capacity * longest / 3600)
    assert max(_hourly_means(bologna, {"weekday"}, range(24)).values()) <= capacity


def test_rush_hours_run_on_weekdays_only_and_leave_water_demand_alone(bologna: WeekStats) -> None:
    clock = bologna.world.clock
    starts = [(name, clock.day_type(t)) for name, t, active in bologna.timeline if active and "rush" in name]
    weekdays = sum(clock.day_type(d * DAY + 12 * 3600.0) == "weekday" for d in range(7))
    assert len(starts) == 2 * weekdays and {kind for _, kind in starts} == {"weekday"}
    for kind in ("weekday", "saturday"):
        before = statistics.mean(bologna.flow[(kind, 7.0)])  # 07:00-07:30
        during = statistics.mean(bologna.flow[(kind, 8.0)])  # 08:00-08:30, rush hour
        assert during < 1.4 * before + 1.0, (kind, before, during)  # no step at 07:30 from a demand factor
    weekday = statistics.mean(bologna.flow[("weekday", 7.0)])
    saturday = statistics.mean(bologna.flow[("saturday", 7.0)])
    assert weekday > 2.0 * saturday  # showers before work on weekdays, later at the weekend


def _light_rule(stats: WeekStats) -> Any:
    return stats.world.catalog.types["street-light"].signals["level"].model


def _check_lights(stats: WeekStats, days: int) -> None:
    world = stats.world
    rule = _light_rule(stats)
    assert rule.switch_on == "sunset" and rule.switch_off == "sunrise"
    obs = Observer(world.scenario.center.lat, world.scenario.center.lon)
    start = world.clock.start
    expected: list[tuple[float, bool]] = []
    for d in range(days + 1):
        times = sun(obs, date=world.clock.date(0.0) + timedelta(days=d), tzinfo=world.clock.zone)
        for when, lit in (
            (times["sunrise"] + timedelta(minutes=rule.off_offset_min), False),
            (times["sunset"] + timedelta(minutes=rule.on_offset_min), True),
        ):
            expected.append(((when.astimezone(UTC) - start).total_seconds(), lit))
    end = days * DAY
    checked = 0
    for device, edges in stats.light_edges.items():
        down = stats.offline.get(device, [])
        for want, lit in expected:
            if not 0 < want < end - 600 or any(a - 900 <= want <= b + 900 for a, b in down):
                continue  # offline around the edge: it cannot report the switch on time
            got = [t for t, on in edges if on == lit and abs(t - want) < 3 * 3600]
            assert got and abs(got[0] - want) <= 300, (device, lit, want, got)
            checked += 1
    assert checked >= 0.9 * len(stats.light_edges) * 2 * (days - 1)


def test_lights_switch_within_five_minutes_of_the_rule(bologna: WeekStats) -> None:
    _check_lights(bologna, 7)


def test_other_cities_lights_follow_their_own_sun(other_city: WeekStats) -> None:
    _check_lights(other_city, 2)


def test_temperature_minimum_near_sunrise(bologna: WeekStats) -> None:
    world = bologna.world
    clock = world.clock
    near = 0
    for d in range(7):
        day = [(t, v) for t, v in bologna.temps if d * DAY <= t < (d + 1) * DAY and clock.hour(t) < 12]
        t_min = min(day, key=lambda tv: tv[1])[0]
        sunrise = world.ctx.sun_event("sunrise", d * DAY + 12 * 3600.0)
        near += abs(t_min - sunrise) <= 2.5 * 3600
    assert near >= 5  # the hourly weather anomaly may move the minimum on a day or two
    assert bologna.rain_mm < 60  # November in Bologna: about 85 mm a month, not 139 mm a week


def test_a_few_percent_of_devices_offline(bologna: WeekStats) -> None:
    spec = bologna.world.scenario.dropouts
    settled = bologna.offline_share[24:]
    assert 0.4 * spec.fraction < statistics.mean(settled) < 2.0 * spec.fraction
    assert max(settled) < 0.1


def test_parking_fills_by_land_use(bologna: WeekStats) -> None:
    def share(use: str, hours: range) -> float:
        samples = [v for h in hours for v in bologna.occupancy.get((use, h), [])]
        assert samples, f"no parking bays of kind {use} reported"
        return statistics.mean(samples)

    night, midday = range(1, 5), range(11, 15)
    assert share("residential", night) > share("residential", midday) + 0.15
    assert share("residential", night) > share("centre", night) + 0.15
    assert share("centre", midday) > share("centre", night)


def test_traffic_obeys_its_fundamental_diagram(bologna: WeekStats) -> None:
    ratios = sorted(kv / q for q, kv in bologna.flow_vs_kv)
    assert len(ratios) > 1000
    assert 0.95 < ratios[len(ratios) // 2] < 1.05  # q = k v, up to the noise of occupancy and speed

    def queued(day: str, hours: range) -> float:
        flags = [f for h in hours for f in bologna.queued.get((day, h), [])]
        assert flags, f"no traffic readings on {day}s at {hours}"
        return sum(flags) / len(flags)

    assert queued("weekday", range(1, 5)) == 0.0  # no queue at night
    assert queued("weekday", range(8, 9)) > 0.05  # the morning peak queues at the busy sites
    assert queued("weekday", range(8, 9)) > 2 * queued("sunday", range(8, 9))


def test_signals_follow_their_time_of_day_plans(bologna: WeekStats) -> None:
    def plan(day: str, hour: int) -> int:
        plans = bologna.plans.get((day, hour), [])
        assert plans, f"no traffic-signal readings on {day}s at {hour}:00"
        return statistics.mode(plans)

    assert plan("weekday", 8) == 2 and plan("weekday", 17) == 2  # peak
    assert plan("weekday", 3) == 3 and plan("sunday", 3) == 3  # night
    assert plan("weekday", 12) == 1 and plan("sunday", 8) == 1  # day, and no peak on a Sunday


def test_ozone_peaks_in_daylight_and_dips_at_the_rush_hours(bologna: WeekStats) -> None:
    def mean(hours: range) -> float:
        return statistics.mean(v for h in hours for v in bologna.ozone[h])

    midday, night = mean(range(11, 14)), mean(range(1, 5))
    morning_rush, evening_rush = mean(range(7, 9)), mean(range(17, 19))
    assert midday > night + 5  # made by sunlight, not by the dark
    assert max(morning_rush, evening_rush) < night < midday  # titrated by traffic NO at the rush hours
