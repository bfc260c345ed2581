"""The Sandbox menu: an owner's devices created and deleted while the city runs (docs/owners.md).

Shown when the scenario has tenants of kind `sandbox`. The requests are the same commands the
MQTT sandbox topics and `smartzone sandbox` send (smartzone.core.sandbox), submitted to the
runtime with source "gui"; their answers come back as `SandboxResult` facts on the frame
feed (`show_result`), refusals in a message box that names the code and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QWidget,
)

from smartzone.core.events import SandboxResult
from smartzone.core.sandbox import AddDevice, RemoveDevice, ResetSandbox

SOURCE = "gui"
DEVICE_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")  # as core/sandbox.py checks it


class AddDeviceDialog(QDialog):
    """Tenant, type, district and id of a new sandbox device."""

    def __init__(self, parent: QWidget, runtime: Any, tenants: list[str]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a device to a sandbox")
        self.runtime = runtime
        form = QFormLayout(self)
        self.tenant, self.type, self.district = QComboBox(), QComboBox(), QComboBox()
        self.tenant.addItems(tenants)
        for name, dtype in sorted(runtime.catalog.types.items()):
            self.type.addItem(f"{dtype.name} ({name})", name)
        for d in runtime.scenario.districts:
            self.district.addItem(d.name, d.id)
        self.device = QLineEdit()
        self.device.setPlaceholderText("a-z, 0-9 and '-', e.g. my-meter-1")
        self.problem = QLabel("")
        self.problem.setStyleSheet("color: #e0483e")
        form.addRow("Sandbox", self.tenant)
        form.addRow("Device type", self.type)
        form.addRow("District", self.district)
        form.addRow("Device id", self.device)
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.type.currentIndexChanged.connect(self._suggest)
        self._suggest()

    def _suggest(self) -> None:
        """A free id from the type's name: my-street-light-1, -2, ..."""
        base, n = f"my-{self.type.currentData()}", 1
        while f"{base}-{n}" in self.runtime.devices:
            n += 1
        self.device.setText(f"{base}-{n}")

    def _accept(self) -> None:
        device = self.device.text().strip()
        if not DEVICE_ID.match(device):
            self.problem.setText("the id takes a-z, 0-9 and '-' (not at either end), at most 64 characters")
        elif device in self.runtime.devices:
            self.problem.setText(f"a device '{device}' already exists in this city")
        else:
            self.accept()

    def command(self) -> AddDevice:
        return AddDevice(
            self.tenant.currentText(),
            self.device.text().strip(),
            str(self.type.currentData()),
            str(self.district.currentData()),
            source=SOURCE,
        )


class SandboxMenu:
    """The menu, its three actions, and the answers of the requests they sent."""

    def __init__(self, window: QMainWindow, runtime: Callable[[], Any], selected: Callable[[], str | None]) -> None:
        self.window, self.runtime, self.selected = window, runtime, selected
        self.menu = QMenu("S&andbox", window)
        self.add_action = QAction("&Add a device…", window)
        self.add_action.triggered.connect(self.add)
        self.remove_action = QAction("&Remove the selected device", window)
        self.remove_action.triggered.connect(self.remove)
        self.reset_action = QAction("Re&set a sandbox…", window)
        self.reset_action.triggered.connect(self.reset)
        for action in (self.add_action, self.remove_action, self.reset_action):
            self.menu.addAction(action)
        self.tenants: list[str] = []
        self.last_result: SandboxResult | None = None

    def load(self, runtime: Any, replay: bool) -> None:
        """Show the menu for a city with sandbox tenants (not in a replay, which takes no requests)."""
        self.tenants = [t.id for t in runtime.scenario.tenants if t.kind == "sandbox"]
        self.menu.menuAction().setVisible(bool(self.tenants))
        self.menu.setEnabled(bool(self.tenants) and not replay)
        self.menu.setToolTip("" if not replay else "a replay plays what was recorded: no new devices")
        self.update()

    def update(self) -> None:
        """Remove acts on the selected device when it belongs to a sandbox tenant."""
        rt, device = self.runtime(), self.selected()
        info = rt.devices.get(device) if rt is not None and device is not None else None
        self.remove_action.setEnabled(info is not None and info.tenant in self.tenants)

    def add(self) -> None:
        rt = self.runtime()
        if rt is None or not self.tenants:
            return
        dialog = AddDeviceDialog(self.window, rt, self.tenants)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            rt.submit(dialog.command())

    def remove(self) -> None:
        rt, device = self.runtime(), self.selected()
        info = rt.devices.get(device) if rt is not None and device is not None else None
        if info is not None:
            rt.submit(RemoveDevice(info.tenant, info.id, source=SOURCE))

    def reset(self) -> None:
        rt = self.runtime()
        if rt is None or not self.tenants:
            return
        tenant = self.tenants[0]
        if len(self.tenants) > 1:
            tenant, ok = QInputDialog.getItem(self.window, "Reset a sandbox", "Sandbox", self.tenants, 0, False)
            if not ok:
                return
        answer = QMessageBox.question(
            self.window,
            "Reset a sandbox",
            f"Delete every device created in sandbox '{tenant}'? The scenario's own devices stay.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            rt.submit(ResetSandbox(tenant, source=SOURCE))

    def show_result(self, result: SandboxResult) -> None:
        """Say how a request from this window ended: the status bar, or a box when refused."""
        self.last_result = result
        if result.ok:
            done = {"add": "added", "remove": "removed", "reset": "deleted"}.get(result.action, result.action)
            self.window.statusBar().showMessage(
                f"sandbox {result.tenant}: {done} {', '.join(result.devices) or 'nothing'}", 8000
            )
        else:
            QMessageBox.warning(
                self.window,
                "Sandbox request refused",
                f"{result.action} in sandbox '{result.tenant}' was refused: "
                f"{result.error_code}: {result.error_message}",
            )
