"""GUI test setup: offscreen Qt, the source tree's gui/ as `smartzone_gui`, isolated settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from smartzone.cli.gui_cmd import ensure_gui_package

ensure_gui_package()  # test the checkout's gui/, not a stale installed copy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[object]:
    """A QSettings in a temporary ini file, so tests never touch the user's recent files."""
    from PySide6.QtCore import QSettings

    s = QSettings(str(tmp_path / "smartzone-gui.ini"), QSettings.Format.IniFormat)
    yield s
    s.sync()


@pytest.fixture
def window(qtbot: object, settings: object) -> Iterator[object]:
    """A main window on a Session without endpoints; everything is closed at teardown."""
    from smartzone_gui.main_window import MainWindow
    from smartzone_gui.session import Session

    session = Session(start_services=False)
    win = MainWindow(session, settings)  # type: ignore[arg-type]
    qtbot.addWidget(win)  # type: ignore[attr-defined]
    try:
        yield win
    finally:
        session.close()
        win.close()
