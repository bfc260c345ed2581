"""A bridged device's mapping applied: vendor data -> contract values, contract commands -> vendor ones.

Pure functions over JSON-like data (JMESPath, jmespath package). Vendor data come from the network,
so nothing here raises anything but MappingError, whose message names the field and what was wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jmespath

from smartzone.core.commands import quote
from smartzone.definitions.bridged import BridgedDevice, FieldMap, MqttCommand
from smartzone.definitions.device_type import DeviceType


class MappingError(Exception):
    """Vendor data (or a command) the mapping cannot translate; the message names the field."""


@dataclass(frozen=True)
class Answer:
    """A vendor answer to a command: which command (`id`), whether it was done, and why not."""

    id: str
    ok: bool
    message: str


def _search(expr: str, doc: Any, what: str) -> Any:
    try:
        return jmespath.search(expr, doc)
    except Exception as exc:  # a JMESPath function applied to the wrong vendor type, ...
        raise MappingError(f"{what}: {expr!r} cannot be evaluated: {exc}") from None


class Mapper:
    """The mapping of one bridged device, checked against its device type."""

    def __init__(self, spec: BridgedDevice, dtype: DeviceType) -> None:
        self.spec, self.dtype = spec, dtype

    # --- vendor -> contract -----------------------------------------------------------------
    def read(self, doc: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """(signal values, state values) found in one vendor document; fields it lacks are left out."""
        values = {
            name: v for name, f in self.spec.mapping.signals.items() if (v := self._field(doc, name, f)) is not None
        }
        state = {
            name: v
            for name, f in self.spec.mapping.state.items()
            if (v := self._field(doc, f"state.{name}", f)) is not None
        }
        if not values and not state:
            raise MappingError(f"none of the mapped fields is in the data ({quote(doc)})")
        return values, state

    def _field(self, doc: Any, name: str, f: FieldMap) -> Any:
        raw = _search(f.path, doc, name)
        if raw is None:
            return None
        if f.map is not None:
            key = str(raw).lower() if isinstance(raw, bool) else str(raw)
            if key not in f.map:
                raise MappingError(f"{name}: {quote(raw)} at {f.path!r} is not in its map ({', '.join(f.map)})")
            value = f.map[key]
        elif isinstance(raw, bool) or not isinstance(raw, (int, float)):
            value = raw
        else:
            value = raw * f.scale + f.offset
        return self._check(name, value)

    def _check(self, name: str, value: Any) -> Any:
        """`value` if it fits the signal or state variable `name` (bools, enums, finite numbers)."""
        spec: Any = self.dtype.state[name[6:]] if name.startswith("state.") else self.dtype.signals[name]
        kind = spec.type if name.startswith("state.") else spec.datatype
        if kind == "bool":
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
                return bool(value)
            ok = isinstance(value, bool)
        elif kind in ("enum", "str"):
            ok = isinstance(value, str) and (not spec.values or value in spec.values)
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok:
            raise MappingError(f"{name}: {quote(value)} is not a valid {kind} value")
        return value

    # --- contract -> vendor -----------------------------------------------------------------
    @staticmethod
    def command_input(ref: int, command_id: str | None, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """What a command's JMESPath expressions read: {id, action, params} (id: the command's, or sz-REF)."""
        return {"id": command_id or f"sz-{ref}", "action": action, "params": params}

    def mqtt_payload(self, data: dict[str, Any]) -> dict[str, Any]:
        """The vendor message of a command (MQTT devices)."""
        cmd = self.spec.mapping.commands.get(data["action"])
        if not isinstance(cmd, MqttCommand):
            raise MappingError(f"no vendor message for '{data['action']}' in the mapping")
        return {
            key: _search(expr, data, f"commands.{data['action']}.payload.{key}") for key, expr in cmd.payload.items()
        }

    def answer(self, doc: Any) -> Answer:
        """A vendor answer (MQTT devices), by the mapping's `ack`."""
        ack = self.spec.mapping.ack
        if ack is None:
            raise MappingError("the mapping has no 'ack'")
        cid = _search(ack.id, doc, "ack.id")
        if not isinstance(cid, (str, int)) or isinstance(cid, bool):
            raise MappingError(f"ack.id: no command id at {ack.id!r} ({quote(doc)})")
        message = _search(ack.message, doc, "ack.message") if ack.message else None
        return Answer(str(cid), bool(_search(ack.ok, doc, "ack.ok")), str(message) if message is not None else "")
