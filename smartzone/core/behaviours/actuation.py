"""Models driven by actuator state: mirrors, street-light control, traffic-signal phases."""

from __future__ import annotations

import importlib
import random
from collections.abc import Sequence
from typing import Any

from smartzone.core.behaviours.base import Model, Scope, register
from smartzone.definitions import behaviour_params as p
from smartzone.definitions.device_type import Signal


@register("state")
class StateValue(Model):
    def __init__(self, spec: p.StateValue, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.state, self.var, self.map = scope.state, spec.var, spec.map

    def sample(self, t: float) -> Any:
        value = self.state[self.var]
        if self.map is not None:
            return self.map.get(str(value).lower() if isinstance(value, bool) else str(value), value)
        return value


@register("dusk_dawn")
class DuskDawn(Model):
    """The lamp level: the commanded one in manual mode, the dusk/dawn schedule's in auto.

    Auto mode: on from dusk to dawn, by the astronomical rule (switch_on/switch_off plus
    offsets, on the city's sun times) or by the daylight threshold; dimmed 00:00-05:00.
    In auto mode the schedule also owns the state (drives()): lit means `on` and `level`
    = the scheduled level; dark means `on` false (the level is kept, as after a manual
    switch-off). So the reported level is always `level` if `on`, else 0, in both modes.
    """

    def __init__(self, spec: p.DuskDawn, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.scope, self.spec = scope, spec
        self.auto: float | None = None  # the schedule's level at the last sample (None: manual)
        self.last = 0.0

    def _edges(self, t: float) -> tuple[float, float]:
        """Today's switch-off (morning) and switch-on (evening) times."""
        s, ctx = self.spec, self.scope.ctx_value
        return ctx(s.switch_off, t) + s.off_offset_min * 60.0, ctx(s.switch_on or "sunset", t) + s.on_offset_min * 60.0

    def sample(self, t: float) -> float:
        self.last = t
        s, state = self.spec, self.scope.state
        if state.get(s.mode_var, "auto") != "auto":
            self.auto = None
            return float(state.get(s.level_var, 0)) if state.get(s.on_var, True) else 0.0
        if s.switch_on is not None:
            off_at, on_at = self._edges(t)
            dark = not (off_at <= t < on_at)
        else:
            dark = self.scope.ctx_value("daylight", t) < s.threshold
        if not dark:
            self.auto = 0.0
        elif s.night_level is not None and self.scope.clock.hour(t) < 5.0:
            self.auto = s.night_level
        else:
            self.auto = s.auto_level
        return self.auto

    def drives(self) -> dict[str, Any] | None:
        if self.auto is None:
            return None
        if self.auto <= 0:
            return {self.spec.on_var: False}
        return {self.spec.on_var: True, self.spec.level_var: round(self.auto)}

    def next_change(self) -> float | None:
        """The next switching or dimming edge, so a light switches on time (astronomical rule)."""
        s, t = self.spec, self.last
        if s.switch_on is None or self.scope.state.get(s.mode_var, "auto") != "auto":
            return None
        hour = self.scope.clock.hour(t)
        edges = [*self._edges(t), *self._edges(t + 86400.0)]
        if s.night_level is not None:
            midnight = t + (24.0 - hour) * 3600.0
            edges += [midnight, midnight + 5 * 3600.0, midnight - 19 * 3600.0]
        return min((e for e in edges if e > t + 1e-6), default=None)


EDGE_PAST_S = 0.001  # wake just after a switch point, never just before it (float hours)


@register("phase_cycle")
class PhaseCycle(Model):
    def __init__(self, spec: p.PhaseCycle, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.scope, self.spec = scope, spec
        self.timings = {0: _timing(spec.phases)} | {n: _timing(phases) for n, phases in spec.plans.items()}
        self.offset = rng.uniform(0.0, self.timings[0][0])
        self.edges = sorted({0.0} | {x for period in spec.schedule for x in (period.start, period.end)})
        self.scheduled: int | None = None  # the schedule's plan at the last sample
        self.switch: dict[str, Any] | None = None  # the plan the schedule just switched to
        self.last = 0.0

    def _schedule(self, t: float) -> int:
        clock, hour = self.scope.clock, self.scope.clock.hour(t)
        for period in self.spec.schedule:
            if period.start <= period.end:
                inside, day_t = period.start <= hour < period.end, t
            elif hour >= period.start:
                inside, day_t = True, t
            else:  # the early hours of a period that began the evening before
                inside, day_t = hour < period.end, t - 86400.0
            if inside and _on_day(period.days, clock.day_type(day_t)):
                return period.plan
        return self.spec.default_plan

    def sample(self, t: float) -> str:
        self.last = t
        plan = self.scope.state.get(self.spec.plan_var)
        if self.spec.schedule:
            scheduled = self._schedule(t)
            if scheduled != self.scheduled:  # a switch point: the schedule takes over again
                self.scheduled, self.switch, plan = scheduled, {self.spec.plan_var: scheduled}, scheduled
        mode = self.scope.state.get(self.spec.mode_var, "auto")
        if mode == "flash":
            return self.spec.flash_value
        if mode == "off":
            return self.spec.off_value
        cycle, ends = self.timings.get(plan if isinstance(plan, int) else 0, self.timings[0])
        pos = (t + self.offset) % cycle
        for end, name in ends:
            if pos < end:
                return name
        return ends[-1][1]

    def drives(self) -> dict[str, Any] | None:
        switch, self.switch = self.switch, None
        return switch

    def next_change(self) -> float | None:
        """The schedule's next switch point (or midnight, when the day type may change)."""
        if not self.spec.schedule:
            return None
        hour = self.scope.clock.hour(self.last)
        ahead = min(((e - hour) % 24.0) or 24.0 for e in self.edges)
        return self.last + ahead * 3600.0 + EDGE_PAST_S


def _timing(phases: list[p.Phase]) -> tuple[float, list[tuple[float, str]]]:
    """A plan's cycle length and the end of each phase within it."""
    ends, total = [], 0.0
    for phase in phases:
        total += phase.duration
        ends.append((total, phase.name))
    return total, ends


def _on_day(days: Sequence[str] | None, day_type: str) -> bool:
    if days is None or day_type in days:
        return True
    return "weekend" in days and day_type in ("saturday", "sunday")


@register("custom")
def custom(spec: p.Custom, scope: Scope, rng: random.Random, signal: Signal) -> Model:
    """Load `package.module:factory` and call it with (params, scope, rng, signal)."""
    module_name, func_name = spec.function.split(":")
    factory = getattr(importlib.import_module(module_name), func_name)
    model = factory(spec.params, scope, rng, signal)
    if not isinstance(model, Model):
        raise TypeError(f"{spec.function} returned {type(model).__name__}, not a behaviour Model")
    return model
