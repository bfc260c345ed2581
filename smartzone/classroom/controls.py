"""The trainer's controls of a running class: answers, hints, resets, pause, faults for the class.

`smartzone class answer|hint|reset|pause|resume|fault|clear-fault DIR ...` and the GUI's class
board append one JSON line to DIR/controls.jsonl (append_control, the one writer); the running
class applies new lines on its next tick (a class started later applies the ones it has not
seen: progress.json counts them). A file is the channel because the class may run in another
terminal (or be stopped): nothing to connect to, nothing lost. What acts on the city (pause,
faults, a trainee's devices) is done by trainer.py; the checks of a fault, made before it is
queued, read the DIR/devices.json the class wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smartzone.classroom.progress import COURSE_COPY, Cell, Progress
from smartzone.classroom.trainer import DEVICES, Trainer
from smartzone.definitions.course import Course, load_course
from smartzone.errors import UsageError

CONTROLS = "controls.jsonl"
TRAINEE_OPS = ("answer", "hint", "reset")  # about one trainee
CLASS_OPS = ("pause", "resume", "fault", "clear-fault")  # about the whole class
OPS = TRAINEE_OPS + CLASS_OPS


def append_control(folder: Path, op: str, user: str | None = None, step: str | None = None, value: Any = None) -> None:
    """Queue one control for the class in `folder` (the CLI and the GUI board both call this)."""
    line = json.dumps({"op": op, "user": user, "step": step, "value": value})
    with (folder / CONTROLS).open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def check_names(folder: Path, progress: Progress, user: str | None, step: str | None) -> None:
    """One clear line (exit 2) for a trainee or a step the class does not have."""
    if user is not None and user not in progress.cells:
        raise UsageError(f"{folder}: no trainee {user!r} (trainees: {', '.join(progress.trainees)})")
    if step is not None and step not in progress.steps:
        raise UsageError(f"{folder}: no step {step!r} (steps: {', '.join(progress.steps)})")


def next_hint(folder: Path, progress: Progress, user: str, step: str) -> str | None:
    """The hint the trainer reveals next to `user` for `step` (from the class's copy of the course); None: none."""
    path = folder / COURSE_COPY
    course = load_course(path) if path.exists() else None
    found = next((s for _, s in course.steps() if s.id == step), None) if course else None
    if found is None or not found.hints:
        return None
    n = min(progress.cell(user, step).hints, len(found.hints) - 1)
    return f"hint {n + 1}/{len(found.hints)}: {found.hints[n]}"


def fault_value(
    folder: Path,
    devices: list[str],
    all_trainees: bool,
    fault: str,
    signal: str | None = None,
    magnitude: float | None = None,
    duration: float | None = None,
) -> dict[str, Any]:
    """The value of a `fault`/`clear-fault` control, checked against the class's city (DIR/devices.json)."""
    try:
        city = json.loads((folder / DEVICES).read_text(encoding="utf-8"))
        types, faults, trainees = city["types"], city["faults"], city["trainees"]
    except (OSError, ValueError, KeyError, TypeError):
        raise UsageError(f"{folder}: no {DEVICES} (start the class once with this version)") from None
    targets = list(devices)
    if all_trainees:
        own = [d for ds in trainees.values() for d in ds]
        if not own:
            raise UsageError("--all-trainees-devices: the course gives its trainees no devices; name a --device")
        targets += own
    targets = list(dict.fromkeys(targets))  # each device once, in order
    if not targets:
        raise UsageError("name a --device or give --all-trainees-devices")
    for d in targets:
        if d not in types:
            raise UsageError(f"--device: no device {d!r} in the class's city")
        if fault not in faults.get(types[d], []):
            known = ", ".join(faults.get(types[d], []))
            raise UsageError(f"fault {fault!r}: not a fault of {d} ({types[d]}: {known})")
    if duration is not None and duration <= 0:
        raise UsageError("--duration must be positive")
    return {"devices": targets, "fault": fault, "signal": signal, "magnitude": magnitude, "duration": duration}


class Controls:
    """Applies queued controls to the progress and the tracker (on the class's own thread)."""

    def __init__(
        self, folder: Path, progress: Progress, tracker: Any, course: Course, trainer: Trainer | None = None
    ) -> None:
        self.path = folder / CONTROLS
        self.progress, self.tracker, self.trainer = progress, tracker, trainer
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

    def _one(self, op: str, user: str | None, step: str | None, value: Any) -> None:
        if op in CLASS_OPS:
            self._class(op, value)
            return
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
            if self.trainer is not None:
                self.trainer.reset_devices(user)

    def _class(self, op: str, value: Any) -> None:
        if op == "pause" and self.progress.pause() and self.trainer is not None:
            self.trainer.pause()
        elif op == "resume" and self.progress.resume() and self.trainer is not None:
            self.trainer.resume()
        elif op in ("fault", "clear-fault") and self.trainer is not None:
            self.trainer.fault(value, clear=op == "clear-fault")
