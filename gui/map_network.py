"""The city's network on the map: gateways and backhauls with their live load and loss.

A backhaul or gateway of the scenario (`networks.backhauls`) has no coordinates of its own: it
is drawn at the middle of the districts it serves (the city's middle when it serves all), with a
line to the city's core network (where SmartZone's broker and gateways sit, drawn north of the
city). Node and line are coloured by the hop's condition over the last poll interval: ok, busy,
congested (load near capacity, a filling queue or messages dropped) or cut. The selected
device's path to its hop is highlighted.

The live figures come from `Runtime.network_state()`, a read on the engine thread returned as
a future: the overlay asks at most twice a (wall) second and picks the answer up on a later
frame, so the GUI thread never waits for the engine.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Literal

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPolygonItem,
    QGraphicsRectItem,
    QGraphicsScene,
)
from smartzone_gui.map_labels import PlateLabel
from smartzone_gui.theme import Theme

from smartzone.core.network import HopState
from smartzone.definitions.network import Backhaul

POLL_S = 0.5  # wall seconds between two network reads
NODE_PX = 8.0
Level = Literal["ok", "busy", "congested", "cut"]


@dataclass(frozen=True)
class HopHealth:
    """A hop's condition over one interval: load (share of capacity used), loss, queue fill, level."""

    load: float
    loss: float
    queue: float
    level: Level


def hop_health(prev: HopState | None, cur: HopState, dt: float, last: HopHealth | None = None) -> HopHealth:
    """The condition of a hop between two reads `dt` simulated seconds apart (paused: the last one)."""
    queue = cur.queued / cur.queue_limit if cur.queue_limit else (1.0 if cur.queued > 0 else 0.0)
    if prev is None or dt <= 0:
        load, loss = (last.load, last.loss) if last is not None else (0.0, 0.0)
    else:
        sent = cur.sent - prev.sent
        load = (cur.delivered - prev.delivered) / dt / cur.capacity
        loss = (cur.dropped - prev.dropped) / sent if sent > 0 else (last.loss if last is not None else 0.0)
    level: Level
    if cur.cut:
        level = "cut"
    elif loss >= 0.05 or queue >= 0.5 or load >= 0.95:
        level = "congested"
    elif loss >= 0.01 or queue >= 0.1 or load >= 0.7:
        level = "busy"
    else:
        level = "ok"
    return HopHealth(load, loss, queue, level)


def level_colour(theme: Theme, level: Level) -> QColor:
    return QColor({"ok": theme.online, "busy": theme.busy, "congested": theme.fault, "cut": theme.fault}[level])


class HopNode(QGraphicsPolygonItem):
    """A gateway (diamond) or backhaul (square), constant size on screen, with a live label."""

    def __init__(self, spec: Backhaul, pos: QPointF) -> None:
        r = NODE_PX
        shape = (
            [QPointF(0, -r), QPointF(r, 0), QPointF(0, r), QPointF(-r, 0)]
            if spec.kind == "gateway"
            else [
                QPointF(-r * 0.8, -r * 0.8),
                QPointF(r * 0.8, -r * 0.8),
                QPointF(r * 0.8, r * 0.8),
                QPointF(-r * 0.8, r * 0.8),
            ]
        )
        super().__init__(QPolygonF(shape))
        self.spec = spec
        self.setPos(pos)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setZValue(26)
        self.label = PlateLabel(spec.id, priority=1e12)  # above every district name
        self.label.setParentItem(self)
        self.label.setPos(NODE_PX + 4, -9)
        self.health = HopHealth(0.0, 0.0, 0.0, "ok")


class CoreNode(QGraphicsRectItem):
    """Where every backhaul ends: the city's core network, SmartZone's broker and gateways."""

    def __init__(self, pos: QPointF) -> None:
        super().__init__(-6, -6, 12, 12)
        self.setPos(pos)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setZValue(26)
        self.setToolTip("core network: SmartZone's MQTT broker and Modbus gateways")
        self.label = PlateLabel("core network", priority=1e11)
        self.label.setParentItem(self)
        self.label.setPos(10, -9)


class NetworkOverlay:
    """The hop nodes, their backhaul lines and the selected device's link, on one scene."""

    def __init__(self) -> None:
        self.nodes: dict[str, HopNode] = {}
        self.lines: dict[str, QGraphicsLineItem] = {}
        self.routes: dict[str, str] = {}
        self.core: QPointF = QPointF()
        self.selection = QGraphicsLineItem()
        self.core_node: CoreNode | None = None
        self.theme: Theme | None = None
        self._states: dict[str, HopState] = {}
        self._t: float | None = None
        self._pending: Future[Any] | None = None
        self._asked = 0.0

    def load(
        self,
        scene: QGraphicsScene,
        hops: Sequence[Backhaul],
        district_centres: Mapping[str, QPointF],
        core: QPointF,
        routes: Mapping[str, str],
    ) -> None:
        """Draw the hops of a newly loaded city (the scene was just cleared)."""
        self.nodes, self.lines, self.routes, self.core = {}, {}, dict(routes), core
        self.core_node = None
        if hops:
            self.core_node = CoreNode(core)
            scene.addItem(self.core_node)
        self._states, self._t, self._pending = {}, None, None
        for spec in hops:
            wanted = list(district_centres) if spec.districts == "all" else spec.districts
            served = [district_centres[d] for d in wanted if d in district_centres]
            points = served or [core]
            at = QPointF(sum(p.x() for p in points) / len(points), sum(p.y() for p in points) / len(points))
            node = HopNode(spec, at)
            scene.addItem(node)
            line = scene.addLine(at.x(), at.y(), core.x(), core.y())
            line.setZValue(5)
            line.setToolTip(f"backhaul of {spec.id} to the core network")
            self.nodes[spec.id], self.lines[spec.id] = node, line
        self.selection = scene.addLine(0, 0, 0, 0)
        self.selection.setZValue(12)
        self.selection.setVisible(False)

    def labels(self) -> list[PlateLabel]:
        core = [self.core_node.label] if self.core_node is not None else []
        return [n.label for n in self.nodes.values()] + core

    # --- live -----------------------------------------------------------------------------
    def poll(self, runtime: Any) -> bool:
        """Ask for the hops' state (at most every POLL_S) and apply an answer that came; True if it did."""
        if not self.nodes:
            return False
        applied = False
        pending = self._pending
        if pending is not None and pending.done():
            self._pending = None
            if pending.exception() is None:  # a city that stopped answers nothing: keep the last look
                t, states = pending.result()
                self.update(t, states)
                applied = True
        now = time.monotonic()
        if self._pending is None and now - self._asked >= POLL_S:
            self._asked = now
            self._pending = runtime.network_state()
        return applied

    def update(self, t: float, states: Sequence[HopState]) -> None:
        """New hop states read at simulated time `t`: recolour what changed."""
        dt = t - self._t if self._t is not None else 0.0
        for cur in states:
            node = self.nodes.get(cur.id)
            if node is None:
                continue
            node.health = hop_health(self._states.get(cur.id), cur, dt, node.health)
            self._states[cur.id] = cur
            self._paint(node)
        self._t = t

    def _paint(self, node: HopNode) -> None:
        if self.theme is None:
            return
        h, spec = node.health, node.spec
        colour = level_colour(self.theme, h.level)
        node.setBrush(QBrush(colour))
        node.setPen(QPen(QColor(self.theme.base), 1.5))
        pen = QPen(colour, 3.0, Qt.PenStyle.DashLine if h.level == "cut" else Qt.PenStyle.SolidLine)
        pen.setCosmetic(True)
        self.lines[spec.id].setPen(pen)
        state = "CUT" if h.level == "cut" else f"{h.load:.0%} · loss {h.loss:.1%}"
        node.label.setText(f"{spec.id}  {state}")
        tip = (
            f"{spec.id} · {spec.kind} · {h.level}\nload {h.load:.0%} of {spec.capacity:g} msg/s · "
            f"queue {h.queue:.0%} of {spec.queue} · loss {h.loss:.1%} (last interval)"
        )
        node.setToolTip(tip)
        self.lines[spec.id].setToolTip(tip)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        for node in self.nodes.values():
            node.label.apply_theme(theme)
            self._paint(node)
        if self.core_node is not None:
            self.core_node.setBrush(QBrush(QColor(theme.muted)))
            self.core_node.setPen(QPen(QColor(theme.base), 1.5))
            self.core_node.label.apply_theme(theme)
        pen = QPen(QColor(theme.selected), 2.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.selection.setPen(pen)

    def select(self, device: str | None, at: QPointF | None) -> None:
        """Highlight the link from the selected device (at scene point `at`) to its hop."""
        hop = self.nodes.get(self.routes.get(device or "", ""))
        if hop is None or at is None:
            self.selection.setVisible(False)
            return
        self.selection.setLine(at.x(), at.y(), hop.pos().x(), hop.pos().y())
        self.selection.setToolTip(f"{device} → {hop.spec.id}")
        self.selection.setVisible(True)

    def level(self, hop: str) -> Level:
        """The hop's current level (for tests and the status line)."""
        return self.nodes[hop].health.level
