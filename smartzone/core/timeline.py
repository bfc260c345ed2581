"""Scenario timelines: scripted events at simulated times (rush hour, storm, concert, leak).

Each event is a SimPy process. At `at` (local time of day, on `day`, or every day with
`daily`, optionally only on the day types in `days`) it multiplies city context factors
(ctx.multipliers: traffic, demand, demand:DISTRICT), degrades network profiles, cuts
backhauls and injects device faults; after its length it undoes exactly those changes.
Both edges are TimelineChanged events (published once the change is in effect), and
every fault it starts or ends is a FaultChanged event, so a trace replays the day.
Device selection (fraction/count) draws from the "timeline" stream: same seed, same devices.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Protocol

import simpy

from smartzone.core.clock import SimClock
from smartzone.core.context import CityContext
from smartzone.core.events import TimelineChanged
from smartzone.core.faults.commands import ClearFault, CutBackhaul, DegradeLink, InjectFault, RestoreLink
from smartzone.core.faults.manager import FaultHost, FaultManager
from smartzone.core.rng import stream
from smartzone.definitions.timeline import FAULT_EFFECTS, FaultAction, TimelineEvent

if TYPE_CHECKING:
    from smartzone.core.device import Device

DAY = 86400.0
MAX_SKIPPED_DAYS = 3660  # bounds the search for the first occurrence


class TimelineHost(FaultHost, Protocol):
    """What a timeline needs of the world (core.world.World is one): no import of the world, no circle."""

    clock: SimClock
    ctx: CityContext
    faults: FaultManager
    devices: dict[str, Device]


class Timeline:
    """Runs the scenario's timeline events in one world."""

    def __init__(self, world: TimelineHost, events: list[TimelineEvent]) -> None:
        self.world = world
        self.events = events
        self.active: list[str] = []
        self._factors: dict[str, list[tuple[str, float]]] = {}
        self._targets = {ev.name: [self._select(ev, i, fa) for i, fa in enumerate(ev.faults)] for ev in events}

    # --- when -------------------------------------------------------------------------------
    def occurrence(self, ev: TimelineEvent, k: int) -> float:
        """Simulated time of the k-th start (k = 0: the first at or after `day`)."""
        clock = self.world.clock
        guess = ((ev.at - clock.hour(0.0)) % 24.0) * 3600.0 + (ev.day + k) * DAY
        # re-aim on the local clock of that day (daylight saving moves it by an hour)
        return guess + ((ev.at - clock.hour(guess) + 12.0) % 24.0 - 12.0) * 3600.0

    def processes(self) -> list[Generator[simpy.Event, Any, None]]:
        return [self._run(ev) for ev in self.events]

    def _run(self, ev: TimelineEvent) -> Generator[simpy.Event, Any, None]:
        env = self.world.env
        k = 0
        while k < MAX_SKIPPED_DAYS and self.occurrence(ev, k) < env.now:
            k += 1
        days = ev.day_types()
        skipped = 0
        while True:
            start = self.occurrence(ev, k)
            if days is not None and self.world.clock.day_type(start) not in days:
                skipped += 1  # not on this day type: try the next day (bounded: no such day may come)
                if skipped > MAX_SKIPPED_DAYS:
                    return
                k += 1
                continue
            skipped = 0
            if start > env.now:
                yield env.timeout(start - env.now)
            self.begin(ev)
            yield env.timeout(ev.length())
            self.end(ev)
            if not ev.daily:
                return
            k += 1

    # --- what -------------------------------------------------------------------------------
    def _select(self, ev: TimelineEvent, index: int, fa: FaultAction) -> list[str]:
        chosen = []
        for dev in self.world.devices.values():
            info = dev.info
            if fa.devices and dev.id not in fa.devices:
                continue
            if (fa.type and info.type != fa.type) or (fa.district and info.district != fa.district):
                continue
            if fa.fault not in dev.dtype.faults and fa.fault not in FAULT_EFFECTS:
                continue
            if fa.signal is not None and fa.signal not in dev.dtype.signals:
                continue
            effect = dev.dtype.faults[fa.fault].effect if fa.fault in dev.dtype.faults else fa.fault
            if effect == "battery_drain" and dev.dtype.battery is None:
                continue
            chosen.append(dev.id)
        if fa.fleet is not None:
            chosen = [d for d in chosen if d.rsplit("-", 1)[0] == fa.fleet]
        n = len(chosen) if fa.fraction >= 1 else max(1, round(fa.fraction * len(chosen))) if chosen else 0
        if fa.count is not None:
            n = min(n, fa.count)
        if n < len(chosen):
            rng = stream(self.world.seed, "timeline", ev.name, str(index))
            keep = set(rng.sample(chosen, n))
            chosen = [d for d in chosen if d in keep]
        return chosen

    def _multiply(self, ev: TimelineEvent, on: bool) -> None:
        ctx = self.world.ctx
        for key, factor in ev.multiply.items():
            entries = [e for e in self._factors.get(key, []) if e[0] != ev.name]
            if on:
                entries.append((ev.name, factor))
            self._factors[key] = entries
            if entries:
                product = 1.0
                for _, f in entries:
                    product *= f
                ctx.multipliers[key] = product
            else:
                ctx.multipliers.pop(key, None)

    def begin(self, ev: TimelineEvent) -> None:
        world = self.world
        self.active.append(ev.name)
        self._multiply(ev, True)
        source = f"timeline:{ev.name}"
        for na in ev.network:
            params = na.model_dump(exclude_none=True, exclude={"profile", "base", "description"})
            world.faults.execute(DegradeLink(na.profile, params, name=source, source=source))
        for hop in ev.outage:
            world.faults.execute(CutBackhaul(hop, True, source=source))
        for fa, targets in zip(ev.faults, self._targets[ev.name], strict=True):
            for device in targets:
                world.faults.execute(InjectFault(device, fa.fault, fa.signal, fa.magnitude, source=source))
        world.bus.publish(TimelineChanged(world.now, ev.name, True, ev.description))

    def end(self, ev: TimelineEvent) -> None:
        world = self.world
        source = f"timeline:{ev.name}"
        for fa, targets in zip(ev.faults, self._targets[ev.name], strict=True):
            for device in targets:
                world.faults.execute(ClearFault(device, fa.fault, source=source))
        for hop in ev.outage:
            world.faults.execute(CutBackhaul(hop, False, source=source))
        for na in ev.network:
            world.faults.execute(RestoreLink(na.profile, name=source, source=source))
        self._multiply(ev, False)
        self.active.remove(ev.name)
        world.bus.publish(TimelineChanged(world.now, ev.name, False, ev.description))
