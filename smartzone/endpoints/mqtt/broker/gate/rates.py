"""A token bucket: at most `rate` events per second on average, bursts of at most max(rate, 1) (the gate's
sandbox messages/s quota). Real (monotonic) time: the quota protects the broker, not the simulation."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """`take()` is True while the rate allows one more event; used on one event loop only (no lock)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.clock = rate, clock
        self.burst = max(1.0, rate)  # a rate under 1/s still lets one event through now and then
        self.tokens = self.burst
        self.at = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
