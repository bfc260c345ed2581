"""The GUI with its real endpoints: dim a street light in the window, read it back with the
third-party mosquitto_sub and mbpoll clients (ephemeral ports on 127.0.0.1)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WAIT_MS = 20_000
CLIENT_TRIES = 10

pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto_sub") is None or shutil.which("mbpoll") is None,
    reason="needs the mosquitto-clients and mbpoll Debian packages",
)


@pytest.fixture
def city(tmp_path: Path) -> Path:
    """Testville with an admin user, so a real client can log in."""
    data = yaml.safe_load((FIXTURES / "testville.yaml").read_text(encoding="utf-8"))
    data["users"] = [{"name": "ops", "password": "ops-secret", "role": "admin"}]
    path = tmp_path / "testville-users.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def live_window(qtbot: Any, settings: Any) -> Iterator[Any]:
    from smartzone_gui.main_window import MainWindow
    from smartzone_gui.session import Session

    session = Session(service_args=["--mqtt-port", "0", "--modbus-port", "0"])
    win = MainWindow(session, settings)
    qtbot.addWidget(win)
    try:
        yield win
    finally:
        session.close()


def _both_stay_connected(win: Any, lines: list[str], qtbot: Any) -> None:
    """Two people paste the copied lines at once: the broker keeps both sessions (no id takeover)."""
    procs = [
        subprocess.Popen([*shlex.split(line), "-W", "20"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for line in lines
    ]
    ids = {re.search(r" -i (\S+)", line)[1] for line in lines}  # type: ignore[index]
    try:

        def both() -> bool:
            live = {c.client_id for c in win.session.clients.snapshot() if c.state == "connected"}
            return ids <= live

        qtbot.waitUntil(both, timeout=WAIT_MS)
        qtbot.wait(300)  # a takeover would close the older session right after the newer CONNECT
        assert both() and all(p.poll() is None for p in procs)
    finally:
        for p in procs:
            p.terminate()
            p.wait(5)


def _run(line: str, timeout: float = 10.0) -> str:
    out = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=timeout, check=False)
    return out.stdout


def test_dim_in_the_gui_is_seen_by_mosquitto_sub_and_mbpoll(live_window: Any, city: Path, qtbot: Any) -> None:
    win = live_window
    assert win.open_scenario(str(city)), win.session.service_errors
    names = [n for n, _ in win.session.services]
    assert "mqtt" in names and "modbus" in names, win.session.service_errors
    assert any(line.startswith("MQTT broker") for line in win.endpoints.lines)
    win.session.start()
    device = next(d for d, i in win.session.runtime.devices.items() if i.type == "street-light")
    win.select_device(device)
    sub_line = win.inspector.reach["MQTT"][0].text()
    poll_line = win.inspector.reach["Modbus"][0].text()
    assert sub_line.startswith("mosquitto_sub ") and "-u ops" in sub_line
    assert poll_line.startswith("mbpoll ")
    copied = []
    for _ in range(2):  # each Copy puts a line with a client id of its own on the clipboard
        win.inspector.reach["MQTT"][1].click()
        copied.append(QGuiApplication.clipboard().text())
    ids = [re.search(r" -i (\S+)", line)[1] for line in (sub_line, *copied)]  # type: ignore[index]
    assert len(set(ids)) == 3 and all(re.fullmatch(r"ops-sub-[0-9a-f]{6}", i) for i in ids), ids
    _both_stay_connected(win, copied, qtbot)

    slider = win.inspector.controls.editors["dim"]["level"].widget
    slider.setValue(37)
    slider.sliderReleased.emit()
    qtbot.waitUntil(lambda: win.state.get(device, {}).get("level") == 37, timeout=WAIT_MS)

    # the retained state topic, read by a real MQTT client with the line the inspector offers
    state_line = sub_line.replace(f"{device}/#", f"{device}/state") + " -C 1 -W 5"
    seen: dict[str, Any] = {}
    for _ in range(CLIENT_TRIES):  # the bridge publishes asynchronously: bounded retries
        out = _run(state_line)
        if out.strip():
            seen = json.loads(out.strip().split(" ", 1)[1])
            if seen.get("values", {}).get("level") == 37:
                break
        qtbot.wait(200)
    assert seen.get("values", {}).get("level") == 37, seen

    # the holding register of the dim level, read by mbpoll from the unit the inspector names
    m = re.search(r"-p (\d+) -a (\d+)", poll_line)
    assert m is not None
    out = _run(f"mbpoll -m tcp -p {m[1]} -a {m[2]} -0 -t 4 -r 0 -c 1 -1 127.0.0.1")
    assert re.search(r"\[0\]:\s+37\b", out), out


def test_running_endpoints_show_as_ok(live_window: Any, city: Path, qtbot: Any) -> None:
    assert live_window.open_scenario(str(city)), live_window.session.service_errors
    labels = live_window.endpoints.body.findChildren(QLabel)
    shown = [w.text() for w in labels if "mosquitto_sub -h" in w.text()]  # the command lines
    assert shown and all(re.search(r" -i ops-sub-[0-9a-f]{6} ", t) for t in shown), shown  # not the printed id
    t = live_window.health_table
    states = {t.item(r, 0).text(): t.item(r, 1).text() for r in range(t.rowCount())}
    assert states == {"mqtt": "ok", "modbus": "ok"} and live_window.status_health.text() == "endpoints: ok"


def test_a_backward_seek_keeps_the_endpoints_and_their_clients(
    live_window: Any, city: Path, qtbot: Any, tmp_path: Path
) -> None:
    """A replay in the window: mosquitto_sub stays connected across a seek back and then gets the
    recorded readings from the target on, as recorded (same broker, same session)."""
    from smartzone.cli import main
    from smartzone.runtime.recording import read_recording

    recording = tmp_path / "tv.jsonl.gz"
    argv = ["run", str(city), "--fast", "--duration", "2h", "--no-mqtt", "--no-modbus", "--quiet"]
    assert main([*argv, "--record", str(recording)]) == 0
    win = live_window
    assert win.open_recording(recording), win.session.service_errors
    services = list(win.session.services)
    assert {n for n, _ in services} >= {"mqtt", "modbus"}
    device = "p-0001"
    win.select_device(device)
    sub_line = win.inspector.reach["MQTT"][0].text().replace(f"{device}/#", f"{device}/telemetry")
    client_id = re.search(r" -i (\S+)", sub_line)[1]  # type: ignore[index]
    out = tmp_path / "sub.txt"
    with out.open("w") as sink:
        proc = subprocess.Popen([*shlex.split(sub_line), "-W", "60"], stdout=sink, stderr=subprocess.DEVNULL)
    try:

        def connected() -> bool:
            return any(c.client_id == client_id and c.state == "connected" for c in win.session.clients.snapshot())

        qtbot.waitUntil(connected, timeout=WAIT_MS)
        readings = [r for r in read_recording(recording)[1] if r["kind"] == "reading" and r["device"] == device]

        def received() -> list[int]:
            return [json.loads(line.split(" ", 1)[1])["seq"] for line in out.read_text().splitlines() if " " in line]

        win.seek(5400.0)  # forward: the readings up to 5400 are published at once
        before = [r["seq"] for r in readings if r["t"] <= 5400.0]
        qtbot.waitUntil(lambda: received() == before, timeout=WAIT_MS)
        win.seek(1800.0)  # backward: same broker, same client session
        win.set_speed(3600.0)
        win.session.start()
        again = [r["seq"] for r in readings if r["t"] >= 1800.0]
        qtbot.waitUntil(lambda: len(received()) >= len(before) + 2, timeout=WAIT_MS)
        assert connected() and proc.poll() is None and win.session.services == services
        after = received()[len(before) :]  # the recording from 1800 on, again
        assert after == again[: len(after)], (received(), before, again)
    finally:
        proc.terminate()
        proc.wait(5)
