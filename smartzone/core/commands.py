"""Commands into the simulation (immutable) and their validation against the device type.

A command is checked completely before anything changes: an unknown action, an unknown,
missing or out-of-range parameter rejects it with the error code of docs/api.md and a message that
names the parameter and the allowed range. A rejected command changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smartzone.definitions.device_type import DeviceType, Param

MAX_ID_LENGTH = 64


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


def check_value(name: str, spec: Param, value: Any) -> Any:
    """The value converted to the parameter's type, or CommandRejected('invalid_params')."""
    ok = True
    if spec.type == "bool":
        ok = isinstance(value, bool)
    elif spec.type == "enum":
        ok = isinstance(value, str) and value in (spec.values or [])
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        ok = False
    elif spec.type == "int":
        ok = float(value).is_integer()
        value = int(value) if ok else value
    if ok and spec.type in ("int", "float"):
        ok = (spec.min is None or value >= spec.min) and (spec.max is None or value <= spec.max)
    if not ok:
        raise CommandRejected("invalid_params", f"{_describe_range(name, spec)}, got {value!r}")
    return value


def resolve(dtype: DeviceType, action: str, params: Any) -> dict[str, Any]:
    """State updates that `action(params)` makes on a device of `dtype`; raises CommandRejected."""
    command = dtype.commands.get(action)
    if command is None:
        known = ", ".join(sorted(dtype.commands)) or "none (this device takes no commands)"
        raise CommandRejected("unknown_action", f"unknown action '{action}' for {dtype.type}; known: {known}")
    if not isinstance(params, Mapping):
        raise CommandRejected("invalid_params", "'params' must be an object")
    unknown = sorted(set(params) - set(command.params))
    if unknown:
        allowed = ", ".join(sorted(command.params)) or "none"
        raise CommandRejected("invalid_params", f"unknown parameter '{unknown[0]}'; allowed: {allowed}")
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
