"""What every link to a real device shares: reaching it, losing it, readings and answers as inputs.

A link reports to the runtime as its own component (`real device {id}`): the first failure to
reach the device is one `down` line with its cause (the device goes offline on the contract's
`status`), a recovery one `up` line (online again); retries in between are silent, with backoff.
Readings and answers become inputs of the engine (`rt.submit`), never calls into the world.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

from smartzone.core.bridged import BridgedAnswer, BridgedCommand, BridgedReading
from smartzone.core.commands import SetOnline, quote
from smartzone.core.events import CommandResult, Event
from smartzone.definitions.bridged import BridgedDevice
from smartzone.definitions.device_type import DeviceType
from smartzone.endpoints.realdevice.mapping import Mapper, MappingError

F = TypeVar("F", bound=Callable[..., Any])
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 60.0


class HealthLike(Protocol):
    def down(self, component: str, cause: str) -> None: ...

    def up(self, component: str, how: str = "recovered") -> None: ...


class Host(Protocol):
    """What the links use of smartzone.runtime.Runtime (endpoints sit below the runtime)."""

    health: HealthLike

    def submit(self, command: Any) -> Future[CommandResult | None]: ...

    def subscribe(
        self, callback: Callable[[Event], None], kinds: tuple[type[Event], ...] | None = None
    ) -> Callable[[], None]: ...

    def guard(self, component: str, fn: F) -> F: ...

    def watch(self, component: str, probe: Callable[[], str | None]) -> Callable[[], None]: ...


class Backoff:
    """Waits between retries: 1 s, 2 s, 4 s ... up to a minute; reset once the device answers."""

    def __init__(self) -> None:
        self.next = BACKOFF_FIRST_S

    def take(self) -> float:
        wait, self.next = self.next, min(BACKOFF_MAX_S, self.next * 2)
        return wait

    def reset(self) -> None:
        self.next = BACKOFF_FIRST_S


class Link(ABC):
    """Base of a real device's link: status, counters and the inputs it sends the engine."""

    def __init__(self, rt: Host, spec: BridgedDevice, dtype: DeviceType) -> None:
        self.rt, self.spec = rt, spec
        self.mapper = Mapper(spec, dtype)
        self.component = f"real device {spec.id}"
        self.reached = False
        self.was_down = False
        self.counts = {"readings": 0, "not_understood": 0, "commands": 0, "timeouts": 0}
        self.last_error = ""
        self._lock = threading.Lock()

    # --- status -------------------------------------------------------------------------------
    def reach(self, how: str) -> None:
        """The real device answered: online (once per recovery)."""
        with self._lock:
            if self.reached:
                return
            self.reached = True
            was_down, self.was_down = self.was_down, False
        self.rt.submit(SetOnline(self.spec.id, True, f"real device: {how}"))
        if was_down:
            self.rt.health.up(self.component, how)

    def lose(self, cause: str) -> None:
        """The real device cannot be reached: offline, one line (not one per retry)."""
        with self._lock:
            first = not self.was_down
            self.reached, self.was_down = False, True
        if first:
            self.rt.submit(SetOnline(self.spec.id, False, f"real device unreachable: {cause}"))
            self.rt.health.down(self.component, f"{cause}; retrying with backoff")

    # --- inputs -------------------------------------------------------------------------------
    def take(self, doc: Any) -> None:
        """One vendor document: mapped and submitted as a reading, or counted as not understood."""
        try:
            values, state = self.mapper.read(doc)
        except MappingError as exc:
            self.counts["not_understood"] += 1
            self.last_error = str(exc)
            return
        self.counts["readings"] += 1
        self.rt.submit(BridgedReading(self.spec.id, values, state))

    def answer(self, ref: int, ok: bool, code: str | None = None, message: str | None = None) -> None:
        if code == "timeout":
            self.counts["timeouts"] += 1
        self.rt.submit(BridgedAnswer(self.spec.id, ref, ok, code, message))

    @abstractmethod
    def command(self, event: BridgedCommand) -> None:
        """Perform a command on the real device (called on the engine thread: only enqueue)."""

    @abstractmethod
    def start(self) -> None:
        """Start talking to the real device (its thread is watched by the runtime)."""

    @abstractmethod
    def close(self) -> None:
        """Stop talking to it (a deliberate stop: unwatched first)."""

    def summary(self) -> str | None:
        """One line for the end of a run when something went wrong with this device."""
        c = self.counts
        if not (c["not_understood"] or c["timeouts"]):
            return None
        last = f" (last: {quote(self.last_error)})" if self.last_error else ""
        return (
            f"{self.component}: {c['readings']} readings, {c['not_understood']} messages not understood{last}, "
            f"{c['timeouts']} of {c['commands']} commands timed out"
        )
