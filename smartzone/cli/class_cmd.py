"""`smartzone class start|status|answer|hint|reset`: run a course for a class of trainees.

`start` makes the trainees' users, writes the roster and the handouts, starts the city with
them, and evaluates progress live until Ctrl-C (or --duration); the other subcommands work on
a class folder, running or not (docs/courses.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from smartzone.classroom.controls import append_control
from smartzone.classroom.progress import COURSE_COPY, load_progress
from smartzone.classroom.roster import ROSTER, numbered, read_roster, write_roster
from smartzone.cli.errors import EXIT_ENDPOINT, EXIT_OK, EndpointError, UsageError
from smartzone.cli.options import positive_duration, positive_speed
from smartzone.definitions.course import Course, load_course, resolve_course


def add_parser(sub: Any) -> None:
    p = sub.add_parser("class", help="run a learning course for a class of trainees")
    what = p.add_subparsers(dest="class_command", required=True)
    s = what.add_parser("start", help="create trainee users and handouts, start the city, track progress")
    s.add_argument("course", help="course file or shipped name (mqtt-basics)")
    group = s.add_mutually_exclusive_group()
    group.add_argument("--trainees", type=int, metavar="N", help="N numbered trainees (default 1)")
    group.add_argument("--roster", metavar="FILE.csv", help="trainees from a CSV with a 'name' column")
    s.add_argument("--scenario", help="scenario file or shipped name (default: the course's)")
    s.add_argument(
        "--bind",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address to serve the class on (default 127.0.0.1; 0.0.0.0: every interface of the lab)",
    )
    s.add_argument("--out", metavar="DIR", help="class folder (default ./class-{course}-{date}); reused on restart")
    s.add_argument("--speed", type=float, help="simulated seconds per wall second (default: the course's, else 1)")
    s.add_argument("--duration", help="wall time the class runs, e.g. 90min (default: until Ctrl-C)")
    s.add_argument(
        "--board-every",
        type=float,
        default=30.0,
        metavar="S",
        help="print the board on stderr every S seconds when it changed (default 30)",
    )
    g = s.add_argument_group("endpoints (as smartzone run)")
    g.add_argument("--broker", default="auto", metavar="BACKEND", help="embedded | mosquitto | auto (default)")
    g.add_argument("--mqtt-port", type=int, default=1883, metavar="N", help="broker port (default 1883; 0: any)")
    g.add_argument("--modbus-port", type=int, default=5020, metavar="N", help="first Modbus gateway port (0: any)")
    g.add_argument("--no-modbus", action="store_true", help="no Modbus gateways")
    g.add_argument(
        "--modbus-tls",
        action="store_true",
        help="Modbus/TCP Security: certificates in DIR/modbus-certs, each handout carries its trainee's",
    )
    s.set_defaults(handler=run_start)
    st = what.add_parser("status", help="print the board of a class folder")
    st.add_argument("dir", metavar="DIR")
    st.set_defaults(handler=run_status)
    a = what.add_parser("answer", help="submit an answer for a trainee (as if sent on its answer topic)")
    a.add_argument("dir", metavar="DIR")
    a.add_argument("user")
    a.add_argument("step")
    a.add_argument("value")
    a.set_defaults(handler=run_control, op="answer")
    h = what.add_parser("hint", help="print a step's next hint and count it for a trainee")
    h.add_argument("dir", metavar="DIR")
    h.add_argument("user")
    h.add_argument("step")
    h.set_defaults(handler=run_control, op="hint")
    r = what.add_parser("reset", help="clear one trainee's progress")
    r.add_argument("dir", metavar="DIR")
    r.add_argument("user")
    r.set_defaults(handler=run_control, op="reset", step=None)


def run_start(args: argparse.Namespace) -> int:
    from smartzone.classroom.run import run_class  # loads the endpoints: only when a class starts

    duration = None if args.duration is None else positive_duration(args.duration)
    course = load_course(resolve_course(args.course))
    args.speed = course.speed if args.speed is None else positive_speed(args.speed)
    folder = Path(args.out or f"class-{course.id}-{date.today().isoformat()}")
    if (folder / ROSTER).exists():  # a restart: the same trainees and passwords
        trainees = read_roster(folder / ROSTER)
        if args.trainees is not None or args.roster:
            print(f"smartzone: {folder / ROSTER} exists: resuming its {len(trainees)} trainees", file=sys.stderr)
    else:  # read (and check) the trainees before creating anything
        trainees = (
            read_roster(Path(args.roster)) if args.roster else numbered(1 if args.trainees is None else args.trainees)
        )
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--out: cannot create {folder}: {exc.strerror}") from None
        write_roster(folder / ROSTER, trainees)
    try:
        return run_class(args, course, trainees, folder, duration)
    except EndpointError as exc:
        print(f"smartzone: {exc}", file=sys.stderr)
        return EXIT_ENDPOINT


def _folder(name: str) -> tuple[Path, Any]:
    folder = Path(name)
    progress = load_progress(folder)
    if progress is None:
        raise UsageError(f"{folder}: no class here (no progress.json; start one with `smartzone class start`)")
    return folder, progress


def run_status(args: argparse.Namespace) -> int:
    _, progress = _folder(args.dir)
    for line in progress.board():
        print(line)
    print(f"started {time.strftime('%Y-%m-%d %H:%M', time.localtime(progress.started))}")
    return EXIT_OK


def _course_of(folder: Path) -> Course | None:
    path = folder / COURSE_COPY  # the class keeps the course it runs
    return load_course(path) if path.exists() else None


def run_control(args: argparse.Namespace) -> int:
    folder, progress = _folder(args.dir)
    if args.user not in progress.cells:
        raise UsageError(f"{folder}: no trainee {args.user!r} (trainees: {', '.join(progress.trainees)})")
    if args.step is not None and args.step not in progress.steps:
        raise UsageError(f"{folder}: no step {args.step!r} (steps: {', '.join(progress.steps)})")
    if args.op == "hint":
        course = _course_of(folder)
        step = next((s for _, s in course.steps() if s.id == args.step), None) if course else None
        shown = progress.cell(args.user, args.step).hints
        if step is None or not step.hints:
            print(f"step {args.step} has no hints")
            return EXIT_OK
        n = min(shown, len(step.hints) - 1)
        print(f"hint {n + 1}/{len(step.hints)}: {step.hints[n]}")
    append_control(folder, args.op, args.user, args.step, getattr(args, "value", None))
    print(f"{args.op} queued for {args.user} (applied within a second by the running class)")
    return EXIT_OK
