"""Widget behaviour without a runtime: log pause/filter/bounds, map zoom, pan and hit-testing."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from smartzone_gui import log_view
from smartzone_gui.log_view import LogPanel


def rows(n: int, start: int = 0) -> list[Any]:
    return [((f"t{i}", f"kind{i % 2}", f"dev-{i}", "detail"), None) for i in range(start, start + n)]


def test_log_pause_keeps_new_entries_until_resume(qtbot: Any) -> None:
    panel = LogPanel(["Time", "Kind", "Device", "Detail"])
    qtbot.addWidget(panel)
    panel.add(rows(3))
    panel.pause_button.click()
    panel.add(rows(2, start=3))
    assert panel.model.rowCount() == 3 and "2 waiting" in panel.count.text()
    panel.pause_button.click()
    assert panel.model.rowCount() == 5 and panel.model.row(4)[0][2] == "dev-4"


def test_log_filter_and_bound(qtbot: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(log_view, "MAX_ROWS", 10)
    panel = LogPanel(["Time", "Kind", "Device", "Detail"])
    qtbot.addWidget(panel)
    panel.add(rows(25))
    assert panel.model.rowCount() == 10 and panel.model.row(0)[0][2] == "dev-15"
    assert panel.model.total == 25
    panel.filter.setText("kind1")
    assert panel.proxy.rowCount() == 5


def test_map_wheel_zooms_and_click_hits_the_nearest_marker(qtbot: Any, catalog: Any, small_scenario: Any) -> None:
    from smartzone_gui.map_view import CityMap

    from smartzone.core.world import World

    world = World(small_scenario, catalog)
    view = CityMap()
    view.resize(800, 600)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.load(small_scenario, [d.info for d in world.devices.values()], {t: d.kind for t, d in catalog.types.items()})
    scale = view.transform().m11()
    centre = QPointF(400, 300)
    wheel = QWheelEvent(
        centre,
        view.mapToGlobal(centre),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    view.wheelEvent(wheel)
    assert view.transform().m11() > scale and not view.auto_fit
    view.fit()
    assert view.auto_fit and abs(view.transform().m11() - scale) < 1e-9
    device = next(iter(view.markers))
    pos = view.marker_pos(device)
    assert view.device_at(pos + QPointF(3, 2)) == device
    with qtbot.waitSignal(view.device_clicked, timeout=2000) as hit:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos.toPoint())
    assert hit.args == [device]


def test_log_says_how_many_entries_the_feed_could_not_show(qtbot: Any) -> None:
    panel = LogPanel(["Time", "Kind", "Device", "Detail"])
    qtbot.addWidget(panel)
    panel.add(rows(3))
    assert "not shown" not in panel.count.text()
    panel.add(rows(2, start=3), skipped=7)
    panel.add([], skipped=5)
    assert panel.model.rowCount() == 5 and "12 not shown" in panel.count.text()
