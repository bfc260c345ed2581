"""`smartzone export schema [--out DIR]`: JSON Schemas for editors (and later asyncapi, maps)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from smartzone.cli import asyncapi_cmd, modbus_map_cmd, td_cmd
from smartzone.cli.errors import EXIT_OK
from smartzone.definitions.course import Course
from smartzone.definitions.device_type import DeviceType
from smartzone.definitions.scenario import Scenario

SCHEMAS: dict[str, type[BaseModel]] = {"device-type": DeviceType, "scenario": Scenario, "course": Course}


def add_parser(sub: Any) -> None:
    p = sub.add_parser("export", help="write generated documents")
    what = p.add_subparsers(dest="what", required=True)
    s = what.add_parser("schema", help="JSON Schemas of device-type, scenario and course files")
    s.add_argument("--out", default="schema", metavar="DIR", help="output folder (default: ./schema)")
    s.set_defaults(handler=run_schema)
    modbus_map_cmd.add_parser(what)
    asyncapi_cmd.add_parser(what)
    td_cmd.add_export_parser(what)


def schema_documents() -> dict[str, dict[str, Any]]:
    docs = {}
    for name, model in SCHEMAS.items():
        doc = model.model_json_schema()
        doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        doc["$id"] = f"https://smartzone.dev/schema/{name}.schema.json"
        docs[name] = doc
    return docs


def run_schema(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, doc in schema_documents().items():
        path = out / f"{name}.schema.json"
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    print("editors: map devices/*.yaml, scenarios/*.yaml and courses/*.yaml to these schemas (see docs/authoring.md)")
    return EXIT_OK
