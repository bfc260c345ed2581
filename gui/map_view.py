"""The city map: districts as vector polygons from the scenario, one marker per device.

No tile server: coordinates are projected locally (equirectangular around the city centre,
metres). Markers keep a constant size on screen, are coloured by state (online, offline,
fault, actuator level) and are recoloured only when a frame says their device changed.
Wheel zooms around the cursor, dragging pans, a click selects.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)
from smartzone_gui.theme import DISTRICT_FILL, LIGHT, Theme

from smartzone.core.device import DeviceInfo
from smartzone.definitions.scenario import Scenario

MARKER_PX = 7.5
METRES_PER_DEG = 111_320.0


class Projection:
    """lat/lon -> scene metres (x east, y south) around the city centre."""

    def __init__(self, lat0: float, lon0: float) -> None:
        self.lat0, self.lon0 = lat0, lon0
        self.kx = METRES_PER_DEG * math.cos(math.radians(lat0))

    def __call__(self, lat: float, lon: float) -> QPointF:
        return QPointF((lon - self.lon0) * self.kx, -(lat - self.lat0) * METRES_PER_DEG)


def actuator_level(values: Mapping[str, Any], state: Mapping[str, Any]) -> float | None:
    """0..1 output of a dimmable/switchable actuator: its measured `level` signal when it has
    one (auto mode drives it), else its commanded state; None when it has neither."""
    level = values.get("level")
    if isinstance(level, (int, float)) and not isinstance(level, bool):
        return max(0.0, min(100.0, float(level))) / 100.0
    if "on" in state:
        if not state.get("on"):
            return 0.0
        raw = state.get("level", 100)
        return max(0.0, min(100.0, float(raw))) / 100.0 if isinstance(raw, (int, float)) else 1.0
    return None


def marker_colour(
    theme: Theme,
    kind: str,
    online: bool,
    fault: bool,
    state: Mapping[str, Any],
    values: Mapping[str, Any] | None = None,
) -> QColor:
    """The colour that tells a device's condition at a glance."""
    if fault:
        return QColor(theme.fault)
    if not online:
        return QColor(theme.offline)
    level = actuator_level(values or {}, state) if kind == "actuator" else None
    if level is not None:
        if level <= 0.0:
            return QColor(theme.lamp_off)
        off, on = QColor(theme.lamp_off), QColor(theme.lamp_on)
        mix = 0.35 + 0.65 * level
        return QColor.fromRgbF(
            off.redF() + (on.redF() - off.redF()) * mix,
            off.greenF() + (on.greenF() - off.greenF()) * mix,
            off.blueF() + (on.blueF() - off.blueF()) * mix,
        )
    return QColor(theme.online)


class DistrictLabel(QGraphicsSimpleTextItem):
    """A district name on a rounded, translucent plate so it stays readable over markers."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        font = QFont()
        font.setPointSizeF(9.0)
        font.setBold(True)
        self.setFont(font)
        self.setZValue(30)
        self.plate = QColor(255, 255, 255, 190)

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-5, -2, 5, 2)

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.plate)
        painter.drawRoundedRect(self.boundingRect(), 4, 4)
        super().paint(painter, option, widget)


class Marker(QGraphicsEllipseItem):
    def __init__(self, info: DeviceInfo, pos: QPointF) -> None:
        r = MARKER_PX / 2
        super().__init__(-r, -r, MARKER_PX, MARKER_PX)
        self.info = info
        self.setPos(pos)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setZValue(10)
        self.setToolTip(f"{info.name}\n{info.id} · {info.type}\n{info.address}")
        self.colour_key: str = ""


def _centroid(poly: QPolygonF) -> QPointF:
    """Area centroid of a simple polygon (falls back to the bounding-box centre)."""
    pts = [poly.at(i) for i in range(poly.count())]
    a = cx = cy = 0.0
    for p, q in zip(pts, pts[1:] + pts[:1], strict=True):
        cross = p.x() * q.y() - q.x() * p.y()
        a += cross
        cx += (p.x() + q.x()) * cross
        cy += (p.y() + q.y()) * cross
    if abs(a) < 1e-9:
        return poly.boundingRect().center()
    return QPointF(cx / (3 * a), cy / (3 * a))


class CityMap(QGraphicsView):
    device_clicked = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.theme = LIGHT
        self.markers: dict[str, Marker] = {}
        self.kinds: dict[str, str] = {}
        self.selected: str | None = None
        self._press: QPointF | None = None
        self.auto_fit = True  # keep the city fitted to the window until the user zooms or pans
        self._districts: list[tuple[QGraphicsItem, DistrictLabel, str]] = []

    # --- building -------------------------------------------------------------------------
    def load(self, scenario: Scenario, devices: Iterable[DeviceInfo], kinds: Mapping[str, str]) -> None:
        scene = self.scene()
        scene.clear()
        self.markers, self._districts, self.selected = {}, [], None
        self.kinds = dict(kinds)
        proj = Projection(scenario.center.lat, scenario.center.lon)
        bounds = QRectF()
        for d in scenario.districts:
            poly = QPolygonF([proj(lat, lon) for lat, lon in d.polygon])
            item = scene.addPolygon(poly)
            item.setZValue(1)
            label = DistrictLabel(d.name)
            label.setPos(_centroid(poly))
            scene.addItem(label)
            self._districts.append((item, label, d.kind))
            bounds = bounds.united(poly.boundingRect())
        for info in devices:
            marker = Marker(info, proj(info.lat, info.lon))
            scene.addItem(marker)
            self.markers[info.id] = marker
        margin = max(bounds.width(), bounds.height()) * 0.08 + 50
        scene.setSceneRect(bounds.adjusted(-margin, -margin, margin, margin))
        self.apply_theme(self.theme)
        self.fit()

    def fit(self) -> None:
        self.auto_fit = True
        self.resetTransform()
        self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackgroundBrush(QColor(theme.map_bg))
        for item, label, kind in self._districts:
            fill = QColor(DISTRICT_FILL.get(kind, DISTRICT_FILL["mixed"]))
            fill.setAlphaF(0.22 if theme.dark else 0.18)
            pen = QPen(QColor(theme.district_pen), 0)
            pen.setCosmetic(True)
            pen.setWidthF(1.4)
            item.setPen(pen)  # type: ignore[attr-defined]
            item.setBrush(QBrush(fill))  # type: ignore[attr-defined]
            label.setBrush(QColor(theme.district_label))
            plate = QColor(theme.base)
            plate.setAlphaF(0.72)
            label.plate = plate
        for m in self.markers.values():
            m.colour_key = ""

    # --- live updates ---------------------------------------------------------------------
    def update_marker(
        self, device: str, online: bool, fault: bool, state: Mapping[str, Any], values: Mapping[str, Any] | None = None
    ) -> None:
        m = self.markers.get(device)
        if m is None:
            return
        colour = marker_colour(self.theme, self.kinds.get(m.info.type, "sensor"), online, fault, state, values)
        selected = device == self.selected
        key = f"{colour.name()}{selected}{online}"
        if key == m.colour_key:
            return
        m.colour_key = key
        m.setBrush(QBrush(colour) if online or fault else QBrush(Qt.BrushStyle.NoBrush))
        if selected:
            pen = QPen(QColor(self.theme.selected), 3.0)
        elif online or fault:
            pen = QPen(QColor(self.theme.base).darker(140 if self.theme.dark else 115), 1.0)
        else:
            pen = QPen(colour, 2.0)
        m.setPen(pen)
        m.setZValue(20 if selected else 10)
        m.setScale(1.6 if selected else 1.0)

    def select(self, device: str | None) -> None:
        previous, self.selected = self.selected, device
        for d in (previous, device):
            if d is not None and d in self.markers:
                self.markers[d].colour_key = ""
        if device in self.markers and not self.viewport().rect().contains(
            self.mapFromScene(self.markers[device].pos())
        ):
            self.centerOn(self.markers[device])

    def set_filter(self, tenant: str | None, dtype: str | None, district: str | None) -> None:
        for m in self.markers.values():
            i = m.info
            m.setVisible(
                (tenant is None or i.tenant == tenant)
                and (dtype is None or i.type == dtype)
                and (district is None or i.district == district)
            )

    def marker_pos(self, device: str) -> QPointF:
        """Viewport coordinates of a device's marker (for tests and tooltips)."""
        return QPointF(self.mapFromScene(self.markers[device].pos()))

    # --- interaction ----------------------------------------------------------------------
    def wheelEvent(self, event: Any) -> None:
        factor = 1.0015 ** event.angleDelta().y()
        scale = self.transform().m11()
        if (factor > 1 and scale > 50) or (factor < 1 and scale < 0.005):
            return
        self.auto_fit = False
        self.scale(factor, factor)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.auto_fit and self.scene().items():
            self.fit()

    def mousePressEvent(self, event: Any) -> None:
        self._press = event.position()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: Any) -> None:
        super().mouseReleaseEvent(event)
        if self._press is None:
            return
        moved = (event.position() - self._press).manhattanLength()
        self._press = None
        if moved > 4:
            self.auto_fit = False
        else:
            device = self.device_at(event.position())
            if device is not None:
                self.device_clicked.emit(device)

    def device_at(self, pos: QPointF, radius: float = 7.0) -> str | None:
        best, best_d = None, radius * radius
        for m in self.markers.values():
            if not m.isVisible():
                continue
            p = self.mapFromScene(m.pos())
            d = (p.x() - pos.x()) ** 2 + (p.y() - pos.y()) ** 2
            if d <= best_d:
                best, best_d = m.info.id, d
        return best

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """A small legend in the top-left corner of the viewport."""
        painter.save()
        painter.resetTransform()
        t = self.theme
        entries = [
            ("online", t.online),
            ("light on / dimmed", t.lamp_on),
            ("light off", t.lamp_off),
            ("fault", t.fault),
            ("offline", t.offline),
        ]
        box = QRectF(10, 10, 150, 16 * len(entries) + 12)
        bg = QColor(t.base)
        bg.setAlphaF(0.88)
        painter.setPen(QPen(QColor(t.border)))
        painter.setBrush(bg)
        painter.drawRoundedRect(box, 6, 6)
        font = QFont(painter.font())
        font.setPointSizeF(8.5)
        painter.setFont(font)
        for n, (label, colour) in enumerate(entries):
            y = 22 + n * 16
            painter.setPen(QPen(QColor(colour), 2))
            painter.setBrush(QColor(colour) if label != "offline" else Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(22, y), 4, 4)
            painter.setPen(QColor(t.text))
            painter.drawText(QPointF(34, y + 4), label)
        painter.restore()
