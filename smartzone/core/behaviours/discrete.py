"""Models of events and accumulations: occupancy, counts, meters, fill levels."""

from __future__ import annotations

import math
import random
from typing import Any

from smartzone.core.behaviours.base import Model, Scope, clamp, register, source
from smartzone.core.behaviours.profile import DailyProfile
from smartzone.definitions import behaviour_params as p
from smartzone.definitions.device_type import Signal

REEVALUATE_S = 1800.0  # arrival rates change over the day: redraw at least this often


@register("markov_occupancy")
class MarkovOccupancy(Model):
    """Free -> occupied at a time-varying arrival rate; occupied -> free after an exponential stay.

    A `land_use` entry for the device's kind of district replaces the curves, the stay and the
    initial share (residential streets fill at night, commercial ones turn over by day).
    """

    def __init__(self, spec: p.MarkovOccupancy, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.clock, self.rng = scope.clock, rng
        local = spec.land_use.get(scope.land_use)
        arrivals, weekend = (local.arrivals_per_h, local.weekend) if local else (spec.arrivals_per_h, spec.weekend)
        self.weekday = DailyProfile(arrivals)
        self.weekend = DailyProfile(weekend) if weekend else self.weekday
        self.demand = source(spec.demand, scope)
        self.mean_stay = local.mean_stay if local and local.mean_stay else spec.mean_stay
        self.departures = DailyProfile(local.departures_per_h) if local and local.departures_per_h else None
        self.states = spec.states
        initial = local.initial_occupied if local and local.initial_occupied is not None else spec.initial_occupied
        self.occupied = rng.random() < initial
        self.flip = True
        self.next_t = 0.0
        self._schedule(0.0)

    def _schedule(self, t: float) -> None:
        if self.occupied and self.departures is None:
            self.next_t, self.flip = t + self.rng.expovariate(1.0 / self.mean_stay), True
            return
        if self.occupied and self.departures is not None:  # residents leave in the morning
            rate_per_s = max(0.0, self.departures.at(self.clock.hour(t))) / 3600.0
        else:
            profile = self.weekend if self.clock.is_weekend(t) else self.weekday
            rate_per_s = max(0.0, profile.at(self.clock.hour(t)) * self.demand(t)) / 3600.0
        wait = self.rng.expovariate(rate_per_s) if rate_per_s > 0 else math.inf
        if wait > REEVALUATE_S:
            self.next_t, self.flip = t + REEVALUATE_S, False
        else:
            self.next_t, self.flip = t + wait, True

    def sample(self, t: float) -> Any:
        while self.next_t <= t:
            if self.flip:
                self.occupied = not self.occupied
            self._schedule(self.next_t)
        return self.states[1 if self.occupied else 0]

    def next_change(self) -> float | None:
        return self.next_t


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, prod = math.exp(-lam), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def binomial(rng: random.Random, n: int, p: float) -> int:
    """Successes in n trials of chance p; cost O(n min(p, 1-p)), normal approximation past 30."""
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    if p > 0.5:
        return n - binomial(rng, n, 1.0 - p)
    if n * p > 30:  # normal approximation, kept within 0..n
        return min(n, max(0, round(rng.gauss(n * p, math.sqrt(n * p * (1 - p))))))
    log_q, k, i = math.log1p(-p), 0, 0
    while True:  # skip ahead by geometric gaps between successes
        i += int(math.log(1.0 - rng.random()) / log_q) + 1
        if i > n:
            return k
        k += 1


@register("poisson_count")
class PoissonCount(Model):
    def __init__(self, spec: p.PoissonCount, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.rate, self.driver, self.rng = spec.rate_per_h, source(spec.driver, scope), rng
        self.capacity = math.inf if spec.capacity_per_h is None else spec.capacity_per_h
        self.last = 0.0

    def sample(self, t: float) -> int:
        rate, dt_h = self.rate * max(0.0, self.driver(t)), (t - self.last) / 3600.0
        self.last = t
        if self.capacity == math.inf:
            return poisson(self.rng, rate * dt_h)
        # At most one vehicle per saturation headway (1/capacity): each of the period's
        # headway slots passes a vehicle with chance demand/capacity (binomial). Demand above
        # capacity queues upstream, so the count never exceeds the capacity, and near it
        # the count is as regular as saturated flow is.
        return binomial(self.rng, round(self.capacity * dt_h), min(1.0, rate / self.capacity))


@register("cumulative")
class Cumulative(Model):
    def __init__(self, spec: p.Cumulative, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.rate, self.factor = source(spec.rate, scope), spec.factor
        self.total = spec.start + rng.uniform(0.0, spec.start_spread)
        self.last = 0.0

    def sample(self, t: float) -> float:
        self.total += max(0.0, self.rate(t)) * self.factor * (t - self.last) / 3600.0
        self.last = t
        return self.total


@register("fill_empty")
class FillEmpty(Model):
    def __init__(self, spec: p.FillEmpty, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.clock, self.rng, self.signal, self.spec = scope.clock, rng, signal, spec
        self.rate = spec.fill_per_h * (1.0 + rng.uniform(-spec.spread, spec.spread))
        self.driver = source(spec.driver, scope)
        self.cap = signal.max if signal.max is not None else 100.0
        self.level = rng.uniform(spec.residual, self.cap * 0.6)
        self.last = 0.0

    def _next_collection(self, t: float) -> float:
        hour = self.clock.hour(t)
        return t + min(((c - hour) % 24.0 or 24.0) * 3600.0 for c in self.spec.collections)

    def _fill(self, t0: float, t1: float) -> None:
        self.level = min(self.cap, self.level + self.rate * max(0.0, self.driver(t1)) * (t1 - t0) / 3600.0)

    def sample(self, t: float) -> float:
        nxt = self._next_collection(self.last)
        while nxt <= t:
            self._fill(self.last, nxt)
            if self.clock.weekday(nxt) in self.spec.collection_days:
                self.level = self.spec.residual * self.rng.uniform(0.5, 1.5)
            self.last = nxt
            nxt = self._next_collection(nxt)
        self._fill(self.last, t)
        self.last = t
        return clamp(self.level, self.signal)
