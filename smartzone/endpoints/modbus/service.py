"""The Modbus TCP service: every gateway of a run on one asyncio loop in its own thread.

    gateways = ModbusGateways.start(runtime, first_port=0)   # 0: ephemeral ports (tests)
    print("\\n".join(gateways.describe()))
    ...
    gateways.close()

`smartzone run` starts it through the ServiceSpec at the bottom (--modbus-port, --no-modbus).
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smartzone.definitions.modbus_layout import Layout, build_layout
from smartzone.endpoints.modbus.gateways import DEFAULT_FIRST_PORT, GatewayPlan, plan_gateways, unserved
from smartzone.endpoints.modbus.handler import GatewayServer
from smartzone.endpoints.modbus.unit import Unit
from smartzone.endpoints.modbus.unitmap import TypeMap
from smartzone.errors import EndpointError, UsageError

if TYPE_CHECKING:
    from smartzone.runtime.api import Runtime

HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


class GatewayStartError(Exception):
    """A gateway could not listen (e.g. its port is in use); the message names it."""


@dataclass
class RunningGateway:
    plan: GatewayPlan
    port: int
    server: GatewayServer


def mbpoll_line(port: int, unit: int, layout: Layout, host: str = HOST) -> str:
    """A ready-to-paste mbpoll command reading a unit's common block and telemetry.

    mbpoll counts references from 1 unless given -0; `-0 -r 0` reads wire address 0. The
    count covers the registers mapped without a gap from 0 (a gap would answer 0x02).
    """
    count = 10
    for f in layout.tables["input"]:
        if f.address == count:
            count = f.end
    return f"mbpoll -m tcp -p {port} -a {unit} -0 -t 3 -r 0 -c {min(count, 125)} -1 {host}"


class ModbusGateways:
    """All Modbus gateways of one runtime."""

    def __init__(self, runtime: Runtime, plans: list[GatewayPlan], host: str = HOST) -> None:
        self.runtime = runtime
        self.plans = plans
        self.host = host
        self.gateways: list[RunningGateway] = []
        self.typemaps = {name: TypeMap(dt) for name, dt in runtime.catalog.types.items()}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="smartzone-modbus", daemon=True)
        self._closed = False

    @classmethod
    def start(cls, runtime: Runtime, first_port: int = DEFAULT_FIRST_PORT, host: str = HOST) -> ModbusGateways:
        """Plan the gateways of the runtime's scenario and listen on their ports."""
        service = cls(runtime, plan_gateways(runtime.scenario, runtime.devices.values()), host)
        service._thread.start()
        try:
            fut: Future[None] = asyncio.run_coroutine_threadsafe(service._listen(first_port), service._loop)
            fut.result(START_TIMEOUT_S)
        except BaseException:
            service.close()
            raise
        return service

    async def _listen(self, first_port: int) -> None:
        for plan in self.plans:
            if not plan.units:
                continue  # a declared gateway that no device matches: nothing to serve
            units = {n: Unit(n, info, self.typemaps[info.type], self.runtime) for n, info in plan.units.items()}
            server = GatewayServer(units, self.host, plan.port(first_port))
            try:
                await server.serve_forever(background=True)
            except (OSError, RuntimeError, OverflowError) as exc:
                await server.shutdown()
                raise GatewayStartError(
                    f"Modbus gateway '{plan.id}' cannot listen on {self.host}:{plan.port(first_port)}: "
                    f"{exc} (is the port in use? choose another with --modbus-port)"
                ) from None
            self.gateways.append(RunningGateway(plan, server.bound_port, server))

    def port_of(self, gateway_id: str) -> int:
        return next(g.port for g in self.gateways if g.plan.id == gateway_id)

    def describe(self) -> list[str]:
        lines = []
        for g in self.gateways:
            first = g.plan.units[1]
            layout = build_layout(self.runtime.catalog.types[first.type])[0]
            lines.append(
                f"Modbus gateway {g.plan.id}: {self.host}:{g.port}, tenant {g.plan.tenant}, "
                f"{len(g.plan.units)} devices (units 1-{len(g.plan.units)}); unit 1 = {first.id}: "
                + mbpoll_line(g.port, 1, layout, self.host)
            )
        lines += [f"Modbus gateway {p.id}: no device matches it (not started)" for p in self.plans if not p.units]
        missing = unserved(self.plans, self.runtime.devices.values())
        if missing:
            lines.append(f"Modbus: {len(missing)} devices are behind no declared gateway (e.g. {missing[0]})")
        if not lines:
            lines.append("Modbus: no devices, no gateways")
        return lines

    def close(self) -> None:
        """Stop every gateway and the loop thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            try:
                fut.result(STOP_TIMEOUT_S)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S)
        if not self._loop.is_running():
            self._loop.close()

    async def _shutdown(self) -> None:
        for g in self.gateways:
            await g.server.shutdown()
            for task in list(g.server.tasks):
                task.cancel()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=STOP_TIMEOUT_S)


# --- smartzone run ------------------------------------------------------------------------------
def _add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Modbus TCP")
    group.add_argument(
        "--modbus-port", type=int, default=DEFAULT_FIRST_PORT, metavar="N",
        help=f"first gateway's port; the others follow N+1, N+2 ... (default {DEFAULT_FIRST_PORT}; 0: any free ports)",
    )
    group.add_argument("--no-modbus", action="store_true", help="do not start the Modbus TCP gateways")


def _start(runtime: Runtime, args: argparse.Namespace) -> ModbusGateways | None:
    if getattr(args, "no_modbus", False):
        return None
    port = args.modbus_port
    if not 0 <= port <= 65535:
        raise UsageError(f"--modbus-port must be 0..65535, got {port}")
    try:
        return ModbusGateways.start(runtime, port)
    except GatewayStartError as exc:
        raise EndpointError(str(exc)) from None


NAME = "modbus"
add_options = _add_options
start = _start
