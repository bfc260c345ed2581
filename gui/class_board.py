"""The Class tab: the live board of a class folder (trainee x step) and the trainer's buttons.

The class usually runs in another process (`smartzone class start`), so the board reads what that
process writes: DIR/progress.json, replaced atomically, polled twice a second and reloaded when
its modification time or size changed (a QFileSystemWatcher loses a file that is replaced by a
rename). The board never edits progress: every button queues a control with the same function
as the CLI (controls.append_control), and the running class applies it within a second.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from smartzone.classroom.controls import append_control, fault_value, next_hint
from smartzone.classroom.export import export_folder
from smartzone.classroom.progress import Cell, Progress, load_progress
from smartzone.classroom.trainer import DEVICES
from smartzone.errors import UsageError

POLL_MS = 500
# (background, text): light fills with dark text read the same in the light and the dark theme
DONE, LATE, TRIED = ("#bbf7d0", "#14532d"), ("#fed7aa", "#7c2d12"), ("#fde68a", "#713f12")


def cell_text(c: Cell) -> str:
    """`✓ 42 s`, `✗ 3 tries`, `·` (untouched); then the hints revealed: `✗ 1 try · 2 hints`."""
    if c.done:
        text = "✓" + (f" {c.time:.0f} s" if c.time is not None else "")
    elif c.attempts:
        text = f"✗ {c.attempts} {'try' if c.attempts == 1 else 'tries'}"
    else:
        text = "" if c.hints else "·"
    hints = f"{c.hints} {'hint' if c.hints == 1 else 'hints'}" if c.hints else ""
    return " · ".join(t for t in (text, hints) if t)


def cell_tooltip(user: str, step: str, c: Cell) -> str:
    time = "" if c.time is None else f"{c.time:.0f} s"
    return (
        f"{user} · step {step}\ndone: {'yes' if c.done else 'no'}{' (late)' if c.late else ''}\n"
        f"attempts: {c.attempts}\ntime: {time or '-'}\nhints: {c.hints}\nscore: {c.score}"
    )


class ClassBoard(QWidget):
    """The board of one class folder and the buttons that queue the trainer's controls."""

    def __init__(self) -> None:
        super().__init__()
        self.folder: Path | None = None
        self.progress: Progress | None = None
        self._mark: tuple[int, int] | None = None  # (mtime_ns, size) of the progress.json shown
        self.confirm: Callable[[str], bool] = self._ask  # tests answer for the trainer
        self.title = QLabel("No class open: File > Open class folder…")
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(48)  # a short Logs dock: the table scrolls, the window never grows
        self.hint_button = QPushButton("Reveal hint")
        self.hint_button.setToolTip("Count the next hint of the selected step for the selected trainee, and show it")
        self.reset_button = QPushButton("Reset trainee")
        self.reset_button.setToolTip("Clear the selected trainee's progress; its devices back to the course start")
        self.pause_button = QPushButton("Pause clock")
        self.pause_button.setToolTip("Stop (or restart) the class's simulated clock and step timers")
        self.fault_kind = QComboBox()
        self.fault_kind.setToolTip("A fault every trainee's device accepts")
        self.fault_kind.setMinimumContentsLength(8)
        self.fault_kind.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.fault_button = QPushButton("Push fault")
        self.fault_button.setToolTip("Inject the fault into every trainee's devices")
        self.clear_button = QPushButton("Clear fault")
        self.export_button = QPushButton("Export")
        self.export_button.setToolTip("Write results.csv, results.json and summary.html into the class folder")
        self.message = QLabel("")
        for label in (self.title, self.message):  # one line each, cut at the tab's width (no wrap: no growing)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        for w in (self.hint_button, self.reset_button, self.pause_button, self.fault_kind, self.fault_button):
            buttons.addWidget(w)
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        self.hint_button.clicked.connect(self.reveal_hint)
        self.reset_button.clicked.connect(self.reset_trainee)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.fault_button.clicked.connect(lambda: self.push_fault(clear=False))
        self.clear_button.clicked.connect(lambda: self.push_fault(clear=True))
        self.export_button.clicked.connect(self.export)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self._enable(False)

    # --- the folder -----------------------------------------------------------------------
    def open(self, folder: str | Path) -> bool:
        """Follow the class in `folder`; False (and a message) if it holds none."""
        path = Path(folder)
        try:
            progress = load_progress(path)
        except UsageError as exc:
            self._say(str(exc))
            return False
        if progress is None:
            self._say(f"{path}: no class here (no progress.json; start one with `smartzone class start`)")
            return False
        self.folder, self._mark = path, None
        self._fault_kinds(path)
        self.refresh()
        self.timer.start(POLL_MS)
        self._enable(True)
        self._say("")
        return True

    def refresh(self) -> bool:
        """Reload progress.json if it changed; True if the table was redrawn."""
        if self.folder is None:
            return False
        try:
            st = os.stat(self.folder / "progress.json")
            mark = (st.st_mtime_ns, st.st_size)
            if mark == self._mark:
                return False
            progress = load_progress(self.folder)
        except (OSError, UsageError) as exc:  # the class folder went away or is being replaced: keep the last board
            self._say(str(exc))
            return False
        if progress is None:
            return False
        self._mark, self.progress = mark, progress
        self._show(progress)
        return True

    def _fault_kinds(self, folder: Path) -> None:
        """The faults every trainee's device accepts (DIR/devices.json, written by the class)."""
        self.fault_kind.clear()
        try:
            city = json.loads((folder / DEVICES).read_text(encoding="utf-8"))
            kinds = [set(city["faults"][city["types"][d]]) for ds in city["trainees"].values() for d in ds]
        except (OSError, ValueError, KeyError, TypeError):
            kinds = []
        self.fault_kind.addItems(sorted(set.intersection(*kinds)) if kinds else [])
        self.fault_kind.setCurrentText("offline")  # the usual first fault of a class (if the devices have it)

    def _show(self, p: Progress) -> None:
        paused = p.paused_at is not None
        self.title.setText(
            f"Class {p.course}: {len(p.trainees)} trainees, {len(p.steps)} steps"
            f"{' · PAUSED' if paused else ''} · {self.folder}"
        )
        self.title.setToolTip(self.title.text())
        self.pause_button.setText("Resume clock" if paused else "Pause clock")
        selected = (self.table.currentRow(), self.table.currentColumn())
        self.table.setRowCount(len(p.trainees))
        self.table.setColumnCount(len(p.steps) + 1)
        self.table.setHorizontalHeaderLabels([*p.steps, "Score"])
        self.table.setVerticalHeaderLabels(p.trainees)
        top = sum(p.points.get(s, 0) for s in p.steps)
        for r, user in enumerate(p.trainees):
            for c, step in enumerate(p.steps):
                cell = p.cell(user, step)
                item = QTableWidgetItem(cell_text(cell))
                item.setToolTip(cell_tooltip(user, step, cell))
                colours = LATE if cell.done and cell.late else DONE if cell.done else TRIED if cell.attempts else None
                if colours is not None:
                    item.setBackground(QColor(colours[0]))
                    item.setForeground(QColor(colours[1]))
                self.table.setItem(r, c, item)
            done, score = p.total(user)
            self.table.setItem(r, len(p.steps), QTableWidgetItem(f"{score}/{top} · {done}/{len(p.steps)} done"))
        if selected[0] >= 0:
            self.table.setCurrentCell(*selected)

    # --- the trainer's buttons ------------------------------------------------------------
    def selection(self) -> tuple[str | None, str | None]:
        """(trainee, step) of the selected cell; the step is None on the score column."""
        p, row, col = self.progress, self.table.currentRow(), self.table.currentColumn()
        if p is None or not 0 <= row < len(p.trainees):
            return None, None
        return p.trainees[row], (p.steps[col] if 0 <= col < len(p.steps) else None)

    def reveal_hint(self) -> None:
        user, step = self.selection()
        if self.folder is None or self.progress is None or user is None or step is None:
            self._say("Select a trainee's step (a cell of the table) first")
            return
        text = next_hint(self.folder, self.progress, user, step)
        if text is None:
            self._say(f"step {step} has no hints")
            return
        append_control(self.folder, "hint", user, step)
        self._say(f"{user}, {text}")

    def reset_trainee(self) -> None:
        user, _ = self.selection()
        if self.folder is None or user is None:
            self._say("Select a trainee (a row of the table) first")
            return
        if self.confirm(f"Reset {user}? Its progress is cleared and its devices go back to the course start."):
            append_control(self.folder, "reset", user)
            self._say(f"reset of {user} queued")

    def toggle_pause(self) -> None:
        if self.folder is None or self.progress is None:
            return
        op = "resume" if self.progress.paused_at is not None else "pause"
        append_control(self.folder, op)
        self._say(f"{op} queued")

    def push_fault(self, clear: bool) -> None:
        kind = self.fault_kind.currentText()
        if self.folder is None or not kind:
            return
        try:
            value = fault_value(self.folder, [], True, kind)
        except UsageError as exc:
            self._say(str(exc))
            return
        op = "clear-fault" if clear else "fault"
        append_control(self.folder, op, value=value)
        self._say(f"{op} {kind} queued for {len(value['devices'])} device(s)")

    def export(self) -> None:
        if self.folder is None:
            return
        try:
            paths = export_folder(self.folder)
        except UsageError as exc:
            self._say(str(exc))
            return
        self._say("results written: " + ", ".join(p.name for p in paths))

    def _enable(self, on: bool) -> None:
        for w in (
            self.hint_button,
            self.reset_button,
            self.pause_button,
            self.fault_kind,
            self.fault_button,
            self.clear_button,
            self.export_button,
        ):
            w.setEnabled(on)

    def _say(self, text: str) -> None:
        """The outcome of the last action, one line (the whole of it in the tooltip)."""
        self.message.setText(text)
        self.message.setToolTip(text)

    def _ask(self, text: str) -> bool:
        answer = QMessageBox.question(self, "Reset trainee", text)
        return answer == QMessageBox.StandardButton.Yes

    def close_class(self) -> None:
        self.timer.stop()
