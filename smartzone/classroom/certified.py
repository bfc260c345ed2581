"""The `certified` check: the class itself runs `smartzone certify` on the trainee's app.

Why the class runs it: a report or a hash the trainee submits is a file anyone can edit; a verdict
the class produces, from the trainee's real app run against a real city, cannot be faked without
making the app pass. At class start every trainee gets a copy of the course's sample app in
DIR/apps/{user}/ (kept if it is there: a resumed class does not overwrite a trainee's work). When
the trainee submits any answer to the step ("ready"), the class snapshots the app file, records its
SHA-256 and queues one certification of the snapshot; one runs at a time, on a worker thread, each
bounded in time. The step is done when a run of the trainee's app passed. Reports are kept in
DIR/apps/{user}/certify-N/ for the trainee and the trainer to read.

This runs the trainee's code on the class machine, as `smartzone certify` does on a developer's.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartzone.definitions.course import Certified, Course
from smartzone.runtime.health import describe_exception

COMPONENT = "class certify"
MAX_QUEUED = 200  # a class of 200 may each have one run waiting, no more


@dataclass
class Runs:
    """One trainee's certifications of one step."""

    asked: int = 0  # answers to the step already turned into a run
    done: int = 0
    passed: bool = False
    digests: list[str] = field(default_factory=list)  # SHA-256 of each certified snapshot
    pending: bool = False


def app_path(folder: Path, user: str, check: Certified) -> Path:
    return folder / "apps" / user / Path(check.sample).name


def prepare(folder: Path, course: Course, course_dir: Path, users: list[str]) -> None:
    """Give every trainee a copy of each `certified` check's sample app (never overwriting one)."""
    for _, step in course.steps():
        for check in step.checks:
            if isinstance(check, Certified):
                sample = course_dir / check.sample
                for user in users:
                    target = app_path(folder, user, check)
                    if not target.exists():
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(sample, target)


class Certifier:
    """Runs queued certifications one at a time on its own thread; `close()` stops it and its child."""

    def __init__(self, rt: Any, folder: Path, scenario: str) -> None:
        self.rt, self.folder = rt, folder
        path = Path(scenario)
        self.scenario = str(path.resolve()) if path.is_file() else scenario  # the child runs in the run's folder
        self.runs: dict[tuple[str, str], Runs] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[str, str, Certified, Path] | None] = queue.Queue(MAX_QUEUED)
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._closing = False

    def status(self, user: str, step: str, check: Certified, answers: int) -> tuple[bool, int]:
        """(passed, runs done); queues a run when the trainee answered the step since the last one."""
        with self._lock:
            runs = self.runs.setdefault((user, step), Runs())
            if answers > runs.asked and not runs.pending and not self._closing:
                runs.asked, runs.pending = answers, True
                self._start(user, step, check)
            return runs.passed, runs.done

    def _start(self, user: str, step: str, check: Certified) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="smartzone-class-certify", daemon=True)
            self._thread.start()
        try:
            self._queue.put_nowait((user, step, check, app_path(self.folder, user, check)))
        except queue.Full:
            self.runs[(user, step)].pending = False

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            user, step, check, app = job
            try:
                ok, digest = self._certify(user, check, app)
            except Exception as exc:  # a broken run must not end the class: the trainee may try again
                self.rt.health.survived(COMPONENT, f"{user}: {describe_exception(exc)}")
                ok, digest = False, ""
            with self._lock:
                runs = self.runs[(user, step)]
                runs.done, runs.pending = runs.done + 1, False
                runs.passed = runs.passed or ok
                runs.digests.append(digest)

    def _certify(self, user: str, check: Certified, app: Path) -> tuple[bool, str]:
        k = 1
        while (app.parent / f"certify-{k}").exists():  # numbered on from earlier runs, also before a restart
            k += 1
        out = app.parent / f"certify-{k}"
        out.mkdir(parents=True)
        snapshot = out / app.name  # what is certified is what was there when the trainee asked
        shutil.copyfile(app, snapshot)
        digest = hashlib.sha256(snapshot.read_bytes()).hexdigest()
        (out / "app.sha256").write_text(f"{digest}  {app.name}\n", encoding="utf-8")
        cmd = [sys.executable, "-m", "smartzone", "certify", self.scenario, "--app", f"{sys.executable} {snapshot}"]
        cmd += ["--user", check.user, "--report", str(out), "--duration", f"{check.duration}s"]
        cmd += ["--speed", str(check.speed)]
        with (out / "certify.log").open("wb") as log:
            if self._closing:
                return False, digest
            self._child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=out)
            try:
                code = self._child.wait(timeout=check.duration / check.speed + 120)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait(timeout=10)
                code = -1
            finally:
                self._child = None
        return code == 0, digest

    def close(self) -> None:
        self._closing = True
        child = self._child
        if child is not None:
            with contextlib.suppress(OSError):
                child.terminate()
        if self._thread is not None:
            while True:  # drop what is waiting, then wake the worker
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            self._queue.put(None)
            self._thread.join(timeout=30)
