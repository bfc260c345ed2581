"""The window at laptop and desktop sizes (offscreen): it fits, never resizes itself, nothing clipped or overlapping.

A 1366 x 768 laptop at 100 % scaling leaves about 1366 x 700 for a window (desktop panel and
title bar): the window's minimum size must fit that, and every dock must reflow (scroll)
rather than push the window bigger or draw over its neighbours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

from tests.gui.test_class_board import make_class

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SIZES = [(1366, 768), (1366, 700), (1920, 1080)]


def global_rect(w: QWidget) -> QRect:
    return QRect(w.mapToGlobal(QPoint(0, 0)), w.size())


def visible_rect(w: QWidget) -> QRect:
    """The part of `w` on screen (a scroll area clips what is scrolled away)."""
    r = global_rect(w)
    p = w.parentWidget()
    while p is not None:
        r = r.intersected(global_rect(p))
        p = p.parentWidget()
    return r


def inside_scroll_content(w: QWidget) -> bool:
    """Content of a scroll area may be larger than what shows: that is scrolling, not clipping."""
    p = w.parentWidget()
    while p is not None:
        if isinstance(p.parentWidget(), QAbstractScrollArea) and p is p.parentWidget().viewport():
            return True
        p = p.parentWidget()
    return False


def clipped(root: QWidget) -> list[str]:
    """Visible widgets that stick out of their parent, or are smaller than their minimum size."""
    bad = []
    for w in root.findChildren(QWidget):
        p = w.parentWidget()
        if not w.isVisible() or w.isWindow() or p is None or inside_scroll_content(w):
            continue
        if w.objectName() == "qt_qmainwindow_extended_splitter":  # dock separators overhang by design
            continue
        if not p.rect().contains(w.geometry()):
            bad.append(f"{type(w).__name__} {w.objectName()!r} {w.geometry()} outside {type(p).__name__} {p.rect()}")
        hint = w.minimumSizeHint()
        policy = w.sizePolicy()
        if (
            hint.isValid()
            and w.minimumWidth() == 0
            and policy.horizontalPolicy().name != "Ignored"
            and (w.width() < min(hint.width(), w.maximumWidth()) - 1)
        ):
            text = w.text()[:40] if hasattr(w, "text") else ""
            where = type(p).__name__ + (f" {p.objectName()!r}" if p.objectName() else "")
            bad.append(
                f"{type(w).__name__} {w.objectName()!r} {text!r} in {where}: width {w.width()} < minimum {hint.width()}"
            )
    return bad


def overflowing_docks(win: Any) -> list[str]:
    """Docks whose content needs more room than the dock gives it (the dock would show a scroll bar).

    Computed from the size hints the scroll area itself uses (height-for-width when the content has
    it), so the check does not depend on when Qt gets round to showing the scroll bar."""
    bad = []
    for name, dock in win.docks.items():
        area = dock.widget()
        content, view = area.widget(), area.viewport().size()
        need_h = content.heightForWidth(view.width()) if content.hasHeightForWidth() else -1
        need_h = max(need_h, content.minimumSizeHint().height())
        need_w = content.minimumSizeHint().width()
        if need_h > view.height() or need_w > view.width():
            bad.append(f"{name}: needs {need_w}x{need_h}, has {view.width()}x{view.height()}")
    return bad


@pytest.fixture
def laid_out(window: Any, qtbot: Any, tmp_path: Path) -> Any:
    assert window.open_scenario(str(FIXTURES / "testville.yaml"))
    assert window.open_class(make_class(tmp_path / "class", trainees=30))  # the Class tab full, as in a lab
    window.select_device(next(d for d, i in window.session.runtime.devices.items() if i.type == "street-light"))
    return window


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_window_fits_and_nothing_is_clipped_or_overlapping(
    laid_out: Any, qtbot: Any, width: int, height: int
) -> None:
    win = laid_out
    assert win.minimumSize().width() <= 1366 and win.minimumSize().height() <= 700
    assert win.minimumSizeHint().width() <= 1366 and win.minimumSizeHint().height() <= 700
    win.resize(width, height)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.size().width() == width and win.size().height() == height, timeout=5000)
    for tab in range(win.inspector.tabs.count()):  # every tab, both themes: the window keeps its size
        win.inspector.tabs.setCurrentIndex(tab)
        for bottom in range(win.bottom.count()):
            win.bottom.setCurrentIndex(bottom)
            qtbot.wait(1)
            assert (win.width(), win.height()) == (width, height), (tab, bottom)
            # a label whose text just changed is laid out on a later pass of the event loop: wait
            # (bounded) for the layout to settle before judging it
            try:
                qtbot.waitUntil(lambda: not clipped(win), timeout=2000)
            except AssertionError:
                pass
            assert not clipped(win), (clipped(win), tab, bottom)
            if height >= 768:  # laptop and desktop: every dock's content fits, no scroll bar around a whole dock
                assert not overflowing_docks(win), (overflowing_docks(win), tab, bottom)
    win.dark_action.setChecked(True)
    qtbot.wait(1)
    assert (win.width(), win.height()) == (width, height)
    areas = {
        "map": win.centralWidget(),
        "toolbar": win.bar,
        "status": win.statusBar(),
        "menu": win.menuBar(),
        **{name: dock for name, dock in win.docks.items()},
    }
    rects = {name: global_rect(w) for name, w in areas.items()}
    frame = global_rect(win)
    for name, r in rects.items():
        assert frame.contains(r), (name, r, frame)
        assert r.width() > 0 and r.height() > 0, name
    names = sorted(rects)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not rects[a].intersects(rects[b]), (a, rects[a], b, rects[b])
    win.inspector.tabs.setCurrentIndex(0)
    qtbot.wait(1)
    plot = visible_rect(win.inspector.plot_stack)  # the plot, or the sentence saying why it is empty
    assert win.inspector.plot_stack.isVisible() and plot.height() >= 100, plot
    assert rects["Inspector"].contains(plot)
    assert not plot.intersects(rects["Logs"]) and not plot.intersects(rects["map"])
    assert not clipped(win), clipped(win)
    win.inspector.clear()  # nothing selected (the first thing a new user sees): still fits
    qtbot.wait(1)
    if height >= 768:
        assert not overflowing_docks(win), overflowing_docks(win)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_replay_with_its_timeline_fits_too(window: Any, qtbot: Any, tmp_path: Path, width: int, height: int) -> None:
    from smartzone.cli import main

    recording = tmp_path / "tv.jsonl.gz"
    argv = ["run", str(FIXTURES / "testville.yaml"), "--fast", "--duration", "1h", "--no-mqtt", "--no-modbus"]
    assert main([*argv, "--record", str(recording), "--quiet"]) == 0
    assert window.open_recording(recording)
    window.select_device("p-0001")
    window.resize(width, height)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == (width, height), timeout=5000)
    window.timeline.go_to.setText("nonsense")  # the red note beside the box must fit as well
    window.timeline.go_to.returnPressed.emit()
    window.seek(1800.0)
    for tab in range(window.inspector.tabs.count()):
        window.inspector.tabs.setCurrentIndex(tab)
        qtbot.wait(1)
        assert (window.width(), window.height()) == (width, height), tab
        try:
            qtbot.waitUntil(lambda: not clipped(window), timeout=2000)
        except AssertionError:
            pass
        assert not clipped(window), (clipped(window), tab)
    areas = {"toolbar": window.bar, "timeline": window.timeline, "map": window.centralWidget(), **window.docks}
    rects = {name: global_rect(w) for name, w in areas.items()}
    assert all(global_rect(window).contains(r) and r.height() > 0 for r in rects.values()), rects
    names = sorted(rects)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not rects[a].intersects(rects[b]), (a, rects[a], b, rects[b])
    bar = window.timeline
    for label in (bar.start_label, bar.end_label, bar.position, bar.problem):
        assert label.isVisible() and label.width() >= label.sizeHint().width(), label.text()
    assert bar.go_to.isVisible() and bar.problem.text() == " not a time"
