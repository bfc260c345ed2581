"""One simulated device served as a Modbus unit: a pymodbus SimDevice whose action callback
refreshes registers from the live values and turns accepted writes into commands.

Reads never wait for the engine: they encode the runtime's LiveState (a thread-safe copy
of the latest facts). Writes are checked completely first (all-or-nothing: range, type,
mapping, online), then sent as DeviceCommand(source="modbus") through Runtime.submit,
exactly like an MQTT `cmd`. Like a real gateway in front of radio devices, the write is
answered once it is accepted and queued: the command still crosses the device's simulated
downlink, and the holding registers show the new state when the device has applied it
(CommandResult / MQTT `state` tell when). The echo of a write (FC5, FC6, FC23) carries
the written values, as the Modbus specification requires.
"""

from __future__ import annotations

import itertools
import logging
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from pymodbus.constants import ExcCodes
from pymodbus.simulator import SimDevice
from pymodbus.simulator.simutils import SimUtils

from smartzone.core.commands import DeviceCommand
from smartzone.core.device import DeviceInfo
from smartzone.core.events import CommandResult
from smartzone.core.faults.effects import WORD_SWAP
from smartzone.core.live import LiveDevice
from smartzone.definitions.modbus_layout import BIT_TABLES, COMMON_BLOCK
from smartzone.endpoints.modbus.unitmap import FC_TABLE, TypeMap, WriteRejected

if TYPE_CHECKING:
    from smartzone.runtime.api import Runtime

log = logging.getLogger(__name__)

_ids = itertools.count(1)


class Unit:
    """Device `info` as unit id `unit_id` of a gateway."""

    def __init__(self, unit_id: int, info: DeviceInfo, typemap: TypeMap, runtime: Runtime) -> None:
        self.unit_id = unit_id
        self.info = info
        self.typemap = typemap
        self.runtime = runtime
        self._epoch0 = runtime.scenario.start.timestamp()
        # a write accepted by the previous action call: pymodbus reads it back at once for the echo
        self._written: tuple[str, int, list[int] | list[bool]] | None = None
        # the live copy taken by check(): the datastore action of the same request reuses it
        self._live: LiveDevice | None = None
        # per table: the live values, state and fault effects an image was encoded from, and the image
        self._images: dict[str, tuple[dict[str, Any], dict[str, Any], frozenset[str], list[int]]] = {}

    def sim_device(self) -> SimDevice:
        return SimDevice(self.unit_id, simdata=self.typemap.simdata(), action=self.action)

    def check(self, table: str, address: int, count: int) -> ExcCodes | None:
        """Refuse a request before it reaches the datastore: offline 0x0B, unmapped 0x02."""
        live = self._live = self.runtime.live.get(self.info.id)
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
        live = self._live if self._live is not None else self.runtime.live.get(self.info.id)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        if live is None or not live.online:
            return ExcCodes.GATEWAY_NO_RESPONSE
        written, self._written = self._written, None
        if values is not None:
            return self._write(table, address, values, WORD_SWAP in live.effects)
        # block offsets are 0 for every table (TypeMap.simdata starts each block at address 0)
        if table in BIT_TABLES:
            bits = self.typemap.bits(table, live)
            if written is not None and written[0] == table:  # the echo of the write just accepted
                bits[written[1] : written[1] + len(written[2])] = [bool(b) for b in written[2]]
            packed = SimUtils.bitsToRegisters(bits)
            registers[: len(packed)] = packed
        else:
            image = self._image(table, live)
            if written is not None and written[0] == table:
                image[written[1] : written[1] + len(written[2])] = [int(v) for v in written[2]]
            registers[: len(image)] = image
        return None

    def _write(self, table: str, address: int, values: list[int] | list[bool], swap: bool) -> ExcCodes | None:
        try:
            planned = self.typemap.commands(table, address, values, swap)
        except WriteRejected as exc:
            log.info("modbus write to %s %s %d refused: %s", self.info.id, table, address, exc)
            return exc.code
        for action, params in planned:
            command = DeviceCommand(self.info.id, action, params, id=f"modbus-{next(_ids)}", source="modbus")
            future = self.runtime.submit(command)
            if future.done() and future.exception() is not None:  # the simulation has stopped
                return ExcCodes.DEVICE_FAILURE
            future.add_done_callback(self._report)
        self._written = (table, address, list(values))
        return None

    def _image(self, table: str, live: LiveDevice) -> list[int]:
        """The register image of `table`, re-encoded only when the live values, state or effects changed."""
        cached = self._images.get(table)
        if cached is not None and cached[:3] == (live.values, live.state, live.effects):
            image = list(cached[3])
        else:
            fields = self.typemap.field_image(table, live)
            self._images[table] = (live.values, live.state, live.effects, fields)
            image = list(fields)
        if table == "input":
            image[:COMMON_BLOCK] = self.typemap.common_block(live, self._epoch0 + self.runtime.sim_time)
        return image

    def end_request(self) -> None:
        """Forget the per-request data (live copy, write echo) once the request is answered."""
        self._written = None
        self._live = None

    def _report(self, future: Future[CommandResult | None]) -> None:
        result = None if future.exception() is not None else future.result()
        if isinstance(result, CommandResult) and not result.ok:
            log.info("modbus command %s for %s failed: %s", result.command_id, self.info.id, result.error_message)
