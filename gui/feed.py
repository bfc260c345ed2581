"""The bridge from the engine thread to the GUI thread: a coalescing buffer of bus facts.

Bus callbacks run on the engine thread. `LiveFeed.on_event` only appends under a short lock
(latest values per device, a bounded history ring per device, a bounded list of notable
events); the GUI thread calls `drain()` from a QTimer at 10-30 Hz and gets one `Frame` with
everything that changed since the last frame. No Qt here, and never one signal per reading.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smartzone.core.events import (
    Event,
    FaultChanged,
    Reading,
    StateChanged,
    StatusChanged,
)

HISTORY_POINTS = 600  # readings kept per device for the inspector plot
MAX_EVENTS_PER_FRAME = 2000  # notable events buffered between two frames (older ones are counted, not kept)
MAX_MESSAGES_PER_FRAME = 400  # readings kept for the message log between two frames (the rest are counted)


@dataclass
class NetStats:
    """Per network profile counters derived from readings: delivered, lost (seq gaps), latency."""

    delivered: int = 0
    lost: int = 0
    latency_sum: float = 0.0
    latency_max: float = 0.0

    @property
    def latency_mean(self) -> float:
        return self.latency_sum / self.delivered if self.delivered else 0.0


@dataclass
class Frame:
    """What changed since the previous drain (owned by the GUI thread once returned)."""

    sim_time: float = 0.0
    readings: int = 0
    values: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    states: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    online: dict[str, bool] = field(default_factory=dict)
    faults: dict[str, dict[str, bool]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    dropped_events: int = 0
    messages: list[Reading] = field(default_factory=list)
    dropped_messages: int = 0

    @property
    def changed_devices(self) -> set[str]:
        return set(self.values) | set(self.states) | set(self.online) | set(self.faults)


class LiveFeed:
    """Thread-safe: `on_event` from the engine thread, everything else from the GUI thread."""

    def __init__(self, networks: Mapping[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self._frame = Frame()
        self._history: dict[str, deque[tuple[float, Mapping[str, Any]]]] = {}
        self._last_seq: dict[str, int] = {}
        self._network_of = dict(networks or {})
        self._net: dict[str, NetStats] = {}
        self.total_readings = 0

    # --- engine thread --------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        with self._lock:
            frame = self._frame
            frame.sim_time = event.t
            if isinstance(event, Reading):
                self._on_reading(frame, event)
                return
            if isinstance(event, StateChanged):
                frame.states[event.device] = event.values
            elif isinstance(event, StatusChanged):
                frame.online[event.device] = event.online
            elif isinstance(event, FaultChanged):
                frame.faults.setdefault(event.device, {})[event.fault] = event.active
            # every non-reading fact (state, status, command result, fault, and kinds added
            # later such as network or timeline events) goes to the event log
            if len(frame.events) < MAX_EVENTS_PER_FRAME:
                frame.events.append(event)
            else:
                frame.dropped_events += 1

    def _on_reading(self, frame: Frame, r: Reading) -> None:
        frame.readings += 1
        self.total_readings += 1
        frame.values[r.device] = r.values
        if len(frame.messages) < MAX_MESSAGES_PER_FRAME:
            frame.messages.append(r)
        else:
            frame.dropped_messages += 1
        hist = self._history.get(r.device)
        if hist is None:
            hist = self._history[r.device] = deque(maxlen=HISTORY_POINTS)
        hist.append((r.measured_at, r.values))
        stats = self._net.get(self._network_of.get(r.device, "?"))
        if stats is None:
            stats = self._net[self._network_of.get(r.device, "?")] = NetStats()
        last = self._last_seq.get(r.device)
        if last is not None and r.seq > last + 1:
            stats.lost += r.seq - last - 1
        self._last_seq[r.device] = max(r.seq, last or 0)
        stats.delivered += 1
        latency = r.t - r.measured_at
        stats.latency_sum += latency
        stats.latency_max = max(stats.latency_max, latency)

    # --- GUI thread -----------------------------------------------------------------------
    def drain(self) -> Frame:
        """Everything since the previous call, as one frame; resets the buffer."""
        with self._lock:
            frame, self._frame = self._frame, Frame(sim_time=self._frame.sim_time)
        return frame

    def reset(self, sim_time: float) -> None:
        """Forget everything (a replay went back to `sim_time`): buffered facts, histories, counters."""
        with self._lock:
            self._frame = Frame(sim_time=sim_time)
            self._history.clear()
            self._last_seq.clear()
            self._net.clear()

    def history(self, device: str) -> list[tuple[float, Mapping[str, Any]]]:
        with self._lock:
            return list(self._history.get(device, ()))

    def network_stats(self) -> dict[str, NetStats]:
        with self._lock:
            return {k: NetStats(v.delivered, v.lost, v.latency_sum, v.latency_max) for k, v in self._net.items()}
