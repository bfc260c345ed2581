"""The city's networks: one link per device, shared hops, live degradation, statistics.

Built from the scenario's `networks:` section. With `enabled: false` (or World(network=
False)) devices publish straight on the bus and commands apply at once, as before.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import simpy

from smartzone.core.bus import EventBus
from smartzone.core.network.backhaul import Hop, HopState
from smartzone.core.network.link import Link, ProfileRef
from smartzone.core.network.profiles import build, flatten, merge
from smartzone.core.network.stats import Counters
from smartzone.core.rng import stream
from smartzone.core.simenv import CityEnvironment
from smartzone.definitions.network import Networks, ProfileSpec

if TYPE_CHECKING:
    from smartzone.core.device import Device


class NetworkError(ValueError):
    """A network command names an unknown profile or backhaul, or bad parameters."""


class Network:
    """All links and hops of one world."""

    def __init__(self, spec: Networks, env: CityEnvironment, bus: EventBus, seed: int, enabled: bool = True) -> None:
        self.spec = spec
        self.env = env
        self.bus = bus
        self.seed = seed
        self.enabled = enabled and spec.enabled
        self.refs: dict[str, ProfileRef] = {}
        self._flat: dict[str, ProfileSpec] = {}
        self._overrides: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        self.up: dict[str, Counters] = {}
        self.down: dict[str, Counters] = {}
        self.hops: dict[str, Hop] = {b.id: Hop(b, stream(seed, "network", "backhaul", b.id)) for b in spec.backhauls}
        self.links: dict[str, Link] = {}
        self._members: dict[str, list[Device]] = {}

    # --- building ---------------------------------------------------------------------------
    def ref(self, name: str) -> ProfileRef:
        ref = self.refs.get(name)
        if ref is None:
            try:
                flat = flatten(name, self.spec.profiles)
            except KeyError as exc:
                raise NetworkError(exc.args[0]) from None
            self._flat[name] = flat
            ref = self.refs[name] = ProfileRef(build(name, flat))
            self.up[name] = Counters(name, "uplink")
            self.down[name] = Counters(name, "downlink")
        return ref

    def attach(self, device: Device) -> None:
        """Route a device's readings through its link (no-op when emulation is off)."""
        if not self.enabled:
            return
        name = device.info.network
        ref = self.ref(name)
        hop = next((h for h in self.hops.values() if h.carries(name, device.info.district)), None)
        link = Link(
            self.env,
            ref,
            stream(self.seed, "network", device.id),
            self.up[name],
            self.down[name],
            hop,
            self.bus.publish,
        )
        self.links[device.id] = link
        self._members.setdefault(name, []).append(device)
        if ref.current.duty_cycle:  # only duty-cycled radios can be kept from sending
            device.clear_to_send = link.clear_to_send
        device.transmit = link.uplink

    def processes(self) -> Iterable[Generator[simpy.Event, Any, None]]:
        if not self.enabled:
            return []
        procs = [h.background_process(self.env) for h in self.hops.values() if h.spec.background > 0]
        return [*procs, self._stats_process()]

    # --- live changes -----------------------------------------------------------------------
    def degrade(self, profile: str, token: str, overrides: Mapping[str, Any]) -> None:
        """Override fields of a profile for every link using it, until restore(token)."""
        self.ref(profile)
        self._overrides.setdefault(profile, [])
        self._overrides[profile] = [o for o in self._overrides[profile] if o[0] != token] + [(token, overrides)]
        self._rebuild(profile)

    def restore(self, profile: str, token: str) -> None:
        if profile in self._overrides:
            self._overrides[profile] = [o for o in self._overrides[profile] if o[0] != token]
            self._rebuild(profile)

    def _rebuild(self, profile: str) -> None:
        spec = self._flat[profile]
        for _, overrides in self._overrides.get(profile, []):
            spec = merge(spec, overrides)
        self.refs[profile].current = current = build(profile, spec)
        if current.duty_cycle:  # a duty cycle added live: gate the radios from now on
            for device in self._members.get(profile, []):
                device.clear_to_send = self.links[device.id].clear_to_send

    def hop(self, hop_id: str) -> Hop:
        hop = self.hops.get(hop_id)
        if hop is None:
            known = ", ".join(sorted(self.hops)) or "none"
            raise NetworkError(f"unknown backhaul '{hop_id}'; known: {known}")
        return hop

    # --- live view (read-only) --------------------------------------------------------------
    def state(self, now: float) -> tuple[HopState, ...]:
        """Every hop's live condition, by id (engine thread: the hops change as it runs)."""
        return tuple(self.hops[h].state(now) for h in sorted(self.hops))

    def routes(self) -> dict[str, str]:
        """device id -> the id of the hop that carries its traffic (devices with no hop are absent)."""
        return {device: link.hop.id for device, link in self.links.items() if link.hop is not None}

    # --- statistics -------------------------------------------------------------------------
    def counters(self) -> list[Counters]:
        out = [c for name in sorted(self.up) for c in (self.up[name], self.down[name]) if c.sent or c.throttled]
        for hop_id in sorted(self.hops):
            hop = self.hops[hop_id]
            out.append(hop.counters)
            if hop.background.sent:
                out.append(hop.background)
        return out

    def publish_stats(self, t: float) -> None:
        for c in self.counters():
            self.bus.publish(c.event(t))

    def _stats_process(self) -> Generator[simpy.Event, Any, None]:
        while True:
            yield self.env.timeout(self.spec.stats_interval)
            self.publish_stats(self.env.now)

    def summary_lines(self) -> list[str]:
        """One line per link and hop, for the end of a run."""
        if not self.enabled:
            return ["network emulation off"]
        return [c.line() for c in self.counters()]
