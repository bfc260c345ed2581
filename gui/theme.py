"""Light and dark palettes (Fusion style), a small stylesheet, and the colours of the map."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    button: str
    highlight: str
    border: str
    map_bg: str
    district_pen: str
    district_label: str
    online: str = "#2e9e5b"
    offline: str = "#8a8f98"
    fault: str = "#e0483e"
    lamp_off: str = "#8196c8"  # light slate: a daytime city of switched-off lamps stays light
    lamp_on: str = "#f4b400"
    selected: str = "#1e88e5"
    busy: str = "#e8891c"  # a gateway or backhaul near capacity or losing a little

    @property
    def dark(self) -> bool:
        return self.name == "dark"


LIGHT = Theme(
    "light",
    window="#f3f4f6",
    base="#ffffff",
    alt_base="#f7f8fa",
    text="#1f2328",
    muted="#6b7280",
    button="#ffffff",
    highlight="#1e88e5",
    border="#d5d9e0",
    map_bg="#eef1f5",
    district_pen="#7b8794",
    district_label="#3c4654",
)
DARK = Theme(
    "dark",
    window="#1e2127",
    base="#16181d",
    alt_base="#1b1e24",
    text="#e6e8eb",
    muted="#9aa3ae",
    button="#2a2e36",
    highlight="#3d8fd9",
    border="#343a44",
    map_bg="#14171c",
    district_pen="#5c6878",
    district_label="#c3cad4",
    lamp_off="#56627c",
    offline="#6b7280",
)

DISTRICT_FILL = {
    "centre": "#e8a33d",
    "residential": "#5b9bd5",
    "commercial": "#a77bd1",
    "industrial": "#8d8d8d",
    "mixed": "#4fb3a9",
    "port": "#3f7fbf",
    "park": "#5cb85c",
}


def palette(theme: Theme) -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: theme.window,
        QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Base: theme.base,
        QPalette.ColorRole.AlternateBase: theme.alt_base,
        QPalette.ColorRole.Text: theme.text,
        QPalette.ColorRole.Button: theme.button,
        QPalette.ColorRole.ButtonText: theme.text,
        QPalette.ColorRole.Highlight: theme.highlight,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: theme.base,
        QPalette.ColorRole.ToolTipText: theme.text,
        QPalette.ColorRole.PlaceholderText: theme.muted,
        QPalette.ColorRole.Link: theme.highlight,
        QPalette.ColorRole.Mid: theme.border,
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(theme.muted))
    return p


def stylesheet(t: Theme) -> str:
    return f"""
QMainWindow::separator {{ background: {t.border}; width: 1px; height: 1px; }}
QDockWidget {{ font-weight: 600; }}
QDockWidget::title {{ padding: 6px 8px; background: {t.window}; border-bottom: 1px solid {t.border}; }}
QToolBar {{ spacing: 6px; padding: 4px 8px; border-bottom: 1px solid {t.border}; background: {t.window}; }}
QToolBar QToolButton {{ padding: 4px 10px; border-radius: 5px; }}
QToolBar QToolButton:hover {{ background: {t.alt_base}; border: 1px solid {t.border}; }}
QToolButton#primary {{ background: {t.highlight}; color: white; font-weight: 600; }}
QLabel#clock {{ font-size: 15pt; font-weight: 600; font-family: monospace; padding: 0 6px; }}
QLabel#muted, QLabel[muted="true"] {{ color: {t.muted}; }}
QLabel#title {{ font-size: 13pt; font-weight: 600; }}
QLabel#badge {{ border-radius: 8px; padding: 2px 8px; color: white; font-weight: 600; }}
QGroupBox {{ border: 1px solid {t.border}; border-radius: 6px; margin-top: 14px; padding: 8px 6px 6px 6px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {t.muted}; font-weight: 600; }}
QTableView, QTreeView, QTreeWidget, QTableWidget {{ border: 1px solid {t.border}; gridline-color: {t.border}; }}
QHeaderView::section {{ padding: 4px 6px; border: none; border-bottom: 1px solid {t.border};
    background: {t.alt_base}; color: {t.muted}; font-weight: 600; }}
QTabWidget::pane {{ border-top: 1px solid {t.border}; }}
QTabBar::tab {{ padding: 6px 14px; }}
QTabBar::tab:selected {{ border-bottom: 2px solid {t.highlight}; font-weight: 600; }}
QLineEdit {{ padding: 4px 6px; border: 1px solid {t.border}; border-radius: 4px; background: {t.base}; }}
QComboBox, QSpinBox, QDoubleSpinBox {{ min-height: 22px; }}
QStatusBar {{ border-top: 1px solid {t.border}; }}
QStatusBar QLabel {{ padding: 0 8px; color: {t.muted}; }}
"""


def apply(app: QApplication, theme: Theme) -> None:
    app.setStyle("Fusion")
    app.setPalette(palette(theme))
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 10.0))
    app.setFont(font)
    app.setStyleSheet(stylesheet(theme))
