"""The runtime: the public Python API that the CLI, the endpoints and the GUI drive.

    rt = Runtime.load("scenarios/bologna.yaml", seed=7, fast=True, duration=3600)
    rt.subscribe(print)                      # facts, called on the engine thread
    rt.start(); rt.wait()
    rt.submit(DeviceCommand("bo-light-0001", "dim", {"level": 40})).result()

Every method is safe from any thread. Actions become calls queued to the engine thread;
facts come back on the event bus. Nothing outside the engine thread touches a device.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import smartzone.runtime.gcpolicy as gcpolicy
from smartzone.core.bridged import BridgedAnswer, BridgedReading
from smartzone.core.bus import Subscriber
from smartzone.core.commands import DeviceCommand, SetOnline
from smartzone.core.device import DeviceInfo
from smartzone.core.events import CommandResult, DeviceAdded, DeviceRemoved, Event, ServiceHealth
from smartzone.core.faults import FaultCommand
from smartzone.core.network import HopState
from smartzone.core.sandbox import SandboxCommand
from smartzone.core.world import DeviceSnapshot, World
from smartzone.definitions.catalog import Catalog, load_scenario, resolve_scenario
from smartzone.definitions.scenario import Scenario
from smartzone.runtime.engine import Engine
from smartzone.runtime.health import Health, HealthEvent, Probe, Watchdog, describe_exception, guard
from smartzone.runtime.live import LiveState

F = TypeVar("F", bound=Callable[..., Any])
ENGINE = "engine"  # the health component of the engine thread


class Runtime:
    """Owns one simulated city and the engine thread that runs it."""

    def __init__(
        self,
        scenario: Scenario,
        catalog: Catalog,
        *,
        seed: int | None = None,
        fast: bool = False,
        speed: float = 1.0,
        duration: float | None = None,
        source: str = "",
        network: bool = True,
        start: datetime | None = None,
        world_factory: Callable[..., World] = World,
    ) -> None:
        if start is not None and start != scenario.start:  # a run that starts elsewhere in time
            scenario = scenario.model_copy(update={"start": start})
        self.scenario = scenario
        self.catalog = catalog
        self.source = source
        self.world = world_factory(scenario, catalog, seed, network=network)  # a ReplayWorld plays a recording
        self.seed = self.world.seed
        self.devices: dict[str, DeviceInfo] = {d.id: d.info for d in self.world.devices.values()}
        self.live = LiveState()
        for device in self.world.devices.values():
            self.live.seed(device.id, device.values, device.state, device.online, device.seq)
        self.world.bus.subscribe(self.live.on_event)
        self.world.bus.subscribe(self._device_set_changed, (DeviceAdded, DeviceRemoved))
        self.engine = Engine(self.world, fast=fast, speed=speed, until=duration)
        self._gc_entered = False
        self._gc_lock = threading.Lock()
        self.health = Health()  # supervised parts report here (runtime/health.py)
        self.health.subscribe(self._health_fact)
        self._watchdog: Watchdog | None = None
        self._watchdog_lock = threading.Lock()
        self._watched = 0  # probes registered and not yet unwatched (the watchdog stops at zero)
        self._unwatch_engine: Callable[[], None] | None = None
        self.recorder: Any = None  # a runtime/recording.py Recorder: inputs recorded where they are applied

    def _device_set_changed(self, event: Event) -> None:
        """A sandbox device was created or deleted (engine thread): keep `devices` and `live` in step."""
        if isinstance(event, DeviceAdded):
            device = self.world.devices[event.device]
            self.live.seed(device.id, device.values, device.state, device.online, device.seq)
            self.devices[event.device] = device.info
        elif isinstance(event, DeviceRemoved):
            self.devices.pop(event.device, None)

    def _record(self, name: str, args: dict[str, Any]) -> None:
        """Record a control input (engine thread: at the point of the event order it is applied)."""
        if self.recorder is not None:
            self.recorder.input(self.world.now, name, args)

    def _control(self, name: str, args: dict[str, Any], apply: Callable[[], Any]) -> Future[Any]:
        """Queue a pacing control to the engine thread, recorded where it is applied."""

        def run(world: World) -> Any:
            self._record(name, args)
            return apply()

        return self.engine.call(run)

    @classmethod
    def load(cls, scenario: str | Path | None = None, catalog: Catalog | None = None, **options: Any) -> Runtime:
        """Load a scenario (a path, a shipped name such as 'genoa', or None for the default)."""
        catalog = catalog if catalog is not None else Catalog.builtin()
        path = resolve_scenario(None if scenario is None else str(scenario))
        return cls(load_scenario(path, catalog), catalog, source=str(path), **options)

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        gcpolicy.enter()
        self._gc_entered = True
        self.engine.on_finish = self._engine_finished  # also when the run ends on its own
        # watched before it starts: a run that ends at once must find its probe to unwatch
        self._unwatch_engine = self.watch(ENGINE, self._engine_probe)
        self.engine.start()

    def _engine_probe(self) -> str | None:
        if self.engine.ident is None or self.engine.is_alive() or self.engine.finished.is_set():
            return None
        return "the engine thread is no longer running"

    def _engine_finished(self) -> None:
        """On the engine thread when run() ends: a clean end unwatches; an error is fatal."""
        unwatch, self._unwatch_engine = self._unwatch_engine, None
        if unwatch is not None:
            unwatch()
        error = self.engine.error
        if error is not None and not isinstance(error, KeyboardInterrupt):
            self.health.fatal(ENGINE, f"the simulation failed: {describe_exception(error)}")
        self._leave_gc()

    def _leave_gc(self) -> None:
        with self._gc_lock:
            if self._gc_entered:
                self._gc_entered = False
                gcpolicy.leave()

    def pause(self) -> Future[Any]:
        return self._control("pause", {}, lambda: self.engine.set_paused(True))

    def resume(self) -> Future[Any]:
        return self._control("resume", {}, lambda: self.engine.set_paused(False))

    def step(self, seconds: float | None = None) -> Future[float]:
        """While paused: process the next event (or advance `seconds`); returns the new sim time."""

        def do(world: World) -> float:
            self._record("step", {"seconds": seconds})
            if seconds is None:
                if world.env.peek() != float("inf"):
                    world.env.step()
            else:
                world.env.run(until=world.now + seconds)
            self.engine.set_paused(True)
            return world.now

        return self.engine.call(do)

    def set_speed(self, speed: float) -> Future[Any]:
        if speed <= 0:
            raise ValueError("speed must be positive")
        return self._control("speed", {"speed": speed}, lambda: self.engine.set_speed(speed))

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the engine thread and the watchdog, and wait for them (idempotent)."""
        unwatch, self._unwatch_engine = self._unwatch_engine, None
        if unwatch is not None:
            unwatch()  # a deliberate stop is not a death
        self.engine.request_stop()
        if self.engine.is_alive():
            self.engine.join(timeout)
        self._leave_gc()
        self.stop_watchdog()

    # --- supervision ------------------------------------------------------------------------
    def watch(self, component: str, probe: Probe) -> Callable[[], None]:
        """Poll `probe` (returns a cause when its part is dead) until unwatched or stop().

        The watchdog thread starts with the first probe and stops when the last one is
        unwatched, so a runtime without supervised parts has none. A probe that returns a
        cause makes `component` fatal in `health`.
        """
        with self._watchdog_lock:
            if self._watchdog is None:
                self._watchdog = Watchdog(self.health)
                self._watchdog.start()
            dog = self._watchdog
            unwatch_probe = dog.watch(component, probe)
            self._watched += 1
        done = threading.Event()

        def unwatch() -> None:
            if done.is_set():
                return
            done.set()
            unwatch_probe()
            with self._watchdog_lock:
                idle = False
                if self._watchdog is dog:  # not already stopped by stop_watchdog()
                    self._watched -= 1
                    idle = self._watched == 0 and dog is not threading.current_thread()
                if idle:
                    self._watchdog = None
            if idle:
                dog.stop()

        return unwatch

    def guard(self, component: str, fn: F) -> F:
        """`fn` with any exception reported to `health` as survived by `component` (never raises)."""
        return guard(self.health, component, fn)

    def _health_fact(self, event: HealthEvent) -> None:
        """Outages and failures become facts on the bus (so the trace has them); survived errors do not."""
        if event.kind == "survived":
            return
        component, state, cause = event.component, event.kind, event.cause

        # on the engine thread, which owns the bus; a run that is over drops it (the call fails)
        def publish(world: World) -> None:
            self._record("health", {"component": component, "state": state, "cause": cause})
            world.bus.publish(ServiceHealth(world.now, component, state, cause))

        self.engine.call(publish)

    def stop_watchdog(self) -> None:
        with self._watchdog_lock:
            dog, self._watchdog, self._watched = self._watchdog, None, 0
        if dog is not None:
            dog.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (its duration is reached or it is stopped); re-raise engine errors."""
        done = self.engine.finished.wait(timeout)
        if self.engine.error is not None:
            raise self.engine.error
        return done

    @property
    def running(self) -> bool:
        return self.engine.is_alive() and not self.engine.finished.is_set()

    @property
    def paused(self) -> bool:
        return self.engine.paused

    @property
    def speed(self) -> float:
        return self.engine.speed

    @property
    def sim_time(self) -> float:
        return self.world.now

    def iso_time(self, t: float | None = None) -> str:
        return self.world.clock.iso(self.sim_time if t is None else t)

    # --- facts and actions ------------------------------------------------------------------
    def subscribe(self, callback: Subscriber, kinds: tuple[type[Event], ...] | None = None) -> Callable[[], None]:
        """Receive facts on the engine thread (keep callbacks short: enqueue and return)."""
        return self.world.bus.subscribe(callback, kinds)

    def on_step(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Call `hook` on the engine thread after each batch of events (see Engine.add_step_hook)."""
        return self.engine.add_step_hook(hook)

    def submit(
        self, command: DeviceCommand | SetOnline | FaultCommand | BridgedReading | BridgedAnswer | SandboxCommand
    ) -> Future[CommandResult | None]:
        """Queue a command; the future resolves with its result once the device applied it.

        A device command crosses the device's simulated downlink first (an NB-IoT command
        arrives seconds later in simulated time), so the result is the device's ack.
        SetOnline and fault commands resolve with None; a bad fault command with FaultRejected.
        """
        fut: Future[CommandResult | None] = Future()

        def run(world: World) -> None:
            try:
                if self.recorder is not None:  # here, on the engine thread: the point a re-simulation re-applies it
                    self.recorder.command(world.now, command)
                world.execute(command, fut.set_result)
            except BaseException as exc:
                if not fut.done():
                    fut.set_exception(exc)

        if not self.engine.is_alive() and not self.engine.finished.is_set():
            run(self.world)
            return fut

        def engine_failed(call: Future[Any]) -> None:
            exc = call.exception()
            if exc is not None and not fut.done():
                fut.set_exception(exc)

        self.engine.call(run).add_done_callback(engine_failed)
        return fut

    def network_summary(self, publish: bool = True) -> list[str]:
        """After the run (engine stopped): publish the final LinkStats; one line per link and hop."""
        if self.running:
            raise RuntimeError("the simulation is still running")
        if publish:
            self._record("netstats", {})
            self.world.network.publish_stats(self.world.now)
        return self.world.network.summary_lines()

    def snapshot(self, timeout: float = 5.0) -> dict[str, DeviceSnapshot]:
        """Copies of every device's live data, taken on the engine thread."""
        if not self.engine.is_alive():
            return self.world.snapshot()
        return self.engine.call(lambda w: w.snapshot()).result(timeout)

    def network_state(self) -> Future[tuple[float, tuple[HopState, ...]]]:
        """(simulated time, every backhaul/gateway's live load, queue, cut and counters), read on the
        engine thread; a future so a GUI never waits for it. Empty when network emulation is off."""

        def read(world: World) -> tuple[float, tuple[HopState, ...]]:
            net = world.network
            return world.now, net.state(world.now) if net.enabled else ()

        if not self.engine.is_alive():
            done: Future[tuple[float, tuple[HopState, ...]]] = Future()
            done.set_result(read(self.world))
            return done
        return self.engine.call(read)

    def network_routes(self) -> dict[str, str]:
        """device id -> the backhaul/gateway id its messages cross (fixed when the city is built)."""
        return self.world.network.routes() if self.world.network.enabled else {}
