"""The engine thread: the only thread that touches the SimPy world.

It drains an inbox of commands and control requests, and advances simulated time either
as fast as possible or paced to the wall clock at a speed factor that can change at run
time (a plain simpy.RealtimeEnvironment cannot change its factor, so pacing is ours:
each speed change or resume re-anchors simulated time to the wall clock).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from smartzone.core.world import World

FAST_CHUNK_S = 60.0  # simulated seconds per fast-mode slice between inbox checks
MAX_IDLE_WAIT_S = 0.05  # wall seconds the paced loop sleeps at most between checks
PACE_QUANTUM_S = 0.001  # wall seconds the paced loop sleeps at least once caught up (events batch)


@dataclass
class _Call:
    """Run `fn(world)` on the engine thread and resolve `future` with its result."""

    fn: Callable[[World], Any]
    future: Future[Any] = field(default_factory=Future)


class Engine(threading.Thread):
    def __init__(self, world: World, *, fast: bool, speed: float, until: float | None) -> None:
        super().__init__(name="smartzone-engine", daemon=True)
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.world = world
        self.fast = fast
        self.speed = speed
        self.until = until
        self.inbox: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self.paused = False
        self.finished = threading.Event()
        self.error: BaseException | None = None
        self._stop_requested = False
        self._anchor_wall = 0.0
        self._anchor_sim = 0.0
        self._step_hooks: tuple[Callable[[], None], ...] = ()
        self.on_finish: Callable[[], None] | None = None  # called on this thread when run() ends
        self._hooks_lock = threading.Lock()

    # --- called from any thread -----------------------------------------------------------
    def call(self, fn: Callable[[World], Any]) -> Future[Any]:
        c = _Call(fn)
        if self.finished.is_set():
            c.future.set_exception(RuntimeError("the simulation has stopped"))
        else:
            self.inbox.put(c)
        return c.future

    def add_step_hook(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Call `hook` on the engine thread after each step (a batch of events); returns a remover.

        Subscribers that hand events to another thread collect them per event and pass them
        on here, once per step, so the other thread wakes once per batch, not per event.
        """
        with self._hooks_lock:
            self._step_hooks = (*self._step_hooks, hook)

        def remove() -> None:
            with self._hooks_lock:
                self._step_hooks = tuple(h for h in self._step_hooks if h is not hook)

        return remove

    # --- engine thread --------------------------------------------------------------------
    def _after_step(self) -> None:
        for hook in self._step_hooks:
            hook()

    def _reanchor(self) -> None:
        self._anchor_wall = time.monotonic()
        self._anchor_sim = self.world.now

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._reanchor()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self._reanchor()

    def request_stop(self) -> None:
        self._stop_requested = True

    def _handle(self, c: _Call) -> None:
        if not c.future.set_running_or_notify_cancel():
            return
        try:
            c.future.set_result(c.fn(self.world))
        except BaseException as exc:  # delivered to the caller, not fatal to the engine
            c.future.set_exception(exc)

    def _drain(self, timeout: float | None = None) -> None:
        try:
            c = self.inbox.get(timeout=timeout) if timeout else self.inbox.get_nowait()
        except queue.Empty:
            return
        self._handle(c)
        while True:
            try:
                self._handle(self.inbox.get_nowait())
            except queue.Empty:
                return

    def _start_world(self) -> None:
        """Start the world and run its start-up step (the first step of every process, due
        now) before the wall clock is anchored: with 20,000 devices that step takes tens of
        milliseconds, which would otherwise make the first readings late. Same events in the
        same order as the first run() would process them."""
        self.world.start()
        self.world.env.run_urgent_due()

    def _advance_to(self, target: float) -> None:
        if self.until is not None:
            target = min(target, self.until)
        if target > self.world.now:
            self.world.env.run(until=target)

    def run(self) -> None:
        try:
            self._start_world()
            self._reanchor()
            while not self._stop_requested:
                if self.until is not None and self.world.now >= self.until:
                    break
                if self.paused:
                    self._drain(timeout=MAX_IDLE_WAIT_S)
                    self._after_step()
                    continue
                self._drain()
                if self.fast:
                    self._advance_to(self.world.now + FAST_CHUNK_S)
                    self._after_step()
                    continue
                target = self._anchor_sim + (time.monotonic() - self._anchor_wall) * self.speed
                self._advance_to(target)
                self._after_step()
                wait = (self.world.env.next_event_after(target) - target) / self.speed
                if wait > 0:
                    # Sleep at least a quantum: events falling due meanwhile run together as
                    # one step (one hand-over to the endpoints), at most a quantum late.
                    self._drain(timeout=min(max(wait, PACE_QUANTUM_S), MAX_IDLE_WAIT_S))
            self._after_step()
        except BaseException as exc:  # reported to the runtime, which re-raises it
            self.error = exc
        finally:
            if self.on_finish is not None:
                self.on_finish()
            self.finished.set()
            self._fail_pending()

    def _fail_pending(self) -> None:
        while True:
            try:
                c = self.inbox.get_nowait()
            except queue.Empty:
                return
            if c.future.set_running_or_notify_cancel():
                c.future.set_exception(RuntimeError("the simulation has stopped"))
