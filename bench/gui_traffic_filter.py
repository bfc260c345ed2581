"""GUI Traffic tab (issue 17): time per filter key over 5,000 uplink rows while rows arrive at 3600x.

The real TrafficLog widget (gui/traffic_log.py) is shown offscreen with 5,000 device uplinks
and 200 app messages, formatted by the GUI's real row functions. Between two keys one frame
of new uplinks arrives (the 3600x rate of bench/gui_stall.py, 4,356 readings/s, at the GUI's
20 frames/s). A key is timed from setText() to the end of processEvents() (filter, layout and
repaint of both tables). Before typing, a FocusIn on the filter box is timed apart (clicking
into it: TrafficLog builds the lowered-text index of every buffered row then), and so is the
first key after it. Baseline of the same run: an empty-filter refresh (the filter
re-evaluated with nothing typed, then the repaint). The message log before issue 17 (one
LogPanel, QSortFilterProxyModel.setFilterFixedString over every cell) is measured the same way.

Usage: python bench/gui_traffic_filter.py [--rows 5000] [--rate 4356] [--rounds 5]
Prints a table; figures go to docs/benchmarks.md ("GUI: Traffic filter").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from smartzone.cli.gui_cmd import ensure_gui_package

ensure_gui_package()

from PySide6.QtCore import QCoreApplication, QEvent  # noqa: E402
from PySide6.QtGui import QFocusEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from smartzone_gui.clients_view import app_message_row  # noqa: E402
from smartzone_gui.log_view import LogPanel  # noqa: E402
from smartzone_gui.rows import message_row  # noqa: E402
from smartzone_gui.traffic_log import TrafficLog  # noqa: E402

from smartzone.core.events import Reading  # noqa: E402
from smartzone.runtime.clients import AppMessage  # noqa: E402

FRAME_HZ = 20
QUERIES = ["light-0042", "denied", '"level":7', "meter"]  # typed key by key


def _iso(t: float) -> str:
    return f"2026-05-04T10:{int(t) // 60 % 60:02d}:{t % 60:06.3f}+00:00"


def _fmt(item: Any) -> Any:
    if isinstance(item, AppMessage):
        return app_message_row(item, _iso)
    return message_row(item, None, "bologna", _iso)


class Source:
    """Uplinks from 1,000 devices (lights and meters) in arrival order, and a few app messages."""

    def __init__(self) -> None:
        self.n = 0

    def uplinks(self, count: int) -> list[Reading]:
        out = []
        for _ in range(count):
            self.n += 1
            kind = "light" if self.n % 3 else "meter"
            out.append(Reading(self.n * 0.8, f"{kind}-{self.n % 1000:04d}", self.n, {"level": self.n % 100}))
        return out

    def apps(self, count: int) -> list[AppMessage]:
        return [
            AppMessage(
                float(i),
                "mqtt",
                "dash/board",
                f"sz/v2/bologna/comune/light/light-{i:04d}/cmd",
                '{"dim":40}',
                i % 4 != 0,
            )
            for i in range(count)
        ]


def _timed(app: QCoreApplication, action: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    action()
    app.processEvents()
    return (time.perf_counter() - t0) * 1000.0


def measure(app: QCoreApplication, widget: Any, rows: int, rate: int, rounds: int, old: bool) -> dict[str, float]:
    """Per-key and empty-filter-refresh times (ms) for one widget."""
    src = Source()
    widget.add(src.apps(200) + src.uplinks(rows))
    widget.resize(1200, 800)
    widget.show()
    app.processEvents()
    per_frame = max(1, rate // FRAME_HZ)
    keys: list[float] = []
    # Clicking into the filter box: TrafficLog indexes the buffered rows then (the old log does nothing)
    focus = _timed(app, lambda: QApplication.sendEvent(widget.filter, QFocusEvent(QEvent.Type.FocusIn)))
    base: list[float] = []
    for _ in range(rounds):
        for query in QUERIES:
            for i in range(1, len(query) + 1):
                widget.add(src.uplinks(per_frame))  # the frame that arrived since the previous key
                app.processEvents()
                keys.append(_timed(app, partial(widget.filter.setText, query[:i])))
            widget.add(src.uplinks(per_frame))
            app.processEvents()
            widget.filter.setText("")
            app.processEvents()
            base.append(_timed(app, (lambda: widget.proxy.invalidate()) if old else (lambda: _refresh(widget))))
    widget.hide()
    first, keys = keys[0], keys[1:]  # the first key after the focus
    return {
        "first key": first,
        "focus": focus,
        "key p50": statistics.median(keys),
        "key p95": sorted(keys)[int(0.95 * len(keys))],
        "key max": max(keys),
        "baseline": statistics.median(base),
    }


def _refresh(log: TrafficLog) -> None:
    """Re-evaluate both filters with nothing typed (what an empty-filter refresh costs)."""
    log.uplink_filter.invalidate()
    log.app_filter.invalidate()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--rate", type=int, default=4356, help="uplinks per second at 3600x (bench/gui_stall.py)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    new = TrafficLog()
    new.model.formatter = _fmt
    old = LogPanel(["Sim time", "Topic", "Payload"], formatter=_fmt)
    results = {
        "TrafficLog (indexed, two buffers)": measure(app, new, args.rows, args.rate, args.rounds, False),
        "before: LogPanel (setFilterFixedString)": measure(app, old, args.rows, args.rate, args.rounds, True),
    }
    print(
        f"{args.rows:,} uplink rows + 200 app rows, {args.rate:,} uplinks/s arriving ({args.rate // FRAME_HZ} per "
        f"frame), {args.rounds} rounds of {len(QUERIES)} queries typed key by key"
    )
    cols = ["key p50", "key p95", "key max", "1st key", "focus", "baseline", "p50/base"]
    print(f"{'widget':42} " + " ".join(f"{c:>9}" for c in cols))
    for name, r in results.items():
        print(
            f"{name:42} {r['key p50']:8.1f}ms {r['key p95']:8.1f}ms {r['key max']:8.1f}ms "
            f"{r['first key']:8.1f}ms {r['focus']:8.1f}ms {r['baseline']:8.1f}ms "
            f"{r['key p50'] / max(r['baseline'], 1e-6):9.2f}"
        )


if __name__ == "__main__":
    main()
