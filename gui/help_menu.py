"""The Help menu: the public contract, the user documentation, keyboard shortcuts, about.

Documentation pages are the Markdown files of docs/ (docs/api.md is the public contract). They
are read from the places an installation can hold them, first found wins: a `docs/` folder
beside the installed package (a source checkout or an editable install), then the data
directory of a system install (`{prefix}/share/doc/smartzone`). A page that is absent gets one
clear message naming where it was looked for, never a traceback.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

import smartzone

CONTRACT = "api.md"
GUIDE = "gui.md"
# (distribution, what it does here, licence): shown in About; versions are read at run time
COMPONENTS = [
    ("PySide6", "Qt for Python: the window", "LGPL-3.0 (Qt and PySide6, dynamically linked)"),
    ("pyqtgraph", "history plots", "MIT"),
    ("simpy", "discrete-event engine", "MIT"),
    ("paho-mqtt", "MQTT client", "EPL-2.0 / EDL-1.0"),
    ("amqtt", "embedded MQTT broker", "MIT"),
    ("pymodbus", "Modbus TCP gateways", "BSD-3-Clause"),
    ("pydantic", "definition schemas", "MIT"),
    ("PyYAML", "YAML loading", "MIT"),
    ("Faker", "seeded names and serials", "MIT"),
]


def doc_dirs() -> list[Path]:
    """Where documentation pages may be, in the order they are looked for."""
    package = Path(smartzone.__file__).resolve().parent
    return [package.parent / "docs", Path(sys.prefix) / "share" / "doc" / "smartzone"]


def find_doc(name: str, dirs: Iterable[Path] | None = None) -> Path | None:
    """The first `name` found in `dirs` (default: doc_dirs()), or None."""
    for folder in doc_dirs() if dirs is None else dirs:
        path = folder / name
        if path.is_file():
            return path
    return None


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


class DocViewer(QDialog):
    """A Markdown page in a read-only browser; links to other pages of docs/ open in place."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"SmartZone — {path.name}")
        self.resize(900, 640)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setSearchPaths([str(path.parent)])
        self.browser.setSource(QUrl.fromLocalFile(str(path)))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)


class HelpMenu:
    """Builds the Help menu of `window` and owns its dialogs (kept so tests and users can find them)."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.dialogs: list[QDialog] = []
        self.menu: QMenu = window.menuBar().addMenu("&Help")
        self.contract_action = self._add(
            "Public &contract (API)", lambda: self.open_doc(CONTRACT, "The public contract")
        )
        self.docs_action = self._add(
            "&User guide (desktop GUI)",
            lambda: self.open_doc(GUIDE, "The GUI guide"),
            QKeySequence.StandardKey.HelpContents,
        )
        self.pages_menu = self.menu.addMenu("&Documentation")  # every page of docs/, listed when opened
        self.pages_menu.aboutToShow.connect(self.list_pages)
        self.menu.addSeparator()
        self.keys_action = self._add("&Keyboard shortcuts", self.show_shortcuts, QKeySequence("Ctrl+/"))
        self.about_action = self._add("&About SmartZone", self.show_about)

    def _add(self, text: str, slot: object, shortcut: QKeySequence | QKeySequence.StandardKey | None = None) -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        self.menu.addAction(action)
        return action

    def _show(self, dialog: QDialog) -> QDialog:
        self.dialogs.append(dialog)
        dialog.show()
        return dialog

    def open_doc(self, name: str, what: str) -> QDialog | None:
        """Show docs/`name`, or say clearly that this installation does not have it."""
        path = find_doc(name)
        if path is None:
            looked = "\n".join(f"  {d / name}" for d in doc_dirs())
            QMessageBox.information(
                self.window,
                "Documentation not installed",
                f"{what} (docs/{name}) is not part of this installation. Looked for:\n{looked}\n\n"
                "It ships with the SmartZone source repository, in its docs/ folder.",
            )
            return None
        return self._show(DocViewer(path, self.window))

    def list_pages(self) -> None:
        """Fill Documentation with the pages found (or one disabled line saying none are installed)."""
        self.pages_menu.clear()
        folder = next((d for d in doc_dirs() if d.is_dir() and any(d.glob("*.md"))), None)
        if folder is None:
            self.pages_menu.addAction("(no documentation installed)").setEnabled(False)
            return
        for page in sorted(folder.glob("*.md")):
            action = self.pages_menu.addAction(page.stem.replace("-", " ").capitalize())
            action.triggered.connect(lambda _c=False, n=page.name: self.open_doc(n, f"The page {n}"))

    def shortcuts(self) -> list[tuple[str, str]]:
        """(action, key) for every action of the window that has a shortcut, menus included."""
        seen: dict[str, str] = {}
        for action in self.window.findChildren(QAction):
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            name = action.text().replace("&", "").rstrip("…").strip()
            if keys and name and name not in seen:
                seen[name] = keys
        return sorted(seen.items(), key=lambda item: item[0].lower())

    def show_shortcuts(self) -> QDialog:
        dialog = QDialog(self.window)
        dialog.setWindowTitle("Keyboard shortcuts")
        rows = self.shortcuts()
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels(["Action", "Keys"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, (name, keys) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(name))
            table.setItem(r, 1, QTableWidgetItem(keys))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(table)
        layout.addWidget(buttons)
        dialog.resize(420, 420)
        dialog.table = table  # type: ignore[attr-defined]
        return self._show(dialog)

    def about_text(self) -> str:
        rows = "".join(
            f"<tr><td>{name} {version(name)}</td><td>{role}</td><td>{lic}</td></tr>" for name, role, lic in COMPONENTS
        )
        return (
            f"<h3>SmartZone {version('smartzone')}</h3>"
            "<p>A smart city in a box: simulated sensors, actuators and networks behind real MQTT and "
            "Modbus TCP endpoints. Licence: Apache-2.0.</p>"
            f"<p>Python {platform.python_version()} · Qt {qt_version()}</p>"
            "<p>Built with:</p><table cellspacing='6'>"
            "<tr><th align='left'>Component</th><th align='left'>Used for</th><th align='left'>Licence</th></tr>"
            f"{rows}</table>"
            "<p>Qt and PySide6 are used under the GNU LGPL v3; you may replace them with your own build. "
            "The mosquitto broker, when used, is a separate program (EPL-2.0 / EDL-1.0).</p>"
        )

    def show_about(self) -> QDialog:
        box = QMessageBox(
            QMessageBox.Icon.NoIcon, "About SmartZone", self.about_text(), QMessageBox.StandardButton.Close, self.window
        )
        return self._show(box)


def qt_version() -> str:
    from PySide6 import QtCore

    return QtCore.qVersion()
