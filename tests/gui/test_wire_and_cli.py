"""Wire facts shown in the inspector, and the `smartzone gui` command's guard rails."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
from smartzone_gui.wire import modbus_registers, mqtt_topics

from smartzone.cli import gui_cmd, main
from smartzone.core.device import DeviceInfo


def test_street_light_registers_follow_the_declared_order(catalog: Any) -> None:
    regs = {(r.table, r.name): r for r in modbus_registers(catalog.types["street-light"])}
    assert regs[("input", "type code")].address == 0
    assert regs[("input", "level")].address == 10
    assert regs[("input", "power")].address == 11 and regs[("input", "power")].scale == 10
    energy = regs[("input", "energy")]
    assert energy.address == 12 and energy.address_text == "12-13"
    assert regs[("holding", "state.level")].address == 0 and regs[("holding", "state.level")].writes == "dim(level)"
    assert regs[("coils", "state.on")].address == 0 and regs[("coils", "state.on")].writes == "switch(on)"
    assert not regs[("input", "level")].writable


def test_topics_of_a_sensor_have_no_command_channel(catalog: Any) -> None:
    info = DeviceInfo("p-0001", "parking-spot", "comune", "centro", "P", 0, 0, "", "", "", "", "lora", 3600)
    topics = {t.channel: t for t in mqtt_topics("testville", info, catalog.types["parking-spot"])}
    assert topics["telemetry"].topic == "sz/v2/testville/comune/parking-spot/p-0001/telemetry"
    assert topics["status"].retained and "cmd" not in topics and "state" not in topics


def test_gui_without_pyside_says_what_to_install(monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setattr(gui_cmd, "gui_available", lambda: False)
    assert main(["gui", "testville"]) == 2
    err = capsys.readouterr().err
    assert "install smartzone[gui]" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [["gui", "--speed", "0"], ["gui", "--seed", "-1"], ["gui", "--start-hour", "24"]],
)
def test_gui_bad_options_exit_2(argv: list[str], capsys: Any) -> None:
    assert main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_the_gui_opens_the_city_awake_at_its_realtime_start_hour(qtbot: Any) -> None:
    """As `smartzone run` in real time: 08:00 local (the scenario's realtime_start_hour) unless
    --start-hour says otherwise; Reset keeps that hour."""
    from datetime import datetime, time
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from smartzone_gui.session import Session

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "testville.yaml"
    rome = ZoneInfo("Europe/Rome")
    for hour, expected in ((None, time(8)), (0.0, time(0)), (17.5, time(17, 30))):
        session = Session(start_services=False, start_hour=hour)
        try:
            session.open(str(fixture))
            assert session.runtime is not None
            local = session.runtime.scenario.start.astimezone(rome)
            assert (local.date(), local.time()) == (datetime(2026, 11, 23).date(), expected)
            session.reset(seed=3)
            assert session.runtime.scenario.start.astimezone(rome).time() == expected
        finally:
            session.close()


def _smartzone(*args: str, timeout: float = 90.0) -> Any:
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "-m", "smartzone", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=root,
        env=env,
        check=False,
    )


def test_smartzone_gui_opens_runs_and_saves_a_screenshot(tmp_path: Any) -> None:
    from pathlib import Path

    png = tmp_path / "window.png"
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "testville.yaml"
    out = _smartzone(
        "gui",
        str(fixture),
        "--no-endpoints",
        "--start",
        "--speed",
        "600",
        "--dark",
        "--screenshot",
        str(png),
        "--screenshot-after",
        "1.5",
    )
    assert out.returncode == 0, out.stderr
    assert "Fatal Python error" not in out.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_smartzone_gui_on_a_bad_scenario_names_the_file(tmp_path: Any) -> None:
    from pathlib import Path

    broken = Path(__file__).resolve().parents[1] / "broken" / "unknown-key.yaml"
    out = _smartzone("gui", str(broken), "--no-endpoints", "--screenshot", str(tmp_path / "x.png"))
    assert out.returncode == 2
    assert "unknown-key.yaml" in out.stderr and "Traceback" not in out.stderr


def test_each_copied_line_gets_its_own_client_id() -> None:
    from smartzone_gui.endpoint_info import with_fresh_client_id
    from smartzone_gui.panels import copy_line

    line = "mosquitto_sub -h 127.0.0.1 -p 1883 -u ops -P 'a b' -i ops-sub -t 'sz/v2/x/#' -v"
    a, b = with_fresh_client_id(line), copy_line(f"subscribe: {line}")
    assert a != b and re.search(r" -i ops-sub-[0-9a-f]{6} ", a) and re.search(r" -i ops-sub-[0-9a-f]{6} ", b)
    assert shlex.split(a)[:6] == shlex.split(line)[:6]  # the password with a space survives
    assert re.match(r"mosquitto_pub -i app-pub-[0-9a-f]{6} -u app ", with_fresh_client_id("mosquitto_pub -u app -t t"))
    for unchanged in ("mbpoll -m tcp -p 502 127.0.0.1", "mosquitto_sub -t open/#", "mqtt://127.0.0.1:1883"):
        assert with_fresh_client_id(unchanged) == unchanged
