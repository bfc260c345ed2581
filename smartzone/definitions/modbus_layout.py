"""The Modbus register layout of a device type, computed from its `modbus:` map (pure data).

Rules (docs/modbus.md):
- input registers 0-9 are the common block; mapped input registers start at 10;
- an entry without `address` takes the next free address of its table (input from 10,
  the other tables from 0), in the order the device type declares them;
- 32-bit datatypes take two registers; coils and discrete inputs take one bit;
- holding registers and coils are writable: they map a state variable, and a write runs
  the command named by `command:`, or else the first command (in declaration order) whose
  `set` maps that state variable from one of its parameters and that needs no other
  parameter. That parameter receives the written value.

The endpoint (smartzone.endpoints.modbus) encodes values with this layout; the catalog
checks it so that a bad map is a located error, not a failure at gateway start.
"""

from __future__ import annotations

from dataclasses import dataclass

from smartzone.definitions.device_type import DeviceType, RegisterMap

TABLES = ("input", "holding", "coils", "discrete")
WRITABLE = frozenset({"holding", "coils"})
BIT_TABLES = frozenset({"coils", "discrete"})
COMMON_BLOCK = 10
MAX_UNITS = 247
WIDTH = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Field:
    """One mapped value: where it sits, how it is encoded, and (if writable) what a write does."""

    table: str
    address: int
    count: int
    source: str  # "signal" or "state"
    name: str
    datatype: str  # a wire datatype, or "bit"
    scale: float
    word_order: str
    unit: str
    enum: tuple[str, ...] | None
    true_when: str | None
    command: str | None = None
    param: str | None = None

    @property
    def writable(self) -> bool:
        return self.table in WRITABLE

    @property
    def end(self) -> int:
        return self.address + self.count


@dataclass(frozen=True)
class Layout:
    """All fields of a device type by table, sorted by address."""

    type_code: int
    map_version: int
    tables: dict[str, tuple[Field, ...]]


def _command_for(dt: DeviceType, reg: RegisterMap) -> tuple[str, str] | str:
    """(command, param) a write of `reg` runs, or an error message."""
    var = reg.state
    names = [reg.command] if reg.command is not None else list(dt.commands)
    for name in names:
        cmd = dt.commands.get(name)
        if cmd is None:
            return f"no command '{name}'; known: {', '.join(sorted(dt.commands)) or 'none'}"
        ref = cmd.set.get(var or "")
        param = ref[6:] if isinstance(ref, str) and ref.startswith("param.") else None
        others = [p for n, p in cmd.params.items() if n != param and p.required]
        if param is not None and not others:
            return name, param
        if reg.command is not None:
            return f"command '{name}' must set '{var}' from a parameter and need no other parameter"
    return f"no command sets '{var}' from a parameter; add one or name it with 'command:'"


def _field(dt: DeviceType, table: str, reg: RegisterMap, address: int) -> Field:
    if reg.signal is not None:
        sig = dt.signals[reg.signal]
        unit, enum = sig.unit, sig.values
    else:
        var = dt.state[reg.state or ""]
        unit, enum = var.unit, var.values
    bits = table in BIT_TABLES
    return Field(
        table=table,
        address=address,
        count=1 if bits else WIDTH[reg.datatype],
        source="signal" if reg.signal is not None else "state",
        name=reg.signal or reg.state or "",
        datatype="bit" if bits else reg.datatype,
        scale=1.0 if bits else reg.scale,
        word_order=reg.word_order,
        unit=unit,
        enum=tuple(enum) if enum else None,
        true_when=reg.true_when,
    )


def build_layout(dt: DeviceType) -> tuple[Layout, list[tuple[Path, str]]]:
    """The layout of `dt` and the problems found (path inside the file, message)."""
    problems: list[tuple[Path, str]] = []
    tables: dict[str, tuple[Field, ...]] = {}
    for table in TABLES:
        fields: list[Field] = []
        nxt = COMMON_BLOCK if table == "input" else 0
        for i, reg in enumerate(getattr(dt.modbus, table)):
            path: Path = ("modbus", table, i)
            if (reg.signal is not None and reg.signal not in dt.signals) or (
                reg.state is not None and reg.state not in dt.state
            ):
                continue  # reported by the catalog's reference check
            address = reg.address if reg.address is not None else nxt
            field = _field(dt, table, reg, address)
            nxt = field.end
            if table == "input" and address < COMMON_BLOCK:
                problems.append(((*path, "address"), f"0-{COMMON_BLOCK - 1} is the common block"))
            if field.end > 65536:
                problems.append(((*path, "address"), "the value does not fit below address 65536"))
            clash = next((f for f in fields if f.address < field.end and address < f.end), None)
            if clash is not None:
                where = f"{table} address {clash.address}"
                problems.append(((*path, "address"), f"overlaps '{clash.name}' at {where}"))
            if reg.true_when is not None and reg.true_when not in (field.enum or ()):
                problems.append(((*path, "true_when"), f"'{reg.true_when}' is not a value of {field.name}"))
            if table in WRITABLE:
                if reg.state is None:
                    problems.append((path, f"{table} are writable: map a state variable, not a signal"))
                else:
                    found = _command_for(dt, reg)
                    if isinstance(found, str):
                        problems.append(((*path, "command"), found))
                    else:
                        field = Field(**{**field.__dict__, "command": found[0], "param": found[1]})
            elif reg.command is not None:
                problems.append(((*path, "command"), f"{table} are read-only: no 'command'"))
            fields.append(field)
        tables[table] = tuple(sorted(fields, key=lambda f: f.address))
    return Layout(dt.modbus.type_code, dt.modbus.map_version, tables), problems
