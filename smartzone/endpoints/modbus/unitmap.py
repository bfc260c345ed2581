"""One device type as a Modbus unit: its register images and how a write becomes commands.

The layout (addresses, datatypes, commands) comes from smartzone.definitions.modbus_layout;
this module turns live values into registers and written registers into checked commands.
Everything here is pure: no sockets, no threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData

from smartzone.core.commands import CommandRejected, check_value, resolve
from smartzone.core.faults.effects import WORD_SWAP
from smartzone.core.live import LiveDevice
from smartzone.definitions.device_type import DeviceType
from smartzone.definitions.modbus_layout import BIT_TABLES, COMMON_BLOCK, Field, build_layout
from smartzone.endpoints.modbus.codec import decode_raw, encode, swapped

# function code -> table
FC_TABLE = {
    1: "coils",
    2: "discrete",
    3: "holding",
    4: "input",
    5: "coils",
    6: "holding",
    15: "coils",
    16: "holding",
    23: "holding",
}
STATUS_ONLINE, STATUS_FAULT, STATUS_BATTERY_LOW = 1, 2, 4
BATTERY_LOW_PERCENT = 20.0
TABLE_ORDER = ("coils", "discrete", "holding", "input")  # pymodbus SimDevice tuple order


class WriteRejected(Exception):
    """A write that must be answered with a Modbus exception; nothing was changed."""

    def __init__(self, code: ExcCodes, message: str) -> None:
        super().__init__(message)
        self.code = code


def _number(field: Field, value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and field.enum is not None and value in field.enum:
        return float(field.enum.index(value))
    return 0.0


def _bit(field: Field, value: Any) -> bool:
    if field.true_when is not None:
        return value == field.true_when
    return _number(field, value) != 0


class TypeMap:
    """The register layout of one device type, ready for live values."""

    def __init__(self, dtype: DeviceType) -> None:
        self.dtype = dtype
        layout, problems = build_layout(dtype)
        if problems:  # the catalog rejects these on load; a hand-built type may still get here
            path, message = problems[0]
            raise ValueError(f"{dtype.type}: modbus.{'.'.join(map(str, path[1:]))}: {message}")
        self.type_code, self.map_version = layout.type_code, layout.map_version
        self.tables = layout.tables
        self.size = {t: max((f.end for f in fs), default=0) for t, fs in self.tables.items()}
        self.size["input"] = max(self.size["input"], COMMON_BLOCK)
        self._owner: dict[str, list[Field | None]] = {}
        for table, fields in self.tables.items():
            owner: list[Field | None] = [None] * self.size[table]
            for f in fields:
                owner[f.address : f.end] = [f] * f.count
            self._owner[table] = owner

    # --- address space ----------------------------------------------------------------------
    def mapped(self, table: str, address: int, count: int) -> bool:
        """Whether every address of [address, address + count) is served."""
        if count < 1 or address + count > self.size[table]:
            return False
        if table == "input" and address + count <= COMMON_BLOCK:
            return True
        owner = self._owner[table]
        first = max(address, COMMON_BLOCK) if table == "input" else address
        return all(owner[a] is not None for a in range(first, address + count))

    def simdata(self) -> tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
        """pymodbus SimData blocks per table (gaps are DataType.INVALID: pymodbus answers 0x02)."""
        blocks: dict[str, list[SimData]] = {}
        for table in TABLE_ORDER:
            size = self.size[table]
            if table in BIT_TABLES:
                bits = max(16, -(-size // 16) * 16)
                blocks[table] = [SimData(0, values=[False] * bits, datatype=DataType.BITS)]
                continue
            entries: list[SimData] = []
            if table == "input":
                entries.append(SimData(0, count=COMMON_BLOCK, datatype=DataType.REGISTERS, readonly=True))
            for f in self.tables[table]:
                entries.append(SimData(f.address, count=f.count, datatype=DataType.REGISTERS, readonly=not f.writable))
            if not entries or entries[0].address > 0:
                first = entries[0].address if entries else 1
                entries.insert(0, SimData(0, count=first, datatype=DataType.INVALID))
            blocks[table] = entries
        return blocks["coils"], blocks["discrete"], blocks["holding"], blocks["input"]

    # --- reads ------------------------------------------------------------------------------
    def common_block(self, live: LiveDevice, epoch: float) -> list[int]:
        status = STATUS_ONLINE if live.online else 0
        if live.faults:
            status |= STATUS_FAULT
        battery = live.values.get("battery")
        if isinstance(battery, (int, float)) and not isinstance(battery, bool) and battery < BATTERY_LOW_PERCENT:
            status |= STATUS_BATTERY_LOW
        seq = min(max(live.seq, 0), 0xFFFFFFFF)
        now = min(max(int(epoch), 0), 0xFFFFFFFF)
        return [self.type_code, self.map_version, status, seq >> 16, seq & 0xFFFF, now >> 16, now & 0xFFFF, 0, 0, 0]

    def field_image(self, table: str, live: LiveDevice) -> list[int]:
        """The mapped registers of `table` from address 0 (the common block and gaps read 0).

        While the device has the `word_swap` fault effect, its fields go out in the other word order.
        """
        image = [0] * self.size[table]
        swap = WORD_SWAP in live.effects
        for f in self.tables[table]:
            value = (live.values if f.source == "signal" else live.state).get(f.name)
            order = swapped(f.word_order) if swap else f.word_order
            image[f.address : f.end] = encode(_number(f, value), f.datatype, f.scale, order)
        return image

    def registers(self, table: str, live: LiveDevice, epoch: float) -> list[int]:
        """The register image of `table` from address 0 (unmapped addresses read as 0)."""
        image = self.field_image(table, live)
        if table == "input":
            image[:COMMON_BLOCK] = self.common_block(live, epoch)
        return image

    def bits(self, table: str, live: LiveDevice) -> list[bool]:
        """The bit image of `table` from address 0, padded to whole registers of 16 bits."""
        image = [False] * max(16, -(-self.size[table] // 16) * 16)
        for f in self.tables[table]:
            image[f.address] = _bit(f, (live.values if f.source == "signal" else live.state).get(f.name))
        return image

    # --- writes -----------------------------------------------------------------------------
    def _param_value(self, f: Field, words: Sequence[int] | None, bit: bool | None, swap: bool) -> Any:
        if bit is not None:
            return bit
        raw = decode_raw(words or [], f.datatype, swapped(f.word_order) if swap else f.word_order)
        spec = self.dtype.commands[f.command or ""].params[f.param or ""]
        if spec.type == "bool":
            if raw not in (0, 1):
                raise WriteRejected(ExcCodes.ILLEGAL_VALUE, f"'{f.param}' takes 0 or 1, got {raw}")
            return raw == 1
        if spec.type == "enum":
            values = spec.values or []
            if not float(raw).is_integer() or not 0 <= raw < len(values):
                raise WriteRejected(ExcCodes.ILLEGAL_VALUE, f"'{f.param}' takes an index 0..{len(values) - 1}")
            return values[int(raw)]
        value = raw / f.scale
        if spec.type == "int" and float(value).is_integer():
            return int(value)
        return value

    def commands(
        self, table: str, address: int, values: Sequence[int] | Sequence[bool], swap: bool = False
    ) -> list[tuple[str, dict]]:
        """The checked (action, params) a write runs; WriteRejected if any part is invalid.

        `swap`: the unit has the `word_swap` fault effect, so it reads written 32-bit values in the other order.
        """
        end = address + len(values)
        if not self.mapped(table, address, len(values)):
            raise WriteRejected(ExcCodes.ILLEGAL_ADDRESS, f"{table} {address}..{end - 1} are not all mapped")
        grouped: dict[str, dict[str, Any]] = {}
        for f in self.tables[table]:
            if f.end <= address or f.address >= end:
                continue
            if f.address < address or f.end > end:
                raise WriteRejected(ExcCodes.ILLEGAL_ADDRESS, f"a write must cover all of '{f.name}'")
            chunk = values[f.address - address : f.end - address]
            value = self._param_value(
                f,
                None if table in BIT_TABLES else chunk,  # type: ignore[arg-type]
                bool(chunk[0]) if table in BIT_TABLES else None,
                swap,
            )
            command = self.dtype.commands[f.command or ""]
            try:
                value = check_value(f.param or "", command.params[f.param or ""], value)
            except CommandRejected as exc:
                raise WriteRejected(ExcCodes.ILLEGAL_VALUE, exc.message) from None
            grouped.setdefault(f.command or "", {})[f.param or ""] = value
        for action, params in grouped.items():
            try:
                resolve(self.dtype, action, params)
            except CommandRejected as exc:
                raise WriteRejected(ExcCodes.ILLEGAL_VALUE, exc.message) from None
        return list(grouped.items())
