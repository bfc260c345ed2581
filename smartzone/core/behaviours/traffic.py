"""Traffic at a detector: count, occupancy and speed from one fundamental diagram.

The Van Aerde model (Van Aerde & Rakha 1995, used for the speed-flow curves of the Highway
Capacity Manual) relates speed v and density k with four parameters: the free speed vf, the
speed at capacity vc, the capacity C and the jam density kj:

    k(v) = 1 / (c1 + c2 / (vf - v) + c3 * v),   q = k * v

with c1 = m (2 vc - vf), c2 = m (vf - vc)^2, c3 = 1/C - m, m = vf / (kj vc^2). The flow q
rises with v on the congested branch (v < vc) and falls with it on the free branch; its
maximum, C, is at vc.

A lane's demand above C queues upstream (`Queue`). While a queue stands, the lane
discharges at C less the capacity drop (Hall & Agyemang-Duah 1991: about 10 %) and the
detector sees the congested branch: low speed, high occupancy. The queue holds at most the
lane before the loop at jam density (`upstream`, 500 m: 70 vehicles); drivers who would
join a longer one take other routes, so a queue clears within the hour once demand falls. Occupancy is the share of
time a vehicle covers the loop: density x detection length (vehicle plus loop).

The three signals are three `traffic_flow` models of one device; each keeps its own queue
from the same deterministic demand, sampled at the same times, so they agree. Occupancy and
speed read the vehicles the count signal reported (`flow: signal.count`), so the three
values of a reading are consistent with q = k v.
"""

from __future__ import annotations

import random

from smartzone.core.behaviours.base import Model, Scope, clamp, register, source
from smartzone.core.behaviours.discrete import binomial
from smartzone.definitions import behaviour_params as p
from smartzone.definitions.device_type import Signal

BISECT_STEPS = 40  # speed to well under 1e-9 km/h


class VanAerde:
    """The fundamental diagram of one lane (speeds in km/h, densities in veh/km, flows in veh/h)."""

    def __init__(self, free_speed: float, speed_at_capacity: float, jam_density: float, capacity: float) -> None:
        m = free_speed / (jam_density * speed_at_capacity**2)
        self.vf, self.vc, self.capacity = free_speed, speed_at_capacity, capacity
        self.c1 = m * (2 * speed_at_capacity - free_speed)
        self.c2 = m * (free_speed - speed_at_capacity) ** 2
        self.c3 = 1.0 / capacity - m

    def density(self, speed: float) -> float:
        if speed >= self.vf:
            return 0.0
        return 1.0 / (self.c1 + self.c2 / (self.vf - speed) + self.c3 * speed)

    def flow(self, speed: float) -> float:
        return self.density(speed) * speed

    def speed(self, flow: float, congested: bool) -> float:
        """The speed at which the lane carries `flow`, on the congested or the free branch."""
        flow = min(max(flow, 0.0), self.capacity)
        lo, hi = (0.0, self.vc) if congested else (self.vc, self.vf)
        for _ in range(BISECT_STEPS):
            mid = (lo + hi) / 2
            # congested: flow rises with speed; free: flow falls with speed
            if (self.flow(mid) < flow) == congested:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2


class Queue:
    """Vehicles waiting upstream of the detector, advanced from one sample to the next."""

    def __init__(self, capacity: float, drop: float, most: float) -> None:
        self.capacity, self.discharge, self.most = capacity, capacity * (1.0 - drop), most
        self.waiting = 0.0
        self.last = 0.0

    def advance(self, t: float, demand: float) -> float:
        """Move to time t under `demand` veh/h; return the vehicles that passed the detector."""
        dt_h = max(0.0, t - self.last) / 3600.0
        self.last = t
        arrived = demand * dt_h
        if self.waiting <= 0.0 and demand <= self.capacity:
            return arrived
        passed = min(self.waiting + arrived, self.discharge * dt_h)
        self.waiting = min(self.most, self.waiting + arrived - passed)  # the rest takes other routes
        return passed

    @property
    def congested(self) -> bool:
        return self.waiting > 0.0


@register("traffic_flow")
class TrafficFlow(Model):
    def __init__(self, spec: p.TrafficFlow, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.spec, self.rng, self.signal = spec, rng, signal
        self.driver = source(spec.driver, scope)
        self.counted = source(spec.flow if spec.flow is not None else 0.0, scope)
        self.diagram = VanAerde(spec.free_speed, spec.speed_at_capacity, spec.jam_density, spec.capacity_per_h)
        most = spec.jam_density * spec.upstream / 1000.0  # vehicles the lane before the loop holds
        self.queue = Queue(spec.capacity_per_h, spec.capacity_drop, most)

    def sample(self, t: float) -> float:
        spec = self.spec
        dt_h = max(0.0, t - self.queue.last) / 3600.0
        demand = spec.rate_per_h * max(0.0, self.driver(t))
        passed = self.queue.advance(t, demand)
        if spec.output == "count":
            if dt_h <= 0.0:
                return 0
            # one slot per saturation headway, each passing a vehicle with chance flow/capacity
            slots = round(spec.capacity_per_h * dt_h)
            return binomial(self.rng, slots, min(1.0, passed / dt_h / spec.capacity_per_h))
        flow = self.counted(t) / dt_h if dt_h > 0.0 else demand
        speed = self.diagram.speed(flow, self.queue.congested)
        if spec.output == "speed":
            value = speed
        else:  # occupancy, in % of the time
            value = self.diagram.density(speed) * spec.detection_length / 10.0 if flow > 0 else 0.0
        if spec.noise:
            value += self.rng.gauss(0.0, spec.noise)
        return clamp(value, self.signal)
