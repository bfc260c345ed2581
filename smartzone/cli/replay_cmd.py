"""`smartzone replay FILE`: serve a recorded city on real endpoints, or re-simulate it.

Live replay: the recorded events are re-published at their simulated times (scaled by
`--speed`) through the same MQTT bridge and Modbus gateways as `smartzone run`; commands
are refused (`forbidden`) and counted. `--resimulate` runs the recorded scenario again in
fast mode with the recorded inputs and writes a new recording (docs/recording.md).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path
from typing import Any

from smartzone.cli.console import Console
from smartzone.cli.errors import EXIT_ENDPOINT, EXIT_FAILED, EXIT_OK, EndpointError, UsageError
from smartzone.cli.options import positive_speed
from smartzone.cli.process import stop_requests
from smartzone.definitions.units import format_duration, parse_offset
from smartzone.runtime.recording import RecordingError
from smartzone.runtime.replay import ReplayWorld, replay_runtime, resimulate
from smartzone.runtime.services import Service
from smartzone.wiring import add_service_options, start_services


def add_parser(sub: Any) -> None:
    p = sub.add_parser("replay", help="play a recording back on MQTT and Modbus, or re-simulate it")
    p.add_argument("file", help="a recording made with `smartzone run --record FILE`")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second (default 1)")
    p.add_argument(
        "--from", dest="first", metavar="T", help="start this long after the recording's start (14h32min, or 14:32)"
    )
    p.add_argument("--to", dest="last", metavar="T", help="stop this long after the recording's start")
    p.add_argument("--loop", action="store_true", help="start again at --from after --to (or the end), forever")
    p.add_argument("--resimulate", action="store_true", help="run the scenario again with the recorded inputs (fast)")
    p.add_argument("--out", metavar="FILE", help="--resimulate output (default FILE.resim.jsonl.gz)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_service_options(p)  # the endpoints' options, as on every command that starts a city
    p.set_defaults(handler=replay)


def _offset(option: str, text: str | None) -> float | None:
    """Seconds from the recording's start: a duration (`90min`, `14h32min`) or a clock `14:32[:05]`."""
    if text is None:
        return None
    try:
        return parse_offset(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def replay(args: argparse.Namespace) -> int:
    positive_speed(args.speed)
    first, last = _offset("--from", args.first) or 0.0, _offset("--to", args.last)
    if last is not None and last <= first:
        raise UsageError("--to must be after --from")
    if not Path(args.file).is_file():
        raise UsageError(f"{args.file}: no such recording")
    console = Console(quiet=args.quiet)
    if args.resimulate:
        out = args.out or f"{args.file.removesuffix('.gz').removesuffix('.jsonl')}.resim.jsonl.gz"
        try:
            events, inputs = resimulate(args.file, out)
        except RecordingError as exc:
            raise UsageError(str(exc)) from None
        console.line(f"re-simulated {args.file}: {events:,} events, {inputs:,} inputs re-applied -> {out}")
        return EXIT_OK
    with tempfile.TemporaryDirectory(prefix="sz-replay-") as tmp:
        try:
            rt = replay_runtime(args.file, speed=args.speed, first=first, last=last, loop=args.loop, workdir=Path(tmp))
        except RecordingError as exc:
            raise UsageError(str(exc)) from None
        return _serve(rt, args, console)


def _serve(rt: Any, args: argparse.Namespace, console: Console) -> int:
    world: ReplayWorld = rt.world
    console.line(
        f"SmartZone replay | {args.file} | {rt.scenario.name} | seed {rt.seed} | {len(rt.devices)} devices | "
        f"from {rt.iso_time(world.first)} | x{args.speed:g}" + (" | loop" if args.loop else "")
    )
    services: list[Service] = []
    code = EXIT_FAILED
    with stop_requests(rt.engine.request_stop) as stopped:
        try:
            try:
                start_services(rt, args, services, console.line)
            except EndpointError as exc:
                print(f"smartzone: {exc}", file=sys.stderr)
                return EXIT_ENDPOINT
            rt.start()
            while not rt.wait(timeout=0.5):
                if stopped.is_set() or rt.health.failed:
                    break
            code = EXIT_FAILED if rt.health.failed else EXIT_OK
        finally:
            rt.stop()
            for service in reversed(services):
                with contextlib.suppress(Exception):
                    service.close()
    console.line(
        f"replay {'stopped' if stopped.is_set() else 'done'}: {world.played:,} events played up to "
        f"{format_duration(rt.sim_time)}, {world.refused:,} command(s) refused"
    )
    for line in rt.health.summary_lines():
        console.line(line)
    return code
