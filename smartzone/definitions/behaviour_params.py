"""Parameter schemas of the named behaviour models (the implementations live in core).

A signal's `model:` picks one of these by `kind`. New behaviour means a new entry here and
a registered implementation in smartzone.core.behaviours, never Python inside YAML; the
`custom` kind is the explicit escape hatch (`function: "package.module:factory"`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from smartzone.definitions.base import DistrictKind, Duration, Name, Ref, Strict, TimeOfDay
from smartzone.definitions.timeline import DayTypeName

Hourly = dict[TimeOfDay, float]


class Constant(Strict):
    """Always the same value."""

    kind: Literal["constant"]
    value: float | int | bool | str


class RandomWalk(Strict):
    """Gaussian random walk with optional pull back towards a mean (Ornstein-Uhlenbeck)."""

    kind: Literal["random_walk"]
    start: float
    step: float = Field(gt=0, description="standard deviation of the change over one hour")
    mean: float | None = None
    revert: float = Field(0.0, ge=0, le=1, description="fraction of the gap to the mean closed per hour")


class Diurnal(Strict):
    """A daily profile: values at times of day, interpolated linearly and wrapping at midnight."""

    kind: Literal["diurnal"]
    points: Hourly = Field(min_length=2)
    weekend: Hourly | None = Field(None, min_length=2)
    scale: Ref = 1.0
    noise: float = Field(0.0, ge=0)


class Linear(Strict):
    """offset + gain * f(input) * times + noise, where f is the identity, a power or log10."""

    kind: Literal["linear"]
    input: Ref
    gain: float = 1.0
    offset: float = 0.0
    exponent: float = Field(1.0, gt=0)
    scale: Literal["linear", "log10"] = "linear"
    times: Ref = 1.0
    noise: float = Field(0.0, ge=0)
    lag: Duration = Field(0.0, description="first-order smoothing time constant")


class SumProduct(Strict):
    """gain * sum(a * b for each pair): e.g. three-phase power from voltages and currents."""

    kind: Literal["sum_product"]
    terms: list[tuple[Ref, Ref]] = Field(min_length=1)
    gain: float = 1.0
    noise: float = Field(0.0, ge=0)


class Minimum(Strict):
    """min(inputs) * times + noise: e.g. charging power = min(power limit, vehicle draw) while charging."""

    kind: Literal["minimum"]
    inputs: list[Ref] = Field(min_length=2, description="numbers or references; the smallest wins")
    times: Ref = 1.0
    noise: float = Field(0.0, ge=0)


class ChargingSession(Strict):
    """EV charging over a session: each vehicle that connects draws its on-board charger's power
    (capped by the point's limit) until its energy need is met, tapering near the end (CC-CV), then idles."""

    kind: Literal["charging_session"]
    connected: Ref = Field(description="1 (or the enum's second value) while a vehicle is connected")
    times: Ref = Field(1.0, description="0 stops the charge without ending the session (point disabled)")
    limit: Ref = Field(description="the point's power limit, kW")
    vehicles: list[tuple[float, float]] = Field(
        min_length=1, description="[on-board charger kW, share of vehicles] pairs"
    )
    mean_energy_kwh: float = Field(gt=0, description="mean energy a vehicle needs per session (exponential)")
    taper_from: float = Field(0.8, gt=0, le=1, description="share of the need after which power tapers to 10 %")
    noise: float = Field(0.0, ge=0)


class LandUse(Strict):
    """The arrival curve and stay of one kind of district (scenario `districts[].kind`)."""

    arrivals_per_h: Hourly = Field(min_length=2, description="arrival rate when free, by time of day")
    weekend: Hourly | None = Field(None, min_length=2)
    mean_stay: Duration | None = Field(None, gt=0, description="default: the model's")
    departures_per_h: Hourly | None = Field(
        None, min_length=2, description="rate of leaving when occupied, by time of day (replaces mean_stay)"
    )
    initial_occupied: float | None = Field(None, ge=0, le=1, description="default: the model's")


class MarkovOccupancy(Strict):
    """Two-state occupancy: arrivals follow a daily rate curve, stays last a random time."""

    kind: Literal["markov_occupancy"]
    arrivals_per_h: Hourly = Field(min_length=2, description="arrival rate when free, by time of day")
    weekend: Hourly | None = Field(None, min_length=2)
    mean_stay: Duration = Field(gt=0)
    demand: Ref = "ctx.demand"
    states: tuple[Any, Any] = ("free", "occupied")
    initial_occupied: float = Field(0.3, ge=0, le=1)
    land_use: dict[DistrictKind, LandUse] = Field(
        default_factory=dict, description="per district kind: its own day and night curves and turnover"
    )


class PoissonCount(Strict):
    """Number of events (vehicles, pedestrians) since the previous report."""

    kind: Literal["poisson_count"]
    rate_per_h: float = Field(ge=0)
    driver: Ref = 1.0
    capacity_per_h: float | None = Field(
        None, gt=0, description="most events per hour the place can pass (lane capacity): the rate saturates there"
    )


class TrafficFlow(Strict):
    """One lane at a detector, by the Van Aerde fundamental diagram (Van Aerde & Rakha 1995):
    count, occupancy and speed from one demand, consistent with each other. Demand above the
    capacity queues; while a queue stands over the loop the lane discharges at the capacity
    less `capacity_drop`, on the congested branch (low speed, high occupancy)."""

    kind: Literal["traffic_flow"]
    output: Literal["count", "occupancy", "speed"]
    rate_per_h: float = Field(ge=0, description="demand in veh/h when the driver is 1")
    driver: Ref = 1.0
    capacity_per_h: float = Field(900.0, gt=0, description="lane capacity (HCM: about 900 veh/h signalised)")
    free_speed: float = Field(50.0, gt=0, description="km/h with no other vehicle around")
    speed_at_capacity: float = Field(30.0, gt=0, description="km/h when the flow is at capacity")
    jam_density: float = Field(140.0, gt=0, description="vehicles per km when stopped")
    detection_length: float = Field(6.5, gt=0, description="m a vehicle covers the loop for: length + loop")
    capacity_drop: float = Field(0.1, ge=0, lt=1, description="share of capacity lost while queued")
    upstream: float = Field(
        500.0, gt=0, description="m of lane before the loop a queue can fill; demand beyond it takes other routes"
    )
    flow: Ref | None = Field(None, description="occupancy and speed: the signal counting the vehicles")
    noise: float = Field(0.0, ge=0, description="occupancy and speed: standard deviation in their unit")

    @model_validator(mode="after")
    def _consistent(self) -> TrafficFlow:
        if self.output != "count" and self.flow is None:
            raise ValueError(f"output {self.output} needs `flow`: the signal counting the vehicles, e.g. signal.count")
        vf, vc, kj, cap = self.free_speed, self.speed_at_capacity, self.jam_density, self.capacity_per_h
        if not vf / 2 <= vc < vf:
            raise ValueError("speed_at_capacity must lie from half the free_speed up to below it")
        if 1 / cap <= vf / (kj * vc * vc):
            raise ValueError("capacity_per_h is too high for this free_speed, speed_at_capacity and jam_density")
        return self


class Cumulative(Strict):
    """Running total of a rate (flow -> volume, power -> energy)."""

    kind: Literal["cumulative"]
    rate: Ref = Field(description="quantity per hour (after factor)")
    factor: float = 1.0
    start: float = Field(0.0, ge=0)
    start_spread: float = Field(0.0, ge=0, description="random extra start, uniform 0..spread")


class FillEmpty(Strict):
    """A level that rises with use and drops to (nearly) zero at collection times."""

    kind: Literal["fill_empty"]
    fill_per_h: float = Field(gt=0)
    driver: Ref = 1.0
    collections: list[TimeOfDay] = Field(min_length=1)
    collection_days: list[Annotated[int, Field(ge=0, le=6)]] = Field(default=[0, 1, 2, 3, 4, 5, 6])
    residual: float = Field(2.0, ge=0)
    spread: float = Field(0.4, ge=0, le=1, description="relative device-to-device spread of fill rate")


class StateValue(Strict):
    """Mirrors an actuator state variable, optionally mapped to other values."""

    kind: Literal["state"]
    var: Name
    map: dict[str, Any] | None = None


class DuskDawn(Strict):
    """Street-light controller: in `auto` follows daylight, otherwise the commanded level."""

    kind: Literal["dusk_dawn"]
    mode_var: Name = "mode"
    on_var: Name = "on"
    level_var: Name = "level"
    auto_level: float = Field(100.0, ge=0, le=100)
    night_level: float | None = Field(None, ge=0, le=100, description="dimmed level between 00:00 and 05:00")
    threshold: float = Field(0.1, ge=0, le=1, description="daylight fraction below which lights go on (no switch_on)")
    switch_on: Literal["sunset", "dusk"] | None = Field(
        None, description="astronomical rule: on at this sun event plus on_offset_min (else: the daylight threshold)"
    )
    on_offset_min: float = Field(0.0, ge=-120, le=120, description="minutes after switch_on (negative: before)")
    switch_off: Literal["sunrise", "dawn"] = Field("sunrise", description="astronomical rule: off at this sun event")
    off_offset_min: float = Field(0.0, ge=-120, le=120, description="minutes after switch_off (negative: before)")


class Phase(Strict):
    name: str
    duration: Duration = Field(gt=0)


class PlanPeriod(Strict):
    """When the controller's own time-of-day schedule puts a timing plan in force."""

    plan: int = Field(ge=1)
    start: TimeOfDay = Field(description="local time it starts, 'HH:MM'")
    end: TimeOfDay = Field(description="local time it ends (next day if earlier than start)")
    days: list[DayTypeName] | None = Field(None, min_length=1, description="only on these day types; default every day")


class PhaseCycle(Strict):
    """Traffic-signal phase plan: cycles phases in `auto`, flashes amber in `flash`, dark in `off`.

    `plans` gives the phases of each timing plan number (the others use `phases`); the plan in
    force is the state variable `plan_var`, which the controller's time-of-day `schedule` sets at
    each of its switch points (a plan commanded in between holds until the next one)."""

    kind: Literal["phase_cycle"]
    phases: list[Phase] = Field(min_length=2)
    plans: dict[int, list[Phase]] = Field(default_factory=dict, description="phases of each timing plan number")
    schedule: list[PlanPeriod] = Field(default_factory=list, description="first matching period wins")
    default_plan: int = Field(1, ge=1, description="the plan outside every period of the schedule")
    plan_var: Name = "plan"
    mode_var: Name = "mode"
    flash_value: str = "flashing-amber"
    off_value: str = "dark"

    @field_validator("plans")
    @classmethod
    def _two_phases(cls, value: dict[int, list[Phase]]) -> dict[int, list[Phase]]:
        for number, phases in value.items():
            if len(phases) < 2:
                raise ValueError(f"plan {number} needs at least two phases")
        return value


class CsvSeries(Strict):
    """A signal fed from a column of a CSV time series (docs/authoring.md, "Data sets")."""

    kind: Literal["csv_series"]
    file: str = Field(min_length=1, description="CSV file, relative to the device type's folder")
    column: str = Field(min_length=1)
    time_column: str = "time"
    scale: float = 1.0  # value = raw * scale + offset (unit conversion)
    offset: float = 0.0
    timezone: str | None = None  # of times without an offset; None: the city's
    interpolation: Literal["hold", "linear"] = "hold"
    loop: bool = True  # repeat the series (period: its span plus one step); False: hold its ends
    _base: str | None = PrivateAttr(None)  # the device type's folder, set when the file is loaded


class Custom(Strict):
    """Escape hatch: `function` names a factory `package.module:callable` returning a model."""

    kind: Literal["custom"]
    function: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    params: dict[str, Any] = Field(default_factory=dict)


BehaviourSpec = Annotated[
    Constant
    | RandomWalk
    | Diurnal
    | Linear
    | SumProduct
    | Minimum
    | ChargingSession
    | MarkovOccupancy
    | PoissonCount
    | TrafficFlow
    | Cumulative
    | FillEmpty
    | StateValue
    | DuskDawn
    | PhaseCycle
    | CsvSeries
    | Custom,
    Field(discriminator="kind"),
]
