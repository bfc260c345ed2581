"""A gateway's TCP server and per-connection request handler (pymodbus 3.16.1).

Why a handler of our own: pymodbus 3.16's ServerRequestHandler decodes ONE frame per
received chunk and clears its receive buffer whenever it sends, so when a client puts
several requests in one TCP segment only the first is answered (upstream report:
pymodbus-dev/pymodbus#1949). Here every complete MBAP frame in the buffer is decoded and
answered, in order, and partial frames survive a send. A frame with a non-zero protocol
id or an impossible length cannot be resynchronised: that connection is closed (the
gateway keeps serving everyone else). Unknown unit ids get 0x0B; unmapped addresses and
offline devices are refused before the datastore (pymodbus SimDevice/SimData) is touched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler

from smartzone.endpoints.modbus.unit import Unit
from smartzone.endpoints.modbus.unitmap import FC_TABLE

log = logging.getLogger(__name__)

MBAP = 7  # transaction id, protocol id, length, unit id
MAX_PDU = 253  # function code + data
RECEIVE_LIMIT = 1 << 16  # bytes buffered per connection (many pipelined requests)


def request_ranges(pdu: Any) -> list[tuple[str, int, int]] | None:
    """(table, address, count) a request touches, or None for an unsupported function."""
    fc = pdu.function_code
    table = FC_TABLE.get(fc)
    if table is None:
        return None
    if fc in (5, 6):
        return [(table, pdu.address, 1)]
    if fc == 15:
        return [(table, pdu.address, len(pdu.bits))]
    if fc == 16:
        return [(table, pdu.address, len(pdu.registers))]
    if fc == 23:
        return [(table, pdu.write_address, len(pdu.write_registers)), (table, pdu.read_address, pdu.read_count)]
    return [(table, pdu.address, pdu.count)]


class GatewayHandler(ServerRequestHandler):
    """One client connection: every pipelined request answered, in order."""

    server: GatewayServer

    def __init__(self, owner: GatewayServer) -> None:
        super().__init__(owner, None, None, None)
        self.max_buffer_size = RECEIVE_LIMIT
        self._tail: asyncio.Task[None] | None = None

    def send(self, data: bytes, addr: tuple | None = None) -> None:
        # pymodbus clears recv_buffer here, losing a pipelined partial frame: write only
        if self.transport:
            self.transport.write(data)  # type: ignore[attr-defined]

    def callback_data(self, data: bytes, addr: tuple | None = None) -> int:
        used = 0
        while len(data) - used >= MBAP + 1:
            tid = int.from_bytes(data[used : used + 2], "big")
            pid = int.from_bytes(data[used + 2 : used + 4], "big")
            length = int.from_bytes(data[used + 4 : used + 6], "big")
            if pid != 0 or not 2 <= length <= MAX_PDU + 1:
                log.info("modbus: closing a connection that sent a malformed frame (pid %d, length %d)", pid, length)
                self.close()
                return len(data)
            end = used + 6 + length
            if end > len(data):
                break
            self._enqueue(data[used + 6], tid, data[used + 7 : end])
            used = end
        return used

    def _enqueue(self, unit_id: int, tid: int, frame: bytes) -> None:
        prev = self._tail
        self._tail = self.loop.create_task(self._serve(prev, unit_id, tid, frame))
        self.server.tasks.add(self._tail)
        self._tail.add_done_callback(self.server.tasks.discard)

    async def _serve(self, prev: asyncio.Task[None] | None, unit_id: int, tid: int, frame: bytes) -> None:
        if prev is not None and not prev.done():
            await asyncio.wait([prev])  # answer in order; never raises prev's outcome
        response = await self._respond(unit_id, frame)
        response.transaction_id, response.dev_id = tid, unit_id
        if self.server.observer is not None:  # e.g. smartzone certify: record, never raise
            try:
                self.server.observer(self, unit_id, frame, response)
            except Exception:
                log.exception("modbus: request observer failed")
        self.pdu_send(response)

    async def _respond(self, unit_id: int, frame: bytes) -> ModbusPDU:
        fc = frame[0]
        pdu = self.server.decoder.decode(frame)
        if pdu is None or pdu.function_code != fc:
            bad = ExcCodes.ILLEGAL_VALUE if fc in FC_TABLE else ExcCodes.ILLEGAL_FUNCTION
            return ExceptionResponse(fc & 0x7F, bad)
        unit = self.server.units.get(unit_id)
        if unit is None:
            return ExceptionResponse(fc, ExcCodes.GATEWAY_NO_RESPONSE)
        ranges = request_ranges(pdu)
        if ranges is None:
            return ExceptionResponse(fc, ExcCodes.ILLEGAL_FUNCTION)
        try:
            for table, address, count in ranges:
                if (code := unit.check(table, address, count)) is not None:
                    return ExceptionResponse(fc, code)
            return await pdu.datastore_update(self.server.context, unit_id)  # type: ignore[arg-type]
        except Exception:  # a bug of ours must not take the connection down
            log.exception("modbus: request %s for unit %d failed", pdu, unit_id)
            return ExceptionResponse(fc, ExcCodes.DEVICE_FAILURE)
        finally:
            unit.end_request()


class GatewayServer(ModbusTcpServer):
    """A pymodbus TCP server for one gateway: its units are pymodbus SimDevices."""

    def __init__(self, units: dict[int, Unit], host: str, port: int) -> None:
        devices = [u.sim_device() for u in units.values()]
        super().__init__(devices, address=(host, port))
        self.units = units
        self.tasks: set[asyncio.Task[None]] = set()
        # optional observer(handler, unit_id, request frame, response PDU), called on the loop thread
        self.observer: Callable[[GatewayHandler, int, bytes, ModbusPDU], None] | None = None

    def callback_new_connection(self) -> GatewayHandler:
        return GatewayHandler(self)

    @property
    def bound_port(self) -> int:
        return int(self.transport.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
