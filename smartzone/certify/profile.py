"""The certification profile: a city's app-specific expectations and tuned thresholds (YAML).

    schema_version: 1
    app: {name: Parking guide, uses: [bo-parking-0001, bo-light-0001]}
    thresholds: {max_connects_per_minute: 4, max_commands_per_device_per_minute: 2}
    budget: {messages_per_second: 2, retained_per_subscribe: 20}
    rules: {SZ-QOS-01: {level: MUST}, SZ-MB-01: {enabled: false}}
    probes: {broker_restart: false, outage: 3s}
    expect:
      - id: spot-occupied-lights-up
        when: {device: bo-parking-0001, signal: status, equals: occupied}
        then: {publish: sz/v2/bologna/comune-bologna/street-light/+/cmd, within: 5s}

Loaded strictly like every authored file (unknown keys, bad values and unknown device ids
are errors naming file, line, column and field). `within` is wall-clock time: the app
reacts in real time whatever the simulation speed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from smartzone.definitions.base import Duration, Id, Strict
from smartzone.definitions.errors import DefinitionError
from smartzone.definitions.loader import load_model, problem_at

RULE_ID = r"^SZ-[A-Z0-9]+-[0-9]{2}$"


class Thresholds(Strict):
    """Every tunable limit of the rules (defaults in parentheses in docs/certify.md)."""

    max_connects_per_minute: float = Field(6.0, gt=0, description="wall-clock connects per minute (reconnect storm)")
    min_reconnect_gap: Duration = Field(1.0, ge=0, description="smallest sane wall gap between reconnects")
    max_attempts_during_outage: int = Field(6, ge=1, description="connect attempts while the broker is down")
    reconnect_within: Duration = Field(30.0, gt=0, description="wall time to reconnect after the broker is back")
    max_commands_per_device_per_minute: float = Field(6.0, gt=0, description="wall-clock rate per device")
    max_publish_rate: float = Field(10.0, gt=0, description="app publishes per wall second, any one-second window")
    max_invalid_commands: int = Field(0, ge=0, description="malformed or invalid commands tolerated")
    max_offline_retries: int = Field(2, ge=0, description="commands per offline spell of a device")
    min_poll_factor: float = Field(0.5, gt=0, description="Modbus poll period >= factor x the device's report interval")
    max_modbus_rate: float = Field(20.0, gt=0, description="Modbus requests per wall second per connection")
    max_illegal_modbus: int = Field(0, ge=0, description="illegal Modbus requests tolerated (exceptions 1, 2, 3)")
    max_denied: int = Field(0, ge=0, description="attempts outside the app's grants tolerated")
    max_devices_for_broad: int = Field(10, ge=1, description="subscribed devices always allowed (else 3 x used)")
    max_traffic_ratio: float = Field(5.0, gt=1, description="messages delivered / messages about the devices used")
    max_probe_rate_factor: float = Field(3.0, gt=1, description="command rate in a probe vs. outside probes")


class Budget(Strict):
    """The platform cost an app may cause (SZ-COST-01). Deliveries follow the city's clock, so
    they are per simulated second (what the app costs the real city, at x1); what the app
    itself drives (retained fetches, Modbus reads) is per wall second or minute."""

    messages_per_second: float = Field(5.0, gt=0, description="messages delivered per simulated second (run average)")
    bytes_per_second: float = Field(20_000.0, gt=0, description="payload bytes delivered per simulated second")
    retained_per_subscribe: float = Field(
        50.0, gt=0, description="retained documents one SUBSCRIBE of a filter fetches (a tenant catalog is one)"
    )
    retained_per_minute: int = Field(200, ge=1, description="retained documents fetched in any wall minute")
    wide_subscriptions: int = Field(2, ge=0, description="granted filters taking in a whole tenant, a type or more")
    modbus_registers_per_second: float = Field(
        100.0, gt=0, description="Modbus registers (and coils) read per wall second, any 10 s window"
    )


class RuleSetting(Strict):
    enabled: bool = True
    level: Literal["MUST", "SHOULD"] | None = None


class Probes(Strict):
    devices_offline: bool = True
    degraded_network: bool = True
    duplicates: bool = True
    broker_restart: bool = True
    outage: Duration = Field(3.0, gt=0, le=60, description="wall time the broker refuses the app in a restart")


class When(Strict):
    """A device's signal (or actuator state variable) becoming a value, or its status changing."""

    device: Id
    signal: str | None = Field(None, min_length=1)
    equals: str | float | bool | None = None
    status: Literal["online", "offline"] | None = None

    @model_validator(mode="after")
    def _one_trigger(self) -> When:
        if self.status is None and (self.signal is None or self.equals is None):
            raise ValueError("give either 'signal' and 'equals', or 'status' (online or offline)")
        if self.status is not None and (self.signal is not None or self.equals is not None):
            raise ValueError("'status' cannot be combined with 'signal'/'equals'")
        return self

    def describe(self) -> str:
        if self.status is not None:
            return f"{self.device} goes {self.status}"
        return f"{self.device}.{self.signal} = {self.equals!r}"


class Then(Strict):
    publish: str = Field(min_length=1, description="MQTT topic filter the app must publish to")
    within: Duration = Field(gt=0)


class Expectation(Strict):
    id: Id
    level: Literal["MUST", "SHOULD"] = "MUST"
    description: str | None = None
    when: When
    then: Then


class AppInfo(Strict):
    name: str | None = None
    uses: list[Id] = Field(default_factory=list, description="devices the app really reads or commands")


class Profile(Strict):
    schema_version: int = 1
    app: AppInfo = Field(default_factory=AppInfo)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    budget: Budget = Field(default_factory=Budget)
    rules: dict[str, RuleSetting] = Field(default_factory=dict)
    probes: Probes = Field(default_factory=Probes)
    expect: list[Expectation] = Field(default_factory=list)

    def setting(self, rule_id: str) -> RuleSetting:
        return self.rules.get(rule_id, RuleSetting())


def load_profile(
    path: str | Path, devices: dict[str, Any], rule_ids: set[str], signals: dict[str, set[str]] | None = None
) -> Profile:
    """Load and cross-check a profile against the scenario's devices (and, given `signals`
    {device: signal and state names}, their signals) and the known rules."""
    profile, doc = load_model(path, Profile)
    problems = []
    for key in profile.rules:
        if not re.match(RULE_ID, key) or key not in rule_ids:
            problems.append(problem_at(doc, ("rules", key), f"unknown rule '{key}' (see docs/certify.md)"))
    for i, dev in enumerate(profile.app.uses):
        if dev not in devices:
            problems.append(problem_at(doc, ("app", "uses", i), f"no device '{dev}' in this scenario"))
    seen: set[str] = set()
    for i, exp in enumerate(profile.expect):
        if exp.when.device not in devices:
            problems.append(
                problem_at(doc, ("expect", i, "when", "device"), f"no device '{exp.when.device}' in this scenario")
            )
        elif signals is not None and exp.when.signal and exp.when.signal not in signals.get(exp.when.device, set()):
            known = ", ".join(sorted(signals.get(exp.when.device, set())))
            where = ("expect", i, "when", "signal")
            problems.append(
                problem_at(
                    doc, where, f"device '{exp.when.device}' has no signal '{exp.when.signal}' (it has: {known})"
                )
            )
        if exp.id in seen:
            problems.append(problem_at(doc, ("expect", i, "id"), f"duplicate expectation id '{exp.id}'"))
        seen.add(exp.id)
    if problems:
        raise DefinitionError(problems)
    return profile
