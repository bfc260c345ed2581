"""Fault commands: what the timeline, the runtime API, the GUI and the endpoints can inject.

They are executed by World.execute on the engine thread, like device commands. A fault
with a `duration` ends by itself; otherwise it lasts until the matching Clear/Restore
command. A bad fault command raises FaultRejected (a ValueError) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class FaultRejected(ValueError):
    """A fault command naming an unknown device, fault, signal, profile or backhaul."""


@dataclass(frozen=True)
class InjectFault:
    """Start a fault on a device: a fault its type declares, or a bare effect.

    Effects: offline, stuck, drift (magnitude per hour), noise (standard deviation), spike
    (+/- magnitude on a fifth of the readings), offset, battery_drain (drain x magnitude,
    the device dies when empty), clock_skew (timestamps off by magnitude seconds).
    """

    device: str
    fault: str
    signal: str | None = None
    magnitude: float | None = None
    duration: float | None = None
    source: str = "api"


@dataclass(frozen=True)
class ClearFault:
    """End a device fault (no-op if it is not active)."""

    device: str
    fault: str
    source: str = "api"


@dataclass(frozen=True)
class DegradeLink:
    """Change a network profile live (netem fields: delay, jitter, loss, ...) for every link using it."""

    profile: str
    params: Mapping[str, Any] = field(default_factory=dict)
    duration: float | None = None
    name: str = "link_degraded"
    source: str = "api"


@dataclass(frozen=True)
class RestoreLink:
    """Undo a DegradeLink of the same profile and name."""

    profile: str
    name: str = "link_degraded"
    source: str = "api"


@dataclass(frozen=True)
class CutBackhaul:
    """Cut a backhaul or gateway (everything through it is lost) or, with cut=False, restore it."""

    backhaul: str
    cut: bool = True
    duration: float | None = None
    source: str = "api"


FaultCommand = InjectFault | ClearFault | DegradeLink | RestoreLink | CutBackhaul
FAULT_COMMANDS = (InjectFault, ClearFault, DegradeLink, RestoreLink, CutBackhaul)
