"""`smartzone conform TARGET --report DIR`: does a device keep the city's contract?

TARGET is a device-type file (one device of the type run for a simulated day), or, with
`--device ID`, a scenario whose bridged real device ID is observed while the scenario runs
(`--duration`, wall clock, default 60 s; `--command ACTION --params JSON` sends it one command).
Writes report.html, report.json and junit.xml like certify. Exit 0 when no MUST rule fails, 1
when one does (an unreachable device too), 2 when TARGET is not a valid device type or scenario
(file, line, field) or ID is not one of its bridged devices.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from smartzone.cli.errors import EXIT_ENDPOINT, EXIT_FAILED, EXIT_OK, EndpointError, UsageError
from smartzone.cli.options import add_devices_option, catalog_from_args, positive_duration
from smartzone.wiring import add_service_options

LIVE_ONLY = ("duration", "command", "params")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "conform",
        help="check a device type, or a scenario's bridged real device, against the city's contract",
        description="Check a device-type file: meta, units, ranges and reporting interval over a simulated day, "
        "commands, seq, Modbus map, SenML and NGSI-LD renderings. With --device: run the scenario TARGET and "
        "judge what its bridged real device ID really sends (ranges, interval, seq, units, renderings, one "
        "command) (docs/owners.md).",
    )
    p.add_argument("target", metavar="TARGET", help="a device-type YAML file, or a scenario with --device")
    p.add_argument("--report", required=True, metavar="DIR", help="where to write report.html/json and junit.xml")
    p.add_argument("--device", metavar="ID", help="check the bridged real device ID of the scenario TARGET")
    p.add_argument("--duration", metavar="D", help="with --device: wall-clock time to observe it (default 60s, max 1h)")
    p.add_argument("--command", metavar="ACTION", help="with --device: send it this declared command once")
    p.add_argument("--params", metavar="JSON", help="the command's parameters, e.g. '{\"closed\": true}'")
    add_devices_option(p)
    add_service_options(p)
    p.set_defaults(handler=run, mqtt_port=0, modbus_port=0)  # a check's endpoints take free ports


def _report_dir(name: str) -> Path:
    try:
        Path(name).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--report: cannot write {name}: {exc.strerror}") from None
    return Path(name)


def _print(verdicts: list[Any]) -> None:
    for v in verdicts:
        print(f"  {v.verdict.upper():15} {v.level:6} {v.id:18} {v.summary}")
        if v.verdict in ("fail", "warn"):
            for e in v.examples:
                print(f"  {'':15} {'':6} {'':18}   {e.text}")


def run(args: argparse.Namespace) -> int:
    if args.device is not None:
        return run_device(args)
    given = [f"--{name}" for name in LIVE_ONLY if getattr(args, name) is not None]
    if given:
        raise UsageError(f"{', '.join(given)}: only with --device ID (checking a scenario's bridged device)")
    from smartzone.conform.session import conform

    target = Path(args.target)
    if not target.is_file():
        raise UsageError(f"TARGET: no such file {args.target} (conform takes a device-type file)")
    report = _report_dir(args.report)
    result = conform(target, report)  # a bad file raises DefinitionError: exit 2, located
    _print(result.verdicts)
    print(
        f"conform: {result.dt.type}: {'PASS' if result.passed else 'FAIL'}; reports in {args.report} "
        f"({', '.join(p.name for p in result.paths.values())})"
    )
    return EXIT_OK if result.passed else EXIT_FAILED


def run_device(args: argparse.Namespace) -> int:
    from smartzone.conform.live import DEFAULT_DURATION, MAX_DURATION
    from smartzone.conform.live_session import conform_device, find_device, parse_command
    from smartzone.definitions.catalog import load_scenario, resolve_scenario

    duration = DEFAULT_DURATION if args.duration is None else positive_duration(args.duration)
    if duration > MAX_DURATION:
        raise UsageError(f"--duration: at most {MAX_DURATION:g} s (1h)")
    path = resolve_scenario(args.target)
    if not path.is_file():
        raise UsageError(f"TARGET: no such scenario {args.target}")
    catalog = catalog_from_args(args)
    scenario = load_scenario(path, catalog)  # a bad scenario raises DefinitionError: exit 2, located
    spec = find_device(scenario, str(path), args.device)
    command = parse_command(catalog, spec, args.command, args.params)
    if args.no_mqtt and spec.mqtt is not None and spec.mqtt.broker == "ingest":
        raise UsageError(f"--no-mqtt: {spec.id} publishes on SmartZone's broker (mqtt: {{broker: ingest}})")
    report = _report_dir(args.report)
    print(f"conform: observing {spec.id} ({spec.type}) in {path} for {duration:g} s ...", flush=True)
    try:
        result = conform_device(scenario, catalog, str(path), spec, duration, args, report, command)
    except EndpointError as exc:  # a port in use, a broker that cannot start: as `smartzone run`
        print(f"smartzone: {exc}", file=sys.stderr)
        return EXIT_ENDPOINT
    _print(result.verdicts)
    obs = result.observation
    if not obs.reached:
        cause = f" ({obs.unreachable})" if obs.unreachable else ""
        print(
            f"conform: {spec.id} was not reached in {duration:g} s{cause}: check that the device is on and "
            "reachable, and its address in the scenario (modbus host/port/unit, or the MQTT broker and topic)"
        )
    print(
        f"conform: {spec.id} ({spec.type}): {'PASS' if result.passed else 'FAIL'}; reports in {args.report} "
        f"({', '.join(p.name for p in result.paths.values())})"
    )
    return EXIT_OK if result.passed else EXIT_FAILED
