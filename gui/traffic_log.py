"""The Traffic panel's message log: device uplinks and app traffic in two bounded buffers.

Uplinks (readings on their telemetry topics) arrive by the thousand per second at high speed;
app traffic (publishes, commands, subscribes, acks, denials, Modbus writes) is rare but is what a user
looks for, so it has its own buffer and limit and never scrolls away behind uplinks. One
filter box serves both tables. Filtering is indexed: each row's text is joined and lowered
once (when the filter first needs it) and kept until the row leaves its buffer, so a key
press is one substring test per row instead of formatting every cell again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from smartzone_gui.log_view import Formatter, LogModel, Row

from smartzone.runtime.clients import AppMessage

UPLINK_LIMIT = 5_000
APP_LIMIT = 20_000
HEADERS = ["Sim time", "Topic", "Payload"]
SHOW = ["Both", "Uplinks", "App traffic"]
Index = QModelIndex | QPersistentModelIndex


class TrafficModel(LogModel):
    """A LogModel with its own row limit and a lowered-text index for the filter."""

    def __init__(self, limit: int) -> None:
        super().__init__(HEADERS)
        self.limit = limit
        self._text: dict[int, str] = {}  # id(item) -> lowered cells; dropped with the item

    def text(self, i: int) -> str:
        """Row i's cells joined and lowered (computed once per row while it is buffered)."""
        item = self.items[i]
        key = id(item)
        text = self._text.get(key)
        if text is None:
            row = self._cache.get(key) or self.formatter(item)  # not cached for display: keeps the view's cache
            text = self._text[key] = "\t".join(str(c) for c in row[0]).lower()
        return text

    def index_all(self) -> None:
        """Build the filter index of every buffered row now (before the first key is typed)."""
        for i in range(len(self.items)):
            self.text(i)

    def append(self, items: Sequence[Any]) -> None:
        if not items:
            return
        self.total += len(items)
        items = list(items)[-self.limit :]
        overflow = len(self.items) + len(items) - self.limit
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            for _ in range(overflow):
                key = id(self.items.popleft())
                self._cache.pop(key, None)
                self._text.pop(key, None)
            self.endRemoveRows()
        start = len(self.items)
        self.beginInsertRows(QModelIndex(), start, start + len(items) - 1)
        self.items.extend(items)
        self.endInsertRows()

    def set_limit(self, limit: int) -> None:
        """Change the row limit; the oldest rows beyond it go at once."""
        self.limit = max(1, int(limit))
        if len(self.items) > self.limit:
            overflow = len(self.items) - self.limit
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            for _ in range(overflow):
                key = id(self.items.popleft())
                self._cache.pop(key, None)
                self._text.pop(key, None)
            self.endRemoveRows()

    def clear(self) -> None:
        self._text.clear()
        super().clear()


class TrafficFilter(QSortFilterProxyModel):
    """Keeps the rows whose lowered text contains the (lowered) needle; no regex, no per-cell calls."""

    def __init__(self, model: TrafficModel) -> None:
        super().__init__()
        self.needle = ""
        self.setSourceModel(model)
        self.model_ = model

    def set_needle(self, text: str) -> None:
        needle = text.lower()
        if needle == self.needle:
            return
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10 (invalidateRowsFilter is deprecated there)
            self.beginFilterChange()
            self.needle = needle
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.needle = needle
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        return not self.needle or self.needle in self.model_.text(source_row)


def _table(proxy: TrafficFilter) -> QTableView:
    view = QTableView()
    view.setModel(proxy)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    view.setShowGrid(False)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setWordWrap(False)
    header = view.horizontalHeader()
    header.setStretchLastSection(True)
    for c in range(len(HEADERS) - 1):
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.Interactive)
    view.setColumnWidth(0, 190)
    view.setColumnWidth(1, 420)
    return view


def _limit_box(value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(100, 1_000_000)
    box.setSingleStep(1_000)
    box.setGroupSeparatorShown(True)
    box.setKeyboardTracking(False)  # a limit typed digit by digit must not trim at "2", "20"...
    box.setValue(value)
    box.setToolTip("How many rows this table keeps (the oldest go first)")
    return box


class _Both:
    """What the main window reads as `log.model`: the formatter and clear() reach both buffers."""

    def __init__(self, log: TrafficLog) -> None:
        self._log = log

    @property
    def formatter(self) -> Formatter:
        return self._log.uplinks.formatter

    @formatter.setter
    def formatter(self, fn: Formatter) -> None:
        self._log.uplinks.formatter = self._log.apps.formatter = fn

    def clear(self) -> None:
        self._log.clear()

    def rowCount(self) -> int:
        return self._log.uplinks.rowCount() + self._log.apps.rowCount()

    @property
    def rows(self) -> list[Row]:
        return self._log.uplinks.rows + self._log.apps.rows


class TrafficLog(QWidget):
    """Filter, show (both / uplinks / app traffic), pause and clear over the two buffers."""

    def __init__(
        self,
        uplink_limit: int = UPLINK_LIMIT,
        app_limit: int = APP_LIMIT,
        is_app: Callable[[Any], bool] = lambda item: isinstance(item, AppMessage),
    ) -> None:
        super().__init__()
        self.is_app = is_app
        self.uplinks, self.apps = TrafficModel(uplink_limit), TrafficModel(app_limit)
        self.model = _Both(self)
        self.uplink_filter, self.app_filter = TrafficFilter(self.uplinks), TrafficFilter(self.apps)
        self.uplink_view, self.app_view = _table(self.uplink_filter), _table(self.app_filter)
        self.filter = QLineEdit(placeholderText="Filter messages (topic, device, value, user)…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.set_filter)
        self.filter.installEventFilter(self)  # focus in: index the rows before the first key
        self.show_box = QComboBox()
        self.show_box.addItems(SHOW)
        self.show_box.setToolTip(
            "Device uplinks, app traffic (publishes, commands, subscribes, acks, denials, Modbus writes), or both"
        )
        self.show_box.currentTextChanged.connect(self.show_only)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._paused)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear)
        self.count = QLabel("")
        self.count.setObjectName("muted")
        bar = QHBoxLayout()
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.show_box)
        bar.addWidget(self.count)
        bar.addWidget(self.pause_button)
        bar.addWidget(clear)
        self.app_title, self.uplink_title = QLabel(""), QLabel("")
        split = QSplitter(Qt.Orientation.Vertical)
        self.app_box, self.uplink_box = QWidget(), QWidget()
        self.limit_box = (_limit_box(uplink_limit), _limit_box(app_limit))  # (uplinks, app traffic)
        self.limit_box[0].valueChanged.connect(lambda n: self.set_limits(uplinks=n))
        self.limit_box[1].valueChanged.connect(lambda n: self.set_limits(apps=n))
        for box, title, view in (
            (self.app_box, self.app_title, self.app_view),
            (self.uplink_box, self.uplink_title, self.uplink_view),
        ):
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            head = QHBoxLayout()
            head.addWidget(title, 1)
            head.addWidget(QLabel("keep"))
            head.addWidget(self.limit_box[box is self.app_box])
            head.addWidget(QLabel("rows"))
            v.addLayout(head)
            v.addWidget(view, 1)
            split.addWidget(box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        self.backlog: tuple[deque[Any], deque[Any]] = (deque(maxlen=uplink_limit), deque(maxlen=app_limit))
        self.skipped = 0
        self._titles()

    @property
    def paused(self) -> bool:
        return self.pause_button.isChecked()

    def set_limits(self, uplinks: int | None = None, apps: int | None = None) -> None:
        """Change either buffer's row limit (the oldest rows beyond it are dropped)."""
        for model, box, limit in ((self.uplinks, self.limit_box[0], uplinks), (self.apps, self.limit_box[1], apps)):
            if limit is not None:
                model.set_limit(limit)
                box.blockSignals(True)
                box.setValue(model.limit)
                box.blockSignals(False)
        self.backlog = (
            deque(self.backlog[0], maxlen=self.uplinks.limit),
            deque(self.backlog[1], maxlen=self.apps.limit),
        )
        self._titles()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.filter and event.type() == QEvent.Type.FocusIn:
            self.uplinks.index_all()
            self.apps.index_all()
        return super().eventFilter(watched, event)

    def set_filter(self, text: str) -> None:
        """Show only rows containing `text` (case-insensitive) in either table."""
        self.uplink_filter.set_needle(text)
        self.app_filter.set_needle(text)

    def show_only(self, which: str) -> None:
        """ "Both", "Uplinks" or "App traffic"."""
        self.app_box.setVisible(which != "Uplinks")
        self.uplink_box.setVisible(which != "App traffic")

    def add(self, items: Sequence[Any], skipped: int = 0) -> None:
        """Route a frame's messages to their buffer (app traffic or uplinks); `skipped`: dropped by the feed."""
        self.skipped += skipped
        apps = [m for m in items if self.is_app(m)]
        uplinks = [m for m in items if not self.is_app(m)] if apps else list(items)
        if self.paused:
            self.backlog[0].extend(uplinks)
            self.backlog[1].extend(apps)
            self.count.setText(f"paused · {len(self.backlog[0]) + len(self.backlog[1]):,} waiting")
            return
        for model, view, new in ((self.uplinks, self.uplink_view, uplinks), (self.apps, self.app_view, apps)):
            if new:
                bar = view.verticalScrollBar()
                at_bottom = bar.value() >= bar.maximum() - 2
                model.append(new)
                if at_bottom:
                    view.scrollToBottom()
        if items or skipped:
            text = f"{self.uplinks.total + self.apps.total:,} entries"
            self.count.setText(f"{text} · {self.skipped:,} not shown (too many at once)" if self.skipped else text)
            self._titles()

    def clear(self) -> None:
        self.uplinks.clear()
        self.apps.clear()
        self._titles()

    def _titles(self) -> None:
        self.app_title.setText(
            f"App traffic (publishes, subscribes, acks, denials, Modbus writes) · {self.apps.rowCount():,}"
            f" / {self.apps.limit:,} rows"
        )
        self.uplink_title.setText(f"Device uplinks · {self.uplinks.rowCount():,} / {self.uplinks.limit:,} rows")

    def _paused(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        if not paused:
            uplinks, apps = list(self.backlog[0]), list(self.backlog[1])
            self.backlog[0].clear()
            self.backlog[1].clear()
            self.add(uplinks + apps)
