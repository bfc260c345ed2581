"""A real Modbus TCP device: polled every `poll` seconds on its own thread, written on command.

One thread per device (`sz-realdevice-{id}`) does all the talking, so reads and writes never
interleave on the connection. Registers are decoded with the Modbus endpoint's codec (datatype,
scale, word order: endpoints/modbus/codec.py) into {register name: value}, the document the
mapping reads. A device that does not answer is reported once and retried with backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

import jmespath
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

from smartzone.core.bridged import BridgedCommand
from smartzone.definitions.bridged import BridgedDevice, ModbusWrite, Register
from smartzone.definitions.device_type import DeviceType
from smartzone.definitions.modbus_layout import WIDTH
from smartzone.endpoints.modbus.codec import decode, encode
from smartzone.endpoints.realdevice.link import Backoff, Host, Link
from smartzone.endpoints.realdevice.mapping import Mapper

STOP_TIMEOUT_S = 5.0
# pymodbus logs each refused connection; the link reports the outage itself, once
logging.getLogger("pymodbus").addHandler(logging.NullHandler())


class DeviceRefused(Exception):
    """The device answered a request with a Modbus exception (the message says which)."""


class ModbusLink(Link):
    """Polls one Modbus TCP device and performs its commands as writes."""

    def __init__(self, rt: Host, spec: BridgedDevice, dtype: DeviceType) -> None:
        super().__init__(rt, spec, dtype)
        assert spec.modbus is not None
        self.source = spec.modbus
        self.where = f"modbus://{self.source.host}:{self.source.port} unit {self.source.unit}"
        self.registers = {r.name: r for r in self.source.registers}
        self._writes: deque[BridgedCommand] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = self._new_thread()
        self._unwatch: Any = None

    def _new_thread(self) -> threading.Thread:
        return threading.Thread(target=self._run, name=f"sz-realdevice-{self.spec.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._unwatch = self.rt.watch(self.component, self._probe)

    def _probe(self) -> str | None:
        """The watchdog's check: a thread that ended without being stopped is restarted."""
        if self._thread.is_alive() or self._stop.is_set():
            return None
        self.rt.health.down(self.component, "its polling thread ended; restarting it")
        self._thread = self._new_thread()
        self._thread.start()
        self.rt.health.up(self.component, "polling thread restarted")
        return None

    def close(self) -> None:
        unwatch, self._unwatch = self._unwatch, None
        if unwatch is not None:
            unwatch()  # a deliberate stop is not a death
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S)

    def command(self, event: BridgedCommand) -> None:
        self.counts["commands"] += 1
        self._writes.append(event)
        self._wake.set()

    # --- the device's thread --------------------------------------------------------------------
    def _run(self) -> None:
        backoff = Backoff()
        client: ModbusTcpClient | None = None
        next_poll = 0.0
        step = self.rt.guard(self.component, self._step)
        while not self._stop.is_set():
            if client is None or not client.connected:
                client = ModbusTcpClient(
                    self.source.host, port=self.source.port, timeout=self.source.timeout, retries=0
                )
                if not client.connect():
                    client.close()
                    self._unreachable(f"cannot connect to {self.where}")
                    self._stop.wait(backoff.take())
                    continue
            result = step(client, next_poll)
            if result is None:  # lost (or a bug, reported as survived): reconnect after a pause
                client.close()
                self._stop.wait(backoff.take())
                continue
            next_poll = result
            backoff.reset()
            self._wake.wait(max(0.0, next_poll - time.monotonic()))
            self._wake.clear()
        if client is not None:
            client.close()

    def _step(self, client: ModbusTcpClient, next_poll: float) -> float | None:
        """Writes waiting, then a poll if one is due; the time of the next poll, or None if lost."""
        try:
            while self._writes:
                self._write(client, self._writes.popleft())
            if time.monotonic() >= next_poll:
                doc = {name: self._read(client, reg) for name, reg in self.registers.items()}
                self.reach(f"answered on {self.where}")
                self.take(doc)
                return time.monotonic() + self.source.poll
            return next_poll
        except (ModbusException, OSError, DeviceRefused) as exc:
            self._unreachable(f"{self.where}: {exc}")
            return None

    def _unreachable(self, cause: str) -> None:
        self.lose(cause)
        while self._writes:  # commands that reached it before it went offline get no answer
            event = self._writes.popleft()
            self.answer(event.ref, False, "timeout", f"the real device did not answer: {cause}")

    def _read(self, client: ModbusTcpClient, reg: Register) -> Any:
        unit = self.source.unit
        if reg.table in ("coils", "discrete"):
            read = client.read_coils if reg.table == "coils" else client.read_discrete_inputs
            rr = read(reg.address, count=1, device_id=unit)
            self._check(rr, f"reading {reg.name}")
            return bool(rr.bits[0])
        read = client.read_input_registers if reg.table == "input" else client.read_holding_registers
        rr = read(reg.address, count=WIDTH[reg.datatype], device_id=unit)
        self._check(rr, f"reading {reg.name}")
        return decode(rr.registers, reg.datatype, reg.scale, reg.word_order)

    @staticmethod
    def _check(response: Any, what: str) -> None:
        if response.isError():
            raise DeviceRefused(
                f"{what}: the device answered with Modbus exception {getattr(response, 'exception_code', '?')}"
            )

    def _write(self, client: ModbusTcpClient, event: BridgedCommand) -> None:
        cmd = self.spec.mapping.commands.get(event.action)
        if not isinstance(cmd, ModbusWrite):  # the schema checks prevent it; answered, never raised
            self.answer(event.ref, False, "device_error", f"no register write for '{event.action}' in the mapping")
            return
        reg = self.registers[cmd.register_name]
        try:
            value = jmespath.search(
                cmd.value, Mapper.command_input(event.ref, event.command_id, event.action, dict(event.params))
            )
            if reg.table == "coils":
                rr = client.write_coil(reg.address, bool(value), device_id=self.source.unit)
            else:
                words = encode(float(value), reg.datatype, reg.scale, reg.word_order)
                if len(words) == 1:
                    rr = client.write_register(reg.address, words[0], device_id=self.source.unit)
                else:
                    rr = client.write_registers(reg.address, words, device_id=self.source.unit)
        except (TypeError, ValueError, jmespath.exceptions.JMESPathError) as exc:
            self.answer(event.ref, False, "device_error", f"cannot write {reg.name}: {exc}")
            return
        except (ModbusException, OSError) as exc:
            self.answer(event.ref, False, "timeout", f"the real device did not answer the write of {reg.name}: {exc}")
            raise
        if rr.isError():
            code = getattr(rr, "exception_code", "?")
            self.answer(
                event.ref,
                False,
                "device_error",
                f"the device refused the write of {reg.name} (Modbus exception {code})",
            )
        else:
            self.answer(event.ref, True)
