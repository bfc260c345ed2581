"""`smartzone certify SCENARIO --app "COMMAND" --user NAME --report DIR`: certify an app offline.

Starts the scenario and its endpoints (the same services as `smartzone run`, on free
ports unless told otherwise), launches the app with its settings in SZ_* environment
variables, puts it through the city's bad days, stops it and writes report.html,
report.json and junit.xml. Exit 0 when every MUST rule passes, 1 otherwise, 2 bad input,
3 an endpoint could not start, 130 when SIGINT or SIGTERM stopped it (the app and the
endpoints are stopped; no report is written).
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from pathlib import Path
from typing import Any

from smartzone.cli.errors import EXIT_ENDPOINT, EXIT_FAILED, EXIT_OK, EndpointError, UsageError
from smartzone.cli.options import add_devices_option, catalog_from_args, positive_duration, positive_speed
from smartzone.runtime.api import Runtime
from smartzone.runtime.services import Service
from smartzone.wiring import add_service_options, start_services

DEFAULT_DURATION = "30min"
DEFAULT_SPEED = 60.0
MAX_WALL_S = 6 * 3600
EXIT_INTERRUPTED = 130


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "certify",
        help="certify an app against a scenario (rules, probes, reports)",
        description="Run an app against a simulated city, observe it, put it through bad days and write "
        "report.html, report.json and junit.xml (docs/certify.md). Endpoints listen on free ports unless "
        "--mqtt-port/--modbus-port are given.",
    )
    p.add_argument("scenario", help="scenario file or shipped name (bologna, genoa, london, barcelona)")
    p.add_argument("--app", required=True, metavar="COMMAND", help='the app to run, e.g. "python my_app.py"')
    p.add_argument("--user", required=True, metavar="NAME", help="the scenario user the app connects as")
    p.add_argument("--duration", default=DEFAULT_DURATION, help=f"simulated time (default {DEFAULT_DURATION})")
    p.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help=f"simulated seconds per wall second (default {DEFAULT_SPEED:g})",
    )
    p.add_argument("--seed", type=int, help="master random seed (default: the scenario's)")
    p.add_argument("--profile", metavar="FILE", help="certification profile (YAML): expectations and thresholds")
    p.add_argument("--report", required=True, metavar="DIR", help="where to write report.html/json and junit.xml")
    add_devices_option(p)
    add_service_options(p)  # the endpoints' options, as on every command that starts a city
    # certification runs on free ports unless told otherwise (several can run side by side)
    p.set_defaults(handler=run, mqtt_port=0, modbus_port=0, broker="auto")


def _check(args: argparse.Namespace) -> tuple[float, float]:
    positive_speed(args.speed)
    duration = positive_duration(args.duration)
    if duration / args.speed > MAX_WALL_S:
        raise UsageError(f"--duration {args.duration} at --speed {args.speed:g} would take over 6 hours of wall time")
    if "://" in str(args.broker):
        raise UsageError("certify needs a broker it manages to observe the app: use --broker embedded or mosquitto")
    try:
        argv = shlex.split(args.app)
    except ValueError as exc:
        raise UsageError(f"--app: {exc}") from None
    if not argv:
        raise UsageError("--app is empty")
    return duration, args.speed


def run(args: argparse.Namespace) -> int:
    from smartzone.certify.profile import Profile, load_profile
    from smartzone.certify.rules import RULE_IDS
    from smartzone.certify.session import CertifyOptions, certify

    duration, speed = _check(args)
    rt = Runtime.load(args.scenario, catalog_from_args(args), seed=args.seed, speed=speed, duration=duration)
    if args.user not in {u.name for u in rt.scenario.users}:
        names = ", ".join(u.name for u in rt.scenario.users) or "none"
        raise UsageError(f"--user: no user '{args.user}' in {rt.scenario.name} (users: {names})")
    profile = Profile()
    if args.profile:
        if not Path(args.profile).is_file():
            raise UsageError(f"--profile: no such file {args.profile}")
        types = rt.catalog.types
        signals = {d: {*types[i.type].signals, *types[i.type].state} for d, i in rt.devices.items()}
        profile = load_profile(args.profile, rt.devices, set(RULE_IDS), signals)
    if getattr(args, "no_mqtt", False) and getattr(args, "no_modbus", False):
        raise UsageError("--no-mqtt with --no-modbus leaves nothing to observe")
    services: list[Service] = []
    try:
        try:
            start_services(rt, args, services)
        except EndpointError as exc:
            print(f"smartzone: {exc}", file=sys.stderr)
            return EXIT_ENDPOINT
        opts = CertifyOptions(
            args.scenario, args.app, args.user, duration, speed, Path(args.report), profile, args.profile
        )
        print(
            f"certify: {args.app!r} as {args.user} on {rt.scenario.name}, {duration:g} s simulated at x{speed:g} "
            f"(~{duration / speed:.0f} s)",
            flush=True,
        )
        try:
            result = certify(opts, rt, services)
        except KeyboardInterrupt:  # SIGINT or SIGTERM (cli/process.py): the app was stopped on the way out
            print("certify: interrupted; no report written", file=sys.stderr)
            return EXIT_INTERRUPTED
    finally:
        rt.stop()
        for service in reversed(services):
            with contextlib.suppress(Exception):
                service.close()
    for v in result.verdicts:
        print(f"  {v.verdict.upper():15} {v.level:6} {v.id:14} {v.summary}")
    print(
        f"certify: {'PASS' if result.passed else 'FAIL'}; reports in {args.report} "
        f"({', '.join(p.name for p in result.paths.values())})"
    )
    return EXIT_OK if result.passed else EXIT_FAILED
