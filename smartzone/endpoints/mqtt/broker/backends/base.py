"""What every broker backend shares: connection facts, the start-up description, port errors."""

from __future__ import annotations

import errno

from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.client_lines import mosquitto_sub
from smartzone.endpoints.mqtt.broker.gate.connect import ConnectionObserver
from smartzone.endpoints.mqtt.broker.policy import AccessPolicy
from smartzone.endpoints.mqtt.broker.policy.denials import Denials
from smartzone.errors import EndpointError


def port_error(host: str, port: int, exc: OSError) -> EndpointError:
    """The clear EndpointError (CLI exit 3) for a listener that could not bind."""
    if exc.errno == errno.EADDRINUSE:
        return EndpointError(f"MQTT port {port} on {host} is already in use (choose another with --mqtt-port)")
    if exc.errno == errno.EACCES:
        return EndpointError(f"MQTT port {port} on {host}: permission denied (ports below 1024 need privileges)")
    return EndpointError(f"MQTT listener on {host}:{port} could not start: {exc.strerror or exc}")


def _user_summary(scenario: Scenario, name: str) -> str:
    user = next(u for u in scenario.users if u.name == name)
    if user.role == "owner":
        return f"owner of {user.tenant}"
    if user.role == "admin":
        return "admin (everything)"
    read = ",".join(user.grants.read) or "-"
    cmd = ",".join(user.grants.command) or "-"
    return f"app (read {read}; command {cmd})"


class ManagedBrokerBase:
    """Fields and helpers of the brokers SmartZone runs itself (embedded, mosquitto)."""

    backend: str
    host: str
    port: int
    limitations: list[str]
    tls = False

    def __init__(self, scenario: Scenario, policy: AccessPolicy) -> None:
        self.scenario = scenario
        self.policy = policy
        self.denied = Denials(policy)  # counts, and says why live on stderr (denials.py)
        self.observer: ConnectionObserver | None = None  # e.g. smartzone certify

    def set_observer(self, observer: ConnectionObserver | None) -> None:
        """Report app connections to `observer` (gate/connect.py); None to stop."""
        self.observer = observer

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def denied_counts(self) -> dict[str, int]:
        """{"user:kind": n}: connects, subscribes and publishes refused, per user."""
        return self.denied.snapshot()

    def describe(self) -> list[str]:
        lines = describe_lines(self.backend, self.host, self.port, self.scenario, self.limitations)
        return lines + client_lines(self.host, self.port, self.scenario)


def describe_lines(
    backend: str,
    host: str,
    port: int,
    scenario: Scenario,
    limitations: list[str],
    tls: bool = False,
    managed: bool = True,
) -> list[str]:
    """URL, each scenario user's credentials, a mosquitto_sub line and the backend's limits.

    `managed`: SmartZone's gate is in front (any client id works); not for an external broker."""
    lines = [f"MQTT broker ({backend}): {'mqtts' if tls else 'mqtt'}://{host}:{port}"]
    if scenario.access.mode == "open":
        lines.append(
            "  WARNING: OPEN LAB MODE: anyone who can reach this port may connect without a password and "
            "publish on every topic outside sz/"
        )
    for u in scenario.users:
        lines.append(
            f"  user {u.name}  password {u.password}  {_user_summary(scenario, u.name)}"
            + ("  any client id" if managed else "")
        )
    if scenario.access.anonymous_read or scenario.access.mode == "open":
        open_t = ", ".join(t.id for t in scenario.tenants if t.open_data) or "none"
        lab = "every topic outside sz/; " if scenario.access.mode == "open" else ""
        lines.append(f"  anonymous: {lab}read-only under sz/, open-data tenants: {open_t}")
    example = _example(scenario)
    if example is not None:
        user, password, topic = example
        lines.append("  try: " + mosquitto_sub(host, port, topic, user, password, tls=tls))
    else:
        lines.append("  the scenario declares no users and no open data: only SmartZone itself can connect")
    lines += [f"  limitation: {text}" for text in limitations]
    return lines


def client_lines(host: str, port: int, scenario: Scenario) -> list[str]:
    """How to connect from the tools integrators use (docs/clients.md), one line each, with a real user."""
    example = _example(scenario)
    if example is None or example[0] is None:
        return []
    user, _, topic = example
    where = f"host {host} port {port}, user {user} and its password above"
    return [
        f"  Node-RED: mqtt-broker node {where}, client id blank, MQTT 3.1.1 (docs/node-red.md)",
        f"  MQTT Explorer: {where}, any client id, subscribe {topic}",
        "  mosquitto_sub: the 'try' line above; a refused client is explained here on stderr (docs/clients.md)",
    ]


def _example(scenario: Scenario) -> tuple[str | None, str | None, str] | None:
    city = scenario.city
    for role in ("admin", "owner", "app"):
        for u in scenario.users:
            if u.role != role:
                continue
            if role == "admin":
                return u.name, u.password, f"sz/v2/{city}/#"
            tenant = u.tenant if role == "owner" else (u.grants.read[0] if u.grants.read else None)
            if tenant:
                return u.name, u.password, f"sz/v2/{city}/{tenant}/#"
    if scenario.access.anonymous_read:
        for t in scenario.tenants:
            if t.open_data:
                return None, None, f"sz/v2/{city}/{t.id}/#"
    return None
