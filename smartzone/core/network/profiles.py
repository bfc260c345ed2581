"""Resolved network profiles: a profile spec plus its bases, as plain numbers ready to use.

A scenario profile may name a `base` (a built-in or another scenario profile) and override
some fields; a timeline or a DegradeLink command overrides fields live. Resolution walks
the chain base-first; fields never set fall back to "perfect link" defaults.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from smartzone.core.network.lora import time_on_air
from smartzone.definitions.network import BUILTIN_PROFILES, GilbertElliott, ProfileSpec

PARETO_ALPHA = 3.0  # shape of the heavy tail; mean of paretovariate(3) is 1.5


@dataclass(frozen=True)
class LinkProfile:
    """A network profile in numbers (seconds, fractions, bits per second)."""

    name: str
    delay: float = 0.0
    jitter: float = 0.0
    distribution: str = "uniform"
    max_delay: float = math.inf
    loss: float = 0.0
    gilbert: GilbertElliott | None = None
    duplicate: float = 0.0
    reorder: float = 0.0
    rate: float = 0.0
    packet_bytes: int = 100
    duty_cycle: float = 0.0
    airtime: float = 0.0
    paging: float = 0.0
    sf: int | None = None

    @property
    def mean_loss(self) -> float:
        return self.gilbert.mean_loss() if self.gilbert is not None else self.loss

    serialisation: float = 0.0  # filled in: seconds one message occupies the link
    normal: bool = False  # filled in: normal jitter (the common case, drawn inline by Link)

    def __post_init__(self) -> None:
        # LoRa time on air, or size / rate (computed once: it is read for every message)
        busy = self.airtime or (self.packet_bytes * 8.0 / self.rate if self.rate else 0.0)
        object.__setattr__(self, "serialisation", busy)
        object.__setattr__(self, "normal", self.jitter > 0 and self.distribution == "normal")

    def draw_delay(self, rng: random.Random) -> float:
        """One latency draw (netem semantics: delay +/- jitter, shaped by the distribution)."""
        d, j = self.delay, self.jitter
        if j > 0:
            kind = self.distribution
            if kind == "paretonormal":  # netem's mix: a quarter Pareto tail, the rest normal
                kind = "pareto" if rng.random() < 0.25 else "normal"
            if kind == "uniform":
                d += rng.uniform(-j, j)
            elif kind == "normal":
                d += j * std_normal(rng.random())
            else:
                d += j * (rng.paretovariate(PARETO_ALPHA) - PARETO_ALPHA / (PARETO_ALPHA - 1.0))
        return min(max(d, 0.0), self.max_delay)


QUANTILES = 8192
Z = [NormalDist().inv_cdf((i + 0.5) / QUANTILES) for i in range(QUANTILES)]
Z.append(Z[-1])


def std_normal(u: float) -> float:
    """A standard normal draw from a uniform *u* in [0, 1) by inverse transform sampling.

    Tabulated quantiles with linear interpolation (|z| up to 3.8): several times cheaper
    than random.gauss, which matters when every message draws a latency.
    """
    x = u * QUANTILES - 0.5
    i = int(x)  # below the first quantile: a sliver of linear extrapolation
    return Z[i] + (Z[i + 1] - Z[i]) * (x - i)


def merge(spec: ProfileSpec, overrides: Mapping[str, Any]) -> ProfileSpec:
    """*spec* with the fields of *overrides* that are set (not None) replacing its own."""
    return spec.model_copy(update={k: v for k, v in overrides.items() if v is not None and k != "base"})


def flatten(name: str, custom: Mapping[str, ProfileSpec]) -> ProfileSpec:
    """The spec of *name* with its base chain applied (custom profiles shadow built-ins)."""
    chain: list[ProfileSpec] = []
    seen: set[tuple[str, bool]] = set()
    current: str | None = name
    while current is not None:
        if current in custom and (current, True) not in seen:
            seen.add((current, True))
            spec = custom[current]
            # no base: a scenario profile named like a built-in overrides that built-in
            current = spec.base if spec.base is not None else (current if current in BUILTIN_PROFILES else None)
        elif current in BUILTIN_PROFILES and (current, False) not in seen:
            seen.add((current, False))
            spec = BUILTIN_PROFILES[current]
            current = spec.base
        elif seen:
            break  # a cycle (the definitions checks report it)
        else:
            raise KeyError(f"unknown network profile '{current}'")
        chain.append(spec)
    flat = ProfileSpec()
    for spec in reversed(chain):
        flat = merge(flat, dict(spec))
    return flat


def build(name: str, spec: ProfileSpec) -> LinkProfile:
    """Numbers from a flattened spec."""
    loss, gilbert = 0.0, None
    if isinstance(spec.loss, GilbertElliott):
        gilbert = spec.loss
    elif spec.loss is not None:
        loss = spec.loss
    airtime = 0.0
    if spec.sf is not None:
        airtime = time_on_air(spec.payload_bytes or 12, spec.sf, spec.bw_khz or 125, spec.cr or 1, spec.preamble or 8)
    return LinkProfile(
        name=name,
        delay=spec.delay or 0.0,
        jitter=spec.jitter or 0.0,
        distribution=spec.distribution or "uniform",
        max_delay=spec.max_delay if spec.max_delay is not None else math.inf,
        loss=loss,
        gilbert=gilbert,
        duplicate=spec.duplicate or 0.0,
        reorder=spec.reorder or 0.0,
        rate=spec.rate or 0.0,
        packet_bytes=spec.packet_bytes or 100,
        duty_cycle=spec.duty_cycle or 0.0,
        airtime=airtime,
        paging=spec.paging or 0.0,
        sf=spec.sf,
    )


def resolve(name: str, custom: Mapping[str, ProfileSpec]) -> LinkProfile:
    """The profile called *name* (scenario profiles first, then built-ins)."""
    return build(name, flatten(name, custom))
