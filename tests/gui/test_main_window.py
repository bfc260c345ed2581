"""The main window against a real runtime (offscreen): run, watch, select, command, fault, pause."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

WAIT_MS = 15_000


def open_testville(window: Any, speed: float = 3600.0) -> Any:
    assert window.open_scenario(str(FIXTURES / "testville.yaml"))
    window.set_speed(speed)
    return window.session.runtime


def light(window: Any) -> str:
    return next(d for d, i in window.session.runtime.devices.items() if i.type == "street-light")


def test_open_run_and_values_change(window: Any, qtbot: Any) -> None:
    rt = open_testville(window)
    assert len(window.map.markers) == len(rt.devices) == 5
    assert set(window.tree.items) == set(rt.devices)
    clock0 = window.bar.clock.text()
    window.session.start()
    qtbot.waitUntil(lambda: window.session.feed.total_readings >= 5, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.bar.clock.text() != clock0, timeout=WAIT_MS)
    assert window.bar.run_action.text() == "Pause"
    assert "readings" in window.traffic.log.count.text() or window.traffic.log.model.rowCount() > 0


def test_click_marker_selects_device_and_shows_wire(window: Any, qtbot: Any) -> None:
    open_testville(window)
    window.show()
    qtbot.waitExposed(window)
    device = light(window)
    pos = window.map.marker_pos(device).toPoint()
    qtbot.mouseClick(window.map.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: window.selected == device, timeout=WAIT_MS)
    assert window.inspector.title.text() == window.session.runtime.devices[device].name
    assert window.tree.tree.currentItem() is window.tree.items[device]
    topics = [window.inspector.topics.item(r, 1).text() for r in range(window.inspector.topics.rowCount())]
    assert f"sz/v2/testville/comune/street-light/{device}/cmd" in topics
    names = [window.inspector.registers.item(r, 2).text() for r in range(window.inspector.registers.rowCount())]
    assert "energy" in names and "state.level" in names


def test_dim_a_street_light_changes_its_state(window: Any, qtbot: Any) -> None:
    open_testville(window, speed=1.0)
    window.session.start()
    device = light(window)
    window.select_device(device)
    slider = window.inspector.controls.editors["dim"]["level"].widget
    slider.setValue(40)
    slider.sliderReleased.emit()  # what the user's hand does
    qtbot.waitUntil(lambda: window.state.get(device, {}).get("level") == 40, timeout=WAIT_MS)
    assert window.state[device]["mode"] == "manual" and window.state[device]["on"] is True
    qtbot.waitUntil(lambda: window.inspector.controls.result_label.text().startswith("✓ dim"), timeout=WAIT_MS)
    rows = {
        window.inspector.values.item(r, 0).text(): window.inspector.values.item(r, 1).text()
        for r in range(window.inspector.values.rowCount())
    }
    assert rows["state.level"] == "40"
    log = [window.events.model.rows[i][0] for i in range(len(window.events.model.rows))]
    assert any(r[1] == "command" and r[2] == device and "dim from gui ok" in r[3] for r in log)


def test_rejected_command_is_shown_and_changes_nothing(window: Any, qtbot: Any) -> None:
    open_testville(window, speed=1.0)
    window.session.start()
    device = light(window)
    window.select_device(device)
    before = dict(window.state[device])
    window.inspector.controls.send("dim", {"level": 150})
    qtbot.waitUntil(
        lambda: "rejected (invalid_params)" in window.inspector.controls.result_label.text(), timeout=WAIT_MS
    )
    assert window.state[device] == before


def test_take_a_device_offline_changes_its_marker(window: Any, qtbot: Any) -> None:
    open_testville(window, speed=1.0)
    window.session.start()
    device = light(window)
    window.select_device(device)
    marker = window.map.markers[device]
    assert marker.brush().style() != Qt.BrushStyle.NoBrush
    window.inspector.controls.online_button.click()
    qtbot.waitUntil(lambda: marker.brush().style() == Qt.BrushStyle.NoBrush, timeout=WAIT_MS)
    assert window.tree.items[device].text(1) == "offline"
    assert window.inspector.badge.text() == "OFFLINE"
    assert window.inspector.controls.online_button.text() == "Bring online"
    window.inspector.controls.online_button.click()
    qtbot.waitUntil(lambda: marker.brush().style() != Qt.BrushStyle.NoBrush, timeout=WAIT_MS)
    assert window.tree.items[device].text(1) == "online"


def test_pause_step_and_resume(window: Any, qtbot: Any) -> None:
    rt = open_testville(window, speed=600.0)
    window.bar.run_action.trigger()
    qtbot.waitUntil(lambda: rt.sim_time > 60, timeout=WAIT_MS)
    window.bar.run_action.trigger()
    assert window.session.state == "paused" and window.bar.run_action.text() == "Resume"
    qtbot.waitUntil(lambda: rt.paused, timeout=WAIT_MS)
    frozen = rt.sim_time
    qtbot.wait(300)  # a few frames: a paused simulation does not move
    assert rt.sim_time == frozen
    window.bar.step_action.trigger()
    qtbot.waitUntil(lambda: rt.sim_time == pytest.approx(frozen + 60.0), timeout=WAIT_MS)
    window.bar.run_action.trigger()
    assert window.session.state == "running"
    qtbot.waitUntil(lambda: rt.sim_time > frozen + 120, timeout=WAIT_MS)


def answer(monkeypatch: Any, button: Any) -> list[str]:
    """Answer the next QMessageBox.question with `button`; returns the texts asked."""
    asked: list[str] = []

    def question(_parent: Any, _title: str, text: str, *_a: Any) -> Any:
        asked.append(text)
        return button

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def test_reset_with_a_new_seed_reloads_from_zero(window: Any, qtbot: Any, monkeypatch: Any) -> None:
    rt = open_testville(window, speed=3600.0)
    window.session.start()
    qtbot.waitUntil(lambda: rt.sim_time > 600, timeout=WAIT_MS)
    window.bar.seed.setValue(42)
    asked = answer(monkeypatch, QMessageBox.StandardButton.Cancel)
    window.bar.reset_action.trigger()
    assert window.session.runtime is rt and rt.running  # cancelled: nothing restarted
    assert "restarts the city from time zero with seed 42" in asked[0] and "disconnected" in asked[0]
    answer(monkeypatch, QMessageBox.StandardButton.Reset)
    window.bar.reset_action.trigger()
    new = window.session.runtime
    assert new is not rt and new.seed == 42 and not rt.running
    assert window.session.state == "ready" and new.sim_time == 0.0
    # Testville is in Europe/Rome; the GUI opens it at its realtime_start_hour, 08:00 local
    assert window.bar.clock.text() == "2026-11-23 08:00:00 CET · 07:00 UTC"


def test_filters_hide_markers(window: Any) -> None:
    open_testville(window)
    window.type_f.setCurrentIndex(window.type_f.findData("street-light"))
    visible = {d for d, m in window.map.markers.items() if m.isVisible()}
    assert visible == {d for d, i in window.session.runtime.devices.items() if i.type == "street-light"}
    window.type_f.setCurrentIndex(0)
    assert all(m.isVisible() for m in window.map.markers.values())


def test_tree_search_filters_devices(window: Any) -> None:
    open_testville(window)
    window.tree.search.setText("l-0002")
    hidden = {d for d, item in window.tree.items.items() if item.isHidden()}
    assert hidden == set(window.session.runtime.devices) - {"l-0002"}


def test_dark_theme_toggle_and_recent_files(window: Any, settings: Any) -> None:
    open_testville(window)
    window.dark_action.setChecked(True)
    assert window.map.theme.dark and settings.value("dark", type=bool)
    window.dark_action.setChecked(False)
    assert not window.map.theme.dark
    assert settings.value("recent")[0].endswith("testville.yaml")
    assert next(a.text() for a in window.recent_menu.actions()).endswith("testville.yaml")


def test_a_bad_scenario_is_reported_and_the_open_one_stays(window: Any, monkeypatch: Any) -> None:
    rt = open_testville(window)
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _p, _t, text: shown.append(text))
    broken = FIXTURES.parent / "broken" / "unknown-key.yaml"
    assert not window.open_scenario(str(broken))
    assert shown and "unknown-key.yaml" in shown[0]
    assert window.session.runtime is rt


def test_endpoints_panel_says_not_running_without_services(qtbot: Any, settings: Any) -> None:
    from smartzone_gui.main_window import MainWindow
    from smartzone_gui.session import Session

    session = Session(start_services=True, service_args=["--no-mqtt", "--no-modbus"])
    win = MainWindow(session, settings)
    qtbot.addWidget(win)
    try:
        win.open_scenario(str(FIXTURES / "testville.yaml"))
        if not session.services:
            texts = [win.endpoints.grid.itemAt(i).widget().text() for i in range(win.endpoints.grid.count())]
            assert any("No endpoint is running" in t for t in texts)
            assert "not running" in win.traffic.status.text()
    finally:
        session.close()


def test_inject_and_clear_a_declared_fault(window: Any, qtbot: Any) -> None:
    open_testville(window, speed=1.0)
    window.session.start()
    device = light(window)
    window.select_device(device)
    button = window.inspector.controls.fault_buttons["lamp_failure"]
    assert button.text().startswith("Inject")
    button.click()
    qtbot.waitUntil(lambda: "lamp_failure" in window.faults.get(device, set()), timeout=WAIT_MS)
    marker = window.map.markers[device]
    assert marker.brush().color().name() == window.map.theme.fault
    assert window.tree.items[device].text(1) == "fault" and window.inspector.badge.text() == "FAULT"
    qtbot.waitUntil(lambda: button.text().startswith("Clear") and button.isChecked(), timeout=WAIT_MS)
    button.click()
    qtbot.waitUntil(lambda: not window.faults.get(device), timeout=WAIT_MS)
    assert marker.brush().color().name() != window.map.theme.fault
    rows = window.events.model.rows
    assert any(r[0][1] == "fault" and "lamp_failure started" in r[0][3] for r in rows)


def test_degrade_a_link_live_and_reject_bad_parameters(window: Any, qtbot: Any) -> None:
    open_testville(window, speed=1.0)
    window.session.start()
    net = window.network
    profile = window.session.runtime.devices[light(window)].network
    net.profile.setCurrentText(profile)
    net.loss.setText("not-a-percentage")
    net.degrade()
    qtbot.waitUntil(lambda: "✗ degrade" in net.result.text(), timeout=WAIT_MS)
    net.loss.setText("")
    net.delay.setText("2s")
    net.degrade()
    qtbot.waitUntil(lambda: net.result.text().startswith("✓ degrade"), timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: any(r[0][2] == profile and "link_degraded started" in r[0][3] for r in window.events.model.rows),
        timeout=WAIT_MS,
    )


def test_step_before_start_advances_from_time_zero(window: Any, qtbot: Any) -> None:
    rt = open_testville(window, speed=1.0)
    window.bar.step_action.trigger()
    qtbot.waitUntil(lambda: rt.sim_time == pytest.approx(60.0) and rt.paused, timeout=WAIT_MS)
    assert window.session.state == "paused" and window.bar.run_action.text() == "Resume"


def test_reset_rebuilds_the_inspector_and_its_controls_work(window: Any, qtbot: Any, monkeypatch: Any) -> None:
    open_testville(window, speed=1.0)
    device = light(window)
    window.select_device(device)
    old_controls = window.inspector.controls.editors["dim"]["level"]
    window.inspector.controls.fault_buttons["lamp_failure"].click()  # paused city: no answer yet
    assert window.inspector.controls.result_label.text().startswith("sent inject")
    answer(monkeypatch, QMessageBox.StandardButton.Reset)
    window.reset()
    assert window.selected == device  # same city: the device stays selected, rebuilt from the new runtime
    assert window.inspector.controls.editors["dim"]["level"] is not old_controls
    assert window.inspector.controls.result_label.text() == ""  # the old city's pending action is gone
    assert window.status_rate.text() == "" and "5 / 5 online" in window.status_online.text()
    window.session.start()
    slider = window.inspector.controls.editors["dim"]["level"].widget
    slider.setValue(30)
    slider.sliderReleased.emit()
    qtbot.waitUntil(lambda: window.state.get(device, {}).get("level") == 30, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.inspector.controls.result_label.text().startswith("✓ dim"), timeout=WAIT_MS)


def test_open_another_city_clears_the_inspector(window: Any, qtbot: Any, tmp_path: Path) -> None:
    open_testville(window)
    window.select_device(light(window))
    other = tmp_path / "otherville.yaml"
    other.write_text((FIXTURES / "testville.yaml").read_text().replace("id_prefix: l", "id_prefix: x"))
    assert window.open_scenario(str(other))
    assert "x-0001" in window.session.runtime.devices and "l-0001" not in window.session.runtime.devices
    assert window.selected is None and window.inspector.title.text() == "No device selected"
    assert not window.inspector.tabs.isEnabled() and window.inspector.controls.device is None


def test_an_unanswered_action_times_out_visibly(window: Any, qtbot: Any) -> None:
    rt = open_testville(window, speed=1.0)
    window.session.start()
    window.session.pause()  # simulated time stands still: the command never crosses the downlink
    qtbot.waitUntil(lambda: rt.paused, timeout=WAIT_MS)
    window.select_device(light(window))
    controls = window.inspector.controls
    controls._pending.timeout_s = 0.2
    controls.send("dim", {"level": 10})
    assert controls.result_label.text() == "sent dim level=10 …"
    qtbot.waitUntil(lambda: "✗ dim: no answer after 0.2 s" in controls.result_label.text(), timeout=WAIT_MS)


def test_the_dim_slider_follows_the_lamps_real_level(window: Any, qtbot: Any) -> None:
    rt = open_testville(window, speed=3600.0)
    device = light(window)
    window.select_device(device)
    window.session.start()
    qtbot.waitUntil(lambda: "level" in rt.live.get(device).values, timeout=WAIT_MS)
    slider = window.inspector.controls.editors["dim"]["level"].widget
    # auto mode at night: the commanded level stays 100 while the lamp burns at its night level
    qtbot.waitUntil(
        lambda: slider.value() == rt.live.get(device).values["level"] != rt.live.get(device).state["level"],
        timeout=WAIT_MS,
    )
    assert window.inspector.controls.sent == []


def test_history_plot_steps_for_discrete_signals_with_units_in_both_themes(window: Any, qtbot: Any) -> None:
    open_testville(window, speed=3600.0)
    device = light(window)
    window.select_device(device)
    window.session.start()
    insp = window.inspector
    qtbot.waitUntil(lambda: len(window.session.feed.history(device)) >= 3, timeout=WAIT_MS)
    insp.signal_combo.setCurrentText("level")  # int: a lamp's level holds until the next command
    qtbot.waitUntil(lambda: len(insp.curve.xData) >= 3, timeout=WAIT_MS)
    assert insp.curve.opts["stepMode"] == "center" and len(insp.curve.xData) == len(insp.curve.yData) + 1
    assert insp.plot.getAxis("left").labelText == "level (%)"
    assert "CET" in insp.plot.getAxis("bottom").labelText and insp.time_axis.utcOffset == -3600
    insp.signal_combo.setCurrentText("power")  # float: a measured quantity, drawn as a line
    qtbot.waitUntil(lambda: insp.plot.getAxis("left").labelText == "power (W)", timeout=WAIT_MS)
    assert insp.curve.opts["stepMode"] is None and len(insp.curve.xData) == len(insp.curve.yData)
    for dark in (True, False):
        window.dark_action.setChecked(dark)
        theme = insp.theme
        axis = insp.plot.getAxis("left")
        assert axis.textPen().color().name() == theme.text and theme.text != theme.base
        assert insp.plot.backgroundBrush().color().name() == theme.base
        assert axis.labelStyle["color"] == theme.text


def test_an_empty_history_plot_says_why_instead_of_drawing_axes(window: Any, qtbot: Any) -> None:
    insp = window.inspector
    assert insp.plot_stack.currentWidget() is insp.plot_empty and insp.plot_empty.text() == "No device selected"
    open_testville(window, speed=3600.0)
    device = light(window)
    window.select_device(device)
    assert window.session.feed.history(device) == []  # not started: nothing read yet
    insp.signal_combo.setCurrentText("level")
    window._refresh_history(force=True)
    assert insp.plot_stack.currentWidget() is insp.plot_empty
    assert insp.plot_empty.text() == "No readings of level in the last 6 hours yet"
    window.session.start()
    qtbot.waitUntil(lambda: insp.plot_stack.currentWidget() is insp.plot, timeout=WAIT_MS)
    assert len(insp.curve.xData) >= 2
    window.open_scenario(str(FIXTURES / "testville.yaml"))  # a new city: the device again, nothing read yet
    assert window.selected == device
    assert insp.plot_stack.currentWidget() is insp.plot_empty and insp.plot_empty.text().startswith("No readings of")
