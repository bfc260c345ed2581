"""Endpoint health in the window: reported from other threads, shown in the endpoints panel, the
status bar and, for a part that died for good, a banner; a recovered endpoint reloads its lines."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from smartzone_gui.health_view import health_rows, status_text

from smartzone.runtime.health import ComponentHealth

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WAIT_MS = 10_000
BROKER = "mqtt broker (mosquitto)"


def report(fn: Any, *args: str) -> None:
    """Report as an endpoint does: from its own thread."""
    t = threading.Thread(target=fn, args=args)
    t.start()
    t.join(5)


def rows(window: Any) -> dict[str, list[str]]:
    t = window.health_table
    return {t.item(r, 0).text(): [t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())}


def test_outage_recovery_and_failure_are_shown(window: Any, qtbot: Any) -> None:
    assert window.open_scenario(str(FIXTURES / "testville.yaml"))
    health = window.session.runtime.health
    assert window.status_health.text() == "endpoints: not running" and not window.banner.isVisibleTo(window)
    loads = []
    window.endpoints.load = lambda *a: loads.append(a)  # count reloads of the connection lines
    report(health.down, BROKER, "process exited with code 1")
    qtbot.waitUntil(lambda: "down since" in window.status_health.text(), timeout=WAIT_MS)
    assert rows(window)[BROKER][1:2] == ["down"] and rows(window)[BROKER][3] == "1"
    assert "(outage 1)" in window.status_health.text() and loads == []
    report(health.up, BROKER, "restarted")
    qtbot.waitUntil(lambda: window.status_health.text() == "endpoints: ok · 1 outage(s) recovered", timeout=WAIT_MS)
    assert rows(window)[BROKER][1] == "ok" and len(loads) == 1  # the restarted broker's lines are reloaded
    report(health.fatal, "modbus gateway gw-1", "OSError: address in use")
    qtbot.waitUntil(lambda: window.banner.isVisibleTo(window), timeout=WAIT_MS)
    assert "modbus gateway gw-1: OSError: address in use" in window.banner.label.text()
    assert window.status_health.text() == "endpoints: FAILED modbus gateway gw-1"
    assert rows(window)["modbus gateway gw-1"][1] == "failed"


def test_a_new_city_starts_with_clean_health(window: Any, qtbot: Any) -> None:
    assert window.open_scenario(str(FIXTURES / "testville.yaml"))
    report(window.session.runtime.health.fatal, BROKER, "gone")
    qtbot.waitUntil(lambda: window.banner.isVisibleTo(window), timeout=WAIT_MS)
    assert window.open_scenario(str(FIXTURES / "testville.yaml"))
    assert not window.banner.isVisibleTo(window) and window.status_health.text() == "endpoints: not running"


def test_rows_and_status_text() -> None:
    parts = {BROKER: ComponentHealth(state="down", outages=2, down_since=100.0, downtime_s=3.0, last_cause="x")}
    row = health_rows(parts, ["mqtt", "modbus"], now_mono=110.0, now_wall=1_000_000.0)
    assert row[0][:2] == (BROKER, "down") and row[0][3:5] == (2, "13.0 s")
    assert [r[0] for r in row] == [BROKER, "modbus"]  # "mqtt" is the broker's row already
    assert status_text(parts, 110.0, 1_000_000.0).startswith(f"endpoints: {BROKER} down since ")
