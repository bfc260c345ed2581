"""Course files: the shipped ones load, mistakes are located, the schema is exported, validate exits 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smartzone.definitions.catalog import builtin_dir
from smartzone.definitions.course import Course, load_course, resolve_course
from smartzone.definitions.errors import DefinitionError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "courses").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_course_loads(path: Path) -> None:
    course = load_course(path)
    assert course.steps(), "a course has steps"
    assert resolve_course(path.stem) == builtin_dir("courses") / path.name


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """schema_version: 1
id: c
title: C
scenario: bologna
lessons:
  - id: l
    title: L
    steps:
      - id: s
        title: S
        instructions: hello
        checks:
          - {kind: connected}
"""


def test_unknown_key_and_check_kind_are_located(tmp_path: Path) -> None:
    bad = GOOD.replace("{kind: connected}", "{kind: telepathy}").replace("title: S", "title: S\n        colour: red")
    with pytest.raises(DefinitionError) as err:
        load_course(_write(tmp_path, bad))
    text = str(err.value)
    assert "bad.yaml:" in text and "colour" in text and "telepathy" in text
    assert "lessons[0].steps[0]" in text or "lessons.0.steps.0" in text


def test_duplicate_step_ids_are_refused(tmp_path: Path) -> None:
    steps = GOOD.split("    steps:\n")[1]
    with pytest.raises(DefinitionError, match="duplicate step id 's'"):
        load_course(_write(tmp_path, GOOD + steps.replace("      - id: s", "      - id: s", 1)))


def test_validate_exits_2_naming_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("count: 1", "").replace("{kind: connected}", "{kind: received, count: 0}"))
    proc = subprocess.run(
        [sys.executable, "-m", "smartzone", "validate", str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    assert f"{path}:13" in proc.stderr and "Traceback" not in proc.stderr
    good = subprocess.run(
        [sys.executable, "-m", "smartzone", "validate", str(SHIPPED[0])], capture_output=True, text=True, timeout=60
    )
    assert good.returncode == 0 and "ok (course" in good.stdout


def test_schema_export_includes_courses(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "smartzone", "export", "schema", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "course.schema.json").read_text())
    assert doc["title"] == Course.__name__ and "lessons" in doc["properties"]


def test_the_complete_example_of_the_docs_loads_and_draws(tmp_path: Path) -> None:
    from smartzone.classroom.variables import draw
    from smartzone.definitions.catalog import Catalog, load_scenario
    from smartzone.runtime.api import Runtime

    text = (ROOT / "docs" / "courses.md").read_text(encoding="utf-8")
    block = text.split("### A complete example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    course = load_course(_write(tmp_path, block))
    assert [s.id for _, s in course.steps()] == ["which", "poll"]
    catalog = Catalog.builtin()
    rt = Runtime(load_scenario(ROOT / "tests" / "fixtures" / "classroom-infra.yaml", catalog), catalog, fast=True)
    values = draw(course, course.seed, ["anna", "bruno"], rt.devices)
    for user in ("anna", "bruno"):
        assert values[user]["broken"] in (values[user]["sensor"], values[user]["spare"])
    assert len({values[u][v] for u in ("anna", "bruno") for v in ("sensor", "spare")}) == 4
