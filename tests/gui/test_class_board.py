"""The Class tab (gui/class_board.py), offscreen: it follows a class folder's progress.json as another
process rewrites it, and its buttons queue the same controls as `smartzone class ...` (controls.jsonl)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from smartzone.classroom.progress import COURSE_COPY, Progress, load_progress
from smartzone.classroom.roster import ROSTER, numbered, write_roster
from smartzone.classroom.trainer import write_city
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.runtime.api import Runtime

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def make_class(folder: Path, trainees: int = 2) -> Path:
    """A class folder as `smartzone class start` leaves it (progress, roster, course copy, devices.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    catalog = Catalog.builtin()
    rt = Runtime(load_scenario(FIXTURES / "classroom-city.yaml", catalog), catalog, fast=True)
    lights = sorted(d for d, i in rt.devices.items() if i.type == "street-light")
    people = numbered(trainees)
    write_roster(folder / ROSTER, people)
    write_city(folder, rt, {t.user: [lights[i % len(lights)]] for i, t in enumerate(people)})
    shutil.copyfile(FIXTURES / "course-lab.yaml", folder / COURSE_COPY)
    Progress(
        "modbus-lab", ["read", "write", "guess"], {"read": 1, "write": 1, "guess": 2}, [t.user for t in people]
    ).save(folder)
    return folder


def controls(folder: Path) -> list[dict[str, Any]]:
    path = folder / "controls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def board(qtbot: Any, tmp_path: Path) -> Any:
    from smartzone_gui.class_board import ClassBoard

    b = ClassBoard()
    qtbot.addWidget(b)
    yield b
    b.close_class()


def test_the_board_follows_progress_written_by_another_process(board: Any, qtbot: Any, tmp_path: Path) -> None:
    folder = make_class(tmp_path / "class")
    assert board.open(folder)
    assert board.table.rowCount() == 2 and board.table.columnCount() == 4
    assert board.table.item(0, 0).text() == "·"

    p = load_progress(folder)
    assert p is not None
    p.cells["trainee-02"]["guess"].done, p.cells["trainee-02"]["guess"].time = True, 42.0
    p.cells["trainee-02"]["guess"].score, p.cells["trainee-02"]["guess"].attempts = 2, 1
    p.cells["trainee-01"]["write"].attempts, p.cells["trainee-01"]["write"].hints = 3, 1
    p.paused_at = p.started + 10
    p.save(folder)  # replaced by a rename, as the running class does
    qtbot.waitUntil(lambda: board.table.item(1, 2).text().startswith("✓"), timeout=5000)
    assert board.table.item(1, 2).text() == "✓ 42 s"
    assert board.table.item(0, 1).text() == "✗ 3 tries · 1 hint"
    assert board.table.item(1, 3).text() == "2/4 · 1/3 done"
    assert board.table.item(1, 2).background().color().name() == "#bbf7d0"
    assert "PAUSED" in board.title.text() and board.pause_button.text() == "Resume clock"


def test_the_buttons_queue_the_cli_controls(board: Any, qtbot: Any, tmp_path: Path) -> None:
    folder = make_class(tmp_path / "class")
    assert board.open(folder)
    board.reveal_hint()
    assert controls(folder) == [] and "Select" in board.message.text()

    board.table.setCurrentCell(0, 1)  # trainee-01, step write
    qtbot.mouseClick(board.hint_button, _left())
    assert controls(folder)[-1] == {"op": "hint", "user": "trainee-01", "step": "write", "value": None}
    assert "hint 1/2: mbpoll -t 4" in board.message.text()

    board.confirm = lambda text: False
    qtbot.mouseClick(board.reset_button, _left())
    assert len(controls(folder)) == 1, "a reset the trainer did not confirm is not queued"
    board.confirm = lambda text: "trainee-01" in text
    qtbot.mouseClick(board.reset_button, _left())
    assert controls(folder)[-1]["op"] == "reset" and controls(folder)[-1]["user"] == "trainee-01"

    qtbot.mouseClick(board.pause_button, _left())
    assert controls(folder)[-1]["op"] == "pause"

    kinds = [board.fault_kind.itemText(i) for i in range(board.fault_kind.count())]
    assert "offline" in kinds and "stuck" in kinds
    board.fault_kind.setCurrentText("offline")
    qtbot.mouseClick(board.fault_button, _left())
    city = json.loads((folder / "devices.json").read_text())
    pushed = controls(folder)[-1]
    assert pushed["op"] == "fault" and pushed["value"]["fault"] == "offline"
    assert pushed["value"]["devices"] == [d for ds in city["trainees"].values() for d in ds]
    qtbot.mouseClick(board.clear_button, _left())
    assert controls(folder)[-1]["op"] == "clear-fault"

    qtbot.mouseClick(board.export_button, _left())
    assert (folder / "summary.html").exists() and "results written" in board.message.text()
    assert json.loads((folder / "results.json").read_text())["title"] == "Modbus lab"
    assert load_progress(folder).applied == 0, "the board never edits progress"  # type: ignore[union-attr]


def test_a_folder_without_a_class_is_one_line(board: Any, tmp_path: Path) -> None:
    assert not board.open(tmp_path)
    assert "no class here" in board.message.text() and not board.export_button.isEnabled()
    cli = subprocess.run(
        [sys.executable, "-m", "smartzone", "gui", "--class", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert cli.returncode == 2 and "--class: no class in" in cli.stderr and "Traceback" not in cli.stderr


def test_the_window_opens_a_class_in_its_class_tab(window: Any, tmp_path: Path) -> None:
    folder = make_class(tmp_path / "class")
    assert "Open &class folder…" in [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert window.open_class(folder)
    assert window.bottom.tabText(window.bottom.currentIndex()) == "Class"
    assert window.class_board.table.rowCount() == 2


def _left() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_gui_class_option_opens_the_board(tmp_path: Path) -> None:
    """`smartzone gui --class DIR` end to end (offscreen, a screenshot then quit): the window starts with it."""
    folder = make_class(tmp_path / "class")
    png = tmp_path / "board.png"
    cmd = [
        sys.executable, "-m", "smartzone", "gui", str(FIXTURES / "testville.yaml"), "--no-endpoints",
        "--class", str(folder), "--screenshot", str(png), "--screenshot-after", "0.5",
    ]  # fmt: skip
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert run.returncode == 0 and png.stat().st_size > 0, run.stderr
    assert "Traceback" not in run.stderr
