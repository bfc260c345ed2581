"""Progress of a class: trainee x step (done, attempts, time, score), saved as it changes.

DIR/progress.json is rewritten atomically (write, then rename) whenever a cell changes, so a
class restarted with the same --out resumes where it was: a step once done stays done. The
board (one line per trainee) is what `smartzone class start` prints and `class status` shows.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from smartzone.errors import UsageError

PROGRESS = "progress.json"
COURSE_COPY = "course.yaml"  # the course a class runs, kept in its folder


@dataclass
class Cell:
    done: bool = False
    attempts: int = 0
    time: float | None = None  # wall seconds from the class start to completion
    score: int = 0
    late: bool = False
    hints: int = 0  # hints revealed by the trainer


@dataclass
class Progress:
    course: str
    steps: list[str]
    points: dict[str, int]
    trainees: list[str]
    started: float = field(default_factory=time.time)  # epoch seconds of the first start
    cells: dict[str, dict[str, Cell]] = field(default_factory=dict)
    applied: int = 0  # lines of controls.jsonl already applied (controls.py)
    paused_at: float | None = None  # epoch seconds the trainer paused the class (None: running)
    paused_s: float = 0.0  # wall seconds spent paused before `paused_at`: the step timers skip them

    def __post_init__(self) -> None:
        for t in self.trainees:
            row = self.cells.setdefault(t, {})
            for s in self.steps:
                row.setdefault(s, Cell())

    def cell(self, trainee: str, step: str) -> Cell:
        return self.cells[trainee][step]

    def elapsed(self, now: float | None = None) -> float:
        """Seconds of class time since the first start: wall time minus the time spent paused."""
        now = time.time() if now is None else now
        stopped = now if self.paused_at is None else self.paused_at
        return max(0.0, stopped - self.started - self.paused_s)

    def pause(self, now: float | None = None) -> bool:
        """Stop the step timers; False if they were stopped already."""
        if self.paused_at is not None:
            return False
        self.paused_at = time.time() if now is None else now
        return True

    def resume(self, now: float | None = None) -> bool:
        """Restart the step timers; False if they were running."""
        if self.paused_at is None:
            return False
        self.paused_s += max(0.0, (time.time() if now is None else now) - self.paused_at)
        self.paused_at = None
        return True

    def total(self, trainee: str) -> tuple[int, int]:
        """(steps done, score) of one trainee."""
        row = self.cells[trainee]
        return sum(c.done for c in row.values()), sum(c.score for c in row.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "course": self.course,
            "started": self.started,
            "steps": self.steps,
            "points": self.points,
            "trainees": self.trainees,
            "applied": self.applied,
            "paused_at": self.paused_at,
            "paused_s": self.paused_s,
            "cells": {t: {s: asdict(c) for s, c in row.items()} for t, row in self.cells.items()},
        }

    def save(self, folder: Path) -> None:
        tmp = folder / (PROGRESS + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, folder / PROGRESS)

    def board(self, width: int = 24) -> list[str]:
        """`trainee  ##.x.  2/5  score 2`: # done, x tried and not done, . untouched."""
        paused = " (paused)" if self.paused_at is not None else ""
        lines = [f"class {self.course}: {len(self.trainees)} trainees, {len(self.steps)} steps{paused}"]
        for t in self.trainees:
            marks = "".join(
                "#" if c.done else ("x" if c.attempts else ".") for c in (self.cells[t][s] for s in self.steps)
            )
            done, score = self.total(t)
            lines.append(f"  {t[:width]:<{width}} {marks}  {done}/{len(self.steps)}  score {score}")
        return lines


def load_progress(folder: Path) -> Progress | None:
    """The saved progress of a class folder, or None if there is none; one line if it is damaged."""
    path = folder / PROGRESS
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        cells = {t: {s: Cell(**c) for s, c in row.items()} for t, row in data["cells"].items()}
        return Progress(
            data["course"],
            list(data["steps"]),
            dict(data["points"]),
            list(data["trainees"]),
            float(data["started"]),
            cells,
            int(data.get("applied", 0)),
            None if data.get("paused_at") is None else float(data["paused_at"]),
            float(data.get("paused_s", 0.0)),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: cannot read the class progress ({exc}); move it away to start afresh") from None
