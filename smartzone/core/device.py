"""A simulated device: its signals, actuator state, reporting schedule and online status.

A device belongs to the engine thread. Other threads never touch it: they send commands
and read the facts it publishes on the bus.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smartzone.core.behaviours import Model, build
from smartzone.core.bus import EventBus
from smartzone.core.clock import SimClock
from smartzone.core.context import CityContext
from smartzone.core.events import Reading, StateChanged, StatusChanged
from smartzone.core.simenv import CityEnvironment
from smartzone.definitions.base import DistrictKind
from smartzone.definitions.device_type import DeviceType, Signal


@dataclass(frozen=True)
class DeviceInfo:
    """Static facts about a device (safe to share with any thread)."""

    id: str
    type: str
    tenant: str
    district: str
    name: str
    lat: float
    lon: float
    address: str
    serial: str
    vendor: str
    model: str
    network: str
    report_interval: float


def _formatter(sig: Signal) -> Callable[[Any], Any]:
    if sig.circular is not None:  # wrap after rounding: 359.6 deg reads 0, never 360
        c, digits = sig.circular, (0 if sig.datatype == "int" else sig.decimals)
        return lambda v: (round(v, digits) % c) if digits else round(v) % round(c)
    if sig.datatype == "int":
        return lambda v: round(v) if isinstance(v, (int, float)) else v
    if sig.datatype == "float":
        digits = sig.decimals
        return lambda v: round(float(v), digits) if isinstance(v, (int, float)) else v
    if sig.datatype == "bool":
        return bool
    return lambda v: v


class Device:
    """One simulated device in the SimPy world."""

    def __init__(
        self,
        info: DeviceInfo,
        dtype: DeviceType,
        clock: SimClock,
        ctx: CityContext,
        bus: EventBus,
        rng: random.Random,
        traffic_weight: float,
        land_use: DistrictKind = "mixed",
    ) -> None:
        self.info, self.dtype, self.clock, self.ctx, self.bus = info, dtype, clock, ctx, bus
        self.land_use = land_use  # the district's kind, read by land-use behaviours (parking)
        self.id = info.id
        self.rng = rng
        self.traffic_weight = traffic_weight
        self.state: dict[str, Any] = {name: var.default for name, var in dtype.state.items()}
        self.values: dict[str, Any] = {}
        self.seq = 0
        self.online = True
        self.retired = False  # deleted from a sandbox: its scheduled wake-ups end quietly
        # Added to a signal's true value before signals computed from it read it: per-device
        # calibration (core/variation.py) and physical faults such as a leak (core/faults).
        self.bias: dict[str, float] = {}
        self.calibration: dict[str, float] = {}
        self.battery_age = rng.uniform(0.0, 0.7) * dtype.battery.life if dtype.battery else 0.0
        self.battery_drain = 1.0
        self.models: list[tuple[str, Model, Callable[[Any], Any]]] = [
            (name, build(sig.model, self, rng, sig), _formatter(sig)) for name, sig in dtype.signals.items()
        ]
        self.event_models = [m for _, m, _ in self.models if type(m).next_change is not Model.next_change]
        # models that act on their own (a street light's dusk/dawn schedule) and so set state
        self.state_models = [m for _, m, _ in self.models if type(m).drives is not Model.drives]
        self.on_change = frozenset(dtype.report.on_change)
        self.interval = info.report_interval
        self.jitter = dtype.report.jitter
        # Draw the report phase, then take the first sample at t=0, so that values exist
        # from the start (endpoints and GUI read them before the first report).
        self.first_report = rng.uniform(0.0, self.interval)
        self._enum_index = {name: {v: i for i, v in enumerate(sig.values or [])} for name, sig in dtype.signals.items()}
        self._enum_index.update(
            {f"state.{n}": {v: i for i, v in enumerate(s.values or [])} for n, s in dtype.state.items()}
        )
        # Network and fault hooks (core/network, core/faults): None / bus.publish = a perfect link.
        self.clear_to_send: Callable[[float], bool] | None = None
        self.distort: Callable[[Reading], Reading] | None = None
        self.transmit: Callable[[Reading], None] = bus.publish
        self.sample(0.0)
        self.follow_models()  # the first state is the schedule's too (nobody listens yet)

    # --- what behaviour models read (Scope) -------------------------------------------
    def ctx_value(self, name: str, t: float) -> float:
        if name == "traffic":
            return self.ctx.traffic(t, self.traffic_weight)
        if name == "demand":
            return self.ctx.demand(t, self.info.district)
        if name == "daylight":
            return self.ctx.daylight(t)
        if name == "temperature":
            return self.ctx.temperature(t)
        if name == "rain":
            return self.ctx.rain(t)
        if name == "hour":
            return self.clock.hour(t)
        if name == "battery":
            return self.battery(t)
        if name in ("radiation", "cloud"):
            return float(getattr(self.ctx, name)(t))
        if name in ("sunrise", "sunset", "dawn", "dusk", "noon"):  # simulated time of today's event
            return self.ctx.sun_event(name, t)
        raise KeyError(name)

    def as_number(self, scope: str, name: str, value: Any) -> float:
        if isinstance(value, str):
            key = name if scope == "signal" else f"state.{name}"
            return float(self._enum_index.get(key, {}).get(value, 0))
        return float(value)

    def battery(self, t: float) -> float:
        """Remaining battery fraction (1.0 for mains-powered devices)."""
        if self.dtype.battery is None:
            return 1.0
        return max(0.0, 1.0 - (self.battery_age + t * self.battery_drain) / self.dtype.battery.life)

    # --- simulation -----------------------------------------------------------------------
    def sample(self, t: float) -> set[str]:
        """Recompute every signal at time t; return the names whose wire value changed."""
        changed: set[str] = set()
        values = self.values
        bias = self.bias
        for name, model, fmt in self.models:
            value = fmt(model.sample(t) if not bias or name not in bias else self._biased(name, model.sample(t)))
            if values.get(name) != value:
                changed.add(name)
            values[name] = value
        return changed

    def _biased(self, name: str, value: float) -> float:
        sig = self.dtype.signals[name]
        value += self.bias[name]
        if sig.circular is not None:
            return value % sig.circular
        return min(max(value, -math.inf if sig.min is None else sig.min), math.inf if sig.max is None else sig.max)

    def send(self, t: float) -> None:
        """Send a reading now (only while online and while the radio may transmit).

        `seq` counts readings sent; the link decides whether and when each arrives.
        """
        if not self.online or (self.clear_to_send is not None and not self.clear_to_send(t)):
            return
        self.seq += 1
        reading = Reading(t, self.id, self.seq, dict(self.values))
        self.transmit(reading if self.distort is None else self.distort(reading))

    def start(self, env: CityEnvironment) -> None:
        """Schedule the device's report loop: sample on its report schedule and on spontaneous
        changes, and send readings.

        Written as scheduled callbacks rather than a generator process (one event and one
        call per wake-up instead of a Timeout plus a process resumption: about 7 % of the
        engine's time). The queue entries are those `env.process()` and `env.timeout()`
        made (same times, priorities and insertion order), so traces are unchanged.
        """
        self._env = env
        self._next_report = env.now + self.first_report
        env.soon(self._wake)

    def _wake(self, _event: Any = None) -> None:
        """Schedule the next wake-up; run the loop body at once while one is due now."""
        env = self._env
        while True:
            now = env.now
            wake = self._next_report
            for model in self.event_models:
                nxt = model.next_change()
                if nxt is not None and nxt < wake:
                    wake = nxt
            if wake > now:
                env.later(wake - now, self._tick, None)
                return
            self._step(now)

    def _tick(self, _event: Any) -> None:
        if self.retired:
            return
        self._step(self._env.now)
        self._wake()

    def follow_models(self) -> bool:
        """Write into the state what the self-acting models' last samples imply; True if it changed."""
        changed = False
        state = self.state
        for model in self.state_models:
            for name, value in (model.drives() or {}).items():
                if state.get(name) != value:
                    state[name] = value
                    changed = True
        return changed

    def _step(self, now: float) -> None:
        changed = self.sample(now)
        if self.state_models and self.follow_models():
            self.bus.publish(StateChanged(now, self.id, dict(self.state), "schedule"))
        if now >= self._next_report:
            self.send(now)
            jitter = self.rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0
            self._next_report = now + max(1.0, self.interval + jitter)
        elif changed & self.on_change:
            self.send(now)

    def apply_state(self, updates: dict[str, Any], t: float, cause: str) -> dict[str, Any]:
        """Set actuator state variables, publish the new state, report at once if it shows.

        The state published (and acknowledged) is the one after the device's own models have
        acted on the command (e.g. back to auto: the schedule's level), the one it reports."""
        self.state.update(updates)
        changed = self.sample(t)
        self.follow_models()
        snapshot = dict(self.state)
        self.bus.publish(StateChanged(t, self.id, snapshot, cause))
        if changed & self.on_change:
            self.send(t)
        return snapshot

    def retire(self) -> None:
        """Stop for good (a sandbox device deleted): no more samples, readings or state changes."""
        self.retired = True
        self.online = False

    def set_online(self, online: bool, t: float, reason: str) -> None:
        if online != self.online and not self.retired:
            self.online = online
            self.bus.publish(StatusChanged(t, self.id, online, reason))
