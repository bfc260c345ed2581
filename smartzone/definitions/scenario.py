"""Schema of a scenario file (scenarios/*.yaml): a city, its districts, tenants, users and fleets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import Field, field_validator

from smartzone.definitions.base import Duration, Id, Strict
from smartzone.definitions.gateway import Gateway
from smartzone.definitions.network import Networks
from smartzone.definitions.timeline import TimelineEvent

PayloadFormat = Literal["native", "senml", "ngsi-ld"]
# city-level MQTT documents sit where a tenant id would (sz/v2/{city}/tenants, .../access/{user})
RESERVED_TENANT_IDS = ("tenants", "access")


class LatLon(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class District(Strict):
    """A named area of the city, drawn as a polygon of [lat, lon] points."""

    id: Id
    name: str
    polygon: list[tuple[float, float]] = Field(min_length=3)
    traffic: float = Field(1.0, gt=0, le=5, description="traffic intensity relative to the city average")
    kind: Literal["centre", "residential", "commercial", "industrial", "mixed", "port", "park"] = "mixed"


class Tenant(Strict):
    """An owner of devices: the city, a utility, a company, a social organisation."""

    id: Id
    name: str
    kind: Literal["city", "utility", "telecom", "private", "social"]
    open_data: bool = False
    payload_format: PayloadFormat | None = None

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
    temp_mean_c: float = Field(ge=-40, le=45)
    temp_amplitude_c: float = Field(6.0, ge=0, le=25, description="half the day-night swing")
    rain_chance: float = Field(0.15, ge=0, le=1, description="chance that a given hour starts a shower")


class Access(Strict):
    """Who may reach the city's MQTT broker, and how much a client may send at once."""

    anonymous_read: bool = Field(False, description="let anonymous clients read the open-data tenants")
    max_packet_size: int = Field(
        262_144,
        ge=1024,
        le=268_435_455,  # the largest remaining length MQTT can encode
        strict=True,
        description="largest MQTT packet (bytes, fixed header included) a client may send; a bigger one "
        "closes its connection before it is read (SmartZone's own account is exempt: docs/brokers.md)",
    )


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
    payload_format: PayloadFormat = "native"
    api_v1: bool = False
    access: Access = Field(default_factory=Access)
    districts: list[District] = Field(min_length=1)
    tenants: list[Tenant] = Field(min_length=1)
    users: list[User] = Field(default_factory=list)
    fleets: list[Fleet] = Field(min_length=1)
    gateways: list[Gateway] = Field(
        default_factory=list, description="Modbus TCP gateways (none declared: one per tenant and district)"
    )
    networks: Networks = Field(default_factory=Networks, description="network profiles and backhauls")
    timeline: list[TimelineEvent] = Field(default_factory=list, description="scripted events")

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("start needs a UTC offset, e.g. 2026-11-23T00:00:00Z")
        return value.astimezone(UTC)
