"""The map (offscreen): a fixed legend, labels that never overlap, gateways coloured live, the selected link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtWidgets import QApplication

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WAIT_MS = 15_000


def city_with_gateway(tmp_path: Path, capacity: float = 50, queue: int = 20) -> str:
    """Testville with one gateway carrying every device."""
    data = yaml.safe_load((FIXTURES / "testville.yaml").read_text())
    data["networks"] = {"backhauls": [{"id": "gw-centro", "kind": "gateway", "capacity": capacity, "queue": queue}]}
    path = tmp_path / "gateway-city.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def show(window: Any, qtbot: Any) -> None:
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)


def wheel(view: Any, steps: int) -> None:
    """`steps` notches of the mouse wheel over the middle of the map (positive zooms in)."""
    centre = QPointF(view.viewport().rect().center())
    for _ in range(abs(steps)):
        event = QWheelEvent(
            centre,
            QPointF(view.viewport().mapToGlobal(centre.toPoint())),
            QPoint(0, 0),
            QPoint(0, 120 if steps > 0 else -120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(view.viewport(), event)


def test_the_legend_stays_put_when_the_map_pans_and_zooms(window: Any, qtbot: Any) -> None:
    assert window.open_scenario("bologna")
    show(window, qtbot)
    view, legend = window.map, window.map.legend
    device = next(iter(view.markers))
    where = legend.geometry()
    assert legend.parent() is view and legend.isVisible() and where.topLeft() == QPoint(10, 10)
    before = view.marker_pos(device)
    wheel(view, 3)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(400, 300))
    qtbot.mouseMove(view.viewport(), QPoint(250, 200))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(250, 200))
    assert view.marker_pos(device) != before  # the map did move
    assert not view.auto_fit
    assert legend.geometry() == where and legend.isVisible()
    # and it is drawn there: the legend's plate colour at its inside, on the viewport's pixels
    image = view.grab().toImage()
    inside = image.pixelColor(where.left() + where.width() - 8, where.top() + 4)
    assert inside.name() != view.backgroundBrush().color().name()


def test_labels_never_overlap_and_come_back_when_zooming_in(window: Any, qtbot: Any) -> None:
    from smartzone_gui.map_labels import collisions

    assert window.open_scenario("bologna")
    show(window, qtbot)
    view = window.map
    labels = view.labels()
    assert len(labels) >= 8
    assert collisions(view, labels) == 0
    shown_at_fit = sum(lb.isVisible() for lb in labels)
    assert shown_at_fit >= 3
    wheel(view, -12)  # far out: the names pile up
    assert collisions(view, labels) == 0
    shown_far = sum(lb.isVisible() for lb in labels)
    assert shown_far < shown_at_fit
    for lb in labels:  # without the declutter they would overlap (the check above can fail)
        lb.setVisible(True)
    assert collisions(view, labels) > 0
    view.declutter()
    wheel(view, 20)  # close in: every name fits again
    assert collisions(view, labels) == 0
    assert sum(lb.isVisible() for lb in labels) > shown_far


def test_a_gateway_is_drawn_and_turns_red_when_its_backhaul_is_cut_live(
    window: Any, qtbot: Any, tmp_path: Path
) -> None:
    assert window.open_scenario(city_with_gateway(tmp_path))
    view, overlay = window.map, window.map.network
    assert set(overlay.nodes) == {"gw-centro"}
    node, line = overlay.nodes["gw-centro"], overlay.lines["gw-centro"]
    assert node.isVisible() and line.isVisible() and node.label.text().startswith("gw-centro")
    assert view.legend.network  # the legend explains the hop colours
    assert overlay.core_node is not None and line.line().p2() == overlay.core_node.pos()  # the backhaul's far end
    window.set_speed(3600.0)
    window.session.start()
    qtbot.waitUntil(lambda: overlay._t is not None and overlay._t > 600, timeout=WAIT_MS)
    assert overlay.level("gw-centro") == "ok"
    assert line.pen().color().name() == view.theme.online
    # the Network tab's Cut: a live change on the engine thread, seen by the next read
    window.network.backhaul.setCurrentText("gw-centro")
    window.network._cut(True)
    qtbot.waitUntil(lambda: overlay.level("gw-centro") == "cut", timeout=WAIT_MS)
    assert line.pen().color().name() == view.theme.fault and line.pen().style() == Qt.PenStyle.DashLine
    assert node.brush().color().name() == view.theme.fault and "CUT" in node.label.text()
    from smartzone_gui.map_labels import collisions

    assert collisions(view, view.labels()) == 0  # the longer label was decluttered too
    window.network._cut(False)
    qtbot.waitUntil(lambda: overlay.level("gw-centro") != "cut", timeout=WAIT_MS)


def test_an_overloaded_gateway_is_drawn_congested(window: Any, qtbot: Any, tmp_path: Path) -> None:
    """A gateway that forwards one message every 1,000 s and queues none drops nearly everything."""
    assert window.open_scenario(city_with_gateway(tmp_path, capacity=0.001, queue=0))
    view, overlay = window.map, window.map.network
    window.set_speed(3600.0)
    window.session.start()
    node, line = overlay.nodes["gw-centro"], overlay.lines["gw-centro"]
    qtbot.waitUntil(lambda: node.health.level == "congested" and node.health.loss > 0.05, timeout=WAIT_MS)
    assert line.pen().style() == Qt.PenStyle.SolidLine
    assert line.pen().color().name() == node.brush().color().name() == view.theme.fault
    assert "loss" in node.label.text() and "congested" in node.toolTip()


def test_hop_health_levels_follow_load_queue_and_loss() -> None:
    from smartzone_gui.map_network import hop_health

    from smartzone.core.network import HopState

    def state(sent: int, delivered: int, dropped: int, queued: float = 0.0, cut: bool = False) -> HopState:
        return HopState("gw", "gateway", 10.0, 100, queued, cut, sent, delivered, dropped)

    zero = state(0, 0, 0)
    assert hop_health(zero, state(100, 100, 0), 100.0).level == "ok"  # 10 % of capacity
    assert hop_health(zero, state(800, 800, 0), 100.0).level == "busy"  # 80 %
    assert hop_health(zero, state(1000, 900, 100), 100.0).level == "congested"  # 10 % loss
    assert hop_health(zero, state(100, 100, 0, queued=60.0), 100.0).level == "congested"  # queue filling
    assert hop_health(zero, state(100, 0, 100, cut=True), 100.0).level == "cut"
    last = hop_health(zero, state(800, 800, 0), 100.0)
    assert hop_health(state(800, 800, 0), state(800, 800, 0), 0.0, last) == last  # paused: unchanged


def test_selecting_a_device_highlights_its_link_to_the_gateway(window: Any, qtbot: Any, tmp_path: Path) -> None:
    assert window.open_scenario(city_with_gateway(tmp_path))
    overlay = window.map.network
    assert not overlay.selection.isVisible()
    device = next(iter(window.session.runtime.devices))
    window.select_device(device)
    line = overlay.selection.line()
    assert overlay.selection.isVisible()
    assert (line.p1(), line.p2()) == (window.map.markers[device].pos(), overlay.nodes["gw-centro"].pos())
    assert overlay.selection.pen().color().name() == window.map.theme.selected
    assert device in overlay.selection.toolTip() and "gw-centro" in overlay.selection.toolTip()


def test_the_map_follows_the_theme(window: Any, qtbot: Any) -> None:
    from smartzone_gui.theme import DARK, LIGHT

    assert window.open_scenario("bologna")
    show(window, qtbot)
    view = window.map

    def lightness_of_view() -> int:
        image = view.viewport().grab().toImage()
        return image.pixelColor(image.width() - 4, image.height() - 4).lightness()

    window.dark_action.setChecked(False)
    assert view.backgroundBrush().color().name() == LIGHT.map_bg and view.legend.theme is LIGHT
    light = lightness_of_view()
    assert light > 200
    # a daytime city is mostly switched-off lamps: in the light theme they must not darken the map
    assert QColor(LIGHT.lamp_off).lightness() > 140 > QColor(DARK.lamp_off).lightness()
    label = view.labels()[0]
    assert label.brush().color().name() == LIGHT.district_label
    window.dark_action.setChecked(True)
    assert view.backgroundBrush().color().name() == DARK.map_bg and view.legend.theme is DARK
    assert label.brush().color().name() == DARK.district_label
    assert lightness_of_view() < 60
