"""`smartzone class` mistakes: one line, exit 2, nothing half-created."""

from __future__ import annotations

from pathlib import Path

from tests.classroom.test_mqtt_course_e2e import _cli


def test_bad_trainee_count_creates_nothing(tmp_path: Path) -> None:
    out = tmp_path / "class"
    proc = _cli("class", "start", "mqtt-basics", "--trainees", "0", "--out", str(out))
    assert proc.returncode == 2 and "--trainees must be from 1 to 200, got 0" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_roster_mistake_names_file_and_line(tmp_path: Path) -> None:
    roster = tmp_path / "people.csv"
    roster.write_text("name\nAnna\n\n,x\n", encoding="utf-8")
    proc = _cli("class", "start", "mqtt-basics", "--roster", str(roster), "--out", str(tmp_path / "c"))
    assert proc.returncode == 2, proc.stderr
    assert f"{roster}:4: field 'name' is empty" in proc.stderr, proc.stderr


def test_unknown_course_and_empty_folder(tmp_path: Path) -> None:
    proc = _cli("class", "start", "no-such-course", "--out", str(tmp_path / "c"))
    assert proc.returncode == 2 and "no-such-course.yaml" in proc.stderr and "Traceback" not in proc.stderr
    status = _cli("class", "status", str(tmp_path))
    assert status.returncode == 2 and "no class here" in status.stderr


def test_a_course_granting_an_unknown_tenant_is_refused(tmp_path: Path) -> None:
    city = Path(__file__).resolve().parents[1] / "fixtures" / "mqtt-city.yaml"  # no comune-bologna tenant
    proc = _cli("class", "start", "mqtt-basics", "--scenario", str(city), "--out", str(tmp_path / "c"))
    assert proc.returncode == 2, proc.stderr
    assert "grants name tenant 'comune-bologna', not in scenario mqttville" in proc.stderr
