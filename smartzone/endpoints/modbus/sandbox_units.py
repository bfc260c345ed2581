"""Devices created at run time as units of their tenant's sandbox gateway (gateways.py).

DeviceAdded / DeviceRemoved arrive on the engine thread; they are handed to the Modbus loop
thread (loop.call_soon_threadsafe), the only thread that changes a gateway's units. A change
replaces the unit tables (the gateway's, its server's, its pymodbus datastore's) by new dicts,
never edits them in place, so a reader on another thread (describe(), the watchdog) always
sees a whole table, and a request being answered never sees half a unit.

A created device takes the lowest free unit of 1..reserved; a deleted one frees its unit,
which then answers 0x0B (gateway target failed to respond) like any unit id that is not served.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Protocol

from pymodbus.simulator.simcore import SimCore
from pymodbus.simulator.simruntime import SimRuntime

from smartzone.core.device import DeviceInfo
from smartzone.core.events import DeviceAdded, DeviceRemoved, Event
from smartzone.endpoints.modbus.running import RunningGateway
from smartzone.endpoints.modbus.unit import Unit
from smartzone.endpoints.modbus.unitmap import TypeMap


class UnitService(Protocol):
    """What the sandbox units need of the gateways' service (service.ModbusGateways is one)."""

    runtime: Any
    host: str
    gateways: list[RunningGateway]
    typemaps: dict[str, TypeMap]

    def call_soon(self, callback: Callable[..., None], *args: Any) -> None: ...


def created_ids(runtime: object) -> set[str]:
    """Ids of the devices created at run time so far (a replayed or custom world may have none)."""
    sandbox = getattr(getattr(runtime, "world", None), "sandbox", None)
    created = getattr(sandbox, "created", {})
    return {d for ids in list(created.values()) for d in list(ids)}


class SandboxUnits:
    """Keeps the sandbox gateways' units in step with the devices created and deleted at run time."""

    def __init__(self, service: UnitService) -> None:
        self.service = service
        self.unsubscribe = service.runtime.subscribe(self.on_event, (DeviceAdded, DeviceRemoved))

    # --- engine thread: hand over only --------------------------------------------------
    def on_event(self, event: Event) -> None:
        if isinstance(event, DeviceAdded):
            self.service.call_soon(self.attach, DeviceInfo(**event.info))
        elif isinstance(event, DeviceRemoved):
            self.service.call_soon(self.detach, event.device)

    # --- loop thread ------------------------------------------------------------------------
    def resync(self) -> None:
        """Match the devices that exist now: at start (devices created before the gateways) and
        after a new loop thread (events handed to the old one may be lost)."""
        runtime = self.service.runtime
        created = created_ids(runtime)
        devices = list(runtime.devices.values())
        alive = {info.id for info in devices}
        for g in self.service.gateways:
            for unit in list(g.units.values()):
                if g.plan.sandbox and unit.info.id not in alive:
                    self.detach(unit.info.id)
        for info in devices:
            if info.id in created:
                self.attach(info)

    def _gateway(self, tenant: str) -> RunningGateway | None:
        return next((g for g in self.service.gateways if g.plan.sandbox and g.plan.tenant == tenant), None)

    def attach(self, info: DeviceInfo) -> None:
        g = self._gateway(info.tenant)
        if g is None or any(u.info.id == info.id for u in g.units.values()):
            return
        free = next((n for n in range(1, g.plan.reserved + 1) if n not in g.units), None)
        if free is None:
            print(
                f"Modbus: sandbox device {info.id} gets no unit: gateway {g.plan.id} reserves "
                f"{g.plan.reserved} units and all are taken",
                file=sys.stderr,
            )
            return
        unit = Unit(free, info, self.service.typemaps[info.type], self.service.runtime)
        self._replace(g, {**g.units, free: unit}, {free: SimRuntime(unit.sim_device())}, ())
        print(
            f"Modbus: sandbox device {info.id} is unit {free} of gateway {g.plan.id} ({self.service.host}:{g.port})",
            file=sys.stderr,
        )

    def detach(self, device: str) -> None:
        for g in self.service.gateways:
            gone = [n for n, u in g.units.items() if u.info.id == device and g.plan.sandbox]
            if gone:
                self._replace(g, {n: u for n, u in g.units.items() if n not in gone}, {}, gone)

    @staticmethod
    def _replace(g: RunningGateway, units: dict[int, Unit], added: dict[int, SimRuntime], removed: object) -> None:
        context = g.server.context
        if not isinstance(context, SimCore):  # GatewayServer always builds a SimCore from SimDevices
            raise TypeError(f"gateway {g.plan.id}: unexpected datastore {type(context).__name__}")
        devices = {n: d for n, d in context.devices.items() if n not in removed}  # type: ignore[operator]
        context.devices = {**devices, **added}
        g.units = g.server.units = units
