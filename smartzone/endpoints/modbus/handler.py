"""A gateway's TCP server and per-connection request handler (pymodbus 3.16.1).

Why a handler of our own: pymodbus 3.16's ServerRequestHandler decodes ONE frame per
received chunk, clears its receive buffer whenever it sends and silently drops a buffer
larger than its limit, so pipelined requests go unanswered (upstream report:
pymodbus-dev/pymodbus#1949). Here the connection's bytes are framed by framing.py: every
complete MBAP frame is queued and answered in order by one worker task per connection;
a partial frame waits for its rest. Bursts of any size are answered: when 256 requests wait,
or the client does not read its answers, the handler stops reading the socket (TCP flow
control) until the queue drains. A header that is not Modbus TCP closes the connection.

Each request: structure (framing.request_error: 0x01/0x03), the gateway's access rules for
the client's source address, or in Modbus/TCP Security mode (security.py) the rights of the
user its client certificate names (0x01, counted as a denial), unit id (0x0B), mapped ranges and
device online (unit.check), then pymodbus's datastore (SimDevice). An exception anywhere is
reported through `on_error` (the runtime's health: survived) and answered with 0x04.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.transport import CommParams, CommType

from smartzone.endpoints.modbus.access import AccessRules, Denials
from smartzone.endpoints.modbus.framing import (
    DEVICE_FAILURE,
    ILLEGAL_FUNCTION,
    ILLEGAL_VALUE,
    WRITES,
    Frame,
    request_error,
    split_frames,
)
from smartzone.endpoints.modbus.security import GatewayTls
from smartzone.endpoints.modbus.unit import Unit
from smartzone.endpoints.modbus.unitmap import FC_TABLE

log = logging.getLogger(__name__)

HIGH_WATER = 256  # queued requests per connection before reading pauses
LOW_WATER = 64  # ... and resumes
GATEWAY_NO_RESPONSE = 0x0B
HANDSHAKE_TIMEOUT_S = 10.0  # a TLS client that does not finish its handshake by then is closed


def describe_exception(exc: BaseException) -> str:
    """`Type: message (file:line in function)`, the format of smartzone.runtime.health.describe_exception.

    Endpoints may not import the runtime (tests/test_layers.py), hence this copy.
    """
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" ({tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno} in {tb[-1].name})" if tb else ""
    text = str(exc)
    return f"{type(exc).__name__}: {text[:200] + '...' if len(text) > 200 else text}{where}"


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
    """One client connection: every pipelined request answered, in order, with flow control."""

    server: GatewayServer

    def __init__(self, owner: GatewayServer) -> None:
        super().__init__(owner, None, None, None)
        self._buf = bytearray()
        self._queue: deque[Frame] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._reading_paused = self._writing_paused = False
        self._close_when_done = False
        self.source = "?"
        self.may_read = self.may_write = False
        self.why_not = ""  # TLS mode: why a refused request is refused (for the denial line)
        self.accepted_at = owner.loop.time()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        self.source = str(peer[0]) if peer else "?"
        tls = self.server.tls
        if tls is None:
            self.may_read, self.may_write = self.server.rules.may(self.source)
            return
        try:  # after the handshake: the peer certificate was verified against the lab's CA
            ssl_object = transport.get_extra_info("ssl_object")
            grant = tls.authorise(ssl_object.getpeercert(binary_form=True) if ssl_object else None)
        except Exception as exc:  # a bug of ours: report it, and this client may do nothing
            self.server.on_error(describe_exception(exc))
            self.why_not = "its certificate could not be checked"
            return
        self.source = f"{grant.who}@{self.source}"
        self.may_read, self.may_write, self.why_not = grant.read, grant.write, grant.why_not

    def data_received(self, data: bytes) -> None:
        # replaces pymodbus's receive buffer, which drops everything beyond 516 bytes unanswered
        if self.is_closing or not self.transport:
            return
        try:
            self._buf += data
            frames, used, bad = split_frames(self._buf)
            del self._buf[:used]
        except Exception as exc:  # a bug of ours: report it, drop this client, keep serving the others
            self.server.on_error(describe_exception(exc))
            self.close()
            return
        if bad is not None:  # answer what came before, then close: the stream cannot be resynchronised
            log.info("modbus: closing the connection of %s: %s", self.source, bad)
            self._buf.clear()
            self._close_when_done = True
            self.transport.pause_reading()  # type: ignore[attr-defined]
            self._reading_paused = True
        if not frames and not self._queue:
            if bad is not None:
                self.close()
            return
        self._queue.extend(frames)
        self._flow()
        if self._worker is None or self._worker.done():
            self._worker = self.loop.create_task(self._work())
            self.server.tasks.add(self._worker)
            self._worker.add_done_callback(self.server.tasks.discard)

    def pause_writing(self) -> None:  # the client does not read its answers: stop reading its requests
        self._writing_paused = True
        self._flow()

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._flow()

    def _flow(self) -> None:
        if not self.transport or self.is_closing or self._close_when_done:
            return
        pause = self._writing_paused or len(self._queue) >= HIGH_WATER
        resume = not self._writing_paused and len(self._queue) <= LOW_WATER
        if pause and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()  # type: ignore[attr-defined]
        elif resume and self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()  # type: ignore[attr-defined]

    def send(self, data: bytes, addr: tuple | None = None) -> None:
        # pymodbus clears its receive buffer here; ours is separate: write only
        if self.transport and not self.is_closing:
            self.transport.write(data)  # type: ignore[attr-defined]

    def close(self, reconnect: bool = False) -> None:
        self._queue.clear()
        super().close(reconnect)

    async def _work(self) -> None:
        while self._queue and self.transport and not self.is_closing:
            frame = self._queue.popleft()
            self._flow()
            try:
                response = await self._respond(frame)
            except Exception as exc:
                self.server.on_error(describe_exception(exc))
                response = ExceptionResponse(frame.pdu[0] & 0x7F, DEVICE_FAILURE)
            response.transaction_id, response.dev_id = frame.tid, frame.unit
            if self.server.observer is not None:  # e.g. smartzone certify: record, never raise
                try:
                    self.server.observer(self, frame.unit, frame.pdu, response)
                except Exception:
                    log.exception("modbus: request observer failed")
            try:
                self.pdu_send(response)
            except Exception as exc:  # an answer that cannot be sent: drop this client, not the worker's queue
                self.server.on_error(describe_exception(exc))
                self.close()
                return
        if self._close_when_done:
            self.close()

    async def _respond(self, frame: Frame) -> ModbusPDU:
        fc = frame.pdu[0]
        code = request_error(frame.pdu)
        if code is None and not (self.may_write if fc in WRITES else self.may_read):
            self.server.denials.add(self.source, fc, frame.unit, self.why_not)
            code = ILLEGAL_FUNCTION
        if code is not None:
            return ExceptionResponse(fc & 0x7F, code)
        unit = self.server.units.get(frame.unit)
        if unit is None:
            return ExceptionResponse(fc, GATEWAY_NO_RESPONSE)
        pdu = self.server.decoder.decode(frame.pdu)
        if pdu is None or pdu.function_code != fc:
            return ExceptionResponse(fc, ILLEGAL_VALUE)
        ranges = request_ranges(pdu)
        if ranges is None:
            return ExceptionResponse(fc, ILLEGAL_FUNCTION)
        try:
            for table, address, count in ranges:
                if (bad := unit.check(table, address, count)) is not None:
                    return ExceptionResponse(fc, bad)
            return await pdu.datastore_update(self.server.context, frame.unit)  # type: ignore[arg-type]
        finally:
            unit.end_request()


def _log_error(cause: str) -> None:
    log.error("modbus: request failed: %s", cause)


class GatewayServer(ModbusTcpServer):
    """A pymodbus TCP server for one gateway: its units are pymodbus SimDevices."""

    def __init__(
        self,
        units: dict[int, Unit],
        host: str,
        port: int,
        rules: AccessRules,
        denials: Denials,
        on_error: Callable[[str], None] = _log_error,
        tls: GatewayTls | None = None,
    ) -> None:
        devices = [u.sim_device() for u in units.values()]
        if tls is not None:  # what pymodbus's ModbusTlsServer does; the frames stay MBAP (the spec's)
            self.tls_setup = CommParams(
                comm_type=CommType.TLS,
                comm_name="server_listener",
                reconnect_delay=0.0,
                reconnect_delay_max=0.0,
                timeout_connect=0.0,
                sslctx=tls.context,
            )
        super().__init__(devices, address=(host, port))
        self.units, self.rules, self.denials, self.on_error, self.tls = units, rules, denials, on_error, tls
        if tls is not None:  # asyncio's default waits 60 s for a handshake that may never come
            create: Any = self.call_create  # pymodbus types it without keywords; it is loop.create_server
            self.call_create = functools.partial(create, ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S)
        self.tasks: set[asyncio.Task[None]] = set()
        self.listen_error: OSError | None = None
        # optional observer(handler, unit_id, request PDU bytes, response PDU), called on the loop thread
        self.observer: Callable[[GatewayHandler, int, bytes, ModbusPDU], None] | None = None

    def callback_new_connection(self) -> GatewayHandler:
        if self.tls is not None:
            self._forget_failed_handshakes()
        return GatewayHandler(self)

    def _forget_failed_handshakes(self) -> None:
        """Drop handlers whose TLS handshake failed: asyncio never tells them, pymodbus would keep them."""
        cutoff = self.loop.time() - HANDSHAKE_TIMEOUT_S - 1.0
        for key, handler in list(self.active_connections.items()):
            if isinstance(handler, GatewayHandler) and handler.transport is None and handler.accepted_at < cutoff:
                del self.active_connections[key]

    async def listen(self) -> bool:
        """Listen; keep the OSError (pymodbus would log it beside SmartZone's own message)."""
        self.is_closing = False
        self.is_listener = True
        try:
            created = await self.call_create()
        except OSError as exc:
            self.listen_error = exc
            return False
        self.transport = created[0] if isinstance(created, tuple) else created
        return True

    def is_listening(self) -> bool:
        """True while the listening socket accepts connections."""
        return self.transport is not None and self.transport.is_serving()  # type: ignore[attr-defined]

    @property
    def bound_port(self) -> int:
        return int(self.transport.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
