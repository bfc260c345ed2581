"""Commands into the simulation (immutable) and their validation against the device type.

A command is checked completely before anything changes: an unknown action, an unknown,
missing or out-of-range parameter rejects it with the error code of docs/api.md and a message that
names the parameter and the allowed range. A rejected command changes nothing.

Commands come from the network, so validation never raises anything but CommandRejected,
whatever the values are (a bool for an int, an integer of 10,000 digits, inf or NaN, a
nested object, a megabyte string), and the values it quotes in messages are shortened.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smartzone.definitions.device_type import DeviceType, Param

MAX_ID_LENGTH = 64
MAX_QUOTED = 40  # characters of an offending name or value quoted in an error message


@dataclass(frozen=True)
class DeviceCommand:
    """Ask a device to perform `action` with `params` (from an app, the GUI, a gateway, the CLI)."""

    device: str
    action: str
    params: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None
    source: str = "api"
    user: str | None = None


@dataclass(frozen=True)
class SetOnline:
    """Take a device off the network or bring it back."""

    device: str
    online: bool
    reason: str = "manual"


class CommandRejected(Exception):
    """A command that cannot be applied; `code` is one of the error codes of docs/api.md."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _describe_range(name: str, spec: Param) -> str:
    if spec.type == "enum":
        return f"'{name}' must be one of {spec.values}"
    if spec.type == "bool":
        return f"'{name}' must be true or false"
    kind = "an integer" if spec.type == "int" else "a number"
    if spec.min is not None and spec.max is not None:
        return f"'{name}' must be {kind} from {spec.min:g} to {spec.max:g}"
    return f"'{name}' must be {kind}"


def quote(value: Any) -> str:
    """A short repr of `value` for an error message (a huge value must not make a huge ack)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**MAX_QUOTED:
        # str() of an int past 4,300 digits raises ValueError: estimate from the bit length
        return f"an integer of about {int(abs(value).bit_length() * math.log10(2)) + 1} digits"
    if isinstance(value, (dict, list, tuple)):
        return f"{'an object' if isinstance(value, dict) else 'an array'} of {len(value)} item(s)"
    text = repr(value[: MAX_QUOTED + 1] if isinstance(value, str) else value)
    return text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 4] + "..." + text[-1]


def quote_name(name: Any) -> str:
    """A name (action, parameter, field) for an error message: shortened, and escaped like repr
    (a lone surrogate from a JSON "\\udc00" escape cannot be encoded as UTF-8 in the ack)."""
    return quote(name)[1:-1] if isinstance(name, str) else quote(name)


def _number(spec: Param, value: Any) -> int | float | None:
    """`value` as a finite number of the parameter's type, or None (never raises)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if spec.type == "int" and isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    # comparisons of int and float are exact in Python, even for integers beyond float range
    if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
        return None
    if spec.type == "float" and isinstance(value, int) and abs(value) > 2**53:
        return None  # a huge integer for a float parameter: no simulated device takes that
    return value


def check_value(name: str, spec: Param, value: Any) -> Any:
    """The value converted to the parameter's type, or CommandRejected('invalid_params')."""
    ok, out = True, value
    if spec.type == "bool":
        ok = isinstance(value, bool)
    elif spec.type == "enum":
        ok = isinstance(value, str) and value in (spec.values or [])
    else:
        out = _number(spec, value)
        ok = out is not None
    if not ok:
        raise CommandRejected("invalid_params", f"{_describe_range(name, spec)}, got {quote(value)}")
    return out


def resolve(dtype: DeviceType, action: Any, params: Any) -> dict[str, Any]:
    """State updates that `action(params)` makes on a device of `dtype`; raises CommandRejected."""
    command = dtype.commands.get(action) if isinstance(action, str) else None
    if command is None:
        known = ", ".join(sorted(dtype.commands)) or "none (this device takes no commands)"
        raise CommandRejected(
            "unknown_action", f"unknown action '{quote_name(action)}' for {dtype.type}; known: {known}"
        )
    if not isinstance(params, Mapping):
        raise CommandRejected("invalid_params", "'params' must be an object")
    unknown = sorted((k for k in params if k not in command.params), key=str)
    if unknown:
        allowed = ", ".join(sorted(command.params)) or "none"
        raise CommandRejected("invalid_params", f"unknown parameter '{quote_name(unknown[0])}'; allowed: {allowed}")
    checked: dict[str, Any] = {}
    for name, spec in command.params.items():
        if name not in params:
            if spec.required:
                raise CommandRejected("invalid_params", f"missing parameter '{name}': {_describe_range(name, spec)}")
            continue
        checked[name] = check_value(name, spec, params[name])
    updates: dict[str, Any] = {}
    for var, value in command.set.items():
        if isinstance(value, str) and value.startswith("param."):
            if value[6:] in checked:
                updates[var] = checked[value[6:]]
        else:
            updates[var] = value
    return updates
