"""GUI responsiveness (issue 6): event-loop stall of the main window while a city runs.

A 5 ms precise QTimer on the GUI thread records when it actually fires; a stall is the
delay beyond its interval (time the event loop could not answer the user). Phases, each
in a real Qt event loop (QEventLoop.exec), offscreen unless DISPLAY/QT_QPA_PLATFORM say otherwise:

  idle      the 1,000-device scenario loaded, not running (baseline of the same run)
  10x       running at 10x with the MQTT and Modbus endpoints, a street light selected,
            the traffic log visible (the issue's scenario)
  max       the same at 3600x: the highest telemetry rate the runtime sustains here

Usage: python bench/gui_stall.py [--seconds 20] [--scenario bologna] [--no-endpoints] [--default-gil]
Prints a table; figures go to docs/benchmarks.md ("GUI").
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")

from smartzone.cli.gui_cmd import ensure_gui_package

ensure_gui_package()

from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from smartzone_gui.app import tune_process  # noqa: E402
from smartzone_gui.main_window import MainWindow  # noqa: E402
from smartzone_gui.session import Session  # noqa: E402

PROBE_MS = 5


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def measure(app: QApplication, window: MainWindow, seconds: float) -> dict[str, float]:
    """Run the real event loop for `seconds`; return stall and frame figures (ms)."""
    stamps: list[float] = []
    frames: list[float] = []
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(PROBE_MS)
    probe.timeout.connect(lambda: stamps.append(time.perf_counter()))
    session = window.session

    def on_frame(_frame: object) -> None:
        frames.append(window.frame_ms)

    session.frame.connect(on_frame)
    feed = session.feed
    readings0 = feed.total_readings if feed else 0
    sim0 = session.runtime.sim_time if session.runtime else 0.0
    t0 = time.perf_counter()
    probe.start()
    loop = QEventLoop()  # a nested loop: app.quit() would close the window (Qt 6)
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    probe.stop()
    wall = time.perf_counter() - t0
    session.frame.disconnect(on_frame)
    gaps = [(b - a) * 1000.0 - PROBE_MS for a, b in itertools.pairwise(stamps)]
    stalls = [max(0.0, g) for g in gaps]
    readings = (feed.total_readings - readings0) if feed else 0
    sim = (session.runtime.sim_time - sim0) if session.runtime else 0.0
    return {
        "stall_p50": pct(stalls, 0.50),
        "stall_p99": pct(stalls, 0.99),
        "stall_max": max(stalls, default=0.0),
        "frame_p99": pct(frames, 0.99),
        "frame_max": max(frames, default=0.0),
        "readings_s": readings / wall,
        "speed": sim / wall,
        "ticks": float(len(stamps)),
        "frames_s": len(frames) / wall,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--scenario", default="bologna")
    ap.add_argument("--no-endpoints", action="store_true")
    ap.add_argument("--default-gil", action="store_true", help="keep Python's 5 ms GIL switch interval")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    if not args.default_gil:
        tune_process()  # as `smartzone gui` does
    settings = QSettings(str(Path("/tmp") / f"smartzone-bench-{os.getpid()}.ini"), QSettings.Format.IniFormat)
    service_args = ["--mqtt-port", "0", "--modbus-port", "0"]
    session = Session(service_args=service_args, start_services=not args.no_endpoints)
    window = MainWindow(session, settings)
    window.resize(1600, 1000)
    window.show()
    results: list[tuple[str, dict[str, float]]] = []
    try:
        if not window.open_scenario(args.scenario):
            return 2
        rt = session.runtime
        assert rt is not None
        light = next((d for d, i in rt.devices.items() if i.type == "street-light"), next(iter(rt.devices)))
        window.select_device(light)
        window.bottom.setCurrentWidget(window.traffic)
        print(
            f"{rt.scenario.name}: {len(rt.devices)} devices; services {[n for n, _ in session.services]} "
            f"{session.service_errors or ''}; platform {app.platformName()}",
            flush=True,
        )
        results.append(("idle (loaded, not running)", measure(app, window, args.seconds / 2)))
        window.set_speed(10.0)
        session.start()
        results.append(("running at 10x", measure(app, window, args.seconds)))
        window.set_speed(3600.0)
        results.append(("running at 3600x", measure(app, window, args.seconds)))
    finally:
        session.close()
        window.close()
    print(
        f"\n{'phase':28} {'stall p50':>10} {'p99':>8} {'max':>8} {'frame p99':>10} {'frame max':>10} "
        f"{'readings/s':>11} {'sim x':>8} {'frames/s':>9}"
    )
    for name, r in results:
        print(
            f"{name:28} {r['stall_p50']:8.1f}ms {r['stall_p99']:6.1f}ms {r['stall_max']:6.1f}ms "
            f"{r['frame_p99']:8.1f}ms {r['frame_max']:8.1f}ms {r['readings_s']:11,.0f} {r['speed']:8,.0f} "
            f"{r['frames_s']:9.1f}"
        )
    idle = results[0][1]
    for name, r in results[1:]:
        print(
            f"{name}: stall p99 {r['stall_p99'] / max(idle['stall_p99'], 0.1):.1f}x idle; "
            f"max stall {r['stall_max']:.0f} ms (goal < 100 ms: {'met' if r['stall_max'] < 100 else 'NOT met'})"
        )
    print(
        f"statistics: {len(results)} phases, probe {PROBE_MS} ms, "
        f"mean frame rate {statistics.mean(r['frames_s'] for _, r in results[1:]):.1f}/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
