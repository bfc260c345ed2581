"""`smartzone gui [SCENARIO]`: open the desktop window (needs the [gui] extra: PySide6).

PySide6 is imported only inside the handler, so a headless install without the extra
still runs every other command; without it this command says what to install (exit 2).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

from smartzone.cli.errors import EXIT_USAGE, UsageError
from smartzone.wiring import add_service_options

GUI_MISSING = "the GUI needs PySide6 and pyqtgraph: install smartzone[gui] (pip install 'smartzone[gui]')"


def add_parser(sub: Any) -> None:
    p = sub.add_parser("gui", help="open the desktop GUI on a scenario (default: Bologna)")
    p.add_argument("scenario", nargs="?", help="scenario file or shipped name")
    p.add_argument("--seed", type=int, help="master random seed (default: the scenario's)")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second (default 1)")
    p.add_argument("--start", action="store_true", help="start the simulation at once")
    p.add_argument(
        "--start-hour",
        type=float,
        metavar="H",
        help="open the city at this local hour of the scenario's start date (default: the scenario's "
        "realtime_start_hour, 8, as `smartzone run` in real time; 0 = local midnight)",
    )
    p.add_argument("--replay", metavar="FILE", help="play a recording with a timeline to seek, instead of a scenario")
    p.add_argument("--record", metavar="FILE", help="record the session to play it back (docs/recording.md)")
    p.add_argument("--no-endpoints", action="store_true", help="do not start the MQTT/Modbus endpoints")
    p.add_argument("--dark", action="store_true", default=None, help="use the dark theme")
    p.add_argument("--screenshot", metavar="PNG", help="save the window to PNG after --screenshot-after s, then quit")
    p.add_argument("--screenshot-after", type=float, default=3.0, metavar="S", help=argparse.SUPPRESS)
    p.add_argument(
        "--devices",
        metavar="DIR",
        help="a folder of your own device types (*.yaml) to add; "
        "the window reloads them when they change (docs/owners.md)",
    )
    p.add_argument(
        "--class",
        dest="class_dir",
        metavar="DIR",
        help="show the board of a class folder (`smartzone class start --out DIR`) in the Class tab",
    )
    add_service_options(p)  # the endpoints' options, as on every command that starts a city
    p.set_defaults(handler=gui)


def ensure_gui_package() -> bool:
    """Make `smartzone_gui` importable; from a source checkout, prefer its gui/ folder."""
    source = Path(__file__).resolve().parents[2] / "gui"
    if (
        "smartzone_gui" not in sys.modules
        and (source / "__init__.py").is_file()
        and (source.parent / "pyproject.toml").is_file()
    ):
        spec = importlib.util.spec_from_file_location(
            "smartzone_gui", source / "__init__.py", submodule_search_locations=[str(source)]
        )
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            sys.modules["smartzone_gui"] = module
            spec.loader.exec_module(module)
    return importlib.util.find_spec("smartzone_gui") is not None


def gui_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("PySide6", "pyqtgraph"))


def gui(args: argparse.Namespace) -> int:
    if not gui_available():
        print(f"smartzone: {GUI_MISSING}", file=sys.stderr)
        return EXIT_USAGE
    if args.speed <= 0:
        raise UsageError(f"--speed must be positive, got {args.speed:g}")
    if args.seed is not None and args.seed < 0:
        raise UsageError("--seed must be zero or positive")
    if args.start_hour is not None and not 0 <= args.start_hour < 24:
        raise UsageError(f"--start-hour must be from 0 to 23.99, got {args.start_hour:g}")
    if args.screenshot_after < 0:
        raise UsageError("--screenshot-after must be zero or positive")
    if args.replay is not None:
        if args.scenario is not None:
            raise UsageError("give a scenario or --replay FILE, not both")
        if args.record:
            raise UsageError("--record and --replay cannot go together (a replay takes no inputs to record)")
        if args.seed is not None or args.start_hour is not None:
            raise UsageError("--seed and --start-hour do not apply to --replay (the recording has its own)")
        if not Path(args.replay).is_file():
            raise UsageError(f"--replay: no such recording {args.replay}")
    if args.record:  # one clear line now rather than a failure inside the window
        try:
            Path(args.record).open("ab").close()
        except OSError as exc:
            raise UsageError(f"--record: cannot write {args.record}: {exc.strerror}") from None
    if args.devices and not Path(args.devices).is_dir():
        raise UsageError(f"--devices: no such folder {args.devices}")
    if args.class_dir and not (Path(args.class_dir) / "progress.json").is_file():
        raise UsageError(
            f"--class: no class in {args.class_dir} (no progress.json; start one with `smartzone class start`)"
        )
    if not ensure_gui_package():
        print(f"smartzone: {GUI_MISSING}", file=sys.stderr)
        return EXIT_USAGE
    app = importlib.import_module("smartzone_gui.app")
    return int(
        app.run_app(
            args.scenario,
            seed=args.seed,
            speed=args.speed,
            start=args.start,
            start_hour=args.start_hour,
            endpoints=not args.no_endpoints,
            service_options=args,
            devices=args.devices,
            screenshot=args.screenshot,
            screenshot_after=args.screenshot_after,
            dark=args.dark,
            class_dir=args.class_dir,
            replay=args.replay,
        )
    )
