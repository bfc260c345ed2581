"""Application start-up: QApplication, theme, main window, first scenario."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from smartzone_gui.main_window import MainWindow
from smartzone_gui.session import Session

from smartzone.definitions.errors import DefinitionError
from smartzone.runtime.recording import RecordingError

GIL_SWITCH_S = 0.001  # the GUI thread waits at most ~1 ms for the GIL (default 5 ms)


def tune_process() -> None:
    """Give the GUI thread the GIL sooner while the engine and endpoint threads are busy.

    Python hands the GIL over every `switchinterval`; with the engine, the MQTT publisher
    and the Modbus loop all runnable, 5 ms per hand-over adds up to visible stalls.
    bench/gui_stall.py measures the effect.
    """
    sys.setswitchinterval(GIL_SWITCH_S)


def run_app(
    scenario: str | None,
    seed: int | None = None,
    speed: float = 1.0,
    start: bool = False,
    endpoints: bool = True,
    service_options: argparse.Namespace | None = None,
    screenshot: str | None = None,
    screenshot_after: float = 3.0,
    dark: bool | None = None,
    devices: str | None = None,
    class_dir: str | None = None,
    start_hour: float | None = None,
    replay: str | None = None,
) -> int:
    """Run the GUI until the window closes; returns the process exit code.

    With `screenshot`, the window saves itself to that PNG after `screenshot_after` seconds
    and quits (exit 0, or 1 if the file could not be written): for docs and smoke tests.
    With `replay`, the window plays that recording instead of opening `scenario`.
    """
    tune_process()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SmartZone")
    app.setOrganizationName("SmartZone")
    session = Session(service_options=service_options, start_services=endpoints, devices=devices, start_hour=start_hour)
    session.speed = speed
    window = MainWindow(session)
    if dark is not None:
        window.dark_action.setChecked(dark)
    try:
        if replay is not None:
            session.open_replay(replay)
        else:
            session.open(scenario, seed=seed)
    except RecordingError as exc:
        print(f"smartzone: {exc}", file=sys.stderr)
        session.close()
        return 2
    except DefinitionError as exc:
        print(f"smartzone: invalid input\n{exc}", file=sys.stderr)
        session.close()
        return 2
    window.remember_recent()
    if class_dir is not None:
        window.open_class(class_dir)
    window.show()
    if start:
        session.start()
    outcome = {"code": 0}
    if screenshot is not None:

        def shoot() -> None:
            if not window.grab().save(screenshot):
                print(f"smartzone: cannot write the screenshot {screenshot}", file=sys.stderr)
                outcome["code"] = 1
            window.close()

        QTimer.singleShot(int(screenshot_after * 1000), shoot)
    try:
        code = int(app.exec())
        return code or outcome["code"]
    finally:
        session.close()


def main() -> int:  # pragma: no cover - `python -m smartzone_gui.app`
    return run_app(sys.argv[1] if len(sys.argv) > 1 and Path(sys.argv[1]).suffix else None)
