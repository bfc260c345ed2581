"""Commands a widget sent and is waiting on: polled per frame, never blocking the GUI thread.

A command whose future does not settle within `timeout_s` wall-clock seconds (the simulation is
paused, the device is on a slow downlink, the city was replaced) is dropped with a visible
"no answer" line, so a status text such as "sent inject offline …" never stays forever.
"""

from __future__ import annotations

import time
from typing import Any

TIMEOUT_S = 15.0  # wall-clock seconds: an NB-IoT downlink at 1x takes a few simulated seconds


class PendingCommands:
    """(label, future, deadline) triples; `poll()` returns the outcome text of the latest one that settled."""

    def __init__(self, timeout_s: float = TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self.items: list[tuple[str, Any, float]] = []
        self.keys: dict[str, Any] = {}  # command id -> future, so a bus result can settle it first

    def add(self, what: str, future: Any, key: str | None = None) -> None:
        """Wait for `future` (anything with done()/exception()/result()); other values are ignored."""
        if future is not None and hasattr(future, "done"):
            self.items.append((what, future, time.monotonic() + self.timeout_s))
            if key is not None:
                self.keys[key] = future

    def settle(self, key: str | None) -> None:
        """Forget the command `key`: its outcome was already shown from the bus."""
        fut = self.keys.pop(key, None) if key is not None else None
        if fut is not None:
            self.items = [item for item in self.items if item[1] is not fut]

    def clear(self) -> None:
        self.items, self.keys = [], {}

    def poll(self) -> str | None:
        """The text of the latest settled or timed-out command since the last poll, else None."""
        text = None
        still = []
        now = time.monotonic()
        for what, fut, deadline in self.items:
            if fut.done():
                exc = fut.exception()
                text = f"✗ {what} rejected: {exc}" if exc else _outcome(what, fut.result())
            elif now >= deadline:
                text = f"✗ {what}: no answer after {self.timeout_s:g} s (is the simulation paused or stopped?)"
            else:
                still.append((what, fut, deadline))
        self.items = still
        live = {id(item[1]) for item in still}
        self.keys = {k: f for k, f in self.keys.items() if id(f) in live}
        return text


def _outcome(what: str, result: Any) -> str:
    """A CommandResult (device commands) says whether the device applied it; None means applied."""
    ok = getattr(result, "ok", True)
    if ok:
        return f"✓ {what} applied"
    code, message = getattr(result, "error_code", ""), getattr(result, "error_message", "")
    return f"✗ {what} rejected ({code}): {message}"
