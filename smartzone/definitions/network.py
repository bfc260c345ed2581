"""Schema of the scenario's `networks:` section and the built-in network profiles.

A profile uses the Linux netem vocabulary (delay, jitter, distribution, loss random or
Gilbert-Elliott, duplicate, reorder, rate) plus `duty_cycle`, the LoRa radio settings
`sf`/`bw_khz`/`cr`/`payload_bytes` for time on air, a `max_delay` ceiling and a downlink
`paging` cycle (how long a sleeping NB-IoT/LTE-M modem may take to hear a command).
A backhaul (or gateway) is a shared hop with finite capacity: messages queue, then drop.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from smartzone.definitions.base import Duration, Id, Strict
from smartzone.definitions.units import parse_rate

Distribution = Literal["uniform", "normal", "pareto", "paretonormal"]


def _percent(value: Any) -> float:
    """'1%' -> 0.01; a bare number is a fraction (0.01)."""
    if isinstance(value, bool):
        raise ValueError("expected a percentage such as '1%', found a boolean")
    if isinstance(value, str):
        text = value.strip()
        if not text.endswith("%"):
            raise ValueError(f"expected a percentage such as '0.5%' or a fraction, found {value!r}")
        try:
            value = float(text[:-1]) / 100.0
        except ValueError:
            raise ValueError(f"expected a percentage such as '0.5%', found {value!r}") from None
    if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"expected a percentage from 0% to 100%, found {value!r}")
    return float(value)


def _rate(value: Any) -> float:
    rate = parse_rate(value)
    if rate <= 0:
        raise ValueError(f"expected a positive data rate, found {value!r}")
    return rate


Percent = Annotated[
    float, BeforeValidator(_percent), Field(json_schema_extra={"type": ["string", "number"], "examples": ["1%"]})
]
Rate = Annotated[
    float, BeforeValidator(_rate), Field(json_schema_extra={"type": ["string", "number"], "examples": ["20kbit"]})
]


class GilbertElliott(Strict):
    """Bursty loss (netem `loss gemodel p r 1-h 1-k`): a good and a bad state."""

    model: Literal["gilbert-elliott"] = "gilbert-elliott"
    p: Percent = Field(description="chance per message of going from the good to the bad state")
    r: Percent = Field(description="chance per message of going from the bad back to the good state")
    bad_loss: Percent = Field(1.0, description="loss in the bad state (netem 1-h)")
    good_loss: Percent = Field(0.0, description="loss in the good state (netem 1-k)")

    def mean_loss(self) -> float:
        if self.p + self.r == 0:
            return self.good_loss
        return (self.p * self.bad_loss + self.r * self.good_loss) / (self.p + self.r)


class ProfileSpec(Strict):
    """A network profile; every field is optional so a profile can override a `base`."""

    base: Id | None = Field(None, description="built-in or earlier profile this one starts from")
    description: str | None = None
    delay: Duration | None = Field(None, ge=0, description="one-way latency (netem delay)")
    jitter: Duration | None = Field(None, ge=0, description="spread around the delay")
    distribution: Distribution | None = None
    max_delay: Duration | None = Field(None, gt=0, description="ceiling on the drawn latency")
    loss: Percent | GilbertElliott | None = Field(None, union_mode="left_to_right")
    duplicate: Percent | None = None
    reorder: Percent | None = Field(None, description="share of messages sent without the delay")
    rate: Rate | None = Field(None, description="link bandwidth; serialises messages")
    packet_bytes: int | None = Field(None, ge=1, le=65535, description="message size on the wire")
    duty_cycle: Percent | None = Field(None, description="radio duty-cycle limit (1% on EU868)")
    sf: int | None = Field(None, ge=7, le=12, description="LoRa spreading factor")
    bw_khz: Literal[125, 250, 500] | None = None
    cr: int | None = Field(None, ge=1, le=4, description="LoRa coding rate 4/(4+cr): 1 = 4/5")
    payload_bytes: int | None = Field(None, ge=1, le=255, description="LoRa PHY payload")
    preamble: int | None = Field(None, ge=6, le=65535)
    paging: Duration | None = Field(None, ge=0, description="downlink waits up to this for the modem")


class Backhaul(Strict):
    """A shared hop (a gateway, a cell, a backhaul line) with finite capacity."""

    id: Id
    kind: Literal["gateway", "backhaul"] = "backhaul"
    networks: list[Id] | Literal["all"] = Field("all", description="profiles whose traffic it carries")
    districts: list[Id] | Literal["all"] = "all"
    capacity: float = Field(gt=0, le=1e7, description="messages per second it can forward")
    queue: int = Field(100, ge=0, le=10_000_000, description="messages that may wait before drops")
    delay: Duration = Field(0.0, ge=0)
    background: float = Field(0.0, ge=0, le=1e7, description="other traffic, messages per second")


class Networks(Strict):
    """The scenario's `networks:` section."""

    enabled: bool = Field(True, description="false: readings and commands arrive at once, nothing lost")
    stats_interval: Duration = Field(3600.0, gt=0, description="how often LinkStats events are published")
    profiles: dict[Id, ProfileSpec] = Field(default_factory=dict)
    backhauls: list[Backhaul] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Networks:
        seen: set[str] = set()
        for b in self.backhauls:
            if b.id in seen:
                raise ValueError(f"duplicate backhaul id '{b.id}'")
            seen.add(b.id)
        return self


def _lora(sf: int, loss: str) -> ProfileSpec:
    return ProfileSpec(
        description=f"LoRaWAN EU868 SF{sf}/125 kHz (class C downlink)",
        sf=sf,
        bw_khz=125,
        cr=1,
        payload_bytes=12,
        preamble=8,
        duty_cycle=0.01,
        delay=0.05,
        jitter=0.02,
        distribution="normal",
        loss=_percent(loss),
        duplicate=0.0,
        reorder=0.0,
        paging=0.0,
    )


BUILTIN_PROFILES: dict[str, ProfileSpec] = {
    **{
        f"lorawan-sf{sf}": _lora(sf, loss)
        for sf, loss in ((7, "2%"), (8, "1.5%"), (9, "1%"), (10, "1%"), (11, "1%"), (12, "1%"))
    },
    "nbiot": ProfileSpec(
        description="NB-IoT (LTE Cat-NB1): ~0.8 s measured, 10 s 3GPP ceiling, DRX paging",
        delay=0.8,
        jitter=0.3,
        distribution="paretonormal",
        max_delay=10.0,
        loss=0.005,
        rate=62_500.0,
        packet_bytes=100,
        paging=10.24,
    ),
    "lte-m": ProfileSpec(
        description="LTE-M (Cat-M1): ~0.1 s, 6.2 s in extreme coverage",
        delay=0.1,
        jitter=0.03,
        distribution="paretonormal",
        max_delay=6.2,
        loss=0.002,
        rate=1_000_000.0,
        packet_bytes=100,
        paging=1.28,
    ),
    "4g": ProfileSpec(
        description="LTE Cat-4 and above",
        delay=0.05,
        jitter=0.015,
        distribution="normal",
        max_delay=2.0,
        loss=0.001,
        rate=10_000_000.0,
        packet_bytes=200,
    ),
    "wifi": ProfileSpec(
        description="Wi-Fi to a city access point",
        delay=0.005,
        jitter=0.003,
        distribution="normal",
        loss=0.005,
        rate=50_000_000.0,
        packet_bytes=200,
    ),
    "fibre": ProfileSpec(
        description="metro fibre",
        delay=0.002,
        jitter=0.0005,
        distribution="normal",
        loss=0.0,
        rate=1_000_000_000.0,
        packet_bytes=200,
    ),
    "ethernet": ProfileSpec(
        description="wired LAN",
        delay=0.0005,
        jitter=0.0001,
        distribution="normal",
        loss=0.0,
        rate=1_000_000_000.0,
        packet_bytes=200,
    ),
}
