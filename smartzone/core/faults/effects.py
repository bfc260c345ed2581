"""What an active fault does to the readings a device sends.

Value effects act on the reading as it leaves the device (the behaviour model keeps
running underneath, so the true value resumes the moment the fault ends): stuck, drift,
noise, spike, offset on numeric signals (stuck on any signal), clock_skew on `measured`.
A shifted value stays within the signal's declared min/max unless the fault is declared
`out_of_range: true`, and a circular signal (wind direction) wraps. offline,
battery_drain and physical offsets (a leak: the device's `bias`) act on the device
itself (see manager.py). word_swap changes nothing in the core: it is a fact endpoints read
(the Modbus gateway serves the device's 32-bit registers with their two words swapped).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smartzone.core.events import Reading

if TYPE_CHECKING:
    from smartzone.core.device import Device

SPIKE_PROBABILITY = 0.2
VALUE_EFFECTS = frozenset({"stuck", "drift", "noise", "spike", "offset", "clock_skew"})
WORD_SWAP = "word_swap"  # the device's wire encoding swaps the words of 32-bit values (endpoints apply it)


@dataclass
class ActiveFault:
    """One fault running on one device."""

    name: str
    effect: str
    signals: tuple[str, ...]
    magnitude: float
    start: float
    token: int
    frozen: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    out_of_range: bool = False
    physical: bool = False


class DeviceFaults:
    """The active faults of one device; installed as `device.distort` while any value fault runs."""

    def __init__(self, device: Device, rng: random.Random) -> None:
        self.device = device
        self.rng = rng
        self.active: dict[str, ActiveFault] = {}
        sigs = device.dtype.signals
        self._format = {n: (s.datatype, s.decimals) for n, s in sigs.items()}
        self._bounds = {n: (s.min, s.max, s.circular) for n, s in sigs.items()}

    def value_faults(self) -> bool:
        return any(f.effect in VALUE_EFFECTS and not f.physical for f in self.active.values())

    def _shift(self, values: dict[str, Any], name: str, delta: float, free: bool) -> None:
        value = values.get(name)
        kind, decimals = self._format.get(name, ("float", 2))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or kind not in ("int", "float"):
            return
        shifted = value + delta
        low, high, circle = self._bounds.get(name, (None, None, None))
        if circle is not None:
            shifted %= circle
        elif not free:  # a sensor cannot read what it cannot measure (negative wind speed)
            shifted = max(shifted, low) if low is not None else shifted
            shifted = min(shifted, high) if high is not None else shifted
        shifted = round(shifted) if kind == "int" else round(shifted, decimals)
        values[name] = shifted % circle if circle is not None else shifted

    def distort(self, reading: Reading) -> Reading:
        values = dict(reading.values)
        measured = reading.measured
        t = reading.t
        rng = self.rng
        for f in self.active.values():
            effect = f.effect
            if f.physical:
                continue
            if effect == "stuck":
                values.update(f.frozen)
            elif effect == "clock_skew":
                measured = reading.measured_at + f.magnitude
            else:
                for name in f.signals:
                    if effect == "offset":
                        delta = f.magnitude
                    elif effect == "drift":
                        delta = f.magnitude * (t - f.start) / 3600.0
                    elif effect == "noise":
                        delta = rng.gauss(0.0, f.magnitude)
                    elif effect == "spike":
                        hit = rng.random() < SPIKE_PROBABILITY
                        delta = f.magnitude * (1 if rng.random() < 0.5 else -1) if hit else 0.0
                    else:
                        continue
                    self._shift(values, name, delta, f.out_of_range)
        return Reading(t, reading.device, reading.seq, values, measured)
