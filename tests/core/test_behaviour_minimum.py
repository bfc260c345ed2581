"""The `minimum` behaviour model: the smallest input, gated by `times`, clamped to the range."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from smartzone.core.behaviours import build
from smartzone.core.clock import SimClock
from smartzone.definitions.device_type import Signal


class Scope:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.state: dict[str, Any] = {"limit": 22.0}
        self.clock = SimClock(datetime(2026, 11, 23, tzinfo=UTC), "UTC")
        self.land_use = "mixed"

    def ctx_value(self, name: str, t: float) -> float:
        raise KeyError(name)

    def as_number(self, scope: str, name: str, value: Any) -> float:
        return float(value)


def make(spec: dict[str, Any], scope: Scope, **signal: Any):
    sig = Signal.model_validate({"model": {"kind": "minimum", **spec}, **signal})
    return build(sig.model, scope, random.Random(3), sig)


def test_smallest_input_wins_and_follows_state() -> None:
    scope = Scope()
    m = make({"inputs": ["state.limit", 11.0], "times": "signal.charging"}, scope, min=0, max=22)
    scope.values["charging"] = True
    assert m.sample(1.0) == pytest.approx(11.0)  # the vehicle's 11 kW binds under a 22 kW limit
    scope.state["limit"] = 3.7
    assert m.sample(2.0) == pytest.approx(3.7)  # the operator's limit binds
    scope.values["charging"] = False
    assert m.sample(3.0) == 0.0


def test_noise_does_not_wake_an_idle_output_and_range_is_clamped() -> None:
    scope = Scope()
    scope.values["charging"] = 0
    m = make({"inputs": ["state.limit", 40.0], "times": "signal.charging", "noise": 0.5}, scope, min=0, max=22)
    assert all(m.sample(float(t)) == 0.0 for t in range(1, 50))
    scope.values["charging"] = 1
    values = [m.sample(float(t)) for t in range(50, 500)]
    assert max(values) <= 22.0 and min(values) > 20.0


def test_needs_two_inputs() -> None:
    with pytest.raises(ValueError):
        Signal.model_validate({"model": {"kind": "minimum", "inputs": [1.0]}})
