"""One device's link to the platform: uplink readings and downlink commands cross it.

Per message, in this order (all draws from the device's own "network" stream):
duty-cycle gate (LoRa: a reading the radio may not send yet is never sent), serialisation
(LoRa time on air, or size / rate, FIFO per device), loss (random or Gilbert-Elliott),
reorder (netem: that share skips the delay), delay + jitter, duplicate (a second copy with
its own delay), then the shared hop (backhaul/gateway capacity, queue, outage), if any.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

import simpy

from smartzone.core.events import Reading
from smartzone.core.network.backhaul import Hop
from smartzone.core.network.lora import DutyCycleGate
from smartzone.core.network.profiles import LinkProfile
from smartzone.core.network.stats import Counters

DOWNLINK_ATTEMPTS = 4  # confirmed downlink / CoAP CON: first try plus three retransmissions


class ProfileRef:
    """The live profile shared by every link that uses it (swapped by link degradation)."""

    __slots__ = ("current",)

    def __init__(self, profile: LinkProfile) -> None:
        self.current = profile


def at(env: simpy.Environment, when: float, fn: Callable[[], None]) -> None:
    """Call *fn* at simulated time *when* (no process: one plain timeout event)."""
    ev = env.timeout(when - env.now if when > env.now else 0.0)
    ev.callbacks.append(lambda _e: fn())


class Link:
    """The path of one device: its radio/modem state and the hop behind it."""

    __slots__ = ("bad", "busy_until", "down", "env", "gate", "hop", "publish", "ref", "rng", "up")

    def __init__(
        self,
        env: simpy.Environment,
        ref: ProfileRef,
        rng: random.Random,
        up: Counters,
        down: Counters,
        hop: Hop | None,
        publish: Callable[[Reading], None],
    ) -> None:
        self.env, self.ref, self.rng, self.up, self.down, self.hop = env, ref, rng, up, down, hop
        self.publish = publish
        self.gate = DutyCycleGate()
        self.busy_until = 0.0
        self.bad = False  # Gilbert-Elliott state

    # --- shared pieces ----------------------------------------------------------------------
    def _lost(self, p: LinkProfile) -> bool:
        ge = p.gilbert
        if ge is None:
            return p.loss > 0 and self.rng.random() < p.loss
        rng = self.rng
        lost = rng.random() < (ge.bad_loss if self.bad else ge.good_loss)
        if self.bad:
            self.bad = not (rng.random() < ge.r)
        else:
            self.bad = rng.random() < ge.p
        return lost

    def _latency(self, p: LinkProfile) -> float:
        if p.reorder and self.rng.random() < p.reorder:
            return 0.0
        return p.draw_delay(self.rng)

    # --- uplink -----------------------------------------------------------------------------
    def clear_to_send(self, t: float) -> bool:
        """False while a duty-cycle limit keeps the radio silent (the reading is not sent)."""
        if self.ref.current.duty_cycle and not self.gate.clear(t):
            self.up.throttled += 1
            return False
        return True

    def uplink(self, reading: Reading) -> None:
        """Send a reading taken at `reading.t`; it is published when (if) it arrives."""
        p = self.ref.current
        t = reading.t
        up = self.up
        up.sent += 1
        start = self.busy_until if self.busy_until > t else t
        self.busy_until = start + p.serialisation
        if p.duty_cycle:
            self.gate.transmitted(start, p.serialisation, p.duty_cycle)
        if self._lost(p):
            up.drop("loss")
            return
        sent_at = self.busy_until
        arrivals = [sent_at + self._latency(p)]
        if p.duplicate and self.rng.random() < p.duplicate:
            arrivals.append(sent_at + p.draw_delay(self.rng))
            up.duplicated += 1
        msg = replace(reading, measured=reading.measured_at)
        first = [True]
        for when in arrivals:
            if self.hop is None:
                at(self.env, when, lambda: self._arrive(msg, first))
            else:
                at(self.env, when, lambda: self._through_hop(msg, first))

    def _through_hop(self, msg: Reading, first: list[bool]) -> None:
        hop = self.hop
        assert hop is not None
        hop.counters.sent += 1
        leave = hop.admit(self.env.now, hop.counters)
        if leave is None:
            if first[0]:
                self.up.drop("outage" if hop.cut else "queue")
            return
        hop.counters.delivered += 1
        at(self.env, leave, lambda: self._arrive(msg, first))

    def _arrive(self, msg: Reading, first: list[bool]) -> None:
        now = self.env.now
        if first[0]:
            first[0] = False
            self.up.delivered += 1
            self.up.latency.add(now - msg.t)
            if self.hop is not None:
                self.hop.counters.latency.add(now - msg.t)
        self.publish(replace(msg, t=now))

    # --- downlink ---------------------------------------------------------------------------
    def downlink(self, apply: Callable[[], None], fail: Callable[[str], None], attempt: int = 1) -> None:
        """Carry a command to the device: *apply* on arrival, *fail* after the last lost try."""
        p = self.ref.current
        now = self.env.now
        down = self.down
        down.sent += 1
        wait = self.rng.uniform(0.0, p.paging) if p.paging else 0.0
        delay = wait + p.serialisation + p.draw_delay(self.rng)
        hop = self.hop
        reason = "outage" if hop is not None and hop.cut else ("loss" if self._lost(p) else "")
        if not reason:
            if hop is not None:
                delay += hop.delay
            down.delivered += 1
            down.latency.add(delay)
            at(self.env, now + delay, apply)
            return
        down.drop(reason)
        if attempt >= DOWNLINK_ATTEMPTS:
            at(self.env, now + delay, lambda: fail(f"no answer over {p.name} after {attempt} attempts ({reason})"))
            return
        timeout = max(1.0, 2.0 * (p.delay + p.paging + p.serialisation))
        at(self.env, now + timeout, lambda: self.downlink(apply, fail, attempt + 1))
