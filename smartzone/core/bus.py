"""The event bus: the engine publishes facts, subscribers (trace, endpoints, GUI) receive them.

Callbacks run on the engine thread and must return quickly: a subscriber that does I/O or
talks to another thread enqueues the event and returns. Subscribing and unsubscribing are
safe from any thread (copy-on-write), publishing is lock-free.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from smartzone.core.events import Event

Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: tuple[tuple[Subscriber, tuple[type[Event], ...] | None], ...] = ()

    def subscribe(self, callback: Subscriber, kinds: tuple[type[Event], ...] | None = None) -> Callable[[], None]:
        """Call *callback* for every event (or only those of *kinds*); returns an unsubscribe function."""
        entry = (callback, kinds)
        with self._lock:
            self._subs = (*self._subs, entry)

        def unsubscribe() -> None:
            with self._lock:
                self._subs = tuple(s for s in self._subs if s is not entry)

        return unsubscribe

    def publish(self, event: Event) -> None:
        for callback, kinds in self._subs:
            if kinds is None or isinstance(event, kinds):
                callback(event)
