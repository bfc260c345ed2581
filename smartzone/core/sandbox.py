"""The owners' sandbox: devices created and deleted at run time in a tenant of kind `sandbox`.

Requests are immutable commands applied by the world on the engine thread (World.execute),
so they are recorded and re-simulated like any command, and what they do is in the trace:
a `DeviceAdded` or `DeviceRemoved` fact per device, then one `SandboxResult`. A request is
checked completely before anything changes (a refused one changes nothing): the tenant must
be a sandbox, the device id new in the city, the type known, the district known, the
position valid, and the owner's device quota not reached.

A created device is built like a fleet's device, from streams named after its id (behaviour,
placement, Faker, network), so the same requests at the same simulated times give the same trace.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from faker import Faker

from smartzone.core.device import Device, DeviceInfo
from smartzone.core.events import DeviceAdded, DeviceRemoved, SandboxResult
from smartzone.core.placement import random_point
from smartzone.core.rng import derive_seed, stream
from smartzone.core.variation import vary

if TYPE_CHECKING:
    from smartzone.core.bus import EventBus
    from smartzone.core.clock import SimClock
    from smartzone.core.context import CityContext
    from smartzone.core.network import Network
    from smartzone.core.simenv import CityEnvironment
    from smartzone.definitions.catalog import Catalog
    from smartzone.definitions.scenario import District, Scenario

DEVICE_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")


@dataclass(frozen=True)
class AddDevice:
    """Create device `device` of `type` in sandbox tenant `tenant` (in `district`, at lat/lon or a random point)."""

    tenant: str
    device: str
    type: str
    district: str | None = None
    lat: float | None = None
    lon: float | None = None
    name: str | None = None
    source: str = "api"


@dataclass(frozen=True)
class RemoveDevice:
    """Delete device `device`, created earlier in sandbox tenant `tenant`."""

    tenant: str
    device: str
    source: str = "api"


@dataclass(frozen=True)
class ResetSandbox:
    """Delete every device created in sandbox tenant `tenant` (the scenario's own stay)."""

    tenant: str
    request: str = "reset"
    source: str = "api"


SANDBOX_COMMANDS = (AddDevice, RemoveDevice, ResetSandbox)
SandboxCommand = AddDevice | RemoveDevice | ResetSandbox


class SandboxHost(Protocol):
    """What the sandbox needs of the world (core.world.World is one): no import of the world, no circle."""

    scenario: Scenario
    catalog: Catalog
    seed: int
    bus: EventBus
    env: CityEnvironment
    clock: SimClock
    ctx: CityContext
    network: Network
    devices: dict[str, Device]

    @property
    def now(self) -> float: ...


class SandboxRefused(Exception):
    """A request that cannot be applied: `code` is one of docs/api.md's sandbox error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class Sandbox:
    """The devices created at run time, per sandbox tenant, and how to make and unmake them."""

    def __init__(self, world: SandboxHost) -> None:
        self.world = world
        self.tenants = {t.id: t for t in world.scenario.tenants if t.kind == "sandbox"}
        self.created: dict[str, list[str]] = {t: [] for t in self.tenants}  # in creation order

    def execute(self, command: SandboxCommand) -> SandboxResult:
        """Apply one request; publish its facts and its result (also returned)."""
        action = {AddDevice: "add", RemoveDevice: "remove", ResetSandbox: "reset"}[type(command)]
        request = command.request if isinstance(command, ResetSandbox) else command.device
        try:
            if command.tenant not in self.tenants:
                raise SandboxRefused("forbidden", f"tenant '{command.tenant}' is not a sandbox tenant")
            if isinstance(command, AddDevice):
                devices: tuple[str, ...] = (self._add(command),)
            elif isinstance(command, RemoveDevice):
                if command.device not in self.created[command.tenant]:
                    raise SandboxRefused(
                        "not_found", f"no device '{command.device}' was created in sandbox '{command.tenant}'"
                    )
                devices = (self._remove(command.tenant, command.device, "remove", command.source),)
            else:
                ids = list(self.created[command.tenant])
                devices = tuple(self._remove(command.tenant, d, "reset", command.source) for d in ids)
            result = SandboxResult(self.world.now, command.tenant, request, action, command.source, True, devices)
        except SandboxRefused as exc:
            result = SandboxResult(
                self.world.now,
                command.tenant,
                request,
                action,
                command.source,
                False,
                error_code=exc.code,
                error_message=exc.message,
            )
        self.world.bus.publish(result)
        return result

    # --- add ----------------------------------------------------------------------------------
    def _info(self, cmd: AddDevice) -> tuple[DeviceInfo, District]:
        """The new device's facts and its district; SandboxRefused if anything is wrong."""
        world, sc = self.world, self.world.scenario
        if not isinstance(cmd.device, str) or not DEVICE_ID.match(cmd.device):
            raise SandboxRefused("invalid_params", "device id must be 1-64 characters of a-z, 0-9 and '-'")
        if cmd.device in world.devices:
            raise SandboxRefused("duplicate", f"a device '{cmd.device}' already exists in this city")
        quota = self.tenants[cmd.tenant].limits()
        if quota is not None and len(self.created[cmd.tenant]) >= quota.devices:
            raise SandboxRefused("quota_exceeded", f"sandbox '{cmd.tenant}' may create at most {quota.devices} devices")
        dtype = world.catalog.types.get(cmd.type)
        if dtype is None:
            known = ", ".join(sorted(world.catalog.types))
            raise SandboxRefused("unknown_type", f"unknown device type '{str(cmd.type)[:40]}'; known: {known}")
        districts = {d.id: d for d in sc.districts}
        district = districts.get(cmd.district or sc.districts[0].id)
        if district is None:
            known = ", ".join(districts)
            raise SandboxRefused("invalid_params", f"unknown district '{str(cmd.district)[:40]}'; known: {known}")
        place_rng = stream(world.seed, "placement", cmd.device)
        if (cmd.lat is None) != (cmd.lon is None):
            raise SandboxRefused("invalid_params", "give both 'lat' and 'lon', or neither")
        if cmd.lat is not None and cmd.lon is not None:
            if not (-90 <= cmd.lat <= 90 and -180 <= cmd.lon <= 180):
                raise SandboxRefused("invalid_params", "'lat' must be from -90 to 90 and 'lon' from -180 to 180")
            lat, lon = float(cmd.lat), float(cmd.lon)
        else:
            lat, lon = random_point(district.polygon, place_rng)
        fake = Faker(sc.locale)
        fake.seed_instance(derive_seed(world.seed, "faker", cmd.device))
        vendor = place_rng.choice(dtype.vendors)
        info = DeviceInfo(
            id=cmd.device,
            type=dtype.type,
            tenant=cmd.tenant,
            district=district.id,
            name=(cmd.name or f"{dtype.name} {cmd.device}")[:80],
            lat=lat,
            lon=lon,
            address=fake.street_address().replace("\n", ", "),
            serial=fake.bothify("??-#####-####").upper(),
            vendor=vendor.vendor,
            model=place_rng.choice(vendor.models),
            network=dtype.network,
            report_interval=dtype.report.interval,
        )
        return info, district

    def _add(self, cmd: AddDevice) -> str:
        world = self.world
        info, district = self._info(cmd)
        dtype = world.catalog.types[info.type]
        rng = stream(world.seed, "behaviour", info.id)
        device = Device(info, dtype, world.clock, world.ctx, world.bus, rng, district.traffic, district.kind)
        vary(device, world.seed)
        world.devices[info.id] = device
        world.network.attach(device)
        self.created[cmd.tenant].append(info.id)
        info_doc: dict[str, Any] = dataclasses.asdict(info)
        world.bus.publish(DeviceAdded(world.now, info.id, cmd.tenant, info_doc, cmd.source))
        device.start(world.env)
        return info.id

    # --- remove -------------------------------------------------------------------------------
    def _remove(self, tenant: str, device_id: str, reason: str, source: str) -> str:
        world = self.world
        device = world.devices.pop(device_id)
        device.retire()
        world.network.links.pop(device_id, None)
        self.created[tenant].remove(device_id)
        world.bus.publish(DeviceRemoved(world.now, device_id, tenant, reason, source))
        return device_id
