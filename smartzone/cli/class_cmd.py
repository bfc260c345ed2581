"""`smartzone class start|status|answer|hint|reset|pause|resume|fault|clear-fault|export`: run a class.

`start` makes the trainees' users, writes the roster and the handouts, starts the city with
them, and evaluates progress live until Ctrl-C (or --duration); the other subcommands work on
a class folder, running or not (docs/courses.md): the controls are queued for the running
class through controls.append_control, `status` and `export` read its saved progress.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from smartzone.classroom.controls import append_control, check_names, fault_value, next_hint
from smartzone.classroom.export import export_folder
from smartzone.classroom.progress import load_progress
from smartzone.classroom.roster import ROSTER, numbered, read_roster, write_roster
from smartzone.cli.errors import EXIT_ENDPOINT, EXIT_OK, EndpointError, UsageError
from smartzone.cli.options import positive_duration, positive_speed
from smartzone.definitions.course import load_course, resolve_course


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
    r = what.add_parser("reset", help="clear one trainee's progress; its devices back to the course start")
    r.add_argument("dir", metavar="DIR")
    r.add_argument("user")
    r.set_defaults(handler=run_control, op="reset", step=None)
    for op, text in (("pause", "stop the class's simulated clock and step timers"), ("resume", "restart them")):
        c = what.add_parser(op, help=text)
        c.add_argument("dir", metavar="DIR")
        c.set_defaults(handler=run_class_control, op=op)
    for op, text in (("fault", "inject a fault into devices of the class"), ("clear-fault", "end a pushed fault")):
        f = what.add_parser(op, help=text)
        f.add_argument("dir", metavar="DIR")
        f.add_argument("kind", metavar="KIND", help="a fault the type declares, or an effect (offline, stuck, ...)")
        f.add_argument("--device", action="append", default=[], metavar="D", help="a device id (repeatable)")
        f.add_argument("--all-trainees-devices", action="store_true", help="every trainee's own devices")
        if op == "fault":
            f.add_argument("--signal", metavar="NAME", help="the signal a bare effect acts on")
            f.add_argument("--magnitude", type=float, metavar="X", help="the effect's size (drift per hour, noise ...)")
            f.add_argument("--duration", metavar="T", help="simulated time it lasts, e.g. 10min (default: cleared)")
        f.set_defaults(handler=run_class_control, op=op)
    x = what.add_parser("export", help="write results.csv, results.json and summary.html now")
    x.add_argument("dir", metavar="DIR")
    x.set_defaults(handler=run_export)


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


def run_control(args: argparse.Namespace) -> int:
    folder, progress = _folder(args.dir)
    check_names(folder, progress, args.user, args.step)
    if args.op == "hint":
        text = next_hint(folder, progress, args.user, args.step)
        if text is None:
            print(f"step {args.step} has no hints")
            return EXIT_OK
        print(text)
    append_control(folder, args.op, args.user, args.step, getattr(args, "value", None))
    print(f"{args.op} queued for {args.user} (applied within a second by the running class)")
    return EXIT_OK


def run_class_control(args: argparse.Namespace) -> int:
    folder, _ = _folder(args.dir)
    value = None
    if args.op in ("fault", "clear-fault"):
        duration = getattr(args, "duration", None)
        value = fault_value(
            folder,
            args.device,
            args.all_trainees_devices,
            args.kind,
            getattr(args, "signal", None),
            getattr(args, "magnitude", None),
            None if duration is None else positive_duration(duration),
        )
    append_control(folder, args.op, value=value)
    target = f" {args.kind} on {len(value['devices'])} device(s)" if value else ""
    print(f"{args.op}{target} queued for the class (applied within a second by the running class)")
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    folder, _ = _folder(args.dir)
    paths = export_folder(folder)
    print("results: " + ", ".join(str(p) for p in paths))
    return EXIT_OK
