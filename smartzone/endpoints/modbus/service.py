"""The Modbus TCP service: every gateway of a run on one asyncio loop in its own thread.

    gateways = ModbusGateways.start(runtime, first_port=0)   # 0: ephemeral ports (tests)
    print("\\n".join(gateways.describe()))
    ...
    gateways.close()

`smartzone run` starts it through the ServiceSpec at the bottom (--modbus-port, --no-modbus).

Supervision: each gateway is watched by the runtime's watchdog (`rt.watch`, every 0.5 s).
A gateway whose listening socket closed, or all of them when the loop thread ended, is
reported down, restarted on the same port with the same units, rules and observer, and
reported up; if it cannot listen again its failure is fatal (`smartzone run` exits 1 naming
it). An exception while answering a request is reported as survived (handler.py).

Sandbox gateways (gateways.py): a device created at run time in a sandbox tenant
(DeviceAdded, engine thread) is handed to the loop thread (loop.call_soon_threadsafe) and
becomes the lowest free reserved unit of its tenant's sandbox gateway; DeviceRemoved frees
the unit (requests to it then get 0x0B like any absent unit). The unit tables are replaced,
never changed in place, so readers on other threads always see a whole table (sandbox_units.py).

Modbus/TCP Security (`--modbus-tls DIR`, security.py): every gateway serves TLS 1.2+ with
client certificates from DIR's CA; the certificate's user, not the source address, decides
what a client may read and write. Restarts keep the TLS mode.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import functools
import logging
import os
import sys
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smartzone.core.device import DeviceInfo
from smartzone.definitions.gateway import EVERYONE, GatewayAccess
from smartzone.definitions.modbus_layout import build_layout
from smartzone.endpoints.client_lines import mbpoll, readable_input_count
from smartzone.endpoints.modbus.access import AccessRules, Denials
from smartzone.endpoints.modbus.gateways import DEFAULT_FIRST_PORT, GatewayPlan, plan_gateways, unserved
from smartzone.endpoints.modbus.handler import GatewayServer
from smartzone.endpoints.modbus.running import RunningGateway
from smartzone.endpoints.modbus.sandbox_units import SandboxUnits, created_ids
from smartzone.endpoints.modbus.security import Authority, GatewayTls, server_context
from smartzone.endpoints.modbus.unit import Unit
from smartzone.endpoints.modbus.unitmap import TypeMap
from smartzone.errors import EndpointError, UsageError

if TYPE_CHECKING:
    from smartzone.runtime.api import Runtime

HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0

# pymodbus logs some failures (e.g. a port in use) as warnings that Python would print beside
# SmartZone's own message; SmartZone reports them itself. Configured logging still sees them.
logging.getLogger("pymodbus").addHandler(logging.NullHandler())


class GatewayStartError(Exception):
    """A gateway could not listen (e.g. its port is in use); the message names it."""


def _listen_failure(plan: GatewayPlan, host: str, port: int, exc: OSError | None) -> GatewayStartError:
    if exc is None:
        reason = "cannot listen"
    else:  # asyncio's own text repeats the address: the system's words are enough
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
    hint = ""
    if exc is not None and exc.errno == errno.EADDRINUSE:
        hint = " (is the port in use? choose another with --modbus-port)"
    elif exc is not None and exc.errno == errno.EACCES:
        hint = " (ports below 1024 need privileges)"
    return GatewayStartError(f"Modbus gateway '{plan.id}' cannot listen on {host}:{port}: {reason}{hint}")


def _access_text(access: GatewayAccess) -> str:
    reads = "" if tuple(access.read) == EVERYONE else f", reads from {' '.join(access.read) or 'nobody'}"
    return f"writes from {' '.join(access.write) or 'nobody'}{reads}"


class ModbusGateways:
    """All Modbus gateways of one runtime, supervised (see supervise() and docs/modbus.md)."""

    def __init__(
        self, runtime: Runtime, plans: list[GatewayPlan], host: str = HOST, tls_dir: Path | None = None
    ) -> None:
        self.runtime = runtime
        self.plans = plans
        self.host = host
        self.tls_dir = tls_dir
        # loaded before any thread starts: a missing or bad certificate is one UsageError line
        self._tls_context = server_context(tls_dir) if tls_dir is not None else None
        self._authority = Authority(runtime.scenario) if tls_dir is not None else None
        self.gateways: list[RunningGateway] = []
        self.typemaps = {name: TypeMap(dt) for name, dt in runtime.catalog.types.items()}
        self._loop, self._thread = self._new_loop()
        self._lock = threading.RLock()  # restarts (watchdog thread) against close()
        self._unwatch: list[Callable[[], None]] = []
        self._closed = False
        self._sandbox: SandboxUnits | None = None

    def call_soon(self, callback: Callable[..., None], *args: Any) -> None:
        """Run `callback(*args)` on the loop thread, from any thread, without waiting.

        A loop being replaced (its thread ended) refuses it: the restart resynchronises the
        sandbox units instead (SandboxUnits.resync).
        """
        if self._closed:
            return
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the old loop is closed; the new one resyncs
            pass

    def unit_of(self, device: str) -> tuple[str, int, int] | None:
        """(gateway id, port, unit id) that serves `device`, or None."""
        for g in self.gateways:
            for n, unit in g.units.items():
                if unit.info.id == device:
                    return g.plan.id, g.port, n
        return None

    @staticmethod
    def _new_loop() -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
        loop = asyncio.new_event_loop()
        return loop, threading.Thread(target=loop.run_forever, name="smartzone-modbus", daemon=True)

    @classmethod
    def start(
        cls, runtime: Runtime, first_port: int = DEFAULT_FIRST_PORT, host: str = HOST, tls_dir: Path | None = None
    ) -> ModbusGateways:
        """Plan the gateways of the runtime's scenario, listen on their ports and supervise them.

        `tls_dir`: serve Modbus/TCP Security with the certificates of this folder (security.py).
        """
        created = created_ids(runtime)
        own = [d for d in list(runtime.devices.values()) if d.id not in created]
        service = cls(runtime, plan_gateways(runtime.scenario, own), host, tls_dir)
        service._thread.start()
        try:
            service._call(service._listen(first_port))
        except BaseException:
            service.close()
            raise
        service._sandbox = SandboxUnits(service)
        service.call_soon(service._sandbox.resync)
        for g in service.gateways:
            service._unwatch.append(runtime.watch(g.component, functools.partial(service._probe, g)))
        return service

    def _call(self, coro: Coroutine[Any, Any, None], timeout: float = START_TIMEOUT_S) -> None:
        fut: Future[None] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        fut.result(timeout)

    async def _listen(self, first_port: int) -> None:
        for plan in self.plans:
            if not plan.units and not plan.sandbox:
                continue  # a declared gateway that no device matches: nothing to serve
            units = {n: Unit(n, info, self.typemaps[info.type], self.runtime) for n, info in plan.units.items()}
            rules, denials = AccessRules(plan.access), Denials(plan.id)
            tls = None
            if self._authority is not None and self._tls_context is not None:
                tls = self._authority.gateway(self._tls_context, plan.tenant, self._sample(plan))
            server = await self._serve(plan, units, rules, denials, plan.port(first_port), tls)
            self.gateways.append(RunningGateway(plan, server.bound_port, server, units, rules, denials, tls))

    def _sample(self, plan: GatewayPlan) -> DeviceInfo:
        """A device of the gateway's tenant, for its TLS grants (a sandbox gateway starts without one)."""
        if plan.units:
            return plan.units[1]
        kind = min(self.runtime.catalog.types)
        return DeviceInfo(plan.id, kind, plan.tenant, "", "", 0.0, 0.0, "", "", "", "", "", 0.0)

    async def _serve(
        self,
        plan: GatewayPlan,
        units: dict[int, Unit],
        rules: AccessRules,
        denials: Denials,
        port: int,
        tls: GatewayTls | None,
    ) -> GatewayServer:
        on_error = functools.partial(self.runtime.health.survived, f"modbus gateway {plan.id}")
        server = GatewayServer(units, self.host, port, rules, denials, on_error, tls)
        try:
            await server.serve_forever(background=True)
        except (OSError, RuntimeError, OverflowError) as exc:
            await server.shutdown()
            error = server.listen_error or (exc if isinstance(exc, OSError) else None)
            raise _listen_failure(plan, self.host, port, error) from None
        return server

    # --- supervision (watchdog thread) ----------------------------------------------------
    def _probe(self, g: RunningGateway) -> str | None:
        """None while `g` serves; restarts it when it died; a cause (fatal) if it cannot be restarted."""
        with self._lock:
            if self._closed:
                return None
            if not self._thread.is_alive():
                return self._restart_thread(g)
            if g.server.is_listening():
                return None
            cause = f"its server stopped listening on {self.host}:{g.port}"
            self.runtime.health.down(g.component, cause)
            try:
                self._call(self._relisten(g))
            except Exception as exc:
                return f"{cause}; restarting it failed: {exc}"
            self.runtime.health.up(g.component, f"restarted on {self.host}:{g.port}")
            return None

    def _restart_thread(self, me: RunningGateway) -> str | None:
        """The loop thread ended: close its servers, start a new loop, relisten every gateway."""
        cause = "the Modbus thread (smartzone-modbus) ended"
        for g in self.gateways:
            self.runtime.health.down(g.component, cause)
        old = self._loop
        try:
            old.run_until_complete(self._close_servers())
        finally:
            old.close()
        self._loop, self._thread = self._new_loop()
        self._thread.start()
        mine = None
        for g in self.gateways:
            try:
                self._call(self._relisten(g))
            except Exception as exc:
                if g is me:
                    mine = f"{cause}; restarting it failed: {exc}"
                else:
                    self.runtime.health.fatal(g.component, f"{cause}; restarting it failed: {exc}")
                continue
            self.runtime.health.up(g.component, f"restarted on {self.host}:{g.port} (new Modbus thread)")
        if self._sandbox is not None:  # events handed to the old loop may have been lost with it
            self.call_soon(self._sandbox.resync)
        return mine

    async def _relisten(self, g: RunningGateway) -> None:
        """Replace `g`'s server by a new one on the same port, units, rules and observer."""
        old = g.server
        if old.transport is not None or old.active_connections:
            await old.shutdown()
        for task in list(old.tasks):
            task.cancel()
        server = await self._serve(g.plan, g.units, g.rules, g.denials, g.port, g.tls)
        server.observer = old.observer
        g.server = server
        g.restarts += 1

    # --- reading --------------------------------------------------------------------------
    def describe(self) -> list[str]:
        lines = []
        for g in self.gateways:
            if g.plan.sandbox:
                lines.append(self._describe_sandbox(g))
                continue
            first = g.plan.units[1]
            layout = build_layout(self.runtime.catalog.types[first.type])[0]
            head = f"Modbus gateway {g.plan.id}: {self.host}:{g.port}, tenant {g.plan.tenant}, "
            head += f"{len(g.plan.units)} devices (units 1-{len(g.plan.units)}), "
            if g.tls is not None:  # mbpoll speaks no TLS: no command line to paste
                lines.append(
                    f"{head}Modbus/TCP Security (TLS, client certificates from {self.tls_dir}); "
                    f"unit 1 = {first.id} (connect with a TLS Modbus client, see docs/modbus.md)"
                )
                continue
            lines.append(
                f"{head}{_access_text(g.plan.access)}; unit 1 = {first.id}: "
                + mbpoll(self.host, g.port, 1, readable_input_count(layout))
            )
        lines += [
            f"Modbus gateway {p.id}: no device matches it (not started)"
            for p in self.plans
            if not p.units and not p.sandbox
        ]
        created = created_ids(self.runtime)  # served by the sandbox gateways
        missing = unserved(self.plans, [d for d in list(self.runtime.devices.values()) if d.id not in created])
        if missing:
            lines.append(f"Modbus: {len(missing)} devices are behind no declared gateway (e.g. {missing[0]})")
        if not lines:
            lines.append("Modbus: no devices, no gateways")
        return lines

    def _describe_sandbox(self, g: RunningGateway) -> str:
        units = dict(g.units)  # replaced, never changed in place, on the loop thread
        head = (
            f"Modbus gateway {g.plan.id}: {self.host}:{g.port}, tenant {g.plan.tenant}, sandbox: "
            f"units 1-{g.plan.reserved} for devices created at run time ({len(units)} in use), "
        )
        head += "Modbus/TCP Security (TLS)" if g.tls is not None else _access_text(g.plan.access)
        return head + "".join(f"; unit {n} = {u.info.id}" for n, u in sorted(units.items()))

    def stats(self) -> dict[str, Any]:
        """{"denied": {gateway: {"source:kind": n}}, "restarts": {gateway: n}}."""
        return {
            "denied": {g.plan.id: g.denials.snapshot() for g in self.gateways},
            "restarts": {g.plan.id: g.restarts for g in self.gateways},
        }

    def summary_lines(self) -> list[str]:
        """Denied requests per gateway, for the end of a run (nothing when none were denied)."""
        return [line for g in self.gateways if (line := g.denials.summary()) is not None]

    def close(self) -> None:
        """Stop supervising, stop every gateway and the loop thread, print the denials (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._sandbox is not None:
                self._sandbox.unsubscribe()
            for unwatch in self._unwatch:
                unwatch()  # a deliberate stop is not a death
        try:
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
        finally:
            for line in self.summary_lines():
                print(line, file=sys.stderr)

    async def _close_servers(self) -> None:
        tasks = []
        for g in self.gateways:
            await g.server.shutdown()
            tasks += list(g.server.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)

    async def _shutdown(self) -> None:
        await self._close_servers()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=STOP_TIMEOUT_S)


# --- smartzone run ------------------------------------------------------------------------------
def _add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Modbus TCP")
    group.add_argument(
        "--modbus-port",
        type=int,
        default=DEFAULT_FIRST_PORT,
        metavar="N",
        help=f"first gateway's port; the others follow N+1, N+2 ... (default {DEFAULT_FIRST_PORT}; 0: any free ports)",
    )
    group.add_argument("--no-modbus", action="store_true", help="do not start the Modbus TCP gateways")
    group.add_argument(
        "--modbus-tls",
        metavar="DIR",
        help="serve Modbus/TCP Security (TLS, client certificates = scenario users) with the certificates "
        "in DIR (made by 'smartzone modbus-certs')",
    )


def _start(runtime: Runtime, args: argparse.Namespace) -> ModbusGateways | None:
    if getattr(args, "no_modbus", False):
        return None
    port = args.modbus_port
    if not 0 <= port <= 65535:
        raise UsageError(f"--modbus-port must be 0..65535, got {port}")
    try:
        tls_dir = Path(args.modbus_tls) if getattr(args, "modbus_tls", None) else None
        host = getattr(args, "bind", None) or HOST
        return ModbusGateways.start(runtime, port, host=host, tls_dir=tls_dir)
    except GatewayStartError as exc:
        raise EndpointError(str(exc)) from None


NAME = "modbus"
add_options = _add_options
start = _start
