"""Take the README/docs screenshots of the main window at 1366 x 768 (a real X window: Xvfb, xcb).

    xvfb-run -a -s "-screen 0 1366x768x24" python docs/screenshots/take.py   # main-window(-dark).png

1366 x 768 is the smallest common laptop screen: the pictures show what such a user sees.
"""

from __future__ import annotations

import sys
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

from smartzone.core.commands import SetOnline  # noqa: E402
from smartzone.core.faults.commands import CutBackhaul, InjectFault  # noqa: E402

OUT = Path(__file__).resolve().parent
SIZE = (1366, 768)


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 30)
        time.sleep(0.01)


def shoot(dark: bool, name: str) -> None:
    app = QApplication.instance() or QApplication([])
    session = Session(service_args=["--mqtt-port", "0", "--modbus-port", "0"])
    window = MainWindow(session, QSettings(str(OUT / ".take.ini"), QSettings.Format.IniFormat))
    window.resize(*SIZE)
    window.dark_action.setChecked(dark)
    window.apply_theme(dark)
    window.show()
    try:
        window.open_scenario("bologna")
        rt = session.runtime
        assert rt is not None
        ids = list(rt.devices)
        by_type = {t: [d for d in ids if rt.devices[d].type == t] for t in {i.type for i in rt.devices.values()}}
        window.set_speed(3600.0)
        session.start()
        pump(app, 6.0)  # a couple of simulated hours of history
        window.set_speed(10.0)
        for d in by_type.get("parking-spot", [])[:6]:
            session.submit(SetOnline(d, False, reason="demo"))
        for d in by_type.get("air-quality", [])[:2] + by_type.get("street-light", [10])[10:12]:
            faults = list(rt.catalog.types[rt.devices[d].type].faults)
            session.submit(InjectFault(d, next(f for f in faults if f != "offline"), source="demo"))
        light = by_type["street-light"][3]
        window.select_device(light)
        window.inspector.controls.send("dim", {"level": 35})
        pump(app, 1.5)
        routes = rt.network_routes()  # devices behind a gateway: the map draws the selected one's link
        if dark:
            window.inspector.tabs.setCurrentIndex(1)
            for hop in sorted(set(routes.values()))[:1]:  # a cut gateway: red, dashed, "CUT"
                session.submit(CutBackhaul(hop, source="demo"))
        else:
            sensors = (by_type.get("noise-meter") or []) + (by_type.get("weather-station") or [])
            sensor = ([d for d in sensors if d in routes] or [d for d in ids if d in routes] or ids)[0]
            window.select_device(sensor)
        pump(app, 1.5)
        window.grab().save(str(OUT / name))
        print("wrote", OUT / name)
    finally:
        session.close()
        window.close()


if __name__ == "__main__":
    tune_process()
    shoot(False, "main-window.png")
    shoot(True, "main-window-dark.png")
