"""The external backend: a broker SmartZone does not run (Mosquitto, EMQX, ...), given by URL.

`mqtt://user:password@host:port` or `mqtts://...`; without userinfo the credentials come
from SMARTZONE_MQTT_USER / SMARTZONE_MQTT_PASSWORD. At start SmartZone connects once with
them (bounded wait) so a wrong URL, an unreachable broker or refused credentials fail
with a clear message (exit 3) instead of a silent run. Access control is the external
broker's own: SmartZone can describe the intended accounts but cannot enforce or count.
"""

from __future__ import annotations

import os
import secrets
import threading
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.mqtt.broker.backends.base import describe_lines
from smartzone.errors import EndpointError, UsageError

PROBE_TIMEOUT_S = 10.0
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}

LIMITATIONS = [
    "external broker: users, tenant ACLs and client-id binding are whatever that broker is "
    "configured to enforce; SmartZone neither sets nor verifies them",
    "external broker: denied subscribes/publishes are not counted by SmartZone",
]


def parse_url(url: str) -> tuple[str, str, int, str | None, str | None]:
    """(scheme, host, port, user, password) of an mqtt:// or mqtts:// URL; UsageError (exit 2) if bad."""
    hint = "expected mqtt://[user:password@]host:port or mqtts://..."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"--broker: bad broker URL {url!r}: {exc}; {hint}") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise UsageError(f"--broker: bad broker URL {url!r}: scheme must be mqtt or mqtts; {hint}")
    if not parts.hostname:
        raise UsageError(f"--broker: bad broker URL {url!r}: no host; {hint}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageError(f"--broker: bad broker URL {url!r}: unexpected path or query; {hint}")
    user = unquote(parts.username) if parts.username else os.environ.get("SMARTZONE_MQTT_USER")
    password = unquote(parts.password) if parts.password else os.environ.get("SMARTZONE_MQTT_PASSWORD")
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme], user, password


class ExternalBroker:
    """A reachable external broker and SmartZone's credentials on it."""

    def __init__(self, url: str, scenario: Scenario) -> None:
        scheme, self.host, self.port, user, password = parse_url(url)
        self.backend = f"external {scheme}"
        self.tls = scheme == "mqtts"
        self.service_user = user or ""
        self.service_socket: str | None = None
        self.service_password = password or ""
        self.scenario = scenario
        self.limitations = list(LIMITATIONS)
        self._check()

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def _check(self) -> None:
        """Connect once with SmartZone's credentials; raise EndpointError on any failure."""
        prefix = self.service_user or "smartzone"
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{prefix}-probe-{secrets.token_hex(3)}")
        if self.service_user:
            client.username_pw_set(self.service_user, self.service_password)
        if self.tls:
            client.tls_set()
        done = threading.Event()
        result: list[str] = []

        def on_connect(c: mqtt.Client, userdata: object, flags: object, rc: object, props: object = None) -> None:
            result.append("" if not getattr(rc, "is_failure", False) else str(rc))
            done.set()

        client.on_connect = on_connect
        try:
            client.connect(self.host, self.port, keepalive=10)
        except (OSError, ValueError) as exc:
            raise EndpointError(f"external broker {self.url} is not reachable: {exc}") from None
        try:
            client.loop_start()
            if not done.wait(PROBE_TIMEOUT_S):
                raise EndpointError(f"external broker {self.url} did not answer CONNECT within {PROBE_TIMEOUT_S:.0f} s")
            if result[0]:
                who = self.service_user or "anonymous"
                raise EndpointError(f"external broker {self.url} refused SmartZone ({who}): {result[0]}")
            client.disconnect()
        finally:
            client.loop_stop()

    def describe(self) -> list[str]:
        lines = describe_lines(
            self.backend, self.host, self.port, self.scenario, self.limitations, self.tls, managed=False
        )
        lines.insert(1, "  (accounts below must exist on the external broker; SmartZone does not create them)")
        return lines

    def denied_counts(self) -> dict[str, int]:
        return {}

    def close(self) -> None:
        """Nothing to stop: the bridge's own connections are closed by the bridge."""
