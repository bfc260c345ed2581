"""MQTT broker backends with SmartZone's access control (API.md "Access").

`start_broker(backend, scenario)` returns a running `Broker`:
- "embedded": amqtt 0.12 in a child process, with SmartZone's auth/topic plugins;
- "mosquitto": a managed mosquitto subprocess (generated password file and ACL file);
- "auto": mosquitto when its binary is installed, else embedded;
- "mqtt://host:port" / "mqtts://host:port": an external broker SmartZone connects to.
Managed backends listen on a private unix socket behind SmartZone's gate front (backends/fronted.py),
which namespaces client ids per user; backends/supervisor.py restarts their process when it dies.
"""

from __future__ import annotations

from typing import Protocol

from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.mqtt.publisher import BrokerAddress
from smartzone.errors import EndpointError

__all__ = ["Broker", "start_broker"]


class Broker(Protocol):
    """A running broker the bridge publishes to and apps connect to."""

    backend: str
    host: str
    port: int
    tls: bool
    service_user: str
    service_password: str
    service_socket: str | None  # a private unix socket for SmartZone's own clients, if any
    limitations: list[str]

    @property
    def url(self) -> str: ...

    def describe(self) -> list[str]:
        """URL, each scenario user's credentials, a ready-to-paste mosquitto_sub line, limits."""
        ...

    def denied_counts(self) -> dict[str, int]:
        """{"user:kind": n} for kind in connect | subscribe | publish (best effort per backend)."""
        ...

    def close(self) -> None:
        """Stop everything, free the port, leave no thread or process behind."""
        ...


def start_broker(backend: str, scenario: Scenario, *, host: str = "127.0.0.1", port: int = 0) -> Broker:
    """Start (or connect to) the broker named by `backend`; port 0 picks a free port.

    Raises EndpointError (CLI exit 3) when a port is busy, the URL is bad, mosquitto is
    missing or fails to start, or an external broker is unreachable or refuses SmartZone.
    """
    if backend == "auto":
        from smartzone.endpoints.mqtt.broker.backends.mosquitto import find_dynsec_plugin, find_mosquitto

        backend = "mosquitto" if find_mosquitto() and find_dynsec_plugin() else "embedded"
    if backend == "embedded":
        from smartzone.endpoints.mqtt.broker.backends.embedded import EmbeddedBroker

        return EmbeddedBroker(scenario, host, port)
    if backend == "mosquitto":
        from smartzone.endpoints.mqtt.broker.backends.mosquitto import MosquittoBroker

        return MosquittoBroker(scenario, host, port)
    if "://" in backend:
        from smartzone.endpoints.mqtt.broker.backends.external import ExternalBroker

        return ExternalBroker(backend, scenario)
    raise EndpointError(
        f"unknown broker {backend!r}: use embedded, mosquitto, auto, mqtt://host:port or mqtts://host:port"
    )


def service_address(broker: Broker) -> BrokerAddress:
    """Where SmartZone's own clients (bridge publisher, command listener) connect."""
    return BrokerAddress(
        broker.host,
        broker.port,
        broker.service_user,
        broker.service_password,
        tls=bool(getattr(broker, "tls", False)),
        unix=broker.service_socket,
    )
