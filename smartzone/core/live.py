"""A thread-safe cache of the latest facts per device, fed by the bus.

Endpoints (e.g. Modbus reads) and the GUI read current values here without a round trip
to the engine thread; they get copies, never live device objects.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from smartzone.core.events import Event, FaultChanged, Reading, StateChanged, StatusChanged


@dataclass
class LiveDevice:
    values: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    online: bool = True
    seq: int = 0
    t: float = 0.0
    faults: frozenset[str] = frozenset()
    effects: frozenset[str] = frozenset()  # what the active faults do (word_swap ...), for the endpoints


class LiveState:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._devices: dict[str, LiveDevice] = {}
        self._effects: dict[str, dict[str, str]] = {}  # device -> {active fault: its effect}
        self.sim_time = 0.0

    def seed(self, device: str, values: dict[str, Any], state: dict[str, Any], online: bool, seq: int) -> None:
        with self._lock:
            self._devices[device] = LiveDevice(dict(values), dict(state), online, seq)
            self._effects.pop(device, None)

    def on_event(self, event: Event) -> None:
        with self._lock:
            self.sim_time = event.t
            # only devices: network stats, timeline edges and link/backhaul faults name no device
            live = self._devices.get(getattr(event, "device", None))  # type: ignore[arg-type]
            if live is None:
                return
            if isinstance(event, Reading):
                # events are immutable facts: keep the reference, get() hands out copies
                live.values, live.seq, live.t = event.values, event.seq, event.t  # type: ignore[assignment]
            elif isinstance(event, StateChanged):
                live.state = dict(event.values)
            elif isinstance(event, StatusChanged):
                live.online = event.online
            elif isinstance(event, FaultChanged):
                live.faults = live.faults | {event.fault} if event.active else live.faults - {event.fault}
                effects = self._effects.setdefault(event.device, {})
                if event.active:
                    effects[event.fault] = str(event.params.get("effect", event.fault))
                else:
                    effects.pop(event.fault, None)
                live.effects = frozenset(effects.values())

    def get(self, device: str) -> LiveDevice | None:
        with self._lock:
            live = self._devices.get(device)
            if live is None:
                return None
            return LiveDevice(
                dict(live.values), dict(live.state), live.online, live.seq, live.t, live.faults, live.effects
            )

    def online_count(self) -> int:
        with self._lock:
            return sum(1 for d in self._devices.values() if d.online)
