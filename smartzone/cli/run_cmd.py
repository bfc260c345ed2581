"""`smartzone run [SCENARIO]`: simulate a city headless, with its endpoints.

SIGINT (also when inherited as ignored, `smartzone run &`) and SIGTERM end the run through
its normal path: summary, services closed, exit 0 unless something failed. A part that
fails for good (a dead thread, an unwritable trace file: rt.health, runtime/health.py)
ends the run with one line naming it and exit 1.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any

from smartzone.cli.console import Console
from smartzone.cli.errors import EXIT_ENDPOINT, EXIT_FAILED, EXIT_OK, EndpointError, UsageError
from smartzone.cli.options import (
    add_devices_option,
    catalog_from_args,
    positive_duration,
    positive_speed,
    start_options,
)
from smartzone.cli.process import safe_print, stop_requests
from smartzone.core.events import Event
from smartzone.definitions.catalog import load_scenario, resolve_scenario
from smartzone.definitions.units import format_duration
from smartzone.runtime.api import Runtime
from smartzone.runtime.health import HealthEvent
from smartzone.runtime.recording import Recorder, open_recording
from smartzone.runtime.services import Service
from smartzone.runtime.trace import TraceWriter, manifest
from smartzone.wiring import add_service_options, start_services

DEFAULT_FAST_DURATION = 86400.0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="run a scenario headless (default: Bologna)")
    p.add_argument("scenario", nargs="?", help="scenario file or shipped name (bologna, genoa, london, barcelona)")
    p.add_argument("--fast", action="store_true", help="run as fast as possible (default duration 24h)")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second (default 1)")
    p.add_argument("--duration", help="simulated time to run, e.g. 90min, 24h, 7d (default: until Ctrl-C)")
    p.add_argument("--seed", type=int, help="master random seed (default: the scenario's)")
    p.add_argument(
        "--start",
        metavar="DATETIME",
        help="simulated start, ISO 8601 (e.g. 2026-11-23T08:00; no offset = the city's local time)",
    )
    p.add_argument(
        "--start-hour",
        type=float,
        metavar="H",
        help="start at this local hour of the scenario's start date (default: the scenario's "
        "realtime_start_hour, 8, in real time; the scenario's start with --fast)",
    )
    p.add_argument("--trace", metavar="FILE", help="write every event as JSON lines")
    p.add_argument("--record", metavar="FILE", help="record the session to play it back (docs/recording.md)")
    p.add_argument("--quiet", action="store_true", help="no progress or live summary")
    p.add_argument(
        "--no-real-devices",
        action="store_true",
        help="leave the scenario's bridged real devices out of the city (docs/owners.md)",
    )
    add_devices_option(p)
    add_service_options(p)  # the endpoints' options, as on every command that starts a city
    p.set_defaults(handler=run)


def _options(args: argparse.Namespace) -> tuple[float | None, float]:
    positive_speed(args.speed)
    duration = None if args.duration is None else positive_duration(args.duration)
    if args.fast and duration is None:
        duration = DEFAULT_FAST_DURATION
    if args.seed is not None and args.seed < 0:
        raise UsageError("--seed must be zero or positive")
    return duration, args.speed


def run(args: argparse.Namespace) -> int:
    duration, speed = _options(args)
    console = Console(quiet=args.quiet)
    catalog = catalog_from_args(args)
    path = resolve_scenario(args.scenario)
    scenario = load_scenario(path, catalog)
    if args.no_real_devices:
        scenario = scenario.model_copy(update={"bridged_devices": []})
    start = start_options(scenario, args.fast, args.start, args.start_hour)
    rt = Runtime(
        scenario, catalog, source=str(path), seed=args.seed, fast=args.fast, speed=speed, duration=duration, start=start
    )
    sc = rt.scenario
    console.line(
        f"SmartZone | {sc.name} ({rt.source}) | seed {rt.seed} | {len(rt.devices)} devices | "
        f"start {rt.iso_time(0)} | {'fast' if args.fast else f'real time x{speed:g}'}"
        + (f" | duration {format_duration(duration)}" if duration else " | until Ctrl-C")
    )
    events = [0]

    def count(_: Event) -> None:
        events[0] += 1

    rt.subscribe(count)
    trace: TraceWriter | None = None
    recorder: Recorder | None = None
    services: list[Service] = []
    code = EXIT_FAILED
    # from here on a signal asks the run to stop (also while the services start)
    with stop_requests(rt.engine.request_stop) as stopped:
        try:
            if args.trace:
                trace = _open_trace(rt, args.trace)
            if args.record:
                recorder = open_recording(rt, args.record, fast=args.fast, speed=speed, duration=duration)
            try:
                start_services(rt, args, services, console.line)
            except EndpointError as exc:
                print(f"smartzone: {exc}", file=sys.stderr)
                return EXIT_ENDPOINT
            code = _drive(rt, console, events, duration, args.fast, stopped)
        finally:
            rt.stop()
            for service in reversed(services):
                with contextlib.suppress(Exception):
                    service.close()
            if trace is not None:
                cause = trace.close()
                if cause is not None and code == EXIT_OK:  # the last flush failed: the trace is incomplete
                    print(f"smartzone: trace file {args.trace}: {cause}", file=sys.stderr)
                    code = EXIT_FAILED
            if recorder is not None:
                cause = recorder.close(rt.sim_time)
                if cause is not None and code == EXIT_OK:
                    print(f"smartzone: recording {args.record}: {cause}", file=sys.stderr)
                    code = EXIT_FAILED
    return code


def _open_trace(rt: Runtime, name: str) -> TraceWriter:
    """The trace writer of `--trace FILE`; a write that fails later makes the run fail (exit 1)."""
    try:
        out = Path(name).open("w", encoding="utf-8", buffering=1 << 16)
    except OSError as exc:
        raise UsageError(f"--trace: cannot write {name}: {exc.strerror}") from None
    writer = TraceWriter(out, rt.world.clock, on_error=lambda cause: rt.health.fatal(f"trace file {name}", cause))
    sc = rt.scenario
    writer.write_header(manifest(sc.city, Path(rt.source).name, rt.seed, len(rt.devices), rt.iso_time(0)))
    rt.subscribe(writer)
    return writer


def _drive(
    rt: Runtime, console: Console, events: list[int], duration: float | None, fast: bool, stopped: threading.Event
) -> int:
    def show(event: HealthEvent) -> None:  # on the reporting thread; fatal ones are told once, at the end
        if event.kind == "fatal" or (console.quiet and event.kind != "down"):  # an outage shows even with --quiet
            return
        safe_print(f"smartzone: {event.kind}: {event.component}: {event.cause}", console.stream)

    unsubscribe = rt.health.subscribe(show)
    # health events are shown above (and fatal ones once at the end): not again by logging's fallback handler
    quiet_log = logging.NullHandler()
    health_log = logging.getLogger("smartzone.health")
    health_log.addHandler(quiet_log)
    wall0 = time.monotonic()
    rt.start()
    last_wall, last_events = wall0, 0
    try:
        while not rt.wait(timeout=0.2 if fast else 1.0):
            if stopped.is_set() or rt.health.failed:
                break
            now = time.monotonic()
            if fast and duration:
                console.progress(rt.sim_time, duration, now - wall0, events[0])
            else:
                rate = (events[0] - last_events) / max(1e-6, now - last_wall)
                last_wall, last_events = now, events[0]
                console.live(rt.iso_time(), rate, rt.live.online_count(), len(rt.devices), rt.speed, rt.paused)
    except (KeyboardInterrupt, BrokenPipeError):
        raise  # a closed pipe ends quietly in main(), after the finally blocks stopped everything
    except Exception as exc:
        if not rt.health.failed:  # an engine failure is also fatal in health: told below, once
            console.done()
            print(f"smartzone: the simulation failed at {rt.iso_time()}: {exc}", file=sys.stderr)
            return EXIT_FAILED
    finally:
        rt.stop()
        unsubscribe()
        health_log.removeHandler(quiet_log)
    interrupted = stopped.is_set()
    if rt.health.failed:
        console.done()
        failed = set()
        for name, part in rt.health.snapshot().items():
            if part.state == "failed":
                failed.add(name)
                print(f"smartzone: the run failed at {rt.iso_time()}: {name}: {part.last_cause}", file=sys.stderr)
        for line in rt.health.summary_lines():
            if not any(line.startswith(f"health: {name}: ") for name in failed):
                print(line, file=sys.stderr)
        return EXIT_FAILED
    if fast and duration and not interrupted:
        console.progress(rt.sim_time, duration, time.monotonic() - wall0, events[0])
    console.done()
    wall = time.monotonic() - wall0
    console.line(
        f"{'stopped' if interrupted else 'done'}: simulated {format_duration(rt.sim_time)} in {wall:.1f} s "
        f"({rt.sim_time / max(wall, 1e-9):,.0f}x real time), {events[0]:,} events"
    )
    for line in rt.network_summary():  # final LinkStats go to the trace too
        console.line(line)
    for line in rt.health.summary_lines():
        console.line(line)
    return EXIT_OK
