"""Helpers for the network tests: drive readings through one link in a plain SimPy environment."""

from __future__ import annotations

import simpy

from smartzone.core.events import Reading
from smartzone.core.network.link import Link, ProfileRef
from smartzone.core.network.profiles import LinkProfile
from smartzone.core.network.stats import Counters
from smartzone.core.rng import stream


def drive(profile: LinkProfile, n: int, interval: float = 10.0, seed: int = 1) -> tuple[Link, list[Reading]]:
    env = simpy.Environment()
    got: list[Reading] = []
    link = Link(env, ProfileRef(profile), stream(seed, "network", "d"), Counters("x", "uplink"),
                Counters("x", "downlink"), None, got.append)

    def sender() -> simpy.events.ProcessGenerator:
        for seq in range(1, n + 1):
            if link.clear_to_send(env.now):
                link.uplink(Reading(env.now, "d", seq, {"v": seq}))
            yield env.timeout(interval)

    env.process(sender())
    env.run()
    return link, got
