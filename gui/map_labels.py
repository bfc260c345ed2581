"""What the map writes over the city: name plates that never overlap, and a legend fixed to the window.

Labels keep their size on screen (they ignore the zoom), so zooming out piles them up. After
every zoom, fit or resize, `declutter` shows them in priority order (hops, then the largest
districts) and hides any that would cover one already shown; zooming in brings them back.
Panning moves them all together, so it never changes what overlaps.

The legend is a child widget of the map view laid over its viewport, not something painted into
the viewport: panning scrolls the viewport's pixels and its child widgets, so a legend painted
there (or placed on the viewport) travelled with the map.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSimpleTextItem, QGraphicsView, QWidget
from smartzone_gui.theme import LIGHT, Theme

LABEL_GAP_PX = 2  # labels closer than this count as touching


class PlateLabel(QGraphicsSimpleTextItem):
    """A name on a rounded, translucent plate, constant size on screen, with a declutter priority."""

    def __init__(self, text: str, priority: float = 0.0) -> None:
        super().__init__(text)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        font = QFont()
        font.setPointSizeF(9.0)
        font.setBold(True)
        self.setFont(font)
        self.setZValue(30)
        self.priority = priority
        self.plate = QColor(255, 255, 255, 190)

    def apply_theme(self, theme: Theme) -> None:
        self.setBrush(QColor(theme.district_label))
        plate = QColor(theme.base)
        plate.setAlphaF(0.78)
        self.plate = plate
        self.update()

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-5, -2, 5, 2)

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.plate)
        painter.drawRoundedRect(self.boundingRect(), 4, 4)
        super().paint(painter, option, widget)


def screen_rect(view: QGraphicsView, item: QGraphicsItem) -> QRectF:
    """Where an item is drawn in the view's viewport, in pixels (right for zoom-ignoring items too)."""
    return item.deviceTransform(view.viewportTransform()).mapRect(item.boundingRect())


def declutter(view: QGraphicsView, labels: Iterable[PlateLabel]) -> int:
    """Show labels by priority, hiding each one that would overlap a shown one; returns how many hid."""
    placed: list[QRectF] = []
    hidden = 0
    for label in sorted(labels, key=lambda lb: -lb.priority):
        rect = screen_rect(view, label).adjusted(-LABEL_GAP_PX, -LABEL_GAP_PX, LABEL_GAP_PX, LABEL_GAP_PX)
        free = not any(rect.intersects(other) for other in placed)
        label.setVisible(free)
        if free:
            placed.append(rect)
        else:
            hidden += 1
    return hidden


def collisions(view: QGraphicsView, labels: Iterable[PlateLabel]) -> int:
    """Pairs of visible labels that overlap on screen (zero after declutter)."""
    rects = [screen_rect(view, lb) for lb in labels if lb.isVisible()]
    return sum(1 for i, a in enumerate(rects) for b in rects[i + 1 :] if a.intersects(b))


class MapLegend(QWidget):
    """What the colours mean; sits in the viewport's top-left corner whatever the map does."""

    ROW = 16

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # drags and clicks reach the map
        self.theme = LIGHT
        self.network = False
        self.move(10, 10)
        self._resize()

    def entries(self) -> list[tuple[str, str, str]]:
        """(label, colour, shape) rows: dot, ring, diamond or line."""
        t = self.theme
        rows = [
            ("online", t.online, "dot"),
            ("light on / dimmed", t.lamp_on, "dot"),
            ("light off", t.lamp_off, "dot"),
            ("fault", t.fault, "dot"),
            ("offline", t.offline, "ring"),
        ]
        if self.network:
            rows += [
                ("gateway / backhaul ok", t.online, "diamond"),
                ("busy (70 % load, 1 % loss)", t.busy, "diamond"),
                ("congested or cut", t.fault, "diamond"),
                ("selected device's link", t.selected, "line"),
            ]
        return rows

    def set_theme(self, theme: Theme, network: bool | None = None) -> None:
        self.theme = theme
        if network is not None:
            self.network = network
        self._resize()
        self.update()

    def _resize(self) -> None:
        self.setFixedSize(QSize(196 if self.network else 150, self.ROW * len(self.entries()) + 12))

    def paintEvent(self, event: Any) -> None:
        t = self.theme
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        bg = QColor(t.base)
        bg.setAlphaF(0.9)
        painter.setPen(QPen(QColor(t.border)))
        painter.setBrush(bg)
        painter.drawRoundedRect(QRectF(QRect(0, 0, self.width() - 1, self.height() - 1)), 6, 6)
        font = QFont(painter.font())
        font.setPointSizeF(8.5)
        painter.setFont(font)
        for n, (label, colour, shape) in enumerate(self.entries()):
            y = 12 + n * self.ROW
            c = QColor(colour)
            painter.setPen(QPen(c, 2))
            painter.setBrush(c if shape in ("dot", "diamond") else Qt.BrushStyle.NoBrush)
            if shape == "line":
                painter.drawLine(QPointF(14, y), QPointF(30, y))
            elif shape == "diamond":
                painter.drawPolygon([QPointF(22, y - 5), QPointF(27, y), QPointF(22, y + 5), QPointF(17, y)])
            else:
                painter.drawEllipse(QPointF(22, y), 4, 4)
            painter.setPen(QColor(t.text))
            painter.drawText(QPointF(36, y + 4), label)
        painter.end()
