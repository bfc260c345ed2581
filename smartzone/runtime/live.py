"""The live cache of latest facts per device (defined in smartzone.core.live, used by every layer)."""

from smartzone.core.live import LiveDevice, LiveState

__all__ = ["LiveDevice", "LiveState"]
