"""`smartzone devices`: list device types with their signals, units and commands."""

from __future__ import annotations

import argparse
import json
from typing import Any

from smartzone.cli.errors import EXIT_OK
from smartzone.cli.options import add_devices_option, catalog_from_args


def add_parser(sub: Any) -> None:
    p = sub.add_parser("devices", help="list the device types")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_devices_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    catalog = catalog_from_args(args)
    if args.json:
        out = {
            t: {
                "name": dt.name,
                "kind": dt.kind,
                "signals": {
                    n: {"unit": s.unit, "datatype": s.datatype, "min": s.min, "max": s.max}
                    for n, s in dt.signals.items()
                },
                "commands": {n: {p: spec.type for p, spec in c.params.items()} for n, c in dt.commands.items()},
            }
            for t, dt in sorted(catalog.types.items())
        }
        print(json.dumps(out, indent=2))
        return EXIT_OK
    for t, dt in sorted(catalog.types.items()):
        print(f"{t}  ({dt.kind}, {dt.name}; reports every {dt.report.interval:g} s; network {dt.network})")
        for name, sig in dt.signals.items():
            rng = ""
            if sig.values:
                rng = " " + "|".join(sig.values)
            elif sig.min is not None or sig.max is not None:
                lo = "" if sig.min is None else f"{sig.min:g}"
                hi = "" if sig.max is None else f"{sig.max:g}"
                rng = f" [{lo}..{hi}]"
            print(f"    signal  {name:<18} {sig.unit or '-':<8}{rng}")
        for name, cmd in dt.commands.items():
            params = ", ".join(
                f"{p}: {s.type}"
                + (f" {s.min:g}..{s.max:g}" if s.min is not None and s.max is not None else "")
                + (f" {'|'.join(s.values)}" if s.values else "")
                for p, s in cmd.params.items()
            )
            print(f"    command {name}({params})")
    return EXIT_OK
