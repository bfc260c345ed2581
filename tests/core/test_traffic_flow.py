"""The traffic_flow model: one fundamental diagram for count, occupancy and speed, with queues."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pydantic import ValidationError

from smartzone.core.behaviours import build
from smartzone.core.behaviours.traffic import Queue, VanAerde
from smartzone.definitions.device_type import Signal

H = 3600.0
LANE = {"kind": "traffic_flow", "rate_per_h": 600, "driver": "ctx.traffic"}


class Lane:
    """A scope with a settable demand factor and the values the device would hold."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.state: dict[str, Any] = {}
        self.traffic = 1.0
        self.land_use = "mixed"

    def ctx_value(self, name: str, t: float) -> float:
        assert name == "traffic"
        return self.traffic

    def as_number(self, scope: str, name: str, value: Any) -> float:
        return float(value)


def detector(lane: Lane, seed: int = 1) -> list[tuple[str, Any]]:
    rng = random.Random(seed)
    out = []
    for output, extra in (("count", {}), ("occupancy", {"flow": "signal.count"}), ("speed", {"flow": "signal.count"})):
        sig = Signal.model_validate({"datatype": "float", "min": 0, "model": {**LANE, "output": output, **extra}})
        out.append((output, build(sig.model, lane, rng, sig)))  # type: ignore[arg-type]
    return out


def read(lane: Lane, models: list[tuple[str, Any]], t: float) -> dict[str, float]:
    for name, model in models:  # in declaration order, as a device samples them
        lane.values[name] = model.sample(t)
    return dict(lane.values)


def test_the_diagram_carries_each_flow_on_both_branches() -> None:
    d = VanAerde(free_speed=50, speed_at_capacity=30, jam_density=140, capacity=900)
    assert d.flow(30) == pytest.approx(900, rel=1e-3)  # capacity at the speed at capacity
    assert d.density(0) == pytest.approx(140)  # jammed
    for q in (50, 300, 700, 880):
        free, jammed = d.speed(q, congested=False), d.speed(q, congested=True)
        assert d.flow(free) == pytest.approx(q, rel=1e-6) and d.flow(jammed) == pytest.approx(q, rel=1e-6)
        assert 30 <= free <= 50 and 0 <= jammed <= 30
        assert d.density(jammed) > d.density(free)


def test_a_queue_forms_above_capacity_and_clears_below_it() -> None:
    queue = Queue(capacity=900, drop=0.1, most=70)
    assert queue.advance(0.5 * H, 800) == pytest.approx(400) and not queue.congested
    passed = queue.advance(1.0 * H, 1000)  # over capacity: the lane discharges 10 % below it
    assert passed == pytest.approx(405) and queue.congested
    assert queue.waiting == pytest.approx(70)  # at most the lane before the loop; the rest diverts
    queue.advance(1.5 * H, 700)  # 110 veh/h drain: 70 vehicles take 38 minutes
    assert queue.congested
    queue.advance(2.0 * H, 700)
    assert not queue.congested


def test_count_occupancy_and_speed_agree_and_turn_congested_over_capacity() -> None:
    lane = Lane()
    models = detector(lane)
    free = [read(lane, models, t * 300.0) for t in range(1, 13)]  # 600 veh/h for an hour
    lane.traffic = 1.8  # 1080 veh/h: more than the lane passes
    jammed = [read(lane, models, H + t * 300.0) for t in range(1, 13)]
    for r in free + jammed:
        flow = r["count"] * 12  # veh/h over the 5-minute period
        density = r["occupancy"] * 10 / 6.5  # veh/km from % occupancy and the detection length
        assert density * r["speed"] == pytest.approx(flow, rel=0.01)  # q = k v
    assert all(r["speed"] > 30 and r["occupancy"] < 20 for r in free)
    assert all(r["speed"] < 30 and r["occupancy"] > 20 for r in jammed[2:])
    assert max(r["count"] for r in jammed) <= 75  # never above the 900 veh/h capacity


def test_inconsistent_parameters_are_refused_with_the_field() -> None:
    def signal(**model: Any) -> None:
        Signal.model_validate({"datatype": "float", "model": {**LANE, **model}})

    with pytest.raises(ValidationError, match="speed_at_capacity"):
        signal(output="count", speed_at_capacity=55)
    with pytest.raises(ValidationError, match="capacity_per_h is too high"):
        signal(output="count", capacity_per_h=5000)
    with pytest.raises(ValidationError, match="needs `flow`"):
        signal(output="speed")
