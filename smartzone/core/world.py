"""The simulated city: builds devices from a scenario and runs them in one SimPy environment.

The world is single-threaded and deterministic: same scenario + same seed gives the same
sequence of events. Everything random draws from a named stream of the master seed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from faker import Faker

from smartzone.core.bridged import BRIDGED_INPUTS, BridgedAnswer, BridgedDevice, BridgedReading, Bridges
from smartzone.core.bus import EventBus
from smartzone.core.calendar import holiday_dates
from smartzone.core.clock import SimClock
from smartzone.core.commands import CommandRejected, DeviceCommand, SetOnline, resolve
from smartzone.core.context import CityContext
from smartzone.core.device import Device, DeviceInfo
from smartzone.core.events import CommandResult
from smartzone.core.faults import FAULT_COMMANDS, FaultCommand, FaultManager
from smartzone.core.network import Network
from smartzone.core.placement import random_point
from smartzone.core.rng import derive_seed, stream
from smartzone.core.sandbox import SANDBOX_COMMANDS, Sandbox, SandboxCommand
from smartzone.core.simenv import CityEnvironment
from smartzone.core.timeline import Timeline
from smartzone.core.variation import Dropouts, vary
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.scenario import Scenario


@dataclass(frozen=True)
class DeviceSnapshot:
    """A copy of one device's live data at a moment of simulated time."""

    info: DeviceInfo
    values: dict[str, Any]
    state: dict[str, Any]
    online: bool
    seq: int


class World:
    """All devices of a scenario, their city context and the event bus."""

    def __init__(
        self,
        scenario: Scenario,
        catalog: Catalog,
        seed: int | None = None,
        env: CityEnvironment | None = None,
        bus: EventBus | None = None,
        network: bool = True,
    ) -> None:
        self.scenario = scenario
        self.catalog = catalog
        self.seed = scenario.seed if seed is None else seed
        self.env = env if env is not None else CityEnvironment()
        self.bus = bus if bus is not None else EventBus()
        self.holidays = holiday_dates(scenario.calendar, scenario.start)
        self.clock = SimClock(scenario.start, scenario.timezone, self.holidays)
        self.ctx = CityContext(
            self.clock, scenario.center.lat, scenario.center.lon, scenario.climate, stream(self.seed, "weather")
        )
        self.devices: dict[str, Device] = {}
        self._build()
        self.bridges = Bridges(self)  # real devices (core/bridged.py), after the simulated ones
        simulated = list(self.devices)
        self.devices.update(self.bridges.build())
        self.network = Network(scenario.networks, self.env, self.bus, self.seed, enabled=network)
        for device in self.devices.values():
            self.network.attach(device)
        self.faults = FaultManager(self)
        self.timeline = Timeline(self, scenario.timeline)
        self.dropouts = Dropouts(scenario.dropouts, self.seed, simulated, self.env, self.faults)
        self.sandbox = Sandbox(self)  # devices created and deleted at run time (core/sandbox.py)
        self._started = False

    def _build(self) -> None:
        districts = {d.id: d for d in self.scenario.districts}
        fake = Faker(self.scenario.locale)
        for fleet in self.scenario.fleets:
            dtype = self.catalog.types[fleet.type]
            names = list(districts) if fleet.districts == "all" else list(fleet.districts)
            place_rng = stream(self.seed, "placement", fleet.id_prefix)
            fake.seed_instance(derive_seed(self.seed, "faker", fleet.id_prefix))
            interval = fleet.report_interval or dtype.report.interval
            for n in range(1, fleet.count + 1):
                device_id = f"{fleet.id_prefix}-{n:04d}"
                district = districts[place_rng.choice(names)]
                lat, lon = random_point(district.polygon, place_rng)
                vendor = place_rng.choice(dtype.vendors)
                info = DeviceInfo(
                    id=device_id,
                    type=dtype.type,
                    tenant=fleet.tenant,
                    district=district.id,
                    name=f"{dtype.name} {n}",
                    lat=lat,
                    lon=lon,
                    address=fake.street_address().replace("\n", ", "),
                    serial=fake.bothify("??-#####-####").upper(),
                    vendor=vendor.vendor,
                    model=place_rng.choice(vendor.models),
                    network=fleet.network or dtype.network,
                    report_interval=interval,
                )
                rng = stream(self.seed, "behaviour", device_id)
                device = Device(info, dtype, self.clock, self.ctx, self.bus, rng, district.traffic, district.kind)
                vary(device, self.seed)
                self.devices[device_id] = device

    @property
    def now(self) -> float:
        return float(self.env.now)

    def start(self) -> None:
        """Register the SimPy processes (weather first, then devices in scenario order)."""
        if self._started:
            return
        self._started = True
        self.env.process(self.ctx.weather_process(self.env))
        for device in self.devices.values():
            device.start(self.env)
        for proc in (*self.network.processes(), *self.timeline.processes()):
            self.env.process(proc)
        self.dropouts.start()

    def run(self, until: float) -> None:
        """Run as fast as possible up to simulated time `until` (tests, fast mode)."""
        self.start()
        self.env.run(until=until)

    def execute(
        self,
        command: DeviceCommand | SetOnline | FaultCommand | BridgedReading | BridgedAnswer | SandboxCommand,
        on_result: Callable[[CommandResult | None], None] | None = None,
    ) -> CommandResult | None:
        """Apply a command; device commands publish a CommandResult, sandbox requests a SandboxResult.

        A device command that crosses a simulated downlink returns None at once; its result
        is published (and passed to *on_result*) when the device applies it: that is when
        it acks. *on_result* is called exactly once for every command (None if no result).
        Fault commands raise FaultRejected (a ValueError) when they name unknown things.
        """
        if isinstance(command, FAULT_COMMANDS):
            self.faults.execute(command)
            return self._done(None, on_result)
        if isinstance(command, BRIDGED_INPUTS):
            return self._done(self.bridges.execute(command), on_result)
        if isinstance(command, SANDBOX_COMMANDS):
            self.sandbox.execute(command)
            return self._done(None, on_result)
        t = self.now
        device = self.devices.get(command.device)
        if isinstance(command, SetOnline):
            if device is not None:
                device.set_online(command.online, t, command.reason)
            return self._done(None, on_result)
        try:
            if device is None:
                raise CommandRejected("unknown_device", f"no device '{command.device}'")
            updates = resolve(device.dtype, command.action, command.params)
            if not device.online:
                raise CommandRejected("device_offline", f"device '{device.id}' is offline")
        except CommandRejected as exc:
            return self._done(self._publish(self._rejected(command, exc)), on_result)
        link = self.network.links.get(device.id)
        if link is None and isinstance(device, BridgedDevice):
            self._to_real(device, command, updates, on_result)
            return None
        if link is None:
            return self._done(self._publish(self._apply(device, command, updates)), on_result)
        lost = CommandRejected("device_offline", "")

        def arrived() -> None:
            if isinstance(device, BridgedDevice):  # the real device does it, then answers
                self._to_real(device, command, updates, on_result)
                return
            self._done(self._publish(self._apply(device, command, updates)), on_result)

        def failed(why: str) -> None:
            lost.message = f"device '{device.id}' did not answer: {why}"
            self._done(self._publish(self._rejected(command, lost)), on_result)

        link.downlink(arrived, failed)
        return None

    def _to_real(
        self,
        device: BridgedDevice,
        command: DeviceCommand,
        updates: dict[str, Any],
        on_result: Callable[[CommandResult | None], None] | None,
    ) -> None:
        try:
            self.bridges.dispatch(device, command, updates, on_result)
        except CommandRejected as exc:
            self._done(self._publish(self._rejected(command, exc)), on_result)

    @staticmethod
    def _done(
        result: CommandResult | None, on_result: Callable[[CommandResult | None], None] | None
    ) -> CommandResult | None:
        if on_result is not None:
            on_result(result)
        return result

    def _publish(self, result: CommandResult) -> CommandResult:
        self.bus.publish(result)
        return result

    def _rejected(self, command: DeviceCommand, exc: CommandRejected) -> CommandResult:
        return CommandResult(
            self.now,
            command.device,
            command.id,
            command.action,
            command.source,
            False,
            error_code=exc.code,
            error_message=exc.message,
        )

    def _apply(self, device: Device, command: DeviceCommand, updates: dict[str, Any]) -> CommandResult:
        if not device.online:  # it went offline while the command was on its way
            return self._rejected(command, CommandRejected("device_offline", f"device '{device.id}' is offline"))
        cause = f"{command.source}:{command.id}" if command.id else command.source
        state = device.apply_state(updates, self.now, cause)
        return CommandResult(self.now, command.device, command.id, command.action, command.source, True, state)

    def snapshot(self, ids: Iterable[str] | None = None) -> dict[str, DeviceSnapshot]:
        """Copies of live device data (call on the engine thread)."""
        chosen = self.devices if ids is None else {i: self.devices[i] for i in ids if i in self.devices}
        return {i: DeviceSnapshot(d.info, dict(d.values), dict(d.state), d.online, d.seq) for i, d in chosen.items()}
