"""Help menu: the contract and the guide from docs/, a clear note when a page is absent, shortcuts, about."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox
from smartzone_gui import help_menu


def test_an_absent_contract_is_a_clear_message_then_a_present_one_opens(
    window: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    said: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda _p, _t, text: said.append(text))
    monkeypatch.setattr(help_menu, "doc_dirs", lambda: [tmp_path / "docs", tmp_path / "share"])
    window.help.contract_action.trigger()
    assert len(said) == 1 and "docs/api.md" in said[0] and str(tmp_path / "docs" / "api.md") in said[0]
    (tmp_path / "share").mkdir()
    (tmp_path / "share" / "api.md").write_text("# SmartZone public contract\n\nTopics: `sz/v2/{city}/...`\n")
    window.help.contract_action.trigger()
    viewer = window.help.dialogs[-1]
    assert "SmartZone public contract" in viewer.browser.toPlainText() and len(said) == 1


def test_the_gui_guide_and_every_page_open_from_the_repository(window: Any) -> None:
    window.help.docs_action.trigger()
    text = window.help.dialogs[-1].browser.toPlainText()
    assert "The desktop GUI" in text and "How it talks to the simulation" in text
    window.help.list_pages()
    pages = {a.text(): a for a in window.help.pages_menu.actions()}
    assert {"Architecture", "Gui", "Mqtt", "Modbus"} <= set(pages)
    pages["Modbus"].trigger()
    assert "Modbus" in window.help.dialogs[-1].browser.toPlainText()


def test_keyboard_shortcuts_list_the_real_actions(window: Any) -> None:
    window.help.keys_action.trigger()
    table = window.help.dialogs[-1].table
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert rows["Open"] == "Ctrl+O" and rows["Start"] == "Space" and rows["Reset"] == "Ctrl+R"
    assert rows["Dark theme"] == "Ctrl+Shift+D" and rows["Keyboard shortcuts"] == "Ctrl+/"


def test_about_names_the_version_and_the_licences(window: Any) -> None:
    window.help.about_action.trigger()
    text = window.help.dialogs[-1].text()
    assert f"SmartZone {metadata.version('smartzone')}" in text
    assert f"pyqtgraph {metadata.version('pyqtgraph')}" in text and "LGPL-3.0" in text and "Apache-2.0" in text
