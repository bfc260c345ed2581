"""The trainer's controls of a running class: answers, hints and resets from the command line.

`smartzone class answer|hint|reset DIR ...` append one JSON line to DIR/controls.jsonl; the
running class applies new lines on its next tick (a class started later applies the ones it has
not seen: progress.json counts them). A file is the channel because the class may run in another
terminal (or be stopped): nothing to connect to, nothing lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smartzone.classroom.progress import Cell, Progress
from smartzone.definitions.course import Course

CONTROLS = "controls.jsonl"
OPS = ("answer", "hint", "reset")


def append_control(folder: Path, op: str, user: str, step: str | None = None, value: Any = None) -> None:
    """Queue one control for the class in `folder`."""
    line = json.dumps({"op": op, "user": user, "step": step, "value": value})
    with (folder / CONTROLS).open("a", encoding="utf-8") as f:
        f.write(line + "\n")


class Controls:
    """Applies queued controls to the progress and the tracker (on the class's own thread)."""

    def __init__(self, folder: Path, progress: Progress, tracker: Any, course: Course) -> None:
        self.path = folder / CONTROLS
        self.progress, self.tracker = progress, tracker
        self.steps = {s.id for _, s in course.steps()}

    def apply(self) -> bool:
        """Apply the lines not applied yet; True if progress changed."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return False
        new = lines[self.progress.applied :]
        if not new:
            return False
        for line in new:
            try:
                c = json.loads(line)
                self._one(c["op"], c["user"], c.get("step"), c.get("value"))
            except (ValueError, KeyError, TypeError):
                continue  # a damaged line (a partial write) is skipped, never fatal
        self.progress.applied = len(lines)
        return True

    def _one(self, op: str, user: str, step: str | None, value: Any) -> None:
        if user not in self.progress.cells:
            return
        if op == "answer" and step in self.steps:
            self.tracker.add_answer(user, step, value)
        elif op == "hint" and step in self.steps:
            self.progress.cell(user, step).hints += 1
        elif op == "reset":
            self.tracker.reset(user)
            for s in self.progress.steps:
                self.progress.cells[user][s] = Cell()
