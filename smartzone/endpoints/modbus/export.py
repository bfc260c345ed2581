"""The full Modbus map of a scenario as rows (gateway, port, unit, device, register ...).

`smartzone export modbus-map SCENARIO --format csv|md` writes these rows; the same rules
as a running gateway decide gateways, ports, unit ids and addresses.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping

from smartzone.core.device import DeviceInfo
from smartzone.definitions.device_type import DeviceType
from smartzone.definitions.modbus_layout import BIT_TABLES, Layout, build_layout
from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.modbus.gateways import plan_gateways

COLUMNS = (
    "gateway",
    "port",
    "unit",
    "device",
    "table",
    "address",
    "count",
    "datatype",
    "scale",
    "word_order",
    "unit_of_measure",
    "signal",
    "access",
)
TABLE_NAMES = {"input": "input register", "holding": "holding register", "coils": "coil", "discrete": "discrete input"}
COMMON = (  # address, count, datatype, name
    (0, 1, "uint16", "common.type_code"),
    (1, 1, "uint16", "common.map_version"),
    (2, 1, "uint16", "common.status (bit0 online, bit1 fault, bit2 battery low)"),
    (3, 2, "uint32", "common.seq"),
    (5, 2, "uint32", "common.epoch_s"),
    (7, 3, "uint16", "common.reserved"),
)


def _device_rows(layout: Layout) -> Iterator[tuple[object, ...]]:
    for address, count, datatype, name in COMMON:
        yield "input register", address, count, datatype, 1, "ABCD", "", name, "read"
    for table, fields in layout.tables.items():
        for f in fields:
            scale = "" if table in BIT_TABLES else f"{f.scale:g}"
            order = "" if table in BIT_TABLES else f.word_order
            signal = f"{f.source}.{f.name}"
            if f.enum is not None and f.true_when is None:
                signal += " (" + ", ".join(f"{i}={v}" for i, v in enumerate(f.enum)) + ")"
            elif f.true_when is not None:
                signal += f" (1={f.true_when})"
            access = f"read/write ({f.command})" if f.writable else "read"
            yield TABLE_NAMES[table], f.address, f.count, f.datatype, scale, order, f.unit, signal, access


def map_rows(
    scenario: Scenario, types: Mapping[str, DeviceType], devices: Iterable[DeviceInfo], first_port: int
) -> list[tuple[object, ...]]:
    """One row per register range of every device behind a gateway."""
    layouts = {name: build_layout(dt)[0] for name, dt in types.items()}
    rows: list[tuple[object, ...]] = []
    for plan in plan_gateways(scenario, devices):
        port = plan.port(first_port) if first_port else "any"
        for unit, info in plan.units.items():
            for row in _device_rows(layouts[info.type]):
                rows.append((plan.id, port, unit, info.id, *row))
    return rows


def to_csv(rows: list[tuple[object, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


def to_markdown(rows: list[tuple[object, ...]]) -> str:
    def cell(v: object) -> str:
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
