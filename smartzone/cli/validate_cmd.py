"""`smartzone validate FILE...`: check device types, scenarios and courses without running anything."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from smartzone.cli.errors import EXIT_OK, EXIT_USAGE, UsageError
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.course import load_course
from smartzone.definitions.errors import DefinitionError, Problem
from smartzone.definitions.yaml_source import read_yaml


def add_parser(sub: Any) -> None:
    p = sub.add_parser("validate", help="check device type, scenario and course files")
    p.add_argument("files", nargs="+", metavar="FILE", help="YAML files (device types, scenarios or courses)")
    p.add_argument("--devices", metavar="DIR", help="extra folder of device types to validate scenarios against")
    p.set_defaults(handler=run)


def _is_course(path: Path) -> bool:
    try:
        doc = read_yaml(path)
    except DefinitionError:
        return path.parent.name == "courses"
    return "lessons" in doc.data


def _is_device_type(path: Path) -> bool:
    try:
        doc = read_yaml(path)
    except DefinitionError:
        return path.parent.name == "devices"
    return "type" in doc.data and "signals" in doc.data


def run(args: argparse.Namespace) -> int:
    problems: list[Problem] = []
    catalog = Catalog.builtin()
    if args.devices:
        if not Path(args.devices).is_dir():
            raise UsageError(f"--devices: no such folder {args.devices}")
        try:
            catalog.add_folder(Path(args.devices))
        except DefinitionError as exc:
            problems.extend(exc.problems)
    files = [Path(f) for f in args.files]
    ok = 0
    for path in files:  # device types first so scenarios can use them
        if _is_device_type(path):
            try:
                probe = Catalog()
                dt = probe.add_file(path)
                catalog.types[dt.type] = dt
                catalog.files[dt.type] = str(path)
                ok += 1
                print(f"{path}: ok (device type {dt.type})")
            except DefinitionError as exc:
                problems.extend(exc.problems)
    for path in files:
        if _is_course(path):
            try:
                course = load_course(path)
                ok += 1
                print(f"{path}: ok (course {course.id}, {len(course.steps())} steps)")
            except DefinitionError as exc:
                problems.extend(exc.problems)
        elif not _is_device_type(path):
            try:
                sc = load_scenario(path, catalog.copy())  # its own device_types stay its own
                ok += 1
                devices = sum(f.count for f in sc.fleets)
                print(f"{path}: ok (scenario {sc.city}, {devices} devices)")
            except DefinitionError as exc:
                problems.extend(exc.problems)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        bad = len({p.file for p in problems})
        print(f"{bad} file(s) with problems, {ok} ok", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK
