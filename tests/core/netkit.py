"""Helpers for the network tests: drive readings through one link in a plain SimPy environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import simpy
import yaml

from smartzone.core.events import Reading
from smartzone.core.network.link import Link, ProfileRef
from smartzone.core.network.profiles import LinkProfile
from smartzone.core.network.stats import Counters
from smartzone.core.rng import stream
from smartzone.core.simenv import CityEnvironment
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.scenario import Scenario


def drive(profile: LinkProfile, n: int, interval: float = 10.0, seed: int = 1) -> tuple[Link, list[Reading]]:
    env = CityEnvironment()
    got: list[Reading] = []
    link = Link(
        env,
        ProfileRef(profile),
        stream(seed, "network", "d"),
        Counters("x", "uplink"),
        Counters("x", "downlink"),
        None,
        got.append,
    )

    def sender() -> simpy.events.ProcessGenerator:
        for seq in range(1, n + 1):
            if link.clear_to_send(env.now):
                link.uplink(Reading(env.now, "d", seq, {"v": seq}))
            yield env.timeout(interval)

    env.process(sender())
    env.run()
    return link, got


FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "testville.yaml"


def scenario_file(tmp_path: Path, **changes: Any) -> Path:
    """testville.yaml with top-level sections replaced (fleets, networks, timeline, ...)."""
    data = yaml.safe_load(FIXTURE.read_text())
    data.update(changes)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def scenario_with(tmp_path: Path, catalog: Catalog, **changes: Any) -> Scenario:
    return load_scenario(scenario_file(tmp_path, **changes), catalog)
