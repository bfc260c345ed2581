"""The classroom's pure parts: variables drawn from the seed, filter containment, answers, rosters."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartzone.classroom.checks import filter_within, same_value
from smartzone.classroom.progress import Progress, load_progress
from smartzone.classroom.roster import numbered, read_roster, with_trainees
from smartzone.classroom.variables import draw, render
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.course import load_course, resolve_course
from smartzone.errors import UsageError
from smartzone.runtime.api import Runtime

ROOT = Path(__file__).resolve().parents[2]
CITY = ROOT / "tests" / "fixtures" / "classroom-city.yaml"


@pytest.fixture(scope="module")
def devices() -> dict:
    catalog = Catalog.builtin()
    rt = Runtime(load_scenario(CITY, catalog), catalog, fast=True)
    return dict(rt.devices)


def test_variables_differ_between_trainees_and_repeat_for_the_same_roster(devices: dict) -> None:
    course = load_course(resolve_course("mqtt-basics"))
    users = ["anna", "bruno", "carla", "dario"]
    first = draw(course, course.seed, users, devices)
    assert len({first[u]["device"] for u in users}) == 4, "4 lights, 4 trainees: all different"
    assert draw(course, course.seed, users, devices) == first
    assert all(10 <= first[u]["level"] <= 90 and first[u]["level"] % 5 == 0 for u in users)
    assert first["anna"]["device_tenant"] == "comune-bologna"
    others = [draw(course, course.seed + k, users, devices) for k in range(1, 6)]
    assert any(o != first for o in others), "another seed deals other tasks"  # 5 draws: never all equal


def test_render_fills_known_names_and_keeps_json() -> None:
    text = 'dim {device} to {level}: {"id": "x", "params": {"level": {level}}} {unknown}'
    assert render(text, {"device": "cl-1", "level": 40}) == (
        'dim cl-1 to 40: {"id": "x", "params": {"level": 40}} {unknown}'
    )


@pytest.mark.parametrize(
    ("inner", "outer", "within"),
    [
        ("a/b/c/telemetry", "a/b/c/#", True),
        ("a/b/c/#", "a/b/c/#", True),
        ("a/b/#", "a/b/c/#", False),
        ("a/+/c/telemetry", "a/b/c/#", False),
        ("a/b/c/telemetry", "a/+/c/telemetry", True),
        ("#", "a/#", False),
        ("a/b/c", "a/b/c", True),
        ("a/b/c", "a/b", False),
        ("a/b", "a/b/c", False),
    ],
)
def test_filter_within(inner: str, outer: str, within: bool) -> None:
    assert filter_within(inner, outer) is within


def test_answers_compare_as_numbers_or_text() -> None:
    assert same_value("41.7", 42, 0.5) and not same_value(41.4, "42", 0.5)
    assert same_value(" Invalid_Params ", "invalid_params", 0) and not same_value("forbidden", "invalid_params", 0)
    assert not same_value("nan", "1", 100)


def test_roster_mistakes_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("name,user\nAnna Rossi,\nBruno,Bad User\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"roster.csv:3: field 'user'"):
        read_roster(path)
    path.write_text("name\nAnna Rossi\nAnna  Rossi\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"roster.csv:3: field 'user': 'anna-rossi' is used twice"):
        read_roster(path)
    path.write_text("name\nAnna Rossi\nJosé Núñez\n", encoding="utf-8")
    assert [t.user for t in read_roster(path)] == ["anna-rossi", "jos-n-ez"]


def test_trainees_become_app_users_of_a_scenario_copy() -> None:
    catalog = Catalog.builtin()
    sc = load_scenario(CITY, catalog)
    course = load_course(resolve_course("mqtt-basics"))
    trainees = numbered(3)
    copy = with_trainees(sc, course, trainees)
    added = [u for u in copy.users if u.name.startswith("trainee-")]
    assert [u.role for u in added] == ["app"] * 3 and added[0].grants == course.grants
    assert len({t.password for t in trainees}) == 3
    assert all(u.name != "trainee-01" for u in sc.users), "the loaded scenario is not changed"
    with pytest.raises(UsageError, match="already a user"):
        with_trainees(copy, course, trainees[:1])


def test_progress_round_trips(tmp_path: Path) -> None:
    p = Progress("c", ["a", "b"], {"a": 1, "b": 2}, ["t1"])
    p.cell("t1", "b").done, p.cell("t1", "b").score, p.applied = True, 2, 3
    p.save(tmp_path)
    back = load_progress(tmp_path)
    assert back is not None and back.to_json() == p.to_json() and back.total("t1") == (1, 2)
    (tmp_path / "progress.json").write_text("{", encoding="utf-8")
    with pytest.raises(UsageError, match="cannot read the class progress"):
        load_progress(tmp_path)
