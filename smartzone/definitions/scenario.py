"""Schema of a scenario file (scenarios/*.yaml): a city, its districts, tenants, users and fleets."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

import holidays
from pydantic import Field, ValidationInfo, field_validator

from smartzone.definitions.base import DistrictKind, Duration, Id, Strict
from smartzone.definitions.bridged import BridgedDevice
from smartzone.definitions.gateway import Gateway
from smartzone.definitions.network import Networks
from smartzone.definitions.timeline import TimelineEvent

PayloadFormat = Literal["native", "senml", "ngsi-ld"]
# city-level MQTT documents sit where a tenant id would (sz/v2/{city}/tenants, .../access/{user})
# class: the classroom's answer topics; sandbox: the owners' sandbox requests (docs/owners.md)
RESERVED_TENANT_IDS = ("tenants", "access", "class", "sandbox")
DEFAULT_RAIN_DAYS = 8.0


class LatLon(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class District(Strict):
    """A named area of the city, drawn as a polygon of [lat, lon] points."""

    id: Id
    name: str
    polygon: list[tuple[float, float]] = Field(min_length=3)
    traffic: float = Field(1.0, gt=0, le=5, description="traffic intensity relative to the city average")
    kind: DistrictKind = "mixed"


class Quotas(Strict):
    """What the owner of a sandbox tenant may use (docs/owners.md, "The sandbox")."""

    devices: int = Field(10, ge=0, le=1000, strict=True, description="devices the owner may create at run time")
    connections: int = Field(
        4, ge=1, le=1000, strict=True, description="MQTT connections the owner's user may hold at once"
    )
    messages_per_s: float = Field(
        20.0, gt=0, le=100_000, description="MQTT PUBLISH packets per wall second the owner's user may send"
    )
    retained_bytes: int = Field(
        65_536, ge=0, le=268_435_455, strict=True, description="payload bytes the owner's user may keep retained"
    )


class Tenant(Strict):
    """An owner of devices: the city, a utility, a company, a social organisation, or a sandbox."""

    id: Id
    name: str
    kind: Literal["city", "utility", "telecom", "private", "social", "sandbox"]
    open_data: bool = False
    payload_format: PayloadFormat | None = None
    quotas: Quotas | None = Field(
        None, description="sandbox tenants only: the owner's limits (default: the Quotas defaults)"
    )

    @field_validator("quotas")
    @classmethod
    def _sandbox_only(cls, value: Quotas | None, info: ValidationInfo) -> Quotas | None:
        if value is not None and info.data.get("kind") != "sandbox":
            raise ValueError("quotas apply to a tenant of kind 'sandbox' only")
        return value

    def limits(self) -> Quotas | None:
        """The quotas of a sandbox tenant (its own or the defaults); None for other kinds."""
        return (self.quotas or Quotas()) if self.kind == "sandbox" else None

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_TENANT_IDS:
            raise ValueError(f"'{value}' is reserved for a city-level MQTT document; choose another tenant id")
        return value


class Grants(Strict):
    read: list[Id] = Field(default_factory=list, description="tenants whose data the user may read")
    command: list[Id] = Field(default_factory=list, description="tenants whose actuators the user may command")


class User(Strict):
    """An endpoint account (MQTT user)."""

    name: Id
    password: str = Field(min_length=4)
    role: Literal["owner", "app", "admin"]
    tenant: Id | None = Field(None, description="for owners: the tenant they own")
    grants: Grants = Field(default_factory=Grants)


class Fleet(Strict):
    """`count` devices of one type and tenant spread over some districts."""

    type: Id
    tenant: Id
    count: int = Field(ge=1, le=20000)
    id_prefix: Id
    districts: list[Id] | Literal["all"] = "all"
    network: Id | None = None
    report_interval: Duration | None = Field(None, gt=0)


class Climate(Strict):
    """Climate statistics of the scenario's month (cite them in `sources`): drive the weather model."""

    temp_mean_c: float = Field(ge=-40, le=45)
    temp_amplitude_c: float = Field(6.0, ge=0, le=25, description="half the day-night swing (clear day)")
    rain_chance: float | None = Field(
        None, ge=0, le=1, description="old form: chance that an hour starts a shower (give rain_days instead)"
    )
    rain_days: float | None = Field(
        None, ge=0, le=31, description="days with >= 1 mm of rain in the month (default 8, a temperate month)"
    )
    rain_mm: float = Field(60.0, ge=0, le=2000, description="mean rainfall of the month, mm")
    cloud_cover: float = Field(0.55, ge=0, le=1, description="mean cloud cover of the month (0 clear, 1 overcast)")
    sources: list[str] = Field(default_factory=list, description="where these statistics come from")

    def wet_day_chance(self) -> float:
        """Chance that a day has rain: rain_days / 30, from the old hourly shower chance, or 8 days in 30."""
        if self.rain_days is not None:
            return min(1.0, self.rain_days / 30.0)
        if self.rain_chance is not None:
            return 1.0 - (1.0 - self.rain_chance) ** 24
        return DEFAULT_RAIN_DAYS / 30.0


class ExtraHoliday(Strict):
    """A local holiday the `holidays` package does not carry."""

    date: str = Field(
        pattern=r"^([0-9]{4}-)?(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        description="'MM-DD' every year, or 'YYYY-MM-DD' once",
    )
    name: str

    @field_validator("date")
    @classmethod
    def _real_day(cls, value: str) -> str:
        parts = [int(x) for x in value.split("-")]
        try:
            date(*parts) if len(parts) == 3 else date(2024, *parts)  # 2024: leap year, 02-29 allowed
        except ValueError:
            raise ValueError(f"no such day: {value}") from None
        return value


class CalendarSpec(Strict):
    """Public holidays: rest-day profiles apply, weekday-only timeline events skip them."""

    country: str | None = Field(None, pattern=r"^[A-Z]{2}$", description="ISO 3166 country for the holidays package")
    subdivision: str | None = Field(None, description="region/province code in the holidays package, e.g. BO, ENG, CT")
    extra: list[ExtraHoliday] = Field(default_factory=list, description="local holidays (patron saints)")
    sources: list[str] = Field(default_factory=list)

    @field_validator("subdivision")
    @classmethod
    def _known(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if value is not None and country is None:
            raise ValueError("'subdivision' needs 'country'")
        if country is not None:
            try:
                holidays.country_holidays(country, subdiv=value)
            except NotImplementedError as exc:  # unknown subdivision
                raise ValueError(str(exc)) from None
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                holidays.country_holidays(value)
            except NotImplementedError as exc:  # unknown country
                raise ValueError(str(exc)) from None
        return value


class Dropouts(Strict):
    """Spontaneous outages on top of scripted faults: each device alternates online/offline spells."""

    fraction: float = Field(0.02, ge=0, lt=1, description="share of devices offline at any time (long run)")
    mean_duration: Duration = Field(4 * 3600.0, gt=0, description="mean length of one outage")


class Access(Strict):
    """Who may reach the city's MQTT broker, and how much a client may send at once."""

    mode: Literal["closed", "open"] = Field(
        "closed",
        description="open: a lab broker: anyone (also anonymous) may use every topic outside sz/ as on a "
        "plain MQTT broker and read the open-data tenants; sz/ stays under the users' rules (docs/api.md)",
    )
    anonymous_read: bool = Field(False, description="let anonymous clients read the open-data tenants")
    max_packet_size: int = Field(
        262_144,
        ge=1024,
        le=268_435_455,  # the largest remaining length MQTT can encode
        strict=True,
        description="largest MQTT packet (bytes, fixed header included) a client may send; a bigger one "
        "closes its connection before it is read (SmartZone's own account is exempt: docs/brokers.md)",
    )


class DeviceTypeSource(Strict):
    """An owner's device-type file or folder, with leave to replace a built-in type of the same id."""

    path: str = Field(min_length=1, description="a device-type YAML file or a folder of them, relative to the scenario")
    override: bool = Field(False, description="the types here may replace built-in types of the same id")


class Scenario(Strict):
    """A city scenario: everything needed to build and run a simulated city."""

    schema_version: Literal[1]
    city: Id
    name: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    locale: str = Field(pattern=r"^[a-z]{2}_[A-Z]{2}$")
    timezone: str
    start: datetime
    realtime_start_hour: float = Field(
        8.0,
        ge=0,
        lt=24,
        description="local hour on the date of `start` at which real-time runs begin (fast runs begin at `start`)",
    )
    seed: int = Field(ge=0, le=2**63 - 1)
    center: LatLon
    climate: Climate
    calendar: CalendarSpec | None = Field(None, description="public holidays (country, region, local extras)")
    dropouts: Dropouts = Field(default_factory=Dropouts, description="spontaneous device outages")
    payload_format: PayloadFormat = "native"
    api_v1: bool = False
    access: Access = Field(default_factory=Access)
    device_types: list[str | DeviceTypeSource] = Field(
        default_factory=list,
        description="the owner's own device types: files or folders of *.yaml, relative to this file "
        "(docs/owners.md); {path, override: true} lets them replace built-in types",
    )
    districts: list[District] = Field(min_length=1)
    tenants: list[Tenant] = Field(min_length=1)
    users: list[User] = Field(default_factory=list)
    fleets: list[Fleet] = Field(min_length=1)
    gateways: list[Gateway] = Field(
        default_factory=list, description="Modbus TCP gateways (none declared: one per tenant and district)"
    )
    networks: Networks = Field(default_factory=Networks, description="network profiles and backhauls")
    timeline: list[TimelineEvent] = Field(default_factory=list, description="scripted events")
    bridged_devices: list[BridgedDevice] = Field(
        default_factory=list, description="real devices that join the city through a mapping (docs/owners.md)"
    )

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("start needs a UTC offset, e.g. 2026-11-23T00:00:00Z")
        return value.astimezone(UTC)
