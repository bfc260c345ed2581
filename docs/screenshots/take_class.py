"""Take the Class tab screenshot (docs/gui.md, docs/courses.md) at 1366 x 768 on a real X window.

    xvfb-run -a -s "-screen 0 1366x768x24" python docs/screenshots/take_class.py   # class-board.png

A real class runs in its own process (`smartzone class start mqtt-basics`, 10 trainees on the
test city); a few trainees connect with paho, answer (right and wrong) and get hints through the
trainer's CLI; the window follows the class folder as a trainer's would.
"""

from __future__ import annotations

import html
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from smartzone.cli.gui_cmd import ensure_gui_package  # noqa: E402

ensure_gui_package()

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from PySide6.QtCore import QEventLoop, QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from smartzone_gui.main_window import MainWindow  # noqa: E402
from smartzone_gui.session import Session  # noqa: E402

OUT = Path(__file__).resolve().parent
SIZE = (1366, 768)
CITY = ROOT / "tests" / "fixtures" / "classroom-city.yaml"


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "smartzone", *args], check=True, capture_output=True, timeout=60, cwd=ROOT)


def connect(handout: Path) -> None:
    text = html.unescape(handout.read_text(encoding="utf-8"))
    host, port, user, password = re.search(r"mosquitto_sub -h (\S+) -p (\d+) -u (\S+) -P (\S+)", text).groups()  # type: ignore[union-attr]
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{user}-app")
    c.username_pw_set(user, password)
    c.connect(host, int(port))
    c.loop_start()
    time.sleep(0.5)
    c.disconnect()
    c.loop_stop()


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 30)
        time.sleep(0.01)


def main() -> None:
    out = Path(tempfile.mkdtemp()) / "class-monday"
    cmd = [
        sys.executable, "-m", "smartzone", "class", "start", "mqtt-basics", "--trainees", "10",
        "--scenario", str(CITY), "--mqtt-port", "0", "--no-modbus", "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not (out / "handout-trainee-10.html").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        for n in (1, 2, 3, 5, 6, 8, 9):
            connect(out / f"handout-trainee-{n:02d}.html")
        for n, value in ((1, "invalid_params"), (2, "forbidden"), (3, "invalid_params"), (6, "bad"), (6, "x")):
            cli("class", "answer", str(out), f"trainee-{n:02d}", "invalid", value)
        for n, step in ((2, "subscribe"), (4, "connect"), (6, "invalid")):
            cli("class", "hint", str(out), f"trainee-{n:02d}", step)
        time.sleep(3)
        app = QApplication.instance() or QApplication([])
        session = Session(start_services=False)
        window = MainWindow(session, QSettings(str(OUT / ".take.ini"), QSettings.Format.IniFormat))
        window.resize(*SIZE)
        window.show()
        try:
            window.open_scenario(str(CITY))
            window.open_class(out)
            window.class_board.table.setCurrentCell(1, 1)
            window.class_board.reveal_hint()
            pump(app, 2.0)
            window.resizeDocks([window.docks["Logs"]], [360], Qt.Orientation.Vertical)  # the trainer's view
            pump(app, 1.5)
            window.grab().save(str(OUT / "class-board.png"))
            print("wrote", OUT / "class-board.png")
        finally:
            session.close()
            window.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)


if __name__ == "__main__":
    main()
