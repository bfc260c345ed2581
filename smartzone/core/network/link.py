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

from smartzone.core.events import Reading
from smartzone.core.network.backhaul import Hop
from smartzone.core.network.lora import DutyCycleGate
from smartzone.core.network.profiles import QUANTILES, LinkProfile, Z
from smartzone.core.network.stats import BATCH, Counters
from smartzone.core.simenv import CityEnvironment, Delivery

DOWNLINK_ATTEMPTS = 4  # confirmed downlink / CoAP CON: first try plus three retransmissions


class ProfileRef:
    """The live profile shared by every link that uses it (swapped by link degradation)."""

    __slots__ = ("current",)

    def __init__(self, profile: LinkProfile) -> None:
        self.current = profile


class Link:
    """The path of one device: its radio/modem state and the hop behind it."""

    __slots__ = ("bad", "busy_until", "down", "env", "fire", "gate", "hop", "publish", "ref", "rng", "up")

    def __init__(
        self,
        env: CityEnvironment,
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
        self.fire = self._fire  # bound once: used for every message

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

    # --- uplink -----------------------------------------------------------------------------
    def clear_to_send(self, t: float) -> bool:
        """False while a duty-cycle limit keeps the radio silent (the reading is not sent)."""
        if self.ref.current.duty_cycle and t < self.gate.next_allowed:  # = not gate.clear(t)
            self.up.throttled += 1
            return False
        return True

    def uplink(self, reading: Reading) -> None:
        """Send a reading taken at `reading.t` (now); it is published when (if) it arrives.

        The link takes the reading over: the caller must not keep or publish it.

        The common path (random loss, normal jitter, no hop, no duplicate) is written inline:
        it runs for every reading of every device, so function calls are what it costs.
        """
        p = self.ref.current
        t = reading.t
        up = self.up
        rng = self.rng
        up.sent += 1
        start = self.busy_until if self.busy_until > t else t
        self.busy_until = sent_at = start + p.serialisation
        if p.duty_cycle:  # the radio may send again after airtime / duty cycle
            self.gate.next_allowed = start + p.serialisation / p.duty_cycle
        if self._lost(p) if p.gilbert is not None else p.loss and rng.random() < p.loss:
            up.drop("loss")
            return
        if p.reorder and rng.random() < p.reorder:
            latency = 0.0
        elif p.normal:  # = p.draw_delay(rng), inlined
            x = rng.random() * QUANTILES - 0.5
            i = int(x)
            latency = p.delay + p.jitter * (Z[i] + (Z[i + 1] - Z[i]) * (x - i))
            latency = 0.0 if latency < 0.0 else (p.max_delay if latency > p.max_delay else latency)
        else:
            latency = p.draw_delay(rng)
        delay = sent_at - t + latency
        env = self.env
        if p.duplicate and rng.random() < p.duplicate:
            up.duplicated += 1
            first = [True]  # shared by both copies: the first to arrive is the delivery
            step = self._to_hop if self.hop is not None else self._arrive
            env.later(delay, step, reading, first)
            env.later(sent_at - t + p.draw_delay(rng), step, reading, first)
            return
        if self.hop is not None:
            env.later(delay, self._to_hop, reading)
            return
        # with no hop behind it, a message that survived the loss draw will arrive: count it
        # now and schedule the final Reading's publication
        up.delivered += 1
        pending = up.latency.pending
        pending.append(delay)
        if len(pending) >= BATCH:
            up.latency.fold()
        measured = t if reading.measured is None else reading.measured
        env.later(delay, self.fire, Reading(t + delay, reading.device, reading.seq, reading.values, measured))

    def _fire(self, ev: Delivery) -> None:
        self.publish(ev._value)

    def _to_hop(self, ev: Delivery) -> None:
        reading, first = ev._value, ev.first
        hop = self.hop
        assert hop is not None
        hop.counters.sent += 1
        leave = hop.admit(self.env.now, hop.counters)
        if leave is None:
            if first is None or first[0]:
                self.up.drop("outage" if hop.cut else "queue")
            return
        hop.counters.delivered += 1
        self.env.later(leave - self.env.now, self._arrive, reading, first)

    def _arrive(self, ev: Delivery) -> None:
        reading, first = ev._value, ev.first
        now = self.env.now
        if first is None or first[0]:
            if first is not None:
                first[0] = False
            up = self.up
            up.delivered += 1
            up.latency.add(now - reading.t)
            if self.hop is not None:
                self.hop.counters.latency.add(now - reading.t)
        measured = reading.t if reading.measured is None else reading.measured
        self.publish(Reading(now, reading.device, reading.seq, reading.values, measured))

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
            self.env.at(now + delay, apply)
            return
        down.drop(reason)
        if attempt >= DOWNLINK_ATTEMPTS:
            self.env.at(now + delay, lambda: fail(f"no answer over {p.name} after {attempt} attempts ({reason})"))
            return
        timeout = max(1.0, 2.0 * (p.delay + p.paging + p.serialisation))
        self.env.at(now + timeout, lambda: self.downlink(apply, fail, attempt + 1))
