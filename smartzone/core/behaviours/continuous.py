"""Models of continuous quantities: constants, random walks, daily profiles, linear links."""

from __future__ import annotations

import math
import random
from typing import Any

from smartzone.core.behaviours.base import Model, Scope, clamp, register, source
from smartzone.core.behaviours.profile import DailyProfile
from smartzone.definitions import behaviour_params as p
from smartzone.definitions.device_type import Signal


@register("constant")
class Constant(Model):
    def __init__(self, spec: p.Constant, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.value = spec.value

    def sample(self, t: float) -> Any:
        return self.value


@register("random_walk")
class RandomWalk(Model):
    def __init__(self, spec: p.RandomWalk, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.rng, self.signal, self.circle = rng, signal, signal.circular
        self.x = self._bound(spec.start + rng.gauss(0.0, spec.step))
        self.mean = spec.start if spec.mean is None else spec.mean
        self.step, self.revert = spec.step, spec.revert
        self.last = 0.0

    def _bound(self, x: float) -> float:
        # a circular quantity (wind direction) wraps instead of sticking at its max
        return x % self.circle if self.circle else clamp(x, self.signal)

    def sample(self, t: float) -> float:
        dt_h = (t - self.last) / 3600.0
        if dt_h > 0:
            pull = 1.0 - (1.0 - self.revert) ** dt_h
            gap = self.mean - self.x
            if self.circle:  # pull back along the shorter arc
                gap = (gap + self.circle / 2) % self.circle - self.circle / 2
            self.x = self._bound(self.x + pull * gap + self.rng.gauss(0.0, self.step * math.sqrt(dt_h)))
            self.last = t
        return self.x


@register("diurnal")
class Diurnal(Model):
    def __init__(self, spec: p.Diurnal, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.clock, self.rng, self.signal = scope.clock, rng, signal
        self.weekday = DailyProfile(spec.points)
        self.weekend = DailyProfile(spec.weekend) if spec.weekend else self.weekday
        self.scale = source(spec.scale, scope)
        self.noise = spec.noise

    def sample(self, t: float) -> float:
        profile = self.weekend if self.clock.is_weekend(t) else self.weekday
        value = profile.at(self.clock.hour(t)) * self.scale(t)
        if self.noise:
            value += self.rng.gauss(0.0, self.noise)
        return clamp(value, self.signal)


@register("linear")
class Linear(Model):
    def __init__(self, spec: p.Linear, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.spec, self.rng, self.signal = spec, rng, signal
        self.input = source(spec.input, scope)
        self.times = source(spec.times, scope)
        self.smoothed: float | None = None
        self.last = 0.0

    def sample(self, t: float) -> float:
        s = self.spec
        x = self.input(t)
        if s.scale == "log10":
            f = math.log10(max(x, 1e-9))
        else:
            f = x**s.exponent if x >= 0 or s.exponent == 1.0 else -((-x) ** s.exponent)
        y = s.offset + s.gain * f * self.times(t)
        if s.lag > 0:
            if self.smoothed is None:
                self.smoothed = y
            else:
                self.smoothed += (y - self.smoothed) * (1.0 - math.exp(-(t - self.last) / s.lag))
            y = self.smoothed
            self.last = t
        if s.noise:
            y += self.rng.gauss(0.0, s.noise)
        return clamp(y, self.signal)


@register("sum_product")
class SumProduct(Model):
    def __init__(self, spec: p.SumProduct, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.terms = [(source(a, scope), source(b, scope)) for a, b in spec.terms]
        self.gain, self.noise, self.rng, self.signal = spec.gain, spec.noise, rng, signal

    def sample(self, t: float) -> float:
        y = self.gain * sum(a(t) * b(t) for a, b in self.terms)
        if self.noise:
            y += self.rng.gauss(0.0, self.noise)
        return clamp(y, self.signal)
