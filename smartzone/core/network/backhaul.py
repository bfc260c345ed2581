"""A shared hop (gateway, cell, backhaul line): finite capacity, a finite queue, outages.

The hop is a FIFO server of `capacity` messages per second. A message that arrives while
`queue` messages are already waiting is dropped ("queue"); while the hop is cut, every
message is dropped ("outage"). Background traffic (other users of the line) arrives as a
Poisson stream, added once per second as a batch, and competes for the same capacity.
"""

from __future__ import annotations

import math
import random
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from smartzone.core.behaviours.discrete import poisson
from smartzone.core.network.stats import Counters
from smartzone.definitions.network import Backhaul

BACKGROUND_TICK_S = 1.0


@dataclass(frozen=True)
class HopState:
    """A copy of one hop's live condition (Network.state): counters include background traffic."""

    id: str
    kind: str  # "gateway" | "backhaul"
    capacity: float  # messages per second
    queue_limit: int
    queued: float  # messages waiting now (work ahead of a new arrival, in messages)
    cut: bool
    sent: int  # cumulative, devices' and background messages offered to the hop
    delivered: int
    dropped: int


class Hop:
    """One backhaul or gateway and its counters."""

    def __init__(self, spec: Backhaul, rng: random.Random) -> None:
        self.spec = spec
        self.id = spec.id
        self.service = 1.0 / spec.capacity
        self.queue_limit = spec.queue
        self.delay = spec.delay
        self.rng = rng
        self.busy_until = 0.0
        self.cut = False
        self.counters = Counters(spec.id, spec.kind)
        self.background = Counters(f"{spec.id}/background", spec.kind)

    def carries(self, network: str, district: str) -> bool:
        s = self.spec
        return (s.networks == "all" or network in s.networks) and (s.districts == "all" or district in s.districts)

    def state(self, now: float) -> HopState:
        """This hop's condition at simulated time `now` (engine thread)."""
        c, bg = self.counters, self.background
        return HopState(
            self.id,
            self.spec.kind,
            self.spec.capacity,
            self.queue_limit,
            max(0.0, self.busy_until - now) / self.service,
            self.cut,
            c.sent + bg.sent,
            c.delivered + bg.delivered,
            c.dropped + bg.dropped,
        )

    def admit(self, t: float, counters: Counters) -> float | None:
        """When a message arriving at *t* leaves the hop, or None if it is dropped (counted)."""
        if self.cut:
            counters.drop("outage")
            return None
        start = self.busy_until if self.busy_until > t else t
        if (start - t) / self.service > self.queue_limit + 1e-9:
            counters.drop("queue")
            return None
        self.busy_until = start + self.service
        return self.busy_until + self.delay

    def background_process(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        """Other traffic on the line: Poisson, `background` messages per second."""
        rate = self.spec.background
        bg = self.background
        while True:
            yield env.timeout(BACKGROUND_TICK_S)
            n = poisson(self.rng, rate * BACKGROUND_TICK_S)
            bg.sent += n
            if self.cut:
                bg.drops["outage"] = bg.drops.get("outage", 0) + n
                continue
            now = env.now
            start = self.busy_until if self.busy_until > now else now
            room = max(0, math.floor(self.queue_limit - (start - now) / self.service + 1e-9) + 1)
            admitted = min(n, room)
            self.busy_until = start + admitted * self.service
            bg.delivered += admitted
            if n > admitted:
                bg.drops["queue"] = bg.drops.get("queue", 0) + n - admitted
