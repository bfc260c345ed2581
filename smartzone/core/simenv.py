"""The city's SimPy environment: SimPy's own plus the engine's cheapest events and the look-ahead pacing needs.

This is the only module that touches SimPy's private state (`_queue`, `_now`, `_eid`); simpy
is pinned (4.1.2) for it. Bare callbacks are pushed on the queue exactly as
`Environment.schedule` does, so they interleave with ordinary SimPy events in the same
deterministic order (time, priority, insertion count).
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL, URGENT

INF = float("inf")


class Delivery:
    """A bare scheduled callback: only what simpy's step() reads of an event.

    One message in flight costs one of these instead of a full Timeout: this is what keeps
    emulation cheap in fast mode. `_value` is the payload handed to the callback.
    """

    __slots__ = ("_ok", "_value", "callbacks", "first")

    def __init__(self, fn: Callable[[Any], None], value: Any, first: list[bool] | None = None) -> None:
        self.callbacks: list[Callable[[Any], None]] | None = [fn]
        self._ok = True
        self._value = value
        self.first = first


class CityEnvironment(simpy.Environment):
    """A simpy.Environment with bare callbacks (`later`, `at`, `soon`) and queue look-ahead."""

    def later(
        self, delay: float, fn: Callable[[Any], None], value: Any = None, first: list[bool] | None = None
    ) -> None:
        """Call fn(delivery) after *delay* simulated seconds; `delivery._value` is *value*."""
        queue: list[Any] = self._queue  # type: ignore[attr-defined]
        eid: Any = self._eid  # type: ignore[attr-defined]
        heappush(queue, (self._now + (delay if delay > 0 else 0.0), NORMAL, next(eid), Delivery(fn, value, first)))

    def at(self, when: float, fn: Callable[[], None]) -> None:
        """Call *fn* at simulated time *when* (now, if *when* has passed)."""
        self.later(when - self._now, lambda _d: fn(), None)

    def soon(self, fn: Callable[[Any], None]) -> None:
        """Call fn(delivery) now, ahead of the ordinary events due now: where and how
        Environment.process() schedules a new process's first step (URGENT)."""
        queue: list[Any] = self._queue  # type: ignore[attr-defined]
        eid: Any = self._eid  # type: ignore[attr-defined]
        heappush(queue, (self._now, URGENT, next(eid), Delivery(fn, None)))

    def run_urgent_due(self) -> None:
        """Process the urgent events due now (the first step of every process just started)."""
        queue = self._queue  # type: ignore[attr-defined]
        while queue and queue[0][0] <= self._now and queue[0][1] == URGENT:
            self.step()

    def next_event_after(self, t: float) -> float:
        """When the next event after `t` is due (`t` itself if none is).

        SimPy 4.1 leaves the marker of `run(until=t)` in its queue at `t`, so peek() says
        `t` and a paced loop would never sleep (a busy loop holding the GIL, starving the
        endpoints' threads): look past entries at `t`. The queue is a binary heap, so the
        entries due by `t` form a subtree at its root (normally just the marker): walk that
        subtree only, and the earliest of its children is the answer (O(entries due), where
        a scan of the whole queue cost a third of the engine's time at 12,000 events/s).
        """
        queue = self._queue  # type: ignore[attr-defined]
        nxt = queue[0][0] if queue else INF
        if nxt > t:
            return nxt
        best, stack = INF, [0]
        while stack:
            i = stack.pop()
            for child in (2 * i + 1, 2 * i + 2):
                if child < len(queue):
                    when = queue[child][0]
                    if when > t:
                        best = min(best, when)
                    else:
                        stack.append(child)
        return best if best != INF else t
