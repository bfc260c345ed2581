"""What the MQTT endpoint needs from its host runtime, as a Protocol.

Endpoints sit below smartzone.runtime in the layers, so they never import it: the runtime
(smartzone.runtime.api.Runtime) satisfies this protocol structurally. Supervision comes the
same way: `runtime.guard(component, fn)` (runtime/health.py's guard on the runtime's health
registry) and `runtime.watch(component, probe)` (its watchdog).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

from smartzone.core.commands import DeviceCommand, SetOnline
from smartzone.core.device import DeviceInfo
from smartzone.core.events import CommandResult, Event
from smartzone.core.sandbox import SandboxCommand
from smartzone.core.world import DeviceSnapshot
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.scenario import Scenario

F = TypeVar("F", bound=Callable[..., Any])
Guard = Callable[[str, Callable[..., Any]], Callable[..., Any]]  # (component, fn) -> fn that never raises
Probe = Callable[[], "str | None"]  # a cause when the watched part is dead, else None

log = logging.getLogger("smartzone.mqtt")


def unsupervised(component: str, fn: F) -> F:
    """A guard for parts used without a runtime (tests, tools): log the exception and go on."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception:
            log.exception("%s: unexpected error (survived)", component)
            return None

    return guarded  # type: ignore[return-value]


class RuntimeLike(Protocol):
    """What the bridge uses of smartzone.runtime.Runtime (endpoints sit below the runtime)."""

    scenario: Scenario
    catalog: Catalog
    devices: dict[str, DeviceInfo]

    def subscribe(
        self, callback: Callable[[Event], None], kinds: tuple[type[Event], ...] | None = None
    ) -> Callable[[], None]: ...

    def on_step(self, hook: Callable[[], None]) -> Callable[[], None]: ...

    def submit(self, command: DeviceCommand | SetOnline | SandboxCommand) -> Future[CommandResult | None]: ...

    def snapshot(self, timeout: float = 5.0) -> Mapping[str, DeviceSnapshot]: ...

    @property
    def sim_time(self) -> float: ...

    def guard(self, component: str, fn: F) -> F: ...

    def watch(self, component: str, probe: Probe) -> Callable[[], None]: ...
