"""What the trainer's controls do to the running city: pause, faults for the class, a trainee's devices reset.

controls.py reads the trainer's lines from DIR/controls.jsonl; the ones that act on the city
come here. Everything goes through the runtime's public API (pause/resume, `submit` of the
same fault commands the GUI's inspector and `smartzone run`'s timeline use), except the reset
of a device's state, which has no command: it is applied by a call queued to the engine thread,
the one owner of the devices. `write_city` leaves DIR/devices.json so that the CLI and the GUI
can check a trainer's fault before queueing it, without building a city of their own.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from smartzone.core.commands import SetOnline
from smartzone.core.faults import ClearFault, InjectFault
from smartzone.definitions.course import Course, PickDevice
from smartzone.definitions.timeline import FAULT_EFFECTS

DEVICES = "devices.json"  # the class's city, as the trainer's commands need it
SOURCE = "class"  # the source of the faults the trainer pushes (shown in the GUI and the event log)


def trainee_devices(course: Course, values: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """{trainee: [device ids of its device variables]}, in the course's variable order."""
    names = [var for var, spec in course.variables.items() if isinstance(spec, PickDevice)]
    return {user: [str(v[n]) for n in names if n in v] for user, v in values.items()}


def write_city(folder: Path, rt: Any, by_trainee: Mapping[str, list[str]]) -> None:
    """DIR/devices.json: the trainees' devices, every device's type and the faults each type accepts."""
    types = {d: info.type for d, info in rt.devices.items()}
    faults = {t: sorted(set(rt.catalog.types[t].faults) | set(FAULT_EFFECTS)) for t in sorted(set(types.values()))}
    data = {"trainees": dict(by_trainee), "types": types, "faults": faults}
    (folder / DEVICES).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


class Trainer:
    """The city side of the controls (called on the class's own thread; the city runs on the engine's)."""

    def __init__(self, rt: Any, by_trainee: Mapping[str, list[str]], log: Callable[[str], None] | None = None) -> None:
        self.rt, self.by_trainee = rt, dict(by_trainee)
        self.log = log or (lambda line: print(f"smartzone: class: {line}", file=sys.stderr))
        # the course start of every trainee's device, read before the engine runs (nothing else owns it yet)
        self.start_state = {
            d: dict(rt.world.devices[d].state) for ds in by_trainee.values() for d in ds if d in rt.world.devices
        }

    def pause(self) -> None:
        self.rt.pause()

    def resume(self) -> None:
        self.rt.resume()

    def fault(self, value: Mapping[str, Any], clear: bool) -> None:
        """Inject (or clear) one fault on every device named; a device that refuses it is reported, not fatal."""
        kind = str(value["fault"])
        for device in value["devices"]:
            cmd: Any = (
                ClearFault(device, kind, SOURCE)
                if clear
                else InjectFault(
                    device, kind, value.get("signal"), value.get("magnitude"), value.get("duration"), SOURCE
                )
            )
            self._report(self.rt.submit(cmd), f"{'clear-fault' if clear else 'fault'} {kind} on {device}")

    def reset_devices(self, user: str) -> None:
        """The trainee's devices back to the course start: no fault, online, the state they started in."""
        devices = [d for d in self.by_trainee.get(user, []) if d in self.start_state]

        def reset(world: Any) -> None:  # on the engine thread
            for d in devices:
                for name in world.faults.active(d):
                    world.faults.clear(d, name, "class reset")
                device = world.devices[d]
                if not device.online:
                    world.execute(SetOnline(d, True, "class reset"), lambda _r: None)
                if device.state != self.start_state[d]:
                    device.apply_state(dict(self.start_state[d]), world.now, "class reset")

        if devices:
            self._report(self.rt.engine.call(reset), f"reset of {user}'s devices")

    def _report(self, fut: Future[Any], what: str) -> None:
        def done(f: Future[Any]) -> None:
            exc = f.exception()
            if exc is not None:
                self.log(f"{what} refused: {exc}")

        fut.add_done_callback(done)
