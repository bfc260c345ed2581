"""Device, link and backhaul faults: commands, effects on readings, and their manager."""

from smartzone.core.faults.commands import (
    FAULT_COMMANDS,
    ClearFault,
    CutBackhaul,
    DegradeLink,
    FaultCommand,
    FaultRejected,
    InjectFault,
    RestoreLink,
)
from smartzone.core.faults.manager import FaultManager

__all__ = [
    "FAULT_COMMANDS",
    "ClearFault",
    "CutBackhaul",
    "DegradeLink",
    "FaultCommand",
    "FaultManager",
    "FaultRejected",
    "InjectFault",
    "RestoreLink",
]
