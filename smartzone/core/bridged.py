"""Real devices in the simulated city (the model part; the clients are in endpoints/realdevice).

A bridged device is a Device of a catalog type without behaviour models: its values arrive as
inputs (`BridgedReading`, submitted by the client that talks to the real device, and recorded
like any input, so a replay re-applies them) and leave through the device's simulated link and
faults like any reading. A command to it is validated and crosses its simulated downlink as
usual; then, instead of changing the state, the world publishes a `BridgedCommand` fact, the
client performs it on the real device and answers with `BridgedAnswer`: the ack (with the new
state) or an error (`timeout`, `device_error`) goes out as the command's result.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from smartzone.core.commands import CommandRejected, DeviceCommand
from smartzone.core.device import Device, DeviceInfo, _formatter
from smartzone.core.events import CommandResult, Event, StateChanged
from smartzone.core.placement import random_point
from smartzone.core.rng import stream


@dataclass(frozen=True)
class BridgedReading:
    """Values (and reported state) a real device sent, already mapped to its type's names."""

    device: str
    values: Mapping[str, Any]
    state: Mapping[str, Any] = field(default_factory=dict)
    source: str = "realdevice"


@dataclass(frozen=True)
class BridgedAnswer:
    """The real device's answer to the command `ref` of a BridgedCommand (or its timeout)."""

    device: str
    ref: int
    ok: bool
    error_code: str | None = None
    error_message: str | None = None
    source: str = "realdevice"


BRIDGED_INPUTS = (BridgedReading, BridgedAnswer)


@dataclass(frozen=True, slots=True)
class BridgedCommand(Event):
    """A command reached a bridged device over its simulated downlink: perform it on the real one."""

    kind: ClassVar[str] = "bridged_cmd"
    device: str
    ref: int
    command_id: str | None
    action: str
    params: Mapping[str, Any]


class BridgedDevice(Device):
    """A device whose values come from a real device: no models, no report schedule of its own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.models, self.event_models, self.state_models = [], [], []
        self.values = {}
        self.online = False  # until the real device is reached
        self._formats = {name: _formatter(sig) for name, sig in self.dtype.signals.items()}

    def start(self, env: Any) -> None:
        """Nothing to schedule: readings arrive as inputs."""

    def feed(self, reading: BridgedReading, t: float) -> None:
        """Take the real device's values (and state); send them as a reading over the link."""
        for name, value in reading.values.items():
            fmt = self._formats.get(name)
            if fmt is not None:
                self.values[name] = fmt(value)
        state = {k: v for k, v in reading.state.items() if k in self.state and self.state[k] != v}
        if state:
            self.state.update(state)
            self.bus.publish(StateChanged(t, self.id, dict(self.state), "device"))
        if reading.values:
            self.send(t)


@dataclass
class _Pending:
    command: DeviceCommand
    updates: dict[str, Any]
    on_result: Callable[[CommandResult | None], None] | None


class Bridges:
    """The bridged devices of a world and their commands waiting for the real device's answer."""

    def __init__(self, world: Any) -> None:  # a core.world.World (which imports this module)
        self.world = world
        self.ids: list[str] = []
        self._pending: dict[int, _Pending] = {}
        self._refs = 0

    def build(self) -> dict[str, BridgedDevice]:
        """One BridgedDevice per `bridged_devices` entry (placed in its district from its own stream)."""
        w, sc = self.world, self.world.scenario
        districts = {d.id: d for d in sc.districts}
        out: dict[str, BridgedDevice] = {}
        for spec in sc.bridged_devices:
            dtype = w.catalog.types[spec.type]
            district = districts[spec.district or sc.districts[0].id]
            lat, lon = random_point(district.polygon, stream(w.seed, "placement", spec.id))
            info = DeviceInfo(
                id=spec.id,
                type=dtype.type,
                tenant=spec.tenant,
                district=district.id,
                name=f"{dtype.name} (real device {spec.id})",
                lat=lat,
                lon=lon,
                address="",
                serial="",
                vendor=spec.vendor,
                model=spec.model,
                network=spec.network or dtype.network,
                report_interval=spec.modbus.poll if spec.modbus is not None else dtype.report.interval,
            )
            rng: random.Random = stream(w.seed, "behaviour", spec.id)
            out[spec.id] = BridgedDevice(info, dtype, w.clock, w.ctx, w.bus, rng, district.traffic, district.kind)
        self.ids = list(out)
        return out

    def execute(self, command: BridgedReading | BridgedAnswer) -> CommandResult | None:
        """Apply a real device's input on the engine thread."""
        device = self.world.devices.get(command.device)
        if not isinstance(device, BridgedDevice):
            return None
        t = self.world.now
        if isinstance(command, BridgedReading):
            device.feed(command, t)
            return None
        pending = self._pending.pop(command.ref, None)
        if pending is None:  # answered twice, or after its timeout: the first answer counted
            return None
        cmd = pending.command
        if command.ok:
            cause = f"{cmd.source}:{cmd.id}" if cmd.id else cmd.source
            state = device.apply_state(pending.updates, t, cause)
            result = CommandResult(t, cmd.device, cmd.id, cmd.action, cmd.source, True, state)
        else:
            code = command.error_code or "device_error"
            result = CommandResult(
                t,
                cmd.device,
                cmd.id,
                cmd.action,
                cmd.source,
                False,
                error_code=code,
                error_message=command.error_message,
            )
        self.world.bus.publish(result)
        if pending.on_result is not None:
            pending.on_result(result)
        return result

    def dispatch(
        self,
        device: BridgedDevice,
        command: DeviceCommand,
        updates: dict[str, Any],
        on_result: Callable[[CommandResult | None], None] | None,
    ) -> None:
        """A command arrived at the device: hand it to its client; the answer comes as BridgedAnswer."""
        if not device.online:
            raise CommandRejected("device_offline", f"device '{device.id}' is offline")
        self._refs += 1
        self._pending[self._refs] = _Pending(command, updates, on_result)
        params = dict(command.params)
        self.world.bus.publish(
            BridgedCommand(self.world.now, device.id, self._refs, command.id, command.action, params)
        )
