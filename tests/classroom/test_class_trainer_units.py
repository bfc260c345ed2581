"""The results of a class (export.py), the paused step timers (progress.py), and the class-wide controls."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import pytest

from smartzone.classroom.controls import Controls, append_control, fault_value
from smartzone.classroom.export import FILES, export, export_folder
from smartzone.classroom.progress import Cell, Progress, load_progress
from smartzone.classroom.roster import ROSTER, Trainee, write_roster
from smartzone.classroom.trainer import Trainer, write_city
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.course import load_course
from smartzone.errors import UsageError
from smartzone.runtime.api import Runtime

ROOT = Path(__file__).resolve().parents[2]
CITY = ROOT / "tests" / "fixtures" / "classroom-city.yaml"


def _progress() -> Progress:
    p = Progress("lab", ["read", "guess"], {"read": 1, "guess": 2}, ["anna", "bruno"], started=1_000_000.0)
    p.cells["anna"]["read"] = Cell(done=True, attempts=2, time=30.0, score=1, hints=1)
    p.cells["anna"]["guess"] = Cell(done=True, attempts=1, time=90.0, score=2)
    p.cells["bruno"]["read"] = Cell(done=True, attempts=4, time=60.0, score=0, late=True, hints=2)
    p.cells["bruno"]["guess"] = Cell(attempts=3)
    return p


def test_export_writes_per_trainee_rows_and_class_averages(tmp_path: Path) -> None:
    paths = export(tmp_path, _progress(), "Modbus <lab>", {"anna": "Anna Rossi", "bruno": "Bruno Bianchi"})
    assert [p.name for p in paths] == list(FILES)

    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert len(rows) == 4
    late = next(r for r in rows if r["user"] == "bruno" and r["step"] == "read")
    assert (late["name"], late["done"], late["attempts"], late["score"], late["late"], late["hints"]) == (
        "Bruno Bianchi", "True", "4", "0", "True", "2",
    )  # fmt: skip

    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["title"] == "Modbus <lab>" and doc["course"] == "lab" and doc["max_score"] == 3
    assert [(t["user"], t["done"], t["score"]) for t in doc["trainees"]] == [("anna", 2, 3), ("bruno", 1, 0)]
    assert doc["trainees"][0]["steps"]["read"] == {
        "done": True, "attempts": 2, "time_s": 30.0, "score": 1, "late": False, "hints": 1,
    }  # fmt: skip
    avg = doc["averages"]
    assert avg["score"] == 1.5 and avg["done"] == 1.5
    assert avg["steps"]["read"] == {"done": 1.0, "attempts": 3.0, "time_s": 45.0, "hints": 1.5}
    assert avg["steps"]["guess"] == {"done": 0.5, "attempts": 2.0, "time_s": 90.0, "hints": 0.0}
    assert doc["date"] and doc["started"]

    page = (tmp_path / "summary.html").read_text()
    assert "Modbus &lt;lab&gt;: results" in page and "<lab>" not in page  # escaped
    assert "Anna Rossi" in page and "3/3" in page and "0/3" in page
    assert "done 60 s (late)" in page and "4 attempts, 2 hints" in page
    assert "class average" in page and "50% done, 90 s" in page


def test_export_folder_reads_names_and_says_when_there_is_no_class(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no class here"):
        export_folder(tmp_path)
    _progress().save(tmp_path)
    write_roster(tmp_path / ROSTER, [Trainee("Anna Rossi", "anna", "pw-a"), Trainee("Bruno B", "bruno", "pw-b")])
    export_folder(tmp_path)
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["title"] == "lab"  # no course copy: the course id
    assert [t["name"] for t in doc["trainees"]] == ["Anna Rossi", "Bruno B"]


def test_paused_time_does_not_count_and_survives_a_restart(tmp_path: Path) -> None:
    p = Progress("lab", ["read"], {"read": 1}, ["anna"], started=100.0)
    assert p.elapsed(now=160.0) == 60.0
    assert p.pause(now=160.0) and not p.pause(now=170.0)
    assert p.elapsed(now=400.0) == 60.0
    assert "(paused)" in p.board()[0]
    p.save(tmp_path)
    again = load_progress(tmp_path)
    assert again is not None and again.paused_at == 160.0
    assert again.resume(now=200.0) and not again.resume(now=210.0)
    assert again.elapsed(now=230.0) == 90.0 and again.paused_s == 40.0


def test_class_controls_pause_the_city_and_report_a_refused_fault(tmp_path: Path) -> None:
    """Controls and Trainer on a real running city (in process): pause stops the engine, a fault the
    device cannot take is reported on the class's log line, never raised into the class's loop."""
    catalog = Catalog.builtin()
    rt = Runtime(load_scenario(CITY, catalog), catalog, speed=1.0)
    light = sorted(d for d, i in rt.devices.items() if i.type == "street-light")[0]
    lines: list[str] = []
    trainer = Trainer(rt, {"anna": [light]}, log=lines.append)
    write_city(tmp_path, rt, {"anna": [light]})
    progress = Progress("modbus-lab", ["read"], {"read": 1}, ["anna"])
    controls = Controls(tmp_path, progress, None, load_course(ROOT / "tests" / "fixtures" / "course-lab.yaml"), trainer)
    rt.start()
    try:
        append_control(tmp_path, "pause")
        assert controls.apply() and progress.paused_at is not None
        _until(lambda: rt.paused)
        append_control(tmp_path, "resume")
        assert controls.apply() and progress.paused_at is None
        _until(lambda: not rt.paused)
        value = fault_value(tmp_path, [], True, "battery_drain")  # an effect every type lists
        append_control(tmp_path, "fault", value=value)
        assert controls.apply()
        _until(lambda: lines)
        assert "battery_drain" in lines[0] and light in lines[0] and "no battery" in lines[0]
        assert progress.applied == 3
    finally:
        rt.stop()


def _until(ok: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_fault_for_trainees_without_devices_names_the_way_out(tmp_path: Path) -> None:
    city = {"trainees": {"anna": []}, "types": {"x-1": "street-light"}, "faults": {"street-light": ["offline"]}}
    (tmp_path / "devices.json").write_text(json.dumps(city))
    with pytest.raises(UsageError, match="no devices; name a --device"):
        fault_value(tmp_path, [], True, "offline")
    assert fault_value(tmp_path, ["x-1", "x-1"], False, "offline")["devices"] == ["x-1"]
    with pytest.raises(UsageError, match="--duration must be positive"):
        fault_value(tmp_path, ["x-1"], False, "offline", duration=0)
    with pytest.raises(UsageError, match=r"no devices\.json"):
        fault_value(tmp_path / "nowhere", ["x-1"], False, "offline")
