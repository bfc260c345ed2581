"""`smartzone export td TYPE|--all --scenario S --out DIR` and `smartzone import td FILE --out YAML`.

Export writes one W3C WoT Thing Description 1.1 per device type (JSON-LD, `TYPE.td.jsonld`)
whose forms are the scenario's real MQTT topics and Modbus registers (endpoints/td.py).
Import turns a TD into a device-type YAML with simple default behaviours to edit
(definitions/td_import.py), and checks that the result validates.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from smartzone.cli.errors import EXIT_OK, UsageError
from smartzone.cli.options import add_devices_option, catalog_from_args
from smartzone.definitions.errors import DefinitionError


def add_export_parser(what: Any) -> None:
    p = what.add_parser("td", help="W3C WoT Thing Descriptions of device types (MQTT and Modbus forms)")
    p.add_argument("type", nargs="?", metavar="TYPE", help="a device type id (or --all)")
    p.add_argument("--all", action="store_true", help="every device type the scenario uses")
    p.add_argument("--scenario", help="scenario file or shipped name whose endpoints the forms point at")
    p.add_argument("--out", default="td", metavar="DIR", help="output folder (default: ./td)")
    p.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883", help="the broker's URL in the forms")
    p.add_argument("--modbus-host", default="127.0.0.1", help="the gateways' host in the forms")
    p.add_argument("--modbus-port", type=int, default=5020, metavar="N", help="first gateway's port (default 5020)")
    add_devices_option(p)
    p.set_defaults(handler=run_export)


def add_import_parser(sub: Any) -> None:
    p = sub.add_parser("import", help="turn standard device descriptions into device types")
    what = p.add_subparsers(dest="what", required=True)
    t = what.add_parser("td", help="a W3C WoT Thing Description (JSON-LD) into a device-type YAML")
    t.add_argument("file", metavar="FILE", help="the Thing Description (.json / .jsonld)")
    t.add_argument("--out", required=True, metavar="YAML", help="the device-type file to write")
    t.add_argument("--type", metavar="ID", help="the type id (default: from the TD's title)")
    t.set_defaults(handler=run_import)


def run_export(args: argparse.Namespace) -> int:
    from smartzone.endpoints.td import check_td, things
    from smartzone.runtime.api import Runtime

    if bool(args.type) == bool(args.all):
        raise UsageError("export td: give one device TYPE or --all")
    if not args.mqtt_url.startswith(("mqtt://", "mqtts://")):
        raise UsageError(f"--mqtt-url must be mqtt://host:port or mqtts://host:port, got {args.mqtt_url}")
    rt = Runtime.load(args.scenario, catalog_from_args(args))
    tds = things(
        rt.scenario,
        rt.catalog.types,
        rt.devices.values(),
        mqtt_url=args.mqtt_url,
        modbus_host=args.modbus_host,
        first_port=args.modbus_port,
    )
    if args.type:
        if args.type not in tds:
            used = ", ".join(sorted(tds))
            raise UsageError(f"no device of type '{args.type}' in {rt.scenario.name} (types used: {used})")
        tds = {args.type: tds[args.type]}
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out: cannot write {args.out}: {exc.strerror}") from None
    for name, td in sorted(tds.items()):
        problems = check_td(td)
        if problems:  # a bug of ours, not the user's: say so plainly
            raise RuntimeError(f"the TD of {name} is not valid: {problems}")
        path = out / f"{name}.td.jsonld"
        path.write_text(json.dumps(td, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path} ({len(td['properties'])} properties, {len(td['actions'])} actions)")
    return EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    from smartzone.definitions.td_import import td_to_yaml

    path = Path(args.file)
    try:
        td = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    except ValueError as exc:
        raise DefinitionError.single(args.file, f"not JSON: {exc}") from None
    text = td_to_yaml(td, args.file, args.type, args.out)
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--out: cannot write {args.out}: {exc.strerror}") from None
    from smartzone.definitions.catalog import Catalog

    dt = Catalog().add_file(out)  # the result must validate: a problem here names the written file
    print(
        f"wrote {out} (device type {dt.type}: {len(dt.signals)} signals, {len(dt.commands)} commands); "
        "its behaviours are simple defaults: edit them, then run `smartzone conform`"
    )
    return EXIT_OK
