"""One simulated device served as a Modbus unit: a pymodbus SimDevice whose action callback
refreshes registers from the live values and turns accepted writes into commands.

Reads never wait for the engine: they encode the runtime's LiveState (a thread-safe copy
of the latest facts). Writes are checked completely first (all-or-nothing), then sent as
DeviceCommand(source="modbus") through Runtime.submit, exactly like an MQTT `cmd`; the
response goes out once the engine has applied them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import TYPE_CHECKING

from pymodbus.constants import ExcCodes
from pymodbus.simulator import SimDevice
from pymodbus.simulator.simutils import SimUtils

from smartzone.core.commands import DeviceCommand
from smartzone.core.device import DeviceInfo
from smartzone.core.events import CommandResult
from smartzone.definitions.modbus_layout import BIT_TABLES
from smartzone.endpoints.modbus.unitmap import FC_TABLE, TypeMap, WriteRejected

if TYPE_CHECKING:
    from smartzone.runtime.api import Runtime

log = logging.getLogger(__name__)

WRITE_TIMEOUT_S = 5.0  # a paused or busy engine still drains commands within ~50 ms
_ERROR_CODES = {"invalid_params": ExcCodes.ILLEGAL_VALUE, "device_offline": ExcCodes.GATEWAY_NO_RESPONSE}
_ids = itertools.count(1)


class Unit:
    """Device `info` as unit id `unit_id` of a gateway."""

    def __init__(self, unit_id: int, info: DeviceInfo, typemap: TypeMap, runtime: Runtime) -> None:
        self.unit_id = unit_id
        self.info = info
        self.typemap = typemap
        self.runtime = runtime
        self._epoch0 = runtime.scenario.start.timestamp()

    def sim_device(self) -> SimDevice:
        return SimDevice(self.unit_id, simdata=self.typemap.simdata(), action=self.action)

    def check(self, table: str, address: int, count: int) -> ExcCodes | None:
        """Refuse a request before it reaches the datastore: offline 0x0B, unmapped 0x02."""
        live = self.runtime.live.get(self.info.id)
        if live is None or not live.online:
            return ExcCodes.GATEWAY_NO_RESPONSE
        if not self.typemap.mapped(table, address, count):
            return ExcCodes.ILLEGAL_ADDRESS
        return None

    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus SimDevice action: refresh `registers` in place for reads; apply writes."""
        table = FC_TABLE.get(function_code)
        live = self.runtime.live.get(self.info.id)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        if live is None or not live.online:
            return ExcCodes.GATEWAY_NO_RESPONSE
        if values is not None:
            return await self._write(table, address, values)
        # block offsets are 0 for every table (TypeMap.simdata starts each block at address 0)
        if table in BIT_TABLES:
            packed = SimUtils.bitsToRegisters(self.typemap.bits(table, live))
            registers[: len(packed)] = packed
        else:
            image = self.typemap.registers(table, live, self._epoch0 + self.runtime.sim_time)
            registers[: len(image)] = image
        return None

    async def _write(self, table: str, address: int, values: list[int] | list[bool]) -> ExcCodes | None:
        try:
            planned = self.typemap.commands(table, address, values)
        except WriteRejected as exc:
            log.info("modbus write to %s %s %d refused: %s", self.info.id, table, address, exc)
            return exc.code
        try:
            commands = [
                DeviceCommand(self.info.id, action, params, id=f"modbus-{next(_ids)}", source="modbus")
                for action, params in planned
            ]
            futures = [self.runtime.submit(c) for c in commands]
            results = await asyncio.wait_for(
                asyncio.gather(*(asyncio.wrap_future(f) for f in futures)), WRITE_TIMEOUT_S
            )
        except TimeoutError:
            return ExcCodes.GATEWAY_NO_RESPONSE
        except RuntimeError:  # the simulation has stopped
            return ExcCodes.DEVICE_FAILURE
        for result in results:
            if isinstance(result, CommandResult) and not result.ok:
                return _ERROR_CODES.get(result.error_code or "", ExcCodes.DEVICE_FAILURE)
        return None
