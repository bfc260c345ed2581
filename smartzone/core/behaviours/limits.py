"""Models that cap one quantity by others: the smallest of several inputs.

Used where a physical flow is limited by whichever constraint binds first, e.g. an EV
charger delivers min(the operator's power limit, what the vehicle's on-board charger can
draw), and only while a session is active (`times: signal.charging`).
"""

from __future__ import annotations

import random

from smartzone.core.behaviours.base import Model, Scope, clamp, register, source
from smartzone.definitions import behaviour_params as p
from smartzone.definitions.device_type import Signal


@register("minimum")
class Minimum(Model):
    """min(inputs) * times + noise, clamped to the signal's range."""

    def __init__(self, spec: p.Minimum, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.inputs = [source(ref, scope) for ref in spec.inputs]
        self.times = source(spec.times, scope)
        self.noise, self.rng, self.signal = spec.noise, rng, signal

    def sample(self, t: float) -> float:
        y = min(f(t) for f in self.inputs) * self.times(t)
        if self.noise and y != 0.0:
            y += self.rng.gauss(0.0, self.noise)
        return clamp(y, self.signal)
