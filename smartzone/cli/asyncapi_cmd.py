"""`smartzone export asyncapi SCENARIO [--out FILE]`: the AsyncAPI 3.0 document of the MQTT API."""

from __future__ import annotations

import argparse
import json
from typing import Any

from smartzone.cli.errors import EXIT_OK, UsageError
from smartzone.cli.options import add_devices_option, catalog_from_args, write_output
from smartzone.endpoints.mqtt.asyncapi import build
from smartzone.runtime.api import Runtime


def add_parser(what: Any) -> None:
    p = what.add_parser("asyncapi", help="AsyncAPI 3.0 document of a scenario's MQTT channels and payloads")
    p.add_argument("scenario", nargs="?", help="scenario file or shipped name (default: the default scenario)")
    p.add_argument("--out", metavar="FILE", help="write here instead of standard output (JSON)")
    p.add_argument("--mqtt-port", type=int, default=1883, metavar="N", help="port in the server entry (default 1883)")
    add_devices_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.mqtt_port <= 65535:
        raise UsageError(f"--mqtt-port must be 1..65535, got {args.mqtt_port}")
    rt = Runtime.load(args.scenario, catalog_from_args(args))
    doc = build(rt.scenario, rt.catalog, rt.devices.values(), port=args.mqtt_port)
    text = json.dumps(doc, indent=2) + "\n"
    write_output(text, args.out, f"{len(doc['channels'])} channels, {len(doc['components']['messages'])} messages")
    return EXIT_OK
