"""Take the Traffic tab screenshot (the whole 1366 x 768 window) with real clients connected (Xvfb or any X display).

    xvfb-run -a -s "-screen 0 1366x768x24" python docs/screenshots/take_traffic.py   # traffic-clients.png

Clients: mosquitto_sub as the admin, a paho app (one subscription denied, three dim commands and
their acks, one forbidden publish) and a pymodbus client (reads, an unmapped read, a write) on the
mosquitto backend of Genoa (SZ_SHOT_BROKER=embedded takes it on the embedded backend).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from smartzone.cli.gui_cmd import ensure_gui_package

ensure_gui_package()

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from pymodbus.client import ModbusTcpClient  # noqa: E402
from PySide6.QtCore import QEventLoop, QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QHeaderView  # noqa: E402
from smartzone_gui.endpoint_info import modbus_place  # noqa: E402
from smartzone_gui.main_window import MainWindow  # noqa: E402
from smartzone_gui.session import Session  # noqa: E402

OUT = Path(__file__).resolve().parent / "traffic-clients.png"


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 30)
        time.sleep(0.01)


def main() -> None:
    app = QApplication([])
    backend = os.environ.get("SZ_SHOT_BROKER", "mosquitto")
    session = Session(service_args=["--mqtt-port", "0", "--modbus-port", "0", "--broker", backend])
    win = MainWindow(session, QSettings("/tmp/smartzone-shot.ini", QSettings.Format.IniFormat))
    win.resize(1366, 768)  # the smallest common laptop screen
    win.show()
    assert win.open_scenario("genoa"), session.service_errors
    session.start()
    rt = session.runtime
    assert rt is not None
    port = dict(session.services)["mqtt"].broker.port  # type: ignore[attr-defined]
    sub = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-u",
            "admin",
            "-P",
            "genoa-admin-hjNX",
            "-i",
            "admin-sub-5c1e9a",
            "-t",
            "sz/v2/genoa/#",
        ],
        stdout=subprocess.DEVNULL,
    )
    app_client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="demo-app-dash-8d02f4")
    app_client.username_pw_set("demo-app", "genoa-demo-app-Anb6")
    app_client.connect("127.0.0.1", port)
    app_client.loop_start()
    mb = ModbusTcpClient("127.0.0.1", port=1)
    try:
        app_client.subscribe(
            [
                ("sz/v2/genoa/comune-genova/+/+/telemetry", 0),
                ("sz/v2/genoa/comune-genova/+/+/cmd/ack", 1),  # the acks of its commands
                ("sz/v2/genoa/ireti/#", 0),
            ]
        )
        pump(app, 1)
        lights = [(d, i) for d, i in rt.devices.items() if i.type == "street-light" and i.tenant == "comune-genova"]
        for n, (d, i) in enumerate(lights[:3]):
            body = {"id": f"dim-{n}", "action": "dim", "params": {"level": 30 + n}}
            app_client.publish(f"sz/v2/genoa/{i.tenant}/{i.type}/{d}/cmd", json.dumps(body), qos=1)
        app_client.publish("sz/v2/genoa/ireti/water-meter/x/cmd", "{}")  # no command grant on ireti
        place = modbus_place(session.services, lights[0][0])
        assert place is not None
        mb = ModbusTcpClient("127.0.0.1", port=place.port)
        mb.connect()
        for _ in range(20):
            mb.read_input_registers(0, count=8, device_id=place.unit)
            pump(app, 0.1)
        mb.read_holding_registers(9000, count=1, device_id=place.unit)  # unmapped: an exception
        mb.write_register(0, 55, device_id=place.unit)
        win.bottom.setCurrentIndex(next(i for i in range(win.bottom.count()) if win.bottom.tabText(i) == "Traffic"))
        win.traffic.log.filter.setText("demo-app")
        win.traffic.log.show_box.setCurrentText("App traffic")  # its SUBSCRIBEs, commands, acks, denials
        win.resizeDocks([win.docks["Logs"]], [420], Qt.Orientation.Vertical)
        pump(app, 4)  # the acks cross the devices' simulated downlink and uplink
        header = win.traffic.log.app_view.horizontalHeader()  # room for the payload column
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 165)
        header.resizeSection(1, 250)
        header.setStretchLastSection(True)
        pump(app, 1)
        win.grab().save(str(OUT))  # the whole 1366 x 768 window
    finally:
        mb.close()
        app_client.loop_stop()
        app_client.disconnect()
        sub.terminate()
        sub.wait(5)
        session.close()


if __name__ == "__main__":
    main()
