"""Heterogeneous fleets: per-device variation and spontaneous dropouts.

No two real devices are alike. Each device draws, from its own named stream
("variation"/DEVICE, so adding a device changes no other), a battery capacity and drain
(relative spread `battery.spread` of its type), a reporting jitter (0.5-1.5x its type's),
for signals that declare `calibration` a calibration offset, and for types with a
`site_spread` a site factor on its traffic exposure (a roadside station or a busy road
sees more traffic than a background site or a side street). Dropouts: on top of
scripted faults, every device alternates online and offline spells (exponential, an
alternating renewal process) so that in the long run `dropouts.fraction` of the devices
are offline, each outage lasting `dropouts.mean_duration` on average. An outage is a
fault named `dropout` (effect offline): FaultChanged events mark both edges in the trace.
Every device starts online; the first outages come at random times, as they would.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from smartzone.core.faults.commands import InjectFault
from smartzone.core.faults.manager import DROPOUT, FaultManager
from smartzone.core.rng import stream
from smartzone.core.simenv import CityEnvironment
from smartzone.definitions.scenario import Dropouts as DropoutSpec

if TYPE_CHECKING:
    from smartzone.core.device import Device

MIN_FACTOR = 0.5  # no battery lasts less than half its type's life from variation alone


def vary(device: Device, seed: int) -> None:
    """Give one device its own battery, jitter and calibration (drawn from its own stream)."""
    rng = stream(seed, "variation", device.id)
    dtype = device.dtype
    if dtype.battery is not None:
        spread = dtype.battery.spread
        capacity = max(MIN_FACTOR, rng.gauss(1.0, spread))
        drain = max(MIN_FACTOR, rng.gauss(1.0, spread))
        device.battery_drain = drain / capacity
    device.jitter = dtype.report.jitter * rng.uniform(0.5, 1.5)
    for name, sig in dtype.signals.items():
        if sig.calibration:
            offset = rng.gauss(0.0, sig.calibration)
            device.calibration[name] = offset
            device.bias[name] = device.bias.get(name, 0.0) + offset
    if dtype.site_spread:  # lognormal with mean 1: the district's average is kept
        s = dtype.site_spread
        device.traffic_weight *= math.exp(rng.gauss(0.0, s) - s * s / 2.0)


class Dropouts:
    """Spontaneous outages of every device at the scenario's rate."""

    def __init__(
        self, spec: DropoutSpec, seed: int, devices: Iterable[str], env: CityEnvironment, faults: FaultManager
    ) -> None:
        self.env, self.faults = env, faults
        self.mean_down = spec.mean_duration
        self.mean_up = spec.mean_duration * (1.0 - spec.fraction) / spec.fraction if spec.fraction > 0 else 0.0
        self.rngs = {d: stream(seed, "dropout", d) for d in devices} if self.mean_up > 0 else {}

    def start(self) -> None:
        """Schedule each device's first outage."""
        env = self.env
        for device_id, rng in self.rngs.items():
            env.at(env.now + rng.expovariate(1.0 / self.mean_up), self._dropper(device_id))

    def _dropper(self, device_id: str) -> Callable[[], None]:
        return lambda: self._drop(device_id)

    def _drop(self, device_id: str) -> None:
        rng, env = self.rngs[device_id], self.env
        down = max(60.0, rng.expovariate(1.0 / self.mean_down))
        self.faults.execute(InjectFault(device_id, DROPOUT, duration=down, source="dropout"))
        up = rng.expovariate(1.0 / self.mean_up)
        env.at(env.now + down + up, self._dropper(device_id))
