"""The Sandbox menu: an owner adds, removes and resets devices from the GUI while the city runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QDialog, QMessageBox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WAIT_MS = 15_000


def open_sandbox_city(window: Any) -> Any:
    assert window.open_scenario(str(FIXTURES / "sandbox-city.yaml"))
    window.set_speed(60.0)
    window.session.start()
    return window.session.runtime


def add_with_dialog(window: Any, monkeypatch: Any, device: str, type_: str, tenant: str = "lab-a") -> None:
    from smartzone_gui import sandbox_menu

    def fill_in(dialog: Any) -> QDialog.DialogCode:
        dialog.tenant.setCurrentText(tenant)
        dialog.type.setCurrentIndex(dialog.type.findData(type_))
        dialog.district.setCurrentIndex(dialog.district.findData("porto"))
        dialog.device.setText(device)
        dialog._accept()
        return QDialog.DialogCode(dialog.result())

    monkeypatch.setattr(sandbox_menu.AddDeviceDialog, "exec", fill_in)
    window.sandbox.add_action.trigger()


def test_the_menu_adds_removes_and_resets_devices_on_the_map_and_in_the_tree(
    window: Any, qtbot: Any, monkeypatch: Any
) -> None:
    rt = open_sandbox_city(window)
    assert window.sandbox.menu.menuAction().isVisible() and window.sandbox.tenants == ["lab-a", "lab-b"]
    before = len(window.map.markers)
    add_with_dialog(window, monkeypatch, "gui-light-1", "street-light")
    qtbot.waitUntil(lambda: "gui-light-1" in window.map.markers and "gui-light-1" in window.tree.items, timeout=WAIT_MS)
    assert rt.devices["gui-light-1"].tenant == "lab-a" and rt.devices["gui-light-1"].district == "porto"
    assert window.sandbox.last_result.ok and window.sandbox.last_result.devices == ("gui-light-1",)
    assert "added gui-light-1" in window.statusBar().currentMessage()

    window.select_device("gui-light-1")  # the inspector shows it, and Remove applies to it
    assert "gui-light-1" in window.inspector.title.text() and window.sandbox.remove_action.isEnabled()
    window.sandbox.remove_action.trigger()
    qtbot.waitUntil(lambda: "gui-light-1" not in window.map.markers, timeout=WAIT_MS)
    assert "gui-light-1" not in window.tree.items and window.selected is None
    assert len(window.map.markers) == before

    add_with_dialog(window, monkeypatch, "gui-spot-1", "parking-spot")
    qtbot.waitUntil(lambda: "gui-spot-1" in window.tree.items, timeout=WAIT_MS)
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr("smartzone_gui.sandbox_menu.QInputDialog.getItem", lambda *_a: ("lab-a", True))
    window.sandbox.reset_action.trigger()
    qtbot.waitUntil(lambda: "gui-spot-1" not in window.tree.items, timeout=WAIT_MS)
    assert len(window.map.markers) == before  # the scenario's own devices stay


def test_a_refused_request_says_why_and_the_scenario_devices_cannot_be_removed(
    window: Any, qtbot: Any, monkeypatch: Any
) -> None:
    rt = open_sandbox_city(window)
    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: warned.append(text))
    scenario_light = next(d for d, i in rt.devices.items() if i.tenant == "lab-b")  # lab-b's own fleet
    window.select_device(scenario_light)
    assert window.sandbox.remove_action.isEnabled()  # a sandbox tenant's device: the core decides
    window.sandbox.remove_action.trigger()
    qtbot.waitUntil(lambda: bool(warned), timeout=WAIT_MS)
    assert "refused: not_found" in warned[0] and scenario_light in window.tree.items
    city_device = next(d for d, i in rt.devices.items() if i.tenant == "comune")
    window.select_device(city_device)
    assert not window.sandbox.remove_action.isEnabled()  # not a sandbox's device at all


def test_the_dialog_checks_the_id_before_sending(window: Any, qtbot: Any) -> None:
    from smartzone_gui.sandbox_menu import AddDeviceDialog

    rt = open_sandbox_city(window)
    dialog = AddDeviceDialog(window, rt, ["lab-a"])
    qtbot.addWidget(dialog)
    assert dialog.device.text().startswith("my-")  # a free id is suggested
    for bad, why in (("Bad Id", "a-z, 0-9"), (next(iter(rt.devices)), "already exists")):
        dialog.device.setText(bad)
        dialog._accept()
        assert why in dialog.problem.text() and dialog.result() != QDialog.DialogCode.Accepted


def test_the_menu_is_hidden_without_sandboxes(window: Any) -> None:
    assert window.open_scenario(str(FIXTURES / "testville.yaml"))
    assert not window.sandbox.menu.menuAction().isVisible()
