"""Schema of the scenario's `timeline:` section: scripted events at simulated times.

timeline:
  - name: rush-hour
    at: "07:30"            # local time of day
    end: "09:30"           # or duration: 2h
    daily: true            # repeat every day (default: once, on `day`, 0 = first)
    days: [weekday]        # only on these day types (weekday, saturday, sunday, holiday, weekend)
    multiply: {traffic: 1.1}
  - name: storm
    at: "16:00"
    duration: 3h
    network: [{profile: lorawan-sf9, loss: 8%, jitter: 200ms}]
    faults: [{fault: noise, type: air-quality, fraction: 0.3, magnitude: 4}]
  - name: gateway-down
    at: "11:00"
    duration: 30min
    outage: [gw-north]
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from smartzone.definitions.base import Duration, Id, Name, Strict, TimeOfDay
from smartzone.definitions.network import ProfileSpec

FAULT_EFFECTS = ("offline", "stuck", "drift", "noise", "spike", "offset", "battery_drain", "clock_skew", "word_swap")
DayTypeName = Literal["weekday", "saturday", "sunday", "holiday", "weekend"]
MULTIPLIER_RE = re.compile(r"^(traffic|demand)(:[a-z0-9][a-z0-9-]*)?$")


class FaultAction(Strict):
    """Inject a fault into the selected devices for the duration of the event."""

    fault: Name = Field(description="a fault the device type declares, or an effect: " + ", ".join(FAULT_EFFECTS))
    devices: list[Id] = Field(default_factory=list, description="explicit device ids")
    type: Id | None = Field(None, description="only devices of this type")
    fleet: Id | None = Field(None, description="only devices of the fleet with this id_prefix")
    district: Id | None = None
    fraction: float = Field(1.0, gt=0, le=1, description="share of the matching devices, drawn per seed")
    count: int | None = Field(None, ge=1, description="at most this many of the matching devices")
    signal: Name | None = None
    magnitude: float | None = None

    @model_validator(mode="after")
    def _selects(self) -> FaultAction:
        if not self.devices and self.type is None and self.fleet is None and self.district is None:
            raise ValueError("select devices with 'devices', 'type', 'fleet' or 'district'")
        return self


class NetworkAction(ProfileSpec):
    """Degrade a network profile live: the given netem fields replace the profile's."""

    profile: Id


class TimelineEvent(Strict):
    """Something that happens in the city between `at` and `end` (or `at` + `duration`)."""

    name: Id
    description: str = ""
    at: TimeOfDay = Field(description="local time of day it starts, 'HH:MM'")
    day: int = Field(0, ge=0, le=3650, description="day of the run (0 = the first) for a one-off event")
    end: TimeOfDay | None = Field(None, description="local time it ends (next day if earlier than 'at')")
    duration: Duration | None = Field(None, gt=0)
    daily: bool = False
    days: list[DayTypeName] | None = Field(
        None,
        min_length=1,
        description="daily events: only on these day types (weekend = saturday + sunday; a holiday is its own type)",
    )
    multiply: dict[str, float] = Field(default_factory=dict, description="traffic | demand | demand:DISTRICT")
    faults: list[FaultAction] = Field(default_factory=list)
    network: list[NetworkAction] = Field(default_factory=list)
    outage: list[Id] = Field(default_factory=list, description="backhauls/gateways cut while it lasts")

    @field_validator("multiply")
    @classmethod
    def _keys(cls, value: dict[str, float]) -> dict[str, float]:
        for key, factor in value.items():
            if not MULTIPLIER_RE.match(key):
                raise ValueError(f"unknown multiplier '{key}'; expected traffic, demand or demand:DISTRICT")
            if not 0 <= factor <= 100:
                raise ValueError(f"multiplier '{key}' must be from 0 to 100, found {factor}")
        return value

    @model_validator(mode="after")
    def _span(self) -> TimelineEvent:
        if (self.end is None) == (self.duration is None):
            raise ValueError("give exactly one of 'end' or 'duration'")
        if not (self.multiply or self.faults or self.network or self.outage):
            raise ValueError("an event needs at least one of 'multiply', 'faults', 'network', 'outage'")
        if self.days is not None and not self.daily:
            raise ValueError("'days' limits a daily event: add 'daily: true' or remove 'days'")
        if self.daily and self.length() > 86400.0:
            raise ValueError("a daily event cannot last more than 24h")
        return self

    def day_types(self) -> frozenset[str] | None:
        """The day types it runs on (None: every day)."""
        if self.days is None:
            return None
        out = set(self.days) - {"weekend"}
        if "weekend" in self.days:
            out |= {"saturday", "sunday"}
        return frozenset(out)

    def length(self) -> float:
        """Seconds the event lasts."""
        if self.duration is not None:
            return self.duration
        assert self.end is not None
        hours = (self.end - self.at) % 24.0
        return (hours or 24.0) * 3600.0
