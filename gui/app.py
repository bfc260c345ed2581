"""Application start-up: QApplication, theme, main window, first scenario."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication
from smartzone_gui.main_window import MainWindow
from smartzone_gui.session import Session

from smartzone.definitions.errors import DefinitionError

GIL_SWITCH_S = 0.001  # the GUI thread waits at most ~1 ms for the GIL (default 5 ms)


def tune_process() -> None:
    """Give the GUI thread the GIL sooner while the engine and endpoint threads are busy.

    Python hands the GIL over every `switchinterval`; with the engine, the MQTT publisher
    and the Modbus loop all runnable, 5 ms per hand-over adds up to visible stalls.
    bench/gui_stall.py measures the effect.
    """
    sys.setswitchinterval(GIL_SWITCH_S)


def run_app(scenario: str | None, seed: int | None = None, speed: float = 1.0, start: bool = False,
            endpoints: bool = True, service_options: argparse.Namespace | None = None) -> int:
    """Run the GUI until the window closes; returns the process exit code."""
    tune_process()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SmartZone")
    app.setOrganizationName("SmartZone")
    session = Session(service_options=service_options, start_services=endpoints)
    session.speed = speed
    window = MainWindow(session)
    try:
        session.open(scenario, seed=seed)
    except DefinitionError as exc:
        print(f"smartzone: invalid input\n{exc}", file=sys.stderr)
        session.close()
        return 2
    if session.path:
        recent = [p for p in window._recent() if p != session.path]
        window.settings.setValue("recent", [session.path, *recent][:8])
        window._refresh_recent()
    window.show()
    if start:
        session.start()
    try:
        return int(app.exec())
    finally:
        session.close()


def main() -> int:  # pragma: no cover - `python -m smartzone_gui.app`
    return run_app(sys.argv[1] if len(sys.argv) > 1 and Path(sys.argv[1]).suffix else None)
