"""The city map: districts as vector polygons from the scenario, one marker per device.

No tile server: coordinates are projected locally (equirectangular around the city centre,
metres). Markers keep a constant size on screen, are coloured by state (online, offline,
fault, actuator level) and are recoloured only when a frame says their device changed.
Wheel zooms around the cursor, dragging pans, a click selects. Gateways and backhauls with
their live load are drawn by map_network.py; name plates and the legend are in map_labels.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsPolygonItem, QGraphicsScene, QGraphicsView
from smartzone_gui.map_labels import MapLegend, PlateLabel, declutter
from smartzone_gui.map_network import NetworkOverlay
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
    """The map widget: `load` a city, `update_marker` per changed device, `select` one."""

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
        self.proj = Projection(0.0, 0.0)  # the city's, once loaded
        self._press: QPointF | None = None
        self.auto_fit = True  # keep the city fitted to the window until the user zooms or pans
        self._districts: list[tuple[QGraphicsPolygonItem, PlateLabel, str]] = []
        self._centres: dict[str, QPointF] = {}
        self.network = NetworkOverlay()
        self.legend = MapLegend(self)  # on the view, not its viewport: a scrolled viewport moves its children
        self.legend.raise_()

    # --- building -------------------------------------------------------------------------
    def load(
        self,
        scenario: Scenario,
        devices: Iterable[DeviceInfo],
        kinds: Mapping[str, str],
        routes: Mapping[str, str] | None = None,
    ) -> None:
        """Draw a city: districts, devices and (with `routes`, device -> hop id) its gateways and backhauls."""
        scene = self.scene()
        scene.clear()
        self.markers, self._districts, self.selected, self._centres = {}, [], None, {}
        self.kinds = dict(kinds)
        proj = self.proj = Projection(scenario.center.lat, scenario.center.lon)
        bounds = QRectF()
        for d in scenario.districts:
            poly = QPolygonF([proj(lat, lon) for lat, lon in d.polygon])
            item = scene.addPolygon(poly)
            item.setZValue(1)
            bbox = poly.boundingRect()
            label = PlateLabel(d.name, priority=bbox.width() * bbox.height())  # big districts keep their name
            label.setPos(_centroid(poly))
            scene.addItem(label)
            self._centres[d.id] = _centroid(poly)
            self._districts.append((item, label, d.kind))
            bounds = bounds.united(poly.boundingRect())
        for info in devices:
            marker = Marker(info, proj(info.lat, info.lon))
            scene.addItem(marker)
            self.markers[info.id] = marker
        margin = max(bounds.width(), bounds.height()) * 0.08 + 50
        hops = scenario.networks.backhauls if routes is not None and scenario.networks.enabled else []
        core = QPointF(bounds.center().x(), bounds.top() - margin * 0.6)  # the core network, north of the city
        self.network.load(scene, hops, self._centres, core, routes or {})
        scene.setSceneRect(bounds.adjusted(-margin, -margin, margin, margin))
        self.legend.set_theme(self.theme, network=bool(hops))
        self.apply_theme(self.theme)
        self.fit()

    def add_device(self, info: DeviceInfo, kind: str) -> None:
        """Draw a device created while the city runs (a sandbox), keeping the zoom."""
        self.remove_device(info.id)
        marker = Marker(info, self.proj(info.lat, info.lon))
        self.scene().addItem(marker)
        self.markers[info.id] = marker
        self.kinds.setdefault(info.type, kind)

    def remove_device(self, device: str) -> None:
        marker = self.markers.pop(device, None)
        if marker is not None:
            self.scene().removeItem(marker)
        if self.selected == device:
            self.selected = None

    def labels(self) -> list[PlateLabel]:
        """Every name plate on the map (districts, gateways and backhauls)."""
        return [label for _, label, _ in self._districts] + self.network.labels()

    def declutter(self) -> int:
        """Hide the labels that would overlap at this zoom (see map_labels.py); how many are hidden."""
        return declutter(self, self.labels())

    def poll_network(self, runtime: Any) -> None:
        """Refresh the gateways' live state (at most twice a second, see NetworkOverlay.poll); their
        labels change length with it, so the names are decluttered again when it changed."""
        if self.network.poll(runtime):
            self.declutter()

    def fit(self) -> None:
        self.auto_fit = True
        self.resetTransform()
        self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self.declutter()

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackgroundBrush(QColor(theme.map_bg))
        for item, label, kind in self._districts:
            fill = QColor(DISTRICT_FILL.get(kind, DISTRICT_FILL["mixed"]))
            fill.setAlphaF(0.22 if theme.dark else 0.18)
            pen = QPen(QColor(theme.district_pen), 0)
            pen.setCosmetic(True)
            pen.setWidthF(1.4)
            item.setPen(pen)
            item.setBrush(QBrush(fill))
            label.apply_theme(theme)
        self.network.apply_theme(theme)
        self.legend.set_theme(theme)
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
        self.network.select(device, self.markers[device].pos() if device in self.markers else None)
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
        self.declutter()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.auto_fit and self.scene().items():
            self.fit()
        else:
            self.declutter()

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
