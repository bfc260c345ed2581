"""The device tree (tenant > district > type > device) with a search box and status column."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from smartzone.core.device import DeviceInfo

ID_ROLE = Qt.ItemDataRole.UserRole + 1


class DeviceTree(QWidget):
    device_selected = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.search = QLineEdit(placeholderText="Search devices (id, name, address, type)…")
        self.search.setClearButtonEnabled(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Device", "Status"])
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setStretchLastSection(False)
        self.tree.setColumnWidth(1, 64)
        self.tree.header().setSectionResizeMode(0, self.tree.header().ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.items: dict[str, QTreeWidgetItem] = {}
        self._infos: dict[str, DeviceInfo] = {}
        self.search.textChanged.connect(self._filter)
        self.tree.currentItemChanged.connect(self._current_changed)
        self._muting = False

    def load(
        self,
        devices: Iterable[DeviceInfo],
        tenant_names: Mapping[str, str],
        district_names: Mapping[str, str],
        type_names: Mapping[str, str],
    ) -> None:
        self.tree.clear()
        self.items, self._infos = {}, {}
        groups: dict[tuple[str, ...], QTreeWidgetItem] = {}

        def group(key: tuple[str, ...], label: str, parent: QTreeWidgetItem | None) -> QTreeWidgetItem:
            item = groups.get(key)
            if item is None:
                item = QTreeWidgetItem([label, ""])
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
                if parent is None:
                    self.tree.addTopLevelItem(item)
                else:
                    parent.addChild(item)
                groups[key] = item
            return item

        for info in sorted(devices, key=lambda d: (d.tenant, d.district, d.type, d.id)):
            t = group((info.tenant,), tenant_names.get(info.tenant, info.tenant), None)
            d = group((info.tenant, info.district), district_names.get(info.district, info.district), t)
            y = group((info.tenant, info.district, info.type), type_names.get(info.type, info.type), d)
            item = QTreeWidgetItem([info.id, "online"])
            item.setData(0, ID_ROLE, info.id)
            item.setToolTip(0, f"{info.name} · {info.address}")
            y.addChild(item)
            self.items[info.id] = item
            self._infos[info.id] = info
        for key, item in groups.items():
            item.setText(1, str(_count_leaves(item)))
            if len(key) == 1:
                item.setExpanded(True)
        self._filter(self.search.text())

    def set_online(self, device: str, online: bool, fault: bool = False) -> None:
        item = self.items.get(device)
        if item is None:
            return
        text = "fault" if fault else ("online" if online else "offline")
        if item.text(1) != text:
            item.setText(1, text)
            colour = {"fault": "#e0483e", "offline": "#8a8f98", "online": "#2e9e5b"}[text]
            item.setForeground(1, QColor(colour))

    def select(self, device: str) -> None:
        item = self.items.get(device)
        if item is None or self.tree.currentItem() is item:
            return
        self._muting = True
        try:
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)
        finally:
            self._muting = False

    def _current_changed(self, current: QTreeWidgetItem | None, _prev: QTreeWidgetItem | None) -> None:
        if self._muting or current is None:
            return
        device = current.data(0, ID_ROLE)
        if device:
            self.device_selected.emit(str(device))

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        for device, item in self.items.items():
            info = self._infos[device]
            hay = f"{info.id} {info.name} {info.address} {info.type} {info.serial}".lower()
            item.setHidden(bool(needle) and needle not in hay)
        root = self.tree.invisibleRootItem()
        for top in _children(root):
            _hide_empty(top)
            if needle:
                _expand_all(top)


def _children(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    return [c for c in (item.child(i) for i in range(item.childCount())) if c is not None]


def _count_leaves(item: QTreeWidgetItem) -> int:
    if item.childCount() == 0:
        return 1
    return sum(_count_leaves(c) for c in _children(item))


def _hide_empty(item: QTreeWidgetItem) -> bool:
    """Hide groups without a visible device; returns True when `item` stays visible."""
    if item.data(0, ID_ROLE):
        return not item.isHidden()
    visible = False
    for child in _children(item):
        visible = _hide_empty(child) or visible
    item.setHidden(not visible)
    return visible


def _expand_all(item: QTreeWidgetItem) -> None:
    if not item.isHidden() and item.childCount():
        item.setExpanded(True)
        for child in _children(item):
            _expand_all(child)
