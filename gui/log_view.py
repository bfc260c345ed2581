"""A bounded, filterable, pausable log table (the event log and the message log use it).

Items (bus facts) are appended in batches, one batch per frame; the model keeps the newest
MAX_ROWS and formats an item into text only when a view asks for it (visible rows, or all
rows while a filter is typed), so thousands of messages per second cost little. While
paused, new items wait in a bounded backlog that is flushed on resume.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

MAX_ROWS = 5000
CACHE_ROWS = 4000
Index = QModelIndex | QPersistentModelIndex
Row = tuple[tuple[str, ...], str | None]
Formatter = Callable[[Any], Row]


def _identity(item: Any) -> Row:
    return item  # type: ignore[no-any-return]


class LogModel(QAbstractTableModel):
    def __init__(self, headers: Sequence[str], formatter: Formatter = _identity) -> None:
        super().__init__()
        self.headers = list(headers)
        self.formatter = formatter
        self.items: deque[Any] = deque()
        self.total = 0
        self._cache: dict[int, Row] = {}

    def row(self, i: int) -> Row:
        """The text cells and accent colour of row i (formatted on demand, cached)."""
        item = self.items[i]
        key = id(item)
        row = self._cache.get(key)
        if row is None:
            if len(self._cache) > CACHE_ROWS:
                self._cache.clear()
            row = self._cache[key] = self.formatter(item)
        return row

    @property
    def rows(self) -> list[Row]:
        return [self.row(i) for i in range(len(self.items))]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(self.headers)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        cells, colour = self.row(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return cells[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and colour and index.column() == 1:
            return QColor(colour)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section]
        return None

    def append(self, items: Sequence[Any]) -> None:
        if not items:
            return
        self.total += len(items)
        items = list(items)[-MAX_ROWS:]
        overflow = len(self.items) + len(items) - MAX_ROWS
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            for _ in range(overflow):
                self._cache.pop(id(self.items.popleft()), None)
            self.endRemoveRows()
        start = len(self.items)
        self.beginInsertRows(QModelIndex(), start, start + len(items) - 1)
        self.items.extend(items)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.items.clear()
        self._cache.clear()
        self.endResetModel()


class LogPanel(QWidget):
    """Filter box, pause and clear buttons over a LogModel."""

    def __init__(self, headers: Sequence[str], placeholder: str = "Filter…", formatter: Formatter = _identity) -> None:
        super().__init__()
        self.model = LogModel(headers, formatter)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.setShowGrid(False)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setWordWrap(False)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(True)
        for c in range(len(headers) - 1):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.Interactive)
        self.filter = QLineEdit(placeholderText=placeholder)
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._paused)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.model.clear)
        self.count = QLabel("")
        self.count.setObjectName("muted")
        bar = QHBoxLayout()
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.count)
        bar.addWidget(self.pause_button)
        bar.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.backlog: deque[Any] = deque(maxlen=MAX_ROWS)
        self.skipped = 0

    def _count_text(self) -> str:
        text = f"{self.model.total:,} entries"
        return f"{text} · {self.skipped:,} not shown (too many at once)" if self.skipped else text

    def set_widths(self, widths: Sequence[int]) -> None:
        for c, w in enumerate(widths):
            self.view.setColumnWidth(c, w)

    @property
    def paused(self) -> bool:
        return self.pause_button.isChecked()

    def add(self, rows: Sequence[Any], skipped: int = 0) -> None:
        """Show `rows`; `skipped` counts rows the feed dropped before they got here (too many per frame)."""
        self.skipped += skipped
        if self.paused:
            self.backlog.extend(rows)
            self.count.setText(f"paused · {len(self.backlog):,} waiting")
            return
        if not rows:
            self.count.setText(self._count_text())
            return
        bar = self.view.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        self.model.append(rows)
        self.count.setText(self._count_text())
        if at_bottom:
            self.view.scrollToBottom()

    def _paused(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        if not paused and self.backlog:
            rows, self.backlog = list(self.backlog), deque(maxlen=MAX_ROWS)
            self.add(rows)
