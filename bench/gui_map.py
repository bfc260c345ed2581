"""GUI map (issue 17): what one frame costs the map at 3600x, with and without the network overlay.

The real main window (offscreen Qt, 1366 x 768, no endpoints) runs the largest shipped scenario
at 3600x. Per frame (20 a second) the map's work is timed: recolouring the markers the frame
names (`CityMap.update_marker`), reading and applying the gateways' state
(`CityMap.poll_network`, which declutters the labels again when they changed), and a
synchronous repaint of the map's viewport (what Qt would paint for that frame). Times are the
GUI thread's CPU time (time.thread_time): on a shared machine the wall time mostly measures the
other processes. Phase "overlay" is the map as the GUI draws it (gateways, backhauls, the
selected device's link, decluttered labels); phase "markers only" reloads the same map without
the network overlay. The two alternate (`--rounds` each, the map reloaded before every phase) so
that a busy shared machine weighs on both alike. Ratios: overlay / markers only, and the map's
share of the 50 ms frame interval.

Usage: python bench/gui_map.py [--seconds 4] [--rounds 3]
Prints a table; figures go to docs/benchmarks.md ("GUI: map").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from smartzone.cli.gui_cmd import ensure_gui_package

ensure_gui_package()

from PySide6.QtCore import QEventLoop, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from smartzone_gui.app import tune_process  # noqa: E402
from smartzone_gui.main_window import MainWindow  # noqa: E402
from smartzone_gui.session import FRAME_HZ, Session  # noqa: E402

from smartzone.definitions.catalog import Catalog, load_scenario, resolve_scenario  # noqa: E402

SHIPPED = ("bologna", "genoa", "barcelona", "london")


def largest() -> str:
    """The shipped scenario with the most devices."""
    catalog = Catalog.builtin()
    sizes = {name: sum(f.count for f in load_scenario(resolve_scenario(name), catalog).fleets) for name in SHIPPED}
    return max(sizes, key=lambda n: (sizes[n], n))


class Meter:
    """Time spent in wrapped calls since the last take()."""

    def __init__(self) -> None:
        self.spent = 0.0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent += time.thread_time() - t0

        return timed

    def take(self) -> float:
        spent, self.spent = self.spent, 0.0
        return spent


def phase(app: QApplication, window: MainWindow, seconds: float) -> list[float]:
    """Per-frame map cost (ms) while the city runs for `seconds` of wall time."""
    meter = Meter()
    view = window.map
    view.update_marker = meter.wrap(view.update_marker)  # type: ignore[method-assign]
    view.poll_network = meter.wrap(view.poll_network)  # type: ignore[method-assign]
    costs: list[float] = []

    def after_frame(_frame: object) -> None:  # connected after the window's own slot: runs after it
        t0 = time.thread_time()
        view.viewport().repaint()
        costs.append((meter.take() + time.thread_time() - t0) * 1000.0)

    window.session.frame.connect(after_frame)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
    window.session.frame.disconnect(after_frame)
    del view.update_marker, view.poll_network  # back to the class's methods
    return costs[min(FRAME_HZ, len(costs) // 4) :]  # the first second warms caches up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="wall seconds per phase")
    parser.add_argument("--rounds", type=int, default=3, help="phases of each kind, alternating")
    args = parser.parse_args()
    tune_process()
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    name = largest()
    ini = Path(os.environ.get("TMPDIR", "/tmp")) / "sz-bench-map.ini"
    session = Session(start_services=False)
    window = MainWindow(session, QSettings(str(ini), QSettings.Format.IniFormat))
    window.resize(1366, 768)
    window.show()
    try:
        window.open_scenario(name)
        rt = session.runtime
        assert rt is not None
        routed = rt.network_routes()
        window.select_device(next(iter(routed)) if routed else next(iter(rt.devices)))
        window.set_speed(3600.0)
        session.start()
        kinds = {t: dt.kind for t, dt in rt.catalog.types.items()}
        selected = window.selected
        overlay: list[float] = []
        bare: list[float] = []
        for _ in range(args.rounds):
            for costs, routes in ((overlay, routed), (bare, None)):
                window.map.load(rt.scenario, rt.devices.values(), kinds, routes)  # None: no network overlay
                window.map.select(selected)
                for device in rt.devices:
                    window._redraw(device)
                costs.extend(phase(app, window, args.seconds))
    finally:
        session.close()
        window.close()
    budget = 1000.0 / FRAME_HZ
    print(f"{name}: {len(rt.devices):,} devices, {len(rt.scenario.networks.backhauls)} backhaul(s), 3600x, 1366x768")
    print("| map | frames | p50 | p95 | max | p50 / frame interval |")
    print("|---|---|---|---|---|---|")
    for label, costs in (("overlay (as shipped)", overlay), ("markers only", bare)):
        q = statistics.quantiles(costs, n=20)
        p50 = statistics.median(costs)
        print(f"| {label} | {len(costs)} | {p50:.2f} ms | {q[18]:.2f} ms | {max(costs):.2f} ms | {p50 / budget:.3f} |")
    print(f"overlay / markers only (p50): {statistics.median(overlay) / statistics.median(bare):.2f}")


if __name__ == "__main__":
    main()
