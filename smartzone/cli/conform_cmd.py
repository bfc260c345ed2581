"""`smartzone conform TARGET --report DIR`: does a device type keep the city's contract?

TARGET is a device-type file (a running scenario's bridged device is not supported yet).
Writes report.html, report.json and junit.xml like certify. Exit 0 when no MUST rule
fails, 1 when one does, 2 when TARGET is not a valid device type (file, line, field).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from smartzone.cli.errors import EXIT_FAILED, EXIT_OK, UsageError


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "conform",
        help="check a device type against the city's contract (rules, reports)",
        description="Check a device-type file: meta, units, ranges and reporting interval over a simulated day, "
        "commands, seq, Modbus map, SenML and NGSI-LD renderings (docs/owners.md). TARGET: a device-type file; "
        "a running scenario's bridged device is not supported yet.",
    )
    p.add_argument("target", metavar="TARGET", help="a device-type YAML file")
    p.add_argument("--report", required=True, metavar="DIR", help="where to write report.html/json and junit.xml")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from smartzone.conform.session import conform

    target = Path(args.target)
    if not target.is_file():
        raise UsageError(f"TARGET: no such file {args.target} (conform takes a device-type file)")
    try:
        Path(args.report).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--report: cannot write {args.report}: {exc.strerror}") from None
    result = conform(target, Path(args.report))  # a bad file raises DefinitionError: exit 2, located
    for v in result.verdicts:
        print(f"  {v.verdict.upper():15} {v.level:6} {v.id:18} {v.summary}")
        if v.verdict in ("fail", "warn"):
            for e in v.examples:
                print(f"  {'':15} {'':6} {'':18}   {e.text}")
    print(
        f"conform: {result.dt.type}: {'PASS' if result.passed else 'FAIL'}; reports in {args.report} "
        f"({', '.join(p.name for p in result.paths.values())})"
    )
    return EXIT_OK if result.passed else EXIT_FAILED
