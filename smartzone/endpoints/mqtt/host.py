"""What the MQTT endpoint needs from its host runtime, as a Protocol.

Endpoints sit below smartzone.runtime in the layers, so they never import it: the runtime
(smartzone.runtime.api.Runtime) satisfies this protocol structurally.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Protocol

from smartzone.core.commands import DeviceCommand, SetOnline
from smartzone.core.device import DeviceInfo
from smartzone.core.events import CommandResult, Event
from smartzone.core.world import DeviceSnapshot
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.scenario import Scenario


class RuntimeLike(Protocol):
    """What the bridge uses of smartzone.runtime.Runtime (endpoints sit below the runtime)."""

    scenario: Scenario
    catalog: Catalog
    devices: dict[str, DeviceInfo]

    def subscribe(
        self, callback: Callable[[Event], None], kinds: tuple[type[Event], ...] | None = None
    ) -> Callable[[], None]: ...

    def on_step(self, hook: Callable[[], None]) -> Callable[[], None]: ...

    def submit(self, command: DeviceCommand | SetOnline) -> Future[CommandResult | None]: ...

    def snapshot(self, timeout: float = 5.0) -> Mapping[str, DeviceSnapshot]: ...

    @property
    def sim_time(self) -> float: ...
