"""Take the replay screenshot (docs/gui.md) at 1366 x 768 on a real X window (Xvfb, xcb).

    xvfb-run -a -s "-screen 0 1366x768x24" python docs/screenshots/take_replay.py   # gui-replay.png

Records three simulated hours of Bologna in fast mode (from 07:00 local), opens the recording
in the window with its endpoints on free ports, seeks to 08:30 and plays on at 60x.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from smartzone.cli.gui_cmd import ensure_gui_package

ensure_gui_package()

from PySide6.QtCore import QEventLoop, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from smartzone_gui.app import tune_process  # noqa: E402
from smartzone_gui.main_window import MainWindow  # noqa: E402
from smartzone_gui.session import Session  # noqa: E402

from smartzone.cli import main  # noqa: E402

OUT = Path(__file__).resolve().parent
SIZE = (1366, 768)


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 30)
        time.sleep(0.01)


def shoot(recording: Path, name: str) -> None:
    app = QApplication.instance() or QApplication([])
    session = Session(service_args=["--mqtt-port", "0", "--modbus-port", "0"])
    window = MainWindow(session, QSettings(str(OUT / ".take.ini"), QSettings.Format.IniFormat))
    window.resize(*SIZE)
    window.dark_action.setChecked(False)
    window.apply_theme(False)
    window.show()
    try:
        assert window.open_recording(recording)
        rt = session.runtime
        assert rt is not None
        window.set_speed(60.0)
        window.seek(5400.0)  # 08:30 local: a forward seek fast-forwards
        session.start()
        sensors = [d for d, i in rt.devices.items() if i.type in ("noise-meter", "weather-station", "air-quality")]
        window.select_device((sensors or list(rt.devices))[0])
        pump(app, 4.0)
        window.grab().save(str(OUT / name))
        print("wrote", OUT / name)
    finally:
        session.close()


if __name__ == "__main__":
    tune_process()
    with tempfile.TemporaryDirectory(prefix="sz-take-replay-") as tmp:
        path = Path(tmp) / "bologna.jsonl.gz"
        argv = ["run", "bologna", "--fast", "--duration", "3h", "--start-hour", "7", "--no-mqtt", "--no-modbus"]
        assert main([*argv, "--record", str(path), "--quiet"]) == 0
        shoot(path, "gui-replay.png")
