"""A bounded, filterable, pausable log table (the event log and the message log use it).

Rows are appended in batches (one batch per frame), the model keeps the newest MAX_ROWS,
and while paused new rows wait in a bounded backlog that is flushed on resume.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
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
Index = QModelIndex | QPersistentModelIndex


class LogModel(QAbstractTableModel):
    def __init__(self, headers: Sequence[str]) -> None:
        super().__init__()
        self.headers = list(headers)
        self.rows: deque[tuple[tuple[str, ...], str | None]] = deque()
        self.total = 0

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(self.headers)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        cells, colour = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cells[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and colour and index.column() == 1:
            return QColor(colour)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section]
        return None

    def append(self, rows: Sequence[tuple[tuple[str, ...], str | None]]) -> None:
        if not rows:
            return
        rows = list(rows)[-MAX_ROWS:]
        self.total += len(rows)
        overflow = len(self.rows) + len(rows) - MAX_ROWS
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            for _ in range(overflow):
                self.rows.popleft()
            self.endRemoveRows()
        start = len(self.rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self.rows.extend(rows)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.rows.clear()
        self.endResetModel()


class LogPanel(QWidget):
    """Filter box, pause and clear buttons over a LogModel."""

    def __init__(self, headers: Sequence[str], placeholder: str = "Filter…") -> None:
        super().__init__()
        self.model = LogModel(headers)
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
        self.backlog: deque[tuple[tuple[str, ...], str | None]] = deque(maxlen=MAX_ROWS)

    def set_widths(self, widths: Sequence[int]) -> None:
        for c, w in enumerate(widths):
            self.view.setColumnWidth(c, w)

    @property
    def paused(self) -> bool:
        return self.pause_button.isChecked()

    def add(self, rows: Sequence[tuple[tuple[str, ...], str | None]]) -> None:
        if self.paused:
            self.backlog.extend(rows)
            self.count.setText(f"paused · {len(self.backlog):,} waiting")
            return
        if not rows:
            return
        bar = self.view.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        self.model.append(rows)
        self.count.setText(f"{self.model.total:,} entries")
        if at_bottom:
            self.view.scrollToBottom()

    def _paused(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        if not paused and self.backlog:
            rows, self.backlog = list(self.backlog), deque(maxlen=MAX_ROWS)
            self.add(rows)
