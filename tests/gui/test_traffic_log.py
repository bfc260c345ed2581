"""The Traffic panel's message log: uplinks and app traffic in separate buffers, indexed filter.

Items are the real ones the GUI gets (core Readings from the feed, AppMessages from the
client registry) formatted by the real row functions; the widget is the real TrafficLog
under offscreen Qt. The live-broker path (real paho and pymodbus clients) is covered by
test_traffic_clients.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from smartzone_gui.clients_view import app_message_row
from smartzone_gui.rows import message_row
from smartzone_gui.traffic_log import TrafficLog

from smartzone.core.events import Reading
from smartzone.runtime.clients import AppMessage


def _iso(t: float) -> str:
    return f"2026-05-04T10:{int(t) // 60 % 60:02d}:{t % 60:06.3f}+00:00"


def _fmt(item: Any) -> Any:
    if isinstance(item, AppMessage):
        return app_message_row(item, _iso)
    return message_row(item, None, "testville", _iso)


def _log(qtbot: Any, **limits: int) -> TrafficLog:
    log = TrafficLog(**limits)
    log.model.formatter = _fmt
    qtbot.addWidget(log)
    return log


def _uplinks(start: int, n: int, device: str = "lamp-1") -> list[Reading]:
    return [Reading(float(s), device, s, {"level": s % 100}) for s in range(start, start + n)]


def _visible(proxy: Any) -> list[tuple[str, ...]]:
    """The cells of the rows a table currently shows (through its filter)."""
    model = proxy.sourceModel()
    return [model.row(proxy.mapToSource(proxy.index(r, 0)).row())[0] for r in range(proxy.rowCount())]


DENIED = AppMessage(1.0, "mqtt", "dash/board", "sz/v2/testville/acqua/valve/v-1/cmd", '{"open":1}', False)
COMMAND = AppMessage(2.0, "mqtt", "dash/board", "sz/v2/testville/comune/light/lamp-1/cmd", '{"dim":40}', True)


def test_denials_and_commands_stay_visible_after_10000_uplinks(qtbot: Any) -> None:
    log = _log(qtbot)
    log.add([DENIED, COMMAND, *_uplinks(1, 10)])
    for start in range(11, 10_011, 500):  # frames, as the main window adds them
        log.add(_uplinks(start, 500))
    apps = _visible(log.app_filter)
    assert len(apps) == 2
    assert "DENIED from dash/board" in apps[0][2] and apps[0][1] == DENIED.topic
    assert apps[1][1] == COMMAND.topic and "DENIED" not in apps[1][2]
    assert log.uplinks.rowCount() == 5_000  # the default uplink limit
    seqs = [int(cells[2].split('"seq":')[1].split(",")[0]) for cells in _visible(log.uplink_filter)]
    assert seqs[0] == 10_010 - 4_999 and seqs[-1] == 10_010  # the newest uplinks, in order
    assert log.uplinks.total == 10_010 and log.apps.total == 2


def test_each_buffer_keeps_its_own_limit(qtbot: Any) -> None:
    log = _log(qtbot, uplink_limit=100, app_limit=300)
    for i in range(250):
        log.add([AppMessage(float(i), "mqtt", f"app/{i}", "t", "{}", i % 2 == 0), *_uplinks(i * 2, 2)])
    assert log.apps.rowCount() == 250 and log.uplinks.rowCount() == 100
    log.add([AppMessage(0.0, "modbus", "127.0.0.1", "modbus gw unit 1 hr@0 x 1", "[1]", True)] * 100)
    assert log.apps.rowCount() == 300 and log.uplinks.rowCount() == 100
    assert log.apps.row(0)[0][2].endswith("from app/50: {}")  # the oldest 50 went, not uplinks
    log.set_limits(uplinks=40)
    assert log.uplinks.rowCount() == 40 and log.apps.rowCount() == 300
    assert "40 / 40 rows" in log.uplink_title.text() and "300 / 300 rows" in log.app_title.text()


@pytest.mark.parametrize("needle", ["denied", "LAMP-2", "lamp-2", "valve", '"seq":12', "zzz-nothing", ""])
def test_filter_matches_the_rows_containing_the_text(qtbot: Any, needle: str) -> None:
    log = _log(qtbot)
    items: list[Any] = [DENIED, COMMAND]
    for d in ("lamp-1", "lamp-2", "lamp-20", "meter-9"):
        items += _uplinks(1, 30, d)
    log.add(items)
    log.filter.setText(needle)
    shown = _visible(log.uplink_filter) + _visible(log.app_filter)
    everything = log.model.rows
    expected = [cells for cells, _ in everything if needle.lower() in "\t".join(cells).lower()]
    assert sorted(shown) == sorted(expected)
    if needle.lower() == "lamp-2":  # lamp-2 and lamp-20 uplinks, not lamp-1 nor the command on lamp-1
        assert len(shown) == 60 and all("lamp-2" in cells[1] for cells in shown)
    if needle == "denied":
        assert shown == [_fmt(DENIED)[0]]
    if needle == "zzz-nothing":
        assert shown == []
    if needle == "":
        assert len(shown) == 122


def test_rows_arriving_under_a_filter_are_filtered_and_clearing_shows_all(qtbot: Any) -> None:
    log = _log(qtbot)
    log.add(_uplinks(1, 20, "lamp-1") + _uplinks(1, 20, "meter-9"))
    for prefix in ("m", "me", "met", "mete", "meter"):  # typed key by key
        log.filter.setText(prefix)
    assert log.uplink_filter.rowCount() == 20
    log.add(_uplinks(21, 5, "meter-9") + _uplinks(21, 5, "lamp-1") + [COMMAND])
    assert log.uplink_filter.rowCount() == 25 and log.app_filter.rowCount() == 0
    log.filter.setText("")
    assert log.uplink_filter.rowCount() == 50 and log.app_filter.rowCount() == 1


def test_show_selects_uplinks_app_traffic_or_both(qtbot: Any) -> None:
    log = _log(qtbot)
    log.show_box.setCurrentText("Uplinks")
    assert log.app_box.isHidden() and not log.uplink_box.isHidden()
    log.show_box.setCurrentText("App traffic")
    assert log.uplink_box.isHidden() and not log.app_box.isHidden()
    log.show_box.setCurrentText("Both")
    assert not log.uplink_box.isHidden() and not log.app_box.isHidden()


def test_pause_holds_both_buffers_and_resume_routes_them(qtbot: Any) -> None:
    log = _log(qtbot)
    log.pause_button.setChecked(True)
    log.add([DENIED, *_uplinks(1, 3)])
    assert log.model.rowCount() == 0 and "4 waiting" in log.count.text()
    log.pause_button.setChecked(False)
    assert log.apps.rowCount() == 1 and log.uplinks.rowCount() == 3
    log.model.clear()
    assert log.model.rowCount() == 0 and log.model.rows == []


def test_focusing_the_filter_indexes_every_buffered_row(qtbot: Any) -> None:
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QFocusEvent
    from PySide6.QtWidgets import QApplication

    log = _log(qtbot)
    log.add([DENIED, *_uplinks(1, 50, "meter-9")])
    assert not log.uplinks._text
    QApplication.sendEvent(log.filter, QFocusEvent(QEvent.Type.FocusIn))
    assert len(log.uplinks._text) == 50 and len(log.apps._text) == 1
    assert log.uplinks.text(0) == "\t".join(_fmt(log.uplinks.items[0])[0]).lower()


def test_the_keep_boxes_change_each_limit(qtbot: Any) -> None:
    log = _log(qtbot)
    assert (log.limit_box[0].value(), log.limit_box[1].value()) == (5_000, 20_000)
    log.add([DENIED] * 300 + _uplinks(1, 300))
    log.limit_box[1].setValue(100)
    assert log.apps.rowCount() == 100 and log.apps.limit == 100 and log.uplinks.rowCount() == 300
    log.limit_box[0].setValue(200)
    assert log.uplinks.rowCount() == 200 and log.apps.rowCount() == 100
    log.set_limits(uplinks=150)
    assert log.limit_box[0].value() == 150 and log.uplinks.rowCount() == 150


def test_messages_the_feed_dropped_are_counted_under_the_log(qtbot: Any) -> None:
    log = _log(qtbot)
    log.add(_uplinks(0, 4))
    assert "not shown" not in log.count.text()
    log.add([], skipped=400)
    assert "4 entries" in log.count.text() and "400 not shown" in log.count.text()
