"""`smartzone class start`, after the roster is known: the city with the trainees, handouts, live board.

The trainees become users of a copy of the scenario before the runtime is built (the access
policy comes from scenario.users); their variables are drawn from the built city's devices.
The loop ticks the Classroom, prints the board when it changed (at most every --board-every
seconds) and ends on Ctrl-C/SIGTERM, --duration or a fatal failure; then it writes the results.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from smartzone.classroom.certified import COMPONENT as CERTIFY
from smartzone.classroom.certified import prepare as prepare_apps
from smartzone.classroom.endpoints import close_all, public_host, start_endpoints
from smartzone.classroom.export import export
from smartzone.classroom.handout import Endpoints, answer_topic, trainee_handout
from smartzone.classroom.progress import COURSE_COPY, Progress, load_progress
from smartzone.classroom.roster import Trainee, with_trainees
from smartzone.classroom.session import Classroom
from smartzone.classroom.troubles import COMPONENT as TROUBLE
from smartzone.classroom.variables import draw
from smartzone.cli.console import Console
from smartzone.cli.errors import EXIT_FAILED, EXIT_OK, UsageError
from smartzone.cli.process import safe_print, stop_requests
from smartzone.definitions.catalog import Catalog, load_scenario, resolve_scenario
from smartzone.definitions.course import Course, resolve_course
from smartzone.definitions.start import run_start
from smartzone.endpoints.modbus.certs import write_certs
from smartzone.runtime.api import Runtime
from smartzone.runtime.health import HealthEvent, describe_exception

TICK_S = 0.5
MODBUS_CERTS = "modbus-certs"  # in the class folder: the lab CA (kept on restart) and every trainee's certificate


def _progress(course: Course, trainees: list[Trainee], folder: Path) -> Progress:
    steps = [s.id for _, s in course.steps()]
    points = {s.id: s.points for _, s in course.steps()}
    users = [t.user for t in trainees]
    saved = load_progress(folder)
    if saved is None:
        return Progress(course.id, steps, points, users)
    if saved.course != course.id:
        raise UsageError(f"{folder} holds a class of course {saved.course!r}, not {course.id!r}: use another --out")
    return Progress(
        course.id, steps, points, users, saved.started, saved.cells, saved.applied, saved.paused_at, saved.paused_s
    )


def _modbus_units(services: list) -> dict[str, tuple[int, int]]:
    units = {}
    for s in services:
        for g in getattr(s, "gateways", None) or []:
            for unit, info in g.plan.units.items():
                units[info.id] = (g.port, unit)
    return units


class ProblemLines:
    """A trouble the city refused or a certification that broke: one line each for the trainer, printed by
    the class's loop (the events come from the engine's and the certifier's threads)."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque(maxlen=100)

    def __call__(self, event: HealthEvent) -> None:
        if event.component in (TROUBLE, CERTIFY) and event.kind == "survived":
            self.lines.append(f"class: {event.component}: {event.cause}")

    def say(self) -> None:
        while self.lines:
            safe_print(self.lines.popleft(), sys.stderr)


def _gateway_list(rt: Runtime) -> str:
    """`gw-north (districts north), ...`: the city's gateways as a trainee may be told them."""
    parts = []
    for b in rt.scenario.networks.backhauls:
        if b.kind == "gateway":
            where = "all districts" if b.districts == "all" else "districts " + ", ".join(b.districts)
            parts.append(f"{b.id} ({where})")
    return "; ".join(parts) or "none"


def run_class(
    args: argparse.Namespace, course: Course, trainees: list[Trainee], folder: Path, duration: float | None
) -> int:
    catalog = Catalog.builtin()
    path = resolve_scenario(args.scenario or course.scenario)
    scenario = with_trainees(load_scenario(path, catalog), course, trainees)
    start = run_start(scenario, fast=False, start=None, start_hour=None)
    rt = Runtime(scenario, catalog, source=str(path), speed=args.speed, start=start)
    users = [t.user for t in trainees]
    gateways = [b.id for b in rt.scenario.networks.backhauls if b.kind == "gateway"]
    values = draw(course, course.seed, users, rt.devices, gateways)
    progress = _progress(course, trainees, folder)
    console = Console(quiet=False)
    tls = None
    if getattr(args, "modbus_tls", False) and not args.no_modbus:
        tls = folder / MODBUS_CERTS  # the server certificate names the address trainees type
        write_certs(scenario, tls, hosts=sorted({args.bind, public_host(args.bind)} - {"0.0.0.0", "::", ""}))
    problems = ProblemLines()
    rt.health.subscribe(problems)
    with stop_requests(rt.engine.request_stop) as stopped:
        services = start_endpoints(rt, args, tls)
        classroom = None
        try:
            mqtt = next((s for s in services if hasattr(s, "broker")), None)
            host = public_host(args.bind)
            ep = Endpoints(rt.scenario.city, host, mqtt.broker.port if mqtt else None, _modbus_units(services), tls)
            course_path = resolve_course(args.course)
            shutil.copyfile(course_path, folder / COURSE_COPY)
            prepare_apps(folder, course, course_path.parent, users)
            for t in trainees:
                common = {
                    "city": ep.city,
                    "user": t.user,
                    "host": host,
                    "mqtt_port": ep.mqtt_port,
                    "answer_topic": answer_topic(ep.city, t.user),
                    "gateways": _gateway_list(rt),
                }
                values[t.user] = {**common, **values[t.user]}
            progress.save(folder)
            # observe before the handouts exist: a trainee who connects at once is seen
            classroom = Classroom(rt, services, course, values, progress, folder)
            for t in trainees:
                (folder / t.handout).write_text(trainee_handout(course, t, ep, values[t.user]), encoding="utf-8")
            for s in services:
                for line in s.describe():
                    console.line(line)
            console.line(
                f"class {course.id}: {len(trainees)} trainees on {host}; roster and handouts in {folder}/ "
                f"(`smartzone class status {folder}`); Ctrl-C ends the class"
            )
            rt.start()
            if progress.paused_at is not None:  # paused when it stopped: it resumes paused
                rt.pause()
            code = _loop(rt, classroom, args.board_every, duration, stopped, problems)
        finally:
            rt.stop()
            if classroom is not None:
                with contextlib.suppress(Exception):
                    classroom.tick()  # the last observations count
                classroom.close()
            close_all(services)
    export(folder, progress, course.title, {t.user: t.name for t in trainees})
    for line in progress.board():
        safe_print(line, sys.stderr)
    console.line(f"results: {folder}/results.csv, results.json, summary.html")
    return code


def _loop(
    rt: Runtime, classroom: Classroom, every: float, duration: float | None, stopped: Any, problems: ProblemLines
) -> int:
    t0 = time.monotonic()
    last_board, dirty = 0.0, True
    while not rt.wait(timeout=TICK_S):
        if stopped.is_set() or rt.health.failed:
            break
        try:
            dirty = classroom.tick() or dirty
        except Exception as exc:  # a bug in evaluation must not end the class: report it, go on
            rt.health.survived("class progress", describe_exception(exc))
        problems.say()
        now = time.monotonic()
        if dirty and now - last_board >= every:
            for line in classroom.progress.board():
                safe_print(line, sys.stderr)
            last_board, dirty = now, False
        if duration is not None and now - t0 >= duration:
            break
    if rt.health.failed:
        for name, part in rt.health.snapshot().items():
            if part.state == "failed":
                print(f"smartzone: the class failed: {name}: {part.last_cause}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
