"""`smartzone export modbus-map SCENARIO --format csv|md [--out FILE]`: the full Modbus map."""

from __future__ import annotations

import argparse
from typing import Any

from smartzone.cli.errors import EXIT_OK, UsageError
from smartzone.cli.options import add_devices_option, catalog_from_args, write_output
from smartzone.endpoints.modbus.export import map_rows, to_csv, to_markdown
from smartzone.endpoints.modbus.gateways import DEFAULT_FIRST_PORT
from smartzone.runtime.api import Runtime


def add_parser(what: Any) -> None:
    p = what.add_parser("modbus-map", help="every gateway, unit and register of a scenario (CSV or Markdown)")
    p.add_argument("scenario", nargs="?", help="scenario file or shipped name (default: the default scenario)")
    p.add_argument("--format", choices=("csv", "md"), default="csv", help="output format (default csv)")
    p.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--seed", type=int, help="master seed (placement decides the default gateways)")
    p.add_argument(
        "--modbus-port",
        type=int,
        default=DEFAULT_FIRST_PORT,
        metavar="N",
        help=f"first gateway's port, as for 'smartzone run' (default {DEFAULT_FIRST_PORT})",
    )
    add_devices_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.modbus_port <= 65535:
        raise UsageError(f"--modbus-port must be 0..65535, got {args.modbus_port}")
    if args.seed is not None and args.seed < 0:
        raise UsageError("--seed must be zero or positive")
    rt = Runtime.load(args.scenario, catalog_from_args(args), seed=args.seed)
    rows = map_rows(rt.scenario, rt.catalog.types, rt.devices.values(), args.modbus_port)
    text = to_csv(rows) if args.format == "csv" else to_markdown(rows)
    write_output(text, args.out, f"{len(rows)} rows")
    return EXIT_OK
