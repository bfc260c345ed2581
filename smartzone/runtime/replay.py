"""Playing a recording back: a replay world for live endpoints, and a re-simulation.

`ReplayWorld` stands in for the simulation of a runtime: instead of device processes it
runs one SimPy process that re-publishes the recorded events on the bus at their recorded
simulated times, so the engine's pacing (speed, pause) and every bus consumer (the MQTT
bridge, LiveState and through it the Modbus gateways) serve them unchanged. Commands are
refused (`forbidden`, REPLAY_REFUSED) and counted.

`resimulate` runs the recorded scenario again from its YAML and seed in fast mode and
re-applies each recorded input at the same point of the event order (its `t` and `n`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Generator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import simpy
from simpy.core import StopSimulation

from smartzone.core.commands import DeviceCommand
from smartzone.core.events import (
    CommandResult,
    Event,
    FaultChanged,
    Reading,
    ServiceHealth,
    StateChanged,
    StatusChanged,
)
from smartzone.core.simenv import CityEnvironment
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.scenario import Scenario
from smartzone.runtime.api import Runtime
from smartzone.runtime.recording import (
    COMMAND_CLASSES,
    Recorder,
    RecordingError,
    decode_command,
    event_from_record,
    read_recording,
)

REPLAY_REFUSED = "replay: the recorded city does not take commands"


def load_recorded_scenario(header: dict[str, Any], workdir: Path) -> tuple[Scenario, Catalog]:
    """The scenario and device types a recording carries, loaded from files written to `workdir`."""
    types = workdir / "devices"
    types.mkdir(parents=True, exist_ok=True)
    for name, text in header["device_types"].items():
        (types / f"{name}.yaml").write_text(text, encoding="utf-8")
    for relative, text in header.get("data_files", {}).items():  # csv_series data, beside its types
        target = (types / relative).resolve()
        if types.resolve() in target.parents:  # never outside the scratch folder
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    catalog = Catalog.load(types.glob("*.yaml"))
    path = workdir / (header.get("scenario") or "scenario.yaml")
    path.write_text(header["scenario_yaml"], encoding="utf-8")
    return load_scenario(path, catalog), catalog


class ReplayWorld(World):
    """A world whose only process re-publishes recorded events (see the module docstring)."""

    def __init__(
        self,
        *args: Any,
        records: Iterator[dict[str, Any]],
        first: float = 0.0,
        last: float | None = None,
        loop: bool = False,
        reopen: Callable[[], Iterator[dict[str, Any]]] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs["env"] = CityEnvironment(initial_time=first)
        super().__init__(*args, **kwargs)
        self.first, self.last, self.loop = first, last, loop
        self.refused = 0  # commands sent during the replay
        self.played = 0
        self.ended = False  # the last event was played (a rewind plays again)
        self.on_done: Callable[[], None] | None = None  # called when the last event was played
        self._reopen = reopen
        self._records = records
        self._pending: dict[str, Any] | None = None
        self._player: Generator[simpy.Event, Any, None] | None = None  # the play process, on the current clock
        self.prelude: list[FaultChanged] = []  # faults before `first`: the runtime folds them into its live state
        # each device as built, before any recorded event: where a rewind starts folding again
        self._initial = {d.id: (dict(d.values), dict(d.state), d.online, d.seq) for d in self.devices.values()}
        self._catch_up()

    def _catch_up(self) -> None:
        """Fold the events before `first` into the devices, so documents and registers start right."""
        self._catching_up = True
        try:
            for rec in self._records:
                if rec.get("kind") in ("input", "end"):
                    continue
                if rec["t"] >= self.first:
                    self._pending = rec
                    return
                self._fold(event_from_record(rec))
        finally:
            self._catching_up = False

    def rewind(self, t: float) -> None:
        """Engine thread: play again from `t` (earlier than now), as `--from t` would: a fresh clock
        at `t`, the devices back to their recorded state at `t` (and `prelude` their faults then).
        The engine must re-anchor its pacing afterwards."""
        if self._reopen is None:
            raise RuntimeError("this replay cannot rewind (no way to read the recording again)")
        self.close()  # the old clock's play and its reading of the file end here
        self.env = CityEnvironment(initial_time=t)
        for device_id, (values, state, online, seq) in self._initial.items():
            device = self.devices.get(device_id)
            if device is not None:
                device.values.clear()
                device.values.update(values)
                device.state.clear()
                device.state.update(state)
                device.online, device.seq = online, seq
        self.first, self.ended, self.prelude = t, False, []
        self._records, self._pending = self._reopen(), None
        self._catch_up()
        self._player = self._play()
        self.env.process(self._player)

    def close(self) -> None:
        """Stop playing and close the recording (engine thread, or after the engine stopped)."""
        if self._player is not None:
            self._player.close()
            self._player = None
        close = getattr(self._records, "close", None)  # a generator reading the file: closes it
        if close is not None:
            close()

    def _fold(self, event: Event) -> None:
        if isinstance(event, FaultChanged) and self._catching_up:
            self.prelude.append(event)
        device = self.devices.get(getattr(event, "device", ""))
        if device is None:
            return
        if isinstance(event, Reading):
            device.values.update(event.values)
            device.seq = event.seq
        elif isinstance(event, StateChanged):
            device.state.update(event.values)
        elif isinstance(event, StatusChanged):
            device.online = event.online
        elif isinstance(event, CommandResult) and event.ok:
            device.state.update(event.state)

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._player = self._play()
        self.env.process(self._player)

    def _events(self) -> Iterator[Event]:
        if self._pending is not None:
            yield event_from_record(self._pending)
        for rec in self._records:
            if rec.get("kind") in ("input", "end"):
                continue
            if self.last is not None and rec["t"] > self.last:
                return
            yield event_from_record(rec)

    def _play(self) -> Generator[simpy.Event, Any, None]:
        shift = 0.0
        while True:
            t = self.first
            for event in self._events():
                t = event.t
                due = t + shift
                if due > self.env.now:
                    yield self.env.timeout(due - self.env.now)
                if shift:  # a later pass of --loop: time goes on, never backwards
                    event = type(event)(**{**_fields(event), "t": due})
                self._fold(event)
                self.bus.publish(event)
                self.played += 1
            if not self.loop or self._reopen is None:
                self.ended = True
                if self.on_done is not None:
                    self.on_done()
                # end the engine's current run() here, at the last event, not at its paced target
                stop = self.env.event()
                stop.callbacks.append(StopSimulation.callback)
                stop.succeed()
                return
            span = (self.last if self.last is not None else t) - self.first
            shift += max(span, 1.0)
            _, self._records = None, self._reopen()
            self._pending = None
            for rec in self._records:  # skip to `first` again
                if rec.get("kind") not in ("input", "end") and rec["t"] >= self.first:
                    self._pending = rec
                    break
            if self.env.now < self.first + shift:
                yield self.env.timeout(self.first + shift - self.env.now)

    def execute(self, command: Any, on_result: Callable[[CommandResult | None], None] | None = None) -> Any:
        """Every command is refused and counted; a device command is answered `forbidden`."""
        self.refused += 1
        result = None
        if isinstance(command, DeviceCommand):
            result = CommandResult(
                self.now,
                command.device,
                command.id,
                command.action,
                command.source,
                False,
                error_code="forbidden",
                error_message=REPLAY_REFUSED,
            )
            self.bus.publish(result)
        if on_result is not None:
            on_result(result)
        return result


def _fields(event: Event) -> dict[str, Any]:
    return {name: getattr(event, name) for name in ("t", *event.__slots__)}  # type: ignore[attr-defined]


def replay_runtime(
    path: str | Path,
    *,
    speed: float = 1.0,
    first: float = 0.0,
    last: float | None = None,
    loop: bool = False,
    workdir: Path,
) -> Runtime:
    """A runtime (not started) whose world plays the recording at `path` in real time x `speed`."""
    header, records = read_recording(path)
    try:
        scenario, catalog = load_recorded_scenario(header, workdir)
    except (KeyError, TypeError, AttributeError) as exc:  # a header cut short or edited by hand
        raise RecordingError(f"{path}: line 1: not a complete recording header (missing or bad {exc})") from None

    def reopen() -> Iterator[dict[str, Any]]:
        return read_recording(path)[1]

    def factory(sc: Scenario, cat: Catalog, seed: int | None, network: bool = True) -> World:
        return ReplayWorld(
            sc, cat, seed, network=network, records=records, first=first, last=last, loop=loop, reopen=reopen
        )

    until = None if loop else last
    rt = Runtime(
        scenario,
        catalog,
        seed=header["seed"],
        speed=speed,
        duration=until,
        start=_start(header),
        source=header.get("scenario", ""),
        network=header.get("network", True),
        world_factory=factory,
    )
    world: ReplayWorld = rt.world  # type: ignore[assignment]
    world.on_done = rt.engine.request_stop
    for fault in world.prelude:  # device faults active at `first` (status bits, GUI)
        rt.live.on_event(fault)
    return rt


def _start(header: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(header["start"])


def resimulate(path: str | Path, out: str | Path) -> tuple[int, int]:
    """Run the recording's scenario again, re-applying its inputs; write a recording to `out`.

    Returns (events, inputs) written. A re-applied input lands where it was applied: after
    running to its `t`, single events are stepped until `n` events were published.
    """
    header, records = read_recording(path)
    with tempfile.TemporaryDirectory(prefix="sz-resim-") as tmp:  # the world reads csv_series data as it builds
        scenario, catalog = load_recorded_scenario(header, Path(tmp))
        rt = Runtime(
            scenario,
            catalog,
            seed=header["seed"],
            fast=True,
            duration=header.get("duration"),
            start=_start(header),
            source=header.get("scenario", ""),
            network=header.get("network", True),
        )
    world, env = rt.world, rt.world.env
    recorder = Recorder.open(out)
    recorder.attach(rt, {**header, "resimulated_from": Path(path).name})
    rt.engine._start_world()  # the same start-up step as a live engine
    end = world.now
    for rec in records:
        kind = rec.get("kind")
        if kind == "end":
            end = rec["t"]
            continue
        if kind != "input":
            continue
        t = rec["t"]
        if t > world.now:
            env.run(until=t)
        while recorder.events < rec["n"] and env.peek() <= t:  # an input applied between single steps
            env.step()
        name, args = rec["input"], rec.get("args", {})
        if name in COMMAND_CLASSES:
            rt.submit(decode_command(name, args))  # engine not running: applied now, and recorded
        elif name == "health":
            recorder.input(world.now, name, args)
            world.bus.publish(ServiceHealth(world.now, args["component"], args["state"], args["cause"]))
        elif name == "netstats":
            if end > world.now:
                env.run(until=end)
            rt.network_summary()  # records the input and publishes the final LinkStats
        else:  # pause, resume, speed, step: pacing only, kept so the two files line up
            recorder.input(world.now, name, args)
    if end > world.now:
        env.run(until=end)
    recorder.close(world.now)
    return recorder.events, recorder.inputs
