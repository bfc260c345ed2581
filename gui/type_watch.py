"""Watches an open scenario's own device types and tells when they changed and validate again.

Polls file mtimes from a 1 s QTimer (no QFileSystemWatcher: editors that save by rename
make it lose the file). A change is validated at once by loading the scenario with a fresh
catalog, off the running city: the city keeps running whatever the result. A valid change
emits `changed` (the window asks, then restarts the city like Reset); an invalid one
emits `invalid` with the problems (file, line, field), once per change.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from smartzone.definitions.catalog import Catalog, load_scenario, yaml_files
from smartzone.definitions.errors import DefinitionError

POLL_MS = 1000
Stamp = dict[str, int]


class TypeWatch(QObject):
    """Polls the files of the owner's device types (and their folders, for new files)."""

    changed = Signal()  # the types changed and everything validates: a reload may apply them
    invalid = Signal(str)  # the types changed and something does not validate: the problems

    def __init__(self, make_catalog: Callable[[], Catalog]) -> None:
        super().__init__()
        self.make_catalog = make_catalog
        self.scenario: str | None = None
        self.files: list[str] = []
        self.folders: list[str] = []
        self.problems = ""  # the problems of the last invalid change ("" when all is well)
        self._stamp: Stamp = {}
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)

    def watch(self, scenario: str, catalog: Catalog, extra_folder: str | None) -> None:
        """Watch the owner files of *catalog* (loaded for *scenario*) and *extra_folder*."""
        self.scenario = scenario
        self.files = catalog.owner_files()
        folders = {str(Path(f).parent) for f in self.files}
        if extra_folder:
            folders.add(str(extra_folder))
        self.folders = sorted(folders)
        self.problems = ""
        self._stamp = self.stamp()
        if self.files or self.folders:
            self._timer.start()
        else:
            self._timer.stop()

    def stop(self) -> None:
        self._timer.stop()

    def stamp(self) -> Stamp:
        """mtime of every watched file, and of every YAML file in the watched folders."""
        paths = set(self.files)
        for folder in self.folders:
            try:
                paths.update(str(p) for p in yaml_files(Path(folder)))
            except OSError:  # a folder that went away: its files show as missing
                pass
        out: Stamp = {}
        for path in sorted(paths):
            try:
                out[path] = Path(path).stat().st_mtime_ns
            except OSError:
                out[path] = -1
        return out

    def poll(self) -> bool:
        """Check once; True when something changed (then `changed` or `invalid` was emitted)."""
        stamp = self.stamp()
        if stamp == self._stamp or self.scenario is None:
            return False
        self._stamp = stamp
        try:
            load_scenario(self.scenario, self.make_catalog())
        except DefinitionError as exc:
            self.problems = str(exc)
            self.invalid.emit(self.problems)
            return True
        self.problems = ""
        self.changed.emit()
        return True
