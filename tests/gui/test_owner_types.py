"""The GUI opens a scenario with its own device types and reloads them when their files change."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "owner"
WAIT_MS = 15_000


def _edit(path: Path, old: str, new: str, bump: int) -> None:
    """Change a file and move its mtime on by *bump* seconds (coarse file-system clocks see it too)."""
    path.write_text(path.read_text().replace(old, new, 1))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump * 1_000_000_000))


def test_edited_types_show_problems_then_reload_after_asking(
    window: Any, qtbot: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "owner")
    scenario, meter = tmp_path / "owner" / "scenario.yaml", tmp_path / "owner" / "devices" / "acme-pm3.yaml"
    assert window.open_scenario(str(scenario))  # File > Open: the scenario brings its types
    rt = window.session.runtime
    assert "pm3-0001" in window.map.markers and rt.catalog.types["acme-pm3"].name.startswith("ACME PM3")
    window.session.start()
    _edit(meter, "decimals: 1", "decimals: 9", 5)  # invalid: the city keeps running on the old types
    qtbot.waitUntil(lambda: not window.types_banner.isHidden(), timeout=WAIT_MS)  # found by the 1 s poll
    text = window.types_banner.text()
    assert f"{meter}:36:5: signals.voltage.decimals" in text
    assert window.session.runtime is rt and rt.running
    asked: list[str] = []

    def question(_parent: Any, _title: str, text: str, *_a: Any) -> Any:
        asked.append(text)
        return QMessageBox.StandardButton.Cancel if len(asked) == 1 else QMessageBox.StandardButton.Reset

    monkeypatch.setattr(QMessageBox, "question", question)
    _edit(meter, "decimals: 9", "decimals: 1", 10)
    _edit(meter, "name: ACME PM3 sub-meter", "name: ACME PM3b sub-meter", 15)
    assert window.session.types.poll()  # valid now: asked, and cancelled: nothing restarted
    assert asked and "device types changed" in asked[0]
    assert window.types_banner.isHidden() and window.session.runtime is rt and rt.running
    new_type = meter.parent / "acme-pm4.yaml"  # a new file in a watched folder counts as a change
    new_type.write_text(meter.read_text().replace("type: acme-pm3", "type: acme-pm4").replace("901", "902"))
    assert window.session.types.poll()
    new = window.session.runtime
    assert new is not rt and not rt.running and new.sim_time == 0.0
    assert new.catalog.types["acme-pm3"].name.startswith("ACME PM3b") and "acme-pm4" in new.catalog.types
    assert not window.session.types.poll()  # nothing changed since the reload


def test_devices_folder_adds_types_to_any_scenario_and_is_watched(qtbot: Any, tmp_path: Path) -> None:
    from smartzone_gui.session import Session

    folder = tmp_path / "types"
    shutil.copytree(EXAMPLE / "devices", folder)
    session = Session(start_services=False, devices=str(folder))
    try:
        session.open(str(Path(__file__).resolve().parents[1] / "fixtures" / "testville.yaml"))
        assert "acme-pm3" in session.runtime.catalog.types and str(folder) in session.types.folders
        seen: list[str] = []
        session.types.invalid.connect(seen.append)
        (folder / "broken.yaml").write_text("schema_version: 1\ntype: broken\n")  # a new, invalid file
        assert session.types.poll() and seen and f"{folder / 'broken.yaml'}:" in seen[0]
        assert session.runtime is not None and "broken" not in session.runtime.catalog.types
    finally:
        session.close()


def test_gui_devices_must_be_a_folder(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "smartzone", "gui", "--devices", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "--devices: no such folder" in proc.stderr
