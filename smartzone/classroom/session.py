"""A running class: observe the trainees, evaluate their steps live, save and show progress.

The CLI (cli/class_cmd.py) builds the runtime and starts the endpoints; `Classroom` attaches a
ClassRecorder to the broker's gate and the Modbus gateways, and `tick()` (called about twice a
second from the CLI's loop) folds new observations in, evaluates the steps not yet done, applies
the trainer's controls (controls.py) and saves progress.json when something changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smartzone.certify.records import Observations
from smartzone.classroom.certified import Certifier
from smartzone.classroom.checks import Context, evaluate
from smartzone.classroom.controls import Controls
from smartzone.classroom.handout import answer_topic
from smartzone.classroom.observer import ClassRecorder, Tracker
from smartzone.classroom.progress import Progress
from smartzone.classroom.trainer import Trainer, trainee_devices, write_city
from smartzone.classroom.troubles import Troubles
from smartzone.definitions.course import Certified, Course, PickDevice
from smartzone.runtime.health import guard

COMPONENT = "class observer"


class Classroom:
    """Live evaluation of one class (the CLI thread calls tick(); recorders run on endpoint threads)."""

    def __init__(
        self,
        rt: Any,
        services: list[Any],
        course: Course,
        values: Mapping[str, Mapping[str, Any]],
        progress: Progress,
        folder: Path,
    ) -> None:
        self.rt, self.course, self.values, self.progress, self.folder = rt, course, values, progress, folder
        city = rt.scenario.city
        broker = next((s.broker for s in services if hasattr(s, "broker")), None)
        policy = broker.policy if broker is not None else None
        self.rec = ClassRecorder(Observations(city, "class", rt.speed), policy, lambda: rt.sim_time)
        for name in ("connect", "client_bytes", "broker_bytes", "closed"):  # never break a client's relay
            setattr(self.rec, name, guard(rt.health, COMPONENT, getattr(self.rec, name)))
        self._detach: list[Any] = []
        if broker is not None:
            broker.set_observer(self.rec)
            self._detach.append(lambda: broker.set_observer(None))
        for s in services:
            for gw in getattr(s, "gateways", None) or []:
                gw.server.observer = guard(rt.health, COMPONENT, self.rec.modbus_observer(gw.plan.id))
                self._detach.append(lambda server=gw.server: setattr(server, "observer", None))
        users = list(progress.trainees)
        owners: dict[str, str] = {}  # device -> the trainee it was dealt to (first one if shared)
        for user in users:
            for var, spec in course.variables.items():
                if isinstance(spec, PickDevice) and var in values[user]:
                    owners.setdefault(str(values[user][var]), user)
        devices = {u: {v for v in values[u].values() if isinstance(v, str) and v in rt.devices} for u in users}
        topics = {u: answer_topic(city, u) for u in users}
        self.tracker = Tracker(self.rec, users, topics, owners, devices)
        self.troubles = Troubles(rt, course, values)
        wants_certify = any(isinstance(c, Certified) for _, s in course.steps() for c in s.checks)
        self.certifier = Certifier(rt, folder, rt.source) if wants_certify else None
        self.city = city
        by_trainee = trainee_devices(course, values)
        write_city(folder, rt, by_trainee)
        self.trainer = Trainer(rt, by_trainee)
        self.controls = Controls(folder, progress, self.tracker, course, self.trainer)

    def tick(self) -> bool:
        """Fold in what happened, evaluate, save; True if any cell changed."""
        changed = self.controls.apply()
        self.tracker.update()
        elapsed = self.progress.elapsed()  # the time spent paused does not count
        now = self.rec.now()
        for lesson_step in self.course.steps():
            step = lesson_step[1]
            for user in self.progress.trainees:
                cell = self.progress.cell(user, step.id)
                if cell.done:
                    continue  # done stays done, also after a restart
                facts = self.tracker.facts[user]
                ctx = Context(
                    self.city,
                    self.rt.devices,
                    self.rt.live,
                    self.tracker.modbus_for(user),
                    lambda since, user=user: self.tracker.delivery_times(user, since),  # type: ignore[misc]
                    now,
                    self._certify_for(user),
                )
                results = [evaluate(c, step.id, facts, self.values[user], ctx) for c in step.checks]
                attempts = sum(n for _, n in results)
                if attempts > cell.attempts:  # after a restart the count starts again from what is kept
                    cell.attempts, changed = attempts, True
                if all(ok for ok, _ in results):
                    cell.done, cell.time = True, round(elapsed, 1)
                    cell.late = step.time_limit is not None and elapsed > step.time_limit
                    cell.score = 0 if cell.late else step.points
                    changed = True
        self.troubles.sync(self.progress)  # after evaluation: a step just done takes its trouble away
        if changed:
            self.progress.save(self.folder)
        return changed

    def _certify_for(self, user: str) -> Any:
        if self.certifier is None:
            return None
        certifier = self.certifier
        return lambda check, step, asked: certifier.status(user, step, check, asked)

    def close(self) -> None:
        if self.certifier is not None:
            self.certifier.close()
        for undo in self._detach:
            undo()
        self._detach = []
