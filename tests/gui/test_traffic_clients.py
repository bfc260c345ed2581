"""The Traffic panel lists the real clients of the GUI's endpoints (both managed brokers).

A real paho client logs in with scenario credentials, subscribes (one filter granted, one
denied by the access rules), publishes a command and a forbidden message; a real pymodbus
client reads registers, including an unmapped one (an exception). The panel's client table
shows who, subscriptions, counts and denials; the message log shows the app's publishes;
disconnected clients are marked closed. Ephemeral ports on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.client import ModbusTcpClient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WAIT_MS = 20_000
BACKENDS = ["embedded"] + (["mosquitto"] if shutil.which("mosquitto") else [])


@pytest.fixture
def city(tmp_path: Path) -> Path:
    """Testville with an app user that reads and commands the `comune` tenant."""
    data = yaml.safe_load((FIXTURES / "testville.yaml").read_text(encoding="utf-8"))
    data["tenants"].append({"id": "acqua", "name": "Acqua", "kind": "utility"})
    data["users"] = [
        {
            "name": "dash",
            "password": "dash-secret",
            "role": "app",
            "grants": {"read": ["comune"], "command": ["comune"]},
        }
    ]
    path = tmp_path / "testville-app.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(params=BACKENDS)
def live_window(request: Any, qtbot: Any, settings: Any) -> Iterator[Any]:
    from smartzone_gui.main_window import MainWindow
    from smartzone_gui.session import Session

    session = Session(service_args=["--mqtt-port", "0", "--modbus-port", "0", "--broker", request.param])
    win = MainWindow(session, settings)
    qtbot.addWidget(win)
    try:
        yield win
    finally:
        session.close()


@pytest.fixture
def paho_client() -> Iterator[mqtt.Client]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dash-board")
    client.username_pw_set("dash", "dash-secret")
    try:
        yield client
    finally:
        client.loop_stop()
        client.disconnect()


def _table(t: Any) -> list[list[str]]:
    return [[t.item(r, c).text() if t.item(r, c) else "" for c in range(t.columnCount())] for r in range(t.rowCount())]


def _row(win: Any, protocol: str, client_id: str) -> dict[str, str] | None:
    from smartzone_gui.clients_view import HEADERS

    win.traffic.refresh()
    for cells in _table(win.traffic.clients):
        row = dict(zip(HEADERS, cells, strict=True))
        if row["Protocol"] == protocol and row["Client id / gateway"] == client_id:
            return row
    return None


def test_traffic_panel_lists_mqtt_and_modbus_clients(
    live_window: Any, city: Path, qtbot: Any, paho_client: mqtt.Client
) -> None:
    win = live_window
    assert win.open_scenario(str(city)), win.session.service_errors
    assert win.session.clients is not None, win.session.service_errors
    assert win.traffic.clients.isVisibleTo(win.traffic)
    win.session.start()
    rt = win.session.runtime
    mqtt_svc = dict(win.session.services)["mqtt"]
    light = next(d for d, i in rt.devices.items() if i.type == "street-light")

    # --- MQTT: connect, subscribe (granted + denied), publish a command and a forbidden message
    subacked = threading.Event()
    granted: list[Any] = []

    def on_subscribe(_c: Any, _u: Any, _mid: Any, codes: Any, _p: Any) -> None:
        granted.extend(codes)
        subacked.set()

    paho_client.on_subscribe = on_subscribe
    paho_client.connect("127.0.0.1", mqtt_svc.broker.port)
    paho_client.loop_start()
    paho_client.subscribe([("sz/v2/testville/comune/#", 0), ("sz/v2/testville/acqua/#", 0)])
    qtbot.waitUntil(subacked.is_set, timeout=WAIT_MS)
    cmd_topic = f"sz/v2/testville/comune/street-light/{light}/cmd"
    paho_client.publish(cmd_topic, json.dumps({"id": "gui-t1", "action": "dim", "params": {"level": 42}}), qos=1)
    paho_client.publish("sz/v2/testville/acqua/x/y/cmd", "{}", qos=0)  # forbidden: no grant on acqua

    def mqtt_row_ready() -> bool:
        row = _row(win, "MQTT", "dash-board")
        return row is not None and row["In"] == "2" and int(row["Out"]) > 0 and row["Denied / exc."] == "2"

    qtbot.waitUntil(mqtt_row_ready, timeout=WAIT_MS)
    row = _row(win, "MQTT", "dash-board")
    assert row is not None
    assert row["User"] == "dash" and row["State"] == "connected"
    assert row["Remote"].startswith("127.0.0.1:")
    assert "✓ sz/v2/testville/comune/#" in row["Subscriptions / units"]
    assert "✗ sz/v2/testville/acqua/#" in row["Subscriptions / units"]

    # the app's publishes are in the live message log, the forbidden one marked denied
    def logged() -> list[tuple[str, ...]]:
        return [cells for cells, _colour in win.traffic.log.model.rows]

    qtbot.waitUntil(
        lambda: any(c[1] == cmd_topic and "from dash/dash-board" in c[2] for c in logged()), timeout=WAIT_MS
    )
    assert any(c[1] == "sz/v2/testville/acqua/x/y/cmd" and c[2].startswith("DENIED") for c in logged())
    qtbot.waitUntil(lambda: win.state.get(light, {}).get("level") == 42, timeout=WAIT_MS)
    # its SUBSCRIBEs with the broker's answer, and the command's ack delivered to it
    assert ("sz/v2/testville/comune/#", "SUBSCRIBE from dash/dash-board: QoS 0 granted QoS 0") in [
        c[1:] for c in logged()
    ]
    assert ("sz/v2/testville/acqua/#", "DENIED SUBSCRIBE from dash/dash-board: QoS 0 refused (0x80)") in [
        c[1:] for c in logged()
    ]
    qtbot.waitUntil(
        lambda: any(c[1] == cmd_topic + "/ack" and c[2].startswith("ack to dash/dash-board: ") for c in logged()),
        timeout=WAIT_MS,
    )
    ack = next(c[2] for c in logged() if c[1] == cmd_topic + "/ack")
    assert json.loads(ack.split(": ", 1)[1])["id"] == "gui-t1"
    assert granted and [c.value if hasattr(c, "value") else c for c in granted] == [0, 128]

    # --- Modbus: a pymodbus client reads the unit's registers, then an unmapped address
    from smartzone_gui.endpoint_info import modbus_place

    place = modbus_place(win.session.services, light)
    assert place is not None
    mb = ModbusTcpClient("127.0.0.1", port=place.port, timeout=5)
    try:
        assert mb.connect()
        assert not mb.read_input_registers(0, count=4, device_id=place.unit).isError()
        assert not mb.read_holding_registers(0, count=1, device_id=place.unit).isError()
        assert mb.read_holding_registers(9000, count=1, device_id=place.unit).isError()
        assert not mb.write_register(0, 17, device_id=place.unit).isError()  # the dim level

        def modbus_row_ready() -> bool:
            row = _row(win, "Modbus", place.gateway)
            return row is not None and row["In"] == "4" and row["Denied / exc."] == "1"

        qtbot.waitUntil(modbus_row_ready, timeout=WAIT_MS)
        row = _row(win, "Modbus", place.gateway)
        assert row is not None and row["State"] == "connected"
        assert row["Subscriptions / units"] == f"units {place.unit}" and row["Remote"].startswith("127.0.0.1:")
        write = f"modbus {place.gateway} unit {place.unit} ({light}) write holding@0"
        qtbot.waitUntil(lambda: any(c[1] == write and "ok" in c[2] for c in logged()), timeout=WAIT_MS)
    finally:
        mb.close()

    # --- disconnects are marked
    paho_client.disconnect()
    paho_client.loop_stop()
    qtbot.waitUntil(lambda: (_row(win, "MQTT", "dash-board") or {}).get("State") == "closed", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: (_row(win, "Modbus", place.gateway) or {}).get("State") == "closed", timeout=WAIT_MS)


@pytest.mark.skipif(shutil.which("mosquitto_sub") is None, reason="needs mosquitto-clients")
def test_mosquitto_sub_subscribes_are_app_traffic(live_window: Any, city: Path, qtbot: Any) -> None:
    """A third-party client (MQTT 5 where the broker speaks it): its granted and refused filters
    appear with the codes it got."""
    import subprocess

    win = live_window
    assert win.open_scenario(str(city)), win.session.service_errors
    broker = dict(win.session.services)["mqtt"].broker
    version, refused = ("mqttv5", "0x87") if broker.backend == "mosquitto" else ("mqttv311", "0x80")
    granted, denied = "sz/v2/testville/comune/+/+/status", "sz/v2/testville/acqua/#"
    cmd = ["mosquitto_sub", "-V", version, "-h", "127.0.0.1", "-p", str(broker.port), "-u", "dash", "-P", "dash-secret"]
    cmd += ["-i", "dash-sub-v5", "-q", "1", "-t", granted, "-t", denied, "-C", "1", "-W", "10"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    assert proc.stdout.strip(), proc.stderr  # a retained status arrived: the granted filter works

    def rows() -> list[tuple[str, ...]]:
        return [cells[1:] for cells, _colour in win.traffic.log.model.rows]

    qtbot.waitUntil(lambda: len([r for r in rows() if "SUBSCRIBE" in r[1]]) >= 2, timeout=WAIT_MS)
    assert (granted, "SUBSCRIBE from dash/dash-sub-v5: QoS 1 granted QoS 1") in rows()
    assert (denied, f"DENIED SUBSCRIBE from dash/dash-sub-v5: QoS 1 refused ({refused})") in rows()


def test_refused_login_is_listed(live_window: Any, city: Path, qtbot: Any) -> None:
    win = live_window
    assert win.open_scenario(str(city)), win.session.service_errors
    port = dict(win.session.services)["mqtt"].broker.port
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dash-wrong")
    client.username_pw_set("dash", "not-the-password")
    try:
        client.connect("127.0.0.1", port)
        client.loop_start()
        qtbot.waitUntil(lambda: (_row(win, "MQTT", "dash-wrong") or {}).get("State") == "refused", timeout=WAIT_MS)
    finally:
        client.loop_stop()
        client.disconnect()
