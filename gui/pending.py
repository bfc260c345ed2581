"""Commands a widget sent and is waiting on: polled per frame, never blocking the GUI thread."""

from __future__ import annotations

from typing import Any


class PendingCommands:
    """(label, future) pairs; `poll()` returns the outcome text of the latest one that settled."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Any]] = []

    def add(self, what: str, future: Any) -> None:
        if future is not None and hasattr(future, "done"):
            self.items.append((what, future))

    def clear(self) -> None:
        self.items = []

    def poll(self) -> str | None:
        text = None
        still = []
        for what, fut in self.items:
            if not fut.done():
                still.append((what, fut))
                continue
            exc = fut.exception()
            text = f"✗ {what} rejected: {exc}" if exc else f"✓ {what} applied"
        self.items = still
        return text
