"""EV charging sessions: the power a connected vehicle draws over its session.

A vehicle that connects brings an energy need (exponential, mean `mean_energy_kwh`) and an
on-board charger (drawn from `vehicles`, e.g. 3.7 / 7.4 / 11 kW). It draws
min(on-board power, the point's limit) at constant current until `taper_from` of its need
is in, then tapers linearly (the constant-voltage phase) and stops when the need is met;
the car may stay plugged in, idle, until it leaves. So public AC points deliver far less
energy than "power x connection time" (ElaadNL: about 12 kWh per session, hours of idle
connection).
"""

from __future__ import annotations

import random

from smartzone.core.behaviours.base import Model, Scope, clamp, register, source
from smartzone.definitions import behaviour_params as p
from smartzone.definitions.device_type import Signal

MIN_NEED_KWH = 0.5
TAPER_FLOOR = 0.1  # share of full power at the very end of the taper


@register("charging_session")
class ChargingSession(Model):
    """Power in kW of the vehicle connected now (0 when none, when full, or when stopped)."""

    def __init__(self, spec: p.ChargingSession, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.spec, self.rng, self.signal = spec, rng, signal
        self.connected, self.times, self.limit = (
            source(spec.connected, scope),
            source(spec.times, scope),
            source(spec.limit, scope),
        )
        self.kw = [kw for kw, _ in spec.vehicles]
        self.shares = [share for _, share in spec.vehicles]
        self.plugged = False
        self.need = self.done = self.onboard = self.power = 0.0
        self.last = 0.0

    def _new_session(self) -> None:
        self.onboard = self.rng.choices(self.kw, weights=self.shares)[0]
        self.need = max(MIN_NEED_KWH, self.rng.expovariate(1.0 / self.spec.mean_energy_kwh))
        self.done = 0.0

    def sample(self, t: float) -> float:
        self.done += self.power * (t - self.last) / 3600.0  # energy in since the last sample
        self.last = t
        plugged = self.connected(t) > 0.5
        if plugged and not self.plugged:
            self._new_session()
        self.plugged = plugged
        if not plugged or self.done >= self.need or self.times(t) <= 0:
            self.power = 0.0
            return 0.0
        power = min(self.onboard, max(0.0, self.limit(t)))
        share = self.done / self.need
        if share > self.spec.taper_from:
            power *= max(TAPER_FLOOR, (1.0 - share) / (1.0 - self.spec.taper_from))
        if self.spec.noise and power > 0:
            power += self.rng.gauss(0.0, self.spec.noise)
        self.power = clamp(max(0.0, power), self.signal)
        return self.power
