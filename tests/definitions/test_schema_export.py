"""The exported JSON Schemas accept the shipped files and reject broken ones (editor validation)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from smartzone.cli import main
from smartzone.definitions.catalog import builtin_dir
from smartzone.definitions.yaml_source import read_yaml

BROKEN = Path(__file__).parents[1] / "broken"


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("schema")
    assert main(["export", "schema", "--out", str(out)]) == 0
    return {p.name.split(".")[0]: json.loads(p.read_text()) for p in out.glob("*.schema.json")}


def _jsonable(data: object) -> object:
    return json.loads(json.dumps(data, default=str))


def test_shipped_files_validate_against_exported_schemas(schemas: dict[str, dict]) -> None:
    files = {
        "device-type": sorted(builtin_dir("devices").glob("*.yaml")),
        "scenario": sorted(builtin_dir("scenarios").glob("*.yaml")),
    }
    assert files["device-type"]
    for kind, paths in files.items():
        validator = jsonschema.Draft202012Validator(schemas[kind])
        for path in paths:
            errors = list(validator.iter_errors(_jsonable(read_yaml(path).data)))
            assert not errors, f"{path}: {errors[0].message}"


def test_schema_rejects_unknown_key(schemas: dict[str, dict]) -> None:
    data = _jsonable(read_yaml(BROKEN / "unknown-key.yaml").data)
    errors = list(jsonschema.Draft202012Validator(schemas["scenario"]).iter_errors(data))
    assert any("colour" in e.message for e in errors)
