"""Behaviour models in isolation (plain objects, fixed seeds, no SimPy)."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime
from typing import Any

import pytest

from smartzone.core.behaviours import build
from smartzone.core.behaviours.discrete import binomial, poisson
from smartzone.core.behaviours.profile import DailyProfile
from smartzone.core.clock import SimClock
from smartzone.definitions.device_type import Signal

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


class FakeScope:
    """The pure core tier may fake the device a model reads from."""

    def __init__(self, ctx: dict[str, float] | None = None, land_use: str = "mixed") -> None:
        self.values: dict[str, Any] = {}
        self.state: dict[str, Any] = {}
        self.clock = SimClock(MONDAY, "UTC")
        self.ctx = ctx or {}
        self.land_use = land_use

    def ctx_value(self, name: str, t: float) -> float:
        return self.ctx[name]

    def as_number(self, scope: str, name: str, value: Any) -> float:
        return float(value)


def model(spec: dict[str, Any], scope: FakeScope | None = None, **signal: Any):
    sig = Signal.model_validate({"model": spec, **signal})
    return build(sig.model, scope or FakeScope(), random.Random(1), sig)


def test_daily_profile_interpolates_and_wraps() -> None:
    p = DailyProfile({6.0: 10.0, 18.0: 30.0})
    assert p.at(12.0) == pytest.approx(20.0)
    assert p.at(0.0) == pytest.approx(20.0)  # halfway from 18:00 to 06:00 through midnight
    assert p.at(6.0) == pytest.approx(10.0)


def test_random_walk_stays_in_range_and_reverts() -> None:
    m = model({"kind": "random_walk", "start": 50, "step": 5, "mean": 50, "revert": 0.5}, min=0, max=100)
    values = [m.sample(t * 600.0) for t in range(1, 2000)]
    assert min(values) >= 0 and max(values) <= 100
    assert 40 < statistics.mean(values) < 60


def test_markov_occupancy_rate_follows_profile() -> None:
    m = model(
        {
            "kind": "markov_occupancy",
            "arrivals_per_h": {"00:00": 0.01, "12:00": 4.0},
            "mean_stay": "30min",
            "demand": 1.0,
        },
        datatype="enum",
        values=["free", "occupied"],
    )
    night = [m.sample(t) for t in range(0, 3 * 3600, 60)]
    noon = [m.sample(t) for t in range(11 * 3600, 13 * 3600, 60)]
    assert noon.count("occupied") / len(noon) > night.count("occupied") / len(night)


def test_markov_occupancy_takes_the_curve_of_its_district_kind() -> None:
    spec = {
        "kind": "markov_occupancy",
        "arrivals_per_h": {"00:00": 0.01, "12:00": 4.0},
        "mean_stay": "30min",
        "demand": 1.0,
        "land_use": {"residential": {"arrivals_per_h": {"00:00": 4.0, "06:00": 0.01}, "mean_stay": "8h"}},
    }

    def night_share(land_use: str) -> float:
        bay = model(spec, FakeScope(land_use=land_use), datatype="enum", values=["free", "occupied"])
        night = [bay.sample(t) for t in range(3600, 5 * 3600, 60)]
        return night.count("occupied") / len(night)

    assert night_share("residential") > 0.9  # residents park in the evening and stay the night
    assert night_share("commercial") < 0.2  # no entry for commercial: the model's own curve, empty at night


def test_markov_occupancy_departures_follow_the_time_of_day() -> None:
    spec = {
        "kind": "markov_occupancy",
        "arrivals_per_h": {"00:00": 0.0, "23:00": 0.0},
        "mean_stay": "1h",  # replaced by the residential departures
        "demand": 1.0,
        "initial_occupied": 1.0,
        "land_use": {
            "residential": {
                "arrivals_per_h": {"00:00": 0.0, "23:00": 0.0},
                "departures_per_h": {"00:00": 0.0, "06:00": 0.0, "07:00": 6.0, "09:00": 6.0},
            }
        },
    }
    left_at = []
    for seed in range(20):
        sig = Signal.model_validate({"model": spec, "datatype": "enum", "values": ["free", "occupied"]})
        bay = build(sig.model, FakeScope(land_use="residential"), random.Random(seed), sig)
        left_at.append(next(t for t in range(0, 24 * 3600, 60) if bay.sample(t) == "free") / 3600)
    assert all(6.0 < h < 9.0 for h in left_at), left_at  # nobody leaves in the night, all by morning


def test_poisson_mean_and_variance() -> None:
    rng = random.Random(3)
    for lam in (0.5, 5.0, 80.0):
        draws = [poisson(rng, lam) for _ in range(4000)]
        assert statistics.mean(draws) == pytest.approx(lam, rel=0.08)
        assert statistics.variance(draws) == pytest.approx(lam, rel=0.15)


def test_cumulative_integrates_rate() -> None:
    scope = FakeScope()
    scope.values["power"] = 2.0
    m = model({"kind": "cumulative", "rate": "signal.power", "factor": 1.0}, scope)
    assert m.sample(7200.0) == pytest.approx(4.0)


def test_linear_log10_for_noise_levels() -> None:
    m = model(
        {"kind": "linear", "input": "ctx.traffic", "gain": 10, "offset": 70, "scale": "log10"},
        FakeScope({"traffic": 0.1}),
    )
    assert m.sample(0.0) == pytest.approx(60.0)


def test_fill_empty_drops_at_collection() -> None:
    m = model({"kind": "fill_empty", "fill_per_h": 2.0, "collections": ["06:00"], "spread": 0, "residual": 1}, max=100)
    before = m.sample(5.9 * 3600)
    after = m.sample(6.1 * 3600)
    assert after < before and after < 2


def test_saturating_counts_are_binomial_and_never_exceed_capacity() -> None:
    rng = random.Random(3)
    for n, p in ((75, 0.1), (75, 0.45), (75, 0.9), (1000, 0.3)):
        xs = [binomial(rng, n, p) for _ in range(5000)]
        assert max(xs) <= n
        assert abs(statistics.mean(xs) - n * p) < 0.05 * n * p + 0.2
        assert abs(statistics.variance(xs) - n * p * (1 - p)) < 0.15 * n * p * (1 - p) + 0.2
    assert binomial(rng, 75, 1.0) == 75 and binomial(rng, 75, 0.0) == 0


SIGNAL_PLANS = {
    "kind": "phase_cycle",
    "phases": [{"name": "ns-green", "duration": "30s"}, {"name": "ew-green", "duration": "30s"}],
    "plans": {2: [{"name": "ns-green", "duration": "60s"}, {"name": "ew-green", "duration": "30s"}]},
    "schedule": [
        {"plan": 2, "start": "07:00", "end": "09:30", "days": ["weekday"]},
        {"plan": 3, "start": "22:00", "end": "06:00"},
    ],
}


def signal_controller(scope: FakeScope) -> Any:
    controller = model(SIGNAL_PLANS, scope, datatype="enum", values=["ns-green", "ew-green"])
    scope.state.update({"mode": "auto", "plan": 1})
    return controller


def run_to(controller: Any, scope: FakeScope, t: float) -> None:
    """Sample as a device would: at t, writing what the model drives into the state."""
    controller.sample(t)
    scope.state.update(controller.drives() or {})


def test_a_signal_schedule_switches_plans_by_time_of_day_and_day_type() -> None:
    scope = FakeScope()  # Monday 23 November 2026, UTC
    controller = signal_controller(scope)
    seen = {}
    for hour in (3, 6.5, 8, 12, 23, 24 + 3, 5 * 24 + 8):  # ..., Saturday 08:00
        run_to(controller, scope, hour * 3600)
        seen[hour] = scope.state["plan"]
    assert seen == {3: 3, 6.5: 1, 8: 2, 12: 1, 23: 3, 27: 3, 128: 1}
    assert controller.next_change() == pytest.approx((5 * 24 + 9.5) * 3600, abs=1)  # the next switch point


def test_the_plan_in_force_sets_the_cycle_and_a_commanded_plan_holds_to_the_next_switch_point() -> None:
    scope = FakeScope()
    controller = signal_controller(scope)
    run_to(controller, scope, 8 * 3600)  # weekday peak: plan 2, a 90 s cycle with 60 s of ns-green
    peak = [controller.sample(8 * 3600 + s) for s in range(0, 90)]
    assert peak.count("ns-green") == 60
    scope.state["plan"] = 1  # the control centre sends set_plan 1
    run_to(controller, scope, 9 * 3600)
    assert scope.state["plan"] == 1  # held: no switch point between
    day = [controller.sample(9 * 3600 + s) for s in range(0, 60)]
    assert day.count("ns-green") == 30
    run_to(controller, scope, 9.6 * 3600)  # the 09:30 switch point: the schedule takes over again
    assert scope.state["plan"] == 1 and controller.next_change() == pytest.approx(22 * 3600, abs=1)
    run_to(controller, scope, 22.5 * 3600)
    assert scope.state["plan"] == 3  # no timings for plan 3 here: the base phases
    assert [controller.sample(22.5 * 3600 + s) for s in range(60)].count("ns-green") == 30
