"""One open scenario (or recording) in the GUI: its Runtime, its services (endpoints) and the frame timer.

The engine runs on its own thread (Runtime). The session subscribes a LiveFeed to the bus
(callbacks only append) and a QTimer on the GUI thread drains it at FRAME_HZ, emitting one
`frame` signal per tick. Every action goes through the runtime's public API.

A recording opens the same way (`open_replay`): the replay runtime of runtime/replay.py with the
same endpoints (smartzone/wiring.py); `seek` moves it (runtime/replay_seek.py).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from smartzone_gui.feed import Frame, LiveFeed
from smartzone_gui.type_watch import TypeWatch

from smartzone.core.commands import DeviceCommand, SetOnline
from smartzone.core.faults import FaultCommand
from smartzone.definitions.catalog import Catalog, load_scenario, resolve_scenario
from smartzone.definitions.errors import DefinitionError
from smartzone.definitions.start import run_start
from smartzone.runtime.api import Runtime
from smartzone.runtime.clients import ClientRegistry
from smartzone.runtime.recording import Recorder, open_recording
from smartzone.runtime.replay import replay_runtime
from smartzone.runtime.replay_seek import recording_span, replay_world, seek
from smartzone.runtime.services import Service
from smartzone.wiring import service_args, start_services

FRAME_HZ = 20
SEEK_TIMEOUT_S = 120.0  # a backward seek reads the recording up to its target


class Session(QObject):
    """Owns the runtime of the open scenario; the widgets only talk to this object."""

    loaded = Signal()  # a (new) runtime is in place: rebuild the views
    frame = Signal(object)  # a Frame, FRAME_HZ times per second while a scenario is open
    run_state = Signal(str)  # "ready", "running", "paused", "finished"
    services_changed = Signal()
    rewound = Signal()  # a replay went back in time: the live state was reset, redraw everything

    def __init__(
        self,
        service_args: list[str] | None = None,
        start_services: bool = True,
        service_options: argparse.Namespace | None = None,
        devices: str | None = None,
        start_hour: float | None = None,
    ) -> None:
        super().__init__()
        # like `smartzone run` in real time: the city starts awake, at the scenario's realtime_start_hour
        # (08:00 local unless it says otherwise) or at `smartzone gui --start-hour H`
        self.start_hour = start_hour
        self.devices = devices  # `--devices DIR`: the owner's folder of types, added to every scenario
        self.types = TypeWatch(self.catalog)  # reloads the owner's types when their files change
        self.runtime: Runtime | None = None
        self.feed: LiveFeed | None = None
        self.path: str | None = None
        self.services: list[tuple[str, Service]] = []
        self.clients: ClientRegistry | None = None  # who is connected to the endpoints (Traffic panel)
        self.service_errors: dict[str, str] = {}
        self.service_args = list(service_args or [])
        self.service_options = service_options
        self.start_services = start_services
        self.record: str | None = getattr(service_options, "record", None)  # `smartzone gui --record FILE`
        self._recorder: Recorder | None = None
        self.speed = 1.0
        self.replay: str | None = None  # the recording played, when one is open (`path` is then None)
        self.span = 0.0  # the recording's length in simulated seconds
        self._scratch: tempfile.TemporaryDirectory[str] | None = None  # the recording's scenario files
        self._started = False
        self._unsubscribe: Callable[[], None] | None = None
        self._state = "ready"
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // FRAME_HZ)
        self._timer.timeout.connect(self._tick)

    # --- lifecycle ------------------------------------------------------------------------
    def open(self, scenario: str | Path | None, seed: int | None = None) -> None:
        """Load a scenario (raises DefinitionError on a bad file; the current one stays open then)."""
        catalog = self.catalog()
        path = resolve_scenario(None if scenario is None else str(scenario))
        loaded = load_scenario(path, catalog)
        start = run_start(loaded, fast=False, start_hour=self.start_hour)
        runtime = Runtime(loaded, catalog, source=str(path), seed=seed, speed=self.speed, start=start)
        self.close()
        self.types.watch(runtime.source, runtime.catalog, self.devices)
        self.runtime = runtime
        self.path = runtime.source
        if self.record:  # each scenario opened (or reset) records anew into the same file
            self._recorder = open_recording(runtime, self.record, fast=False, speed=self.speed, duration=None)
        self._show(runtime)

    def open_replay(self, path: str | Path) -> None:
        """Play a recording (raises RecordingError or DefinitionError naming the file and the problem;
        the current city stays open then). It is served on the endpoints as a live city is."""
        scratch = tempfile.TemporaryDirectory(prefix="sz-gui-replay-")
        try:
            span = recording_span(path)  # reads it all once: a damaged line is found now, not mid-play
            runtime = replay_runtime(path, speed=self.speed, workdir=Path(scratch.name))
        except BaseException:
            scratch.cleanup()
            raise
        self.close()
        self.runtime, self.path, self.replay, self.span, self._scratch = runtime, None, str(path), span, scratch
        # at the end the replay waits there (paused), so that it can still be sought back
        replay_world(runtime).on_done = lambda: runtime.engine.set_paused(True)
        self._show(runtime)

    def _show(self, runtime: Runtime) -> None:
        self.feed = LiveFeed({d.id: d.network for d in runtime.devices.values()})
        self._unsubscribe = runtime.subscribe(self.feed.on_event)
        self._started = False
        self._start_services(runtime)
        self._timer.start()
        self.loaded.emit()
        self._set_state("ready")

    def catalog(self) -> Catalog:
        """The built-in types plus the `--devices` folder (a scenario adds its own `device_types`)."""
        catalog = Catalog.builtin()
        if self.devices:
            catalog.add_folder(Path(self.devices))
            if not catalog.owner_files():
                raise DefinitionError.single(str(self.devices), "no *.yaml device types in this folder")
        return catalog

    def _start_services(self, runtime: Runtime) -> None:
        self.services, self.service_errors = [], {}
        if not self.start_services:
            self.services_changed.emit()
            return
        try:  # options parsed by `smartzone gui` win over service_args
            args = service_args(self.service_args, self.service_options)
        except Exception as exc:  # an endpoint package that fails to import is reported, not fatal
            self.service_errors["endpoints"] = f"{type(exc).__name__}: {exc}"
            self.services_changed.emit()
            return
        started: list[Service] = []

        def failed(name: str, exc: Exception) -> None:  # an endpoint that cannot start is shown, not fatal
            self.service_errors[name] = str(exc) or type(exc).__name__

        start_services(
            runtime, args, started, on_error=failed, on_start=lambda name, s: self.services.append((name, s))
        )
        self._watch_clients(runtime)
        self.services_changed.emit()

    def _watch_clients(self, runtime: Runtime) -> None:
        """Observe the managed broker and the Modbus gateways (the hooks `smartzone certify` uses)."""
        registry = ClientRegistry(sim_time=lambda: runtime.sim_time, health=runtime.health)
        try:
            watched = registry.attach(service for _name, service in self.services)
        except Exception as exc:  # observing is optional: the endpoints keep serving
            registry.detach()
            self.service_errors["clients"] = f"cannot list clients: {exc}"
            return
        self.clients = registry if watched else None

    def close(self) -> None:
        """Stop the engine and every service of the open scenario (idempotent)."""
        self._timer.stop()
        self.types.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.clients is not None:
            self.clients.detach()
            self.clients = None
        if self.runtime is not None:
            self.runtime.stop()
            if self.replay is not None:
                replay_world(self.runtime).close()  # its recording file, now that the engine stopped
            if self._recorder is not None:
                self._recorder.close(self.runtime.sim_time)
        self._recorder = None
        for _name, service in reversed(self.services):
            with contextlib.suppress(Exception):
                service.close()
        self.services = []
        self.runtime = None
        self.replay = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def reset(self, seed: int | None = None) -> None:
        """Reload the open scenario from time zero (with `seed`, or the current seed); a replay
        goes back to its start instead (its endpoints stay up)."""
        if self.replay is not None:
            self.seek(0.0)
            return
        if self.path is None:
            return
        keep = self.runtime.seed if (seed is None and self.runtime is not None) else seed
        self.open(self.path, seed=keep)

    # --- run controls ---------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    def _set_state(self, state: str) -> None:
        self._state = state
        self.run_state.emit(state)

    def start(self) -> None:
        """Start (first time) or resume the simulation."""
        rt = self.runtime
        if rt is None or self._state == "finished":
            return
        if not self._started:
            self._started = True
            rt.start()
        else:
            rt.resume()
        self._set_state("running")

    def pause(self) -> None:
        if self.runtime is not None and self._started and self._state == "running":
            self.runtime.pause()
            self._set_state("paused")

    def toggle(self) -> None:
        self.pause() if self._state == "running" else self.start()

    def step(self, seconds: float | None = None) -> None:
        """Advance one event (or `seconds` of simulated time) and stay paused."""
        rt = self.runtime
        if rt is None or self._state == "finished":
            return
        if not self._started:
            self._started = True
            rt.start()
            rt.pause()  # queued before the step: the first step starts from time zero
        rt.step(seconds)
        self._set_state("paused")

    def seek(self, t: float) -> None:
        """Move the open replay to `t` seconds after the recording's start (clamped to it); it keeps
        running if it was, otherwise it stays paused there. Forward: fast-forward; backward: played
        again from the recording at `t` (then `rewound` is emitted)."""
        rt = self.runtime
        if rt is None or self.replay is None or self.feed is None:
            return
        t = min(max(0.0, t), self.span)
        resume = self._state == "running"
        if not self._started:
            self._started = True
            rt.start()
        rt.pause().result(SEEK_TIMEOUT_S)  # the clock stands still from here: a short wait on the GUI thread
        back = t < rt.sim_time
        seek(rt, t).result(SEEK_TIMEOUT_S)
        if back:
            self.feed.reset(t)  # frames of the time after `t` are no longer true
            self.rewound.emit()
        if resume and not replay_world(rt).ended:
            rt.resume()
            self._set_state("running")
        else:
            self._set_state("finished" if replay_world(rt).ended else "paused")

    def set_speed(self, speed: float) -> None:
        self.speed = speed
        if self.runtime is not None:
            self.runtime.set_speed(speed)

    # --- actions --------------------------------------------------------------------------
    def submit(self, command: DeviceCommand | SetOnline | FaultCommand) -> Any:
        """Send a command through the runtime (the result also arrives on the bus)."""
        if self.runtime is None:
            return None
        return self.runtime.submit(command)

    # --- frames ---------------------------------------------------------------------------
    def _tick(self) -> None:
        if self.feed is None or self.runtime is None:
            return
        frame: Frame = self.feed.drain()
        if self.clients is not None:  # app traffic (publishes, Modbus writes) joins the message log
            frame.messages.extend(self.clients.drain())  # type: ignore[arg-type]
        frame.sim_time = max(frame.sim_time, self.runtime.sim_time)
        ended = self.replay is not None and replay_world(self.runtime).ended
        if self._started and self._state != "finished" and (ended or not self.runtime.running):
            self._set_state("finished")
        self.frame.emit(frame)
