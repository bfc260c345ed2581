"""Bare scheduled callbacks on a SimPy environment: the engine's cheapest kind of event.

simpy is pinned (4.1.2): these push entries on the environment's queue exactly as
Environment.schedule does, so they interleave with ordinary SimPy events in the same
deterministic order (time, priority, insertion count).
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL, URGENT


class Delivery:
    """A bare scheduled callback: only what simpy's step() reads of an event.

    One message in flight costs one of these instead of a full Timeout, pushed straight
    on the environment's event queue exactly as Environment.schedule does (simpy is
    pinned): this is what keeps emulation cheap in fast mode.
    """

    __slots__ = ("_ok", "_value", "callbacks", "first")

    def __init__(self, fn: Callable[[Any], None], value: Any, first: list[bool] | None = None) -> None:
        self.callbacks: list[Callable[[Any], None]] | None = [fn]
        self._ok = True
        self._value = value
        self.first = first


def later(
    env: simpy.Environment, delay: float, fn: Callable[[Any], None], value: Any, first: list[bool] | None = None
) -> None:
    """Call fn(delivery) after *delay* simulated seconds; `delivery._value` is *value*."""
    heappush(
        env._queue,
        (
            env._now + (delay if delay > 0 else 0.0),
            NORMAL,
            next(env._eid),  # type: ignore[attr-defined,misc]
            Delivery(fn, value, first),
        ),
    )


def at(env: simpy.Environment, when: float, fn: Callable[[], None]) -> None:
    """Call *fn* at simulated time *when*."""
    later(env, when - env.now, lambda _d: fn(), None)


def soon(env: simpy.Environment, fn: Callable[[Any], None]) -> None:
    """Call fn(delivery) now, ahead of the ordinary events due now: where and how
    Environment.process() schedules a new process's first step (URGENT)."""
    heappush(env._queue, (env._now, URGENT, next(env._eid), Delivery(fn, None)))  # type: ignore[attr-defined,misc]
