"""The MQTT service of `smartzone run`: options, start (broker + bridge), how to connect.

    --broker embedded|mosquitto|auto|mqtt://host:port|mqtts://host:port   (default auto)
    --mqtt-port N    (default 1883; managed backends listen on 127.0.0.1)
    --no-mqtt
    --open           open lab mode (as `access: {mode: open}`): anonymous clients may use every
                     topic outside sz/; a loud warning goes to stderr and the banner

`auto` uses mosquitto when its binary is installed, else the embedded amqtt broker.
A managed broker is supervised (broker/backends/supervisor.py) when the runtime has a health registry
and a watchdog (smartzone.runtime.Runtime has both): a dead broker child is restarted and the
bridge republishes; one that cannot be restarted is fatal.
The service is registered by smartzone.cli.run_cmd (endpoints sit below the runtime, so
this module imports nothing from smartzone.runtime).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.mqtt.bridge import Bridge
from smartzone.endpoints.mqtt.broker import Broker, service_address, start_broker
from smartzone.endpoints.mqtt.broker.backends.supervisor import BrokerSupervisor
from smartzone.endpoints.mqtt.broker.policy.denials import summary_lines
from smartzone.endpoints.mqtt.host import RuntimeLike
from smartzone.endpoints.mqtt.topics import Topics
from smartzone.errors import UsageError

DEFAULT_PORT = 1883
NAME = "mqtt"


def add_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("MQTT")
    g.add_argument(
        "--broker",
        default="auto",
        metavar="BACKEND",
        help="embedded | mosquitto | auto (mosquitto if installed, else embedded) | mqtt://host:port | "
        "mqtts://host:port (default: auto)",
    )
    g.add_argument(
        "--mqtt-port",
        type=int,
        default=DEFAULT_PORT,
        metavar="N",
        help=f"port of the managed broker (default {DEFAULT_PORT})",
    )
    g.add_argument("--no-mqtt", action="store_true", help="no MQTT broker and no MQTT publishing")
    g.add_argument(
        "--open",
        action="store_true",
        help="open lab mode: anyone who reaches the port may connect without a user name and use every topic "
        "outside sz/ (sz/ keeps the scenario's rules); same as access: {mode: open}",
    )


OPEN_WARNING = (
    "WARNING: open lab mode: anyone who can reach the MQTT port may connect without a password and publish "
    "on every topic outside sz/ (sz/ keeps the scenario's rules)"
)


def open_scenario(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """The scenario the broker enforces: with --open, its access section switched to open mode."""
    if not getattr(args, "open", False) or scenario.access.mode == "open":
        return scenario
    return scenario.model_copy(update={"access": scenario.access.model_copy(update={"mode": "open"})})


class MqttService:
    """A running broker and the bridge publishing the city on it."""

    def __init__(self, broker: Broker, bridge: Bridge, supervisor: BrokerSupervisor | None = None) -> None:
        self.broker, self.bridge, self.supervisor = broker, bridge, supervisor

    def restart_broker(self, cause: str) -> bool:
        """Restart the managed broker process now (in the background), reported as an outage with
        `cause`; False if it is not supervised or already restarting."""
        return self.supervisor is not None and self.supervisor.restart(cause)

    def describe(self) -> list[str]:
        formats = sorted(set(self.bridge.formats.values()))
        sc = self.bridge.runtime.scenario
        topics = Topics(sc.city)
        lines = list(self.broker.describe())
        lines.append(
            f"  publishing {len(self.bridge.wires)} devices on {topics.base}/... over "
            f"{len(self.bridge.publisher.conns)} connections; telemetry format: {', '.join(formats)}"
            + (f"; deprecated v1 topics {topics.v1_data('{device}')}" if sc.api_v1 else "")
        )
        host, port = getattr(self.broker, "host", "127.0.0.1"), getattr(self.broker, "port", None)
        for tenant in (t for t in sc.tenants if t.kind == "sandbox"):
            owners = [u for u in sc.users if u.role == "owner" and u.tenant == tenant.id]
            names = ", ".join(u.name for u in owners) or "admin"
            lines.append(
                f"  sandbox {tenant.id}: {names} sends requests on {topics.sandbox(tenant.id, 'request')} "
                "(answers on .../sandbox/result)"
            )
            if owners and port is not None:
                lines.append(
                    f"    try: smartzone sandbox add DEVICE --type TYPE --city {sc.city} --tenant {tenant.id} "
                    f"--host {host} --port {port} --user {owners[0].name} --password {owners[0].password}"
                )
        return lines

    def stats(self) -> dict[str, Any]:
        return {**self.bridge.stats(), "denied": self.broker.denied_counts()}

    def close(self) -> None:
        if self.supervisor is not None:
            self.supervisor.close()  # first: a deliberate stop is not a death
        try:
            self.bridge.close()
            s = self.bridge.stats()
            lost = s["lost_queue_full"] + s["lost_offline"]
            if lost:
                print(
                    f"mqtt: {s['published']} messages published, {lost} lost "
                    f"({s['lost_queue_full']} queue full, {s['lost_offline']} broker unreachable)",
                    file=sys.stderr,
                )
            for line in summary_lines(self.broker.denied_counts()):  # the live lines' totals (denials.py)
                print(line, file=sys.stderr)
        finally:
            self.broker.close()


def start(runtime: RuntimeLike, args: argparse.Namespace) -> MqttService | None:
    """Start the broker and the bridge; EndpointError (exit 3) if either cannot start."""
    if getattr(args, "no_mqtt", False):
        return None
    port = getattr(args, "mqtt_port", DEFAULT_PORT)
    if not 0 <= port <= 65535:
        raise UsageError(f"--mqtt-port must be from 0 to 65535, got {port}")
    backend = getattr(args, "broker", "auto")
    scenario = open_scenario(runtime.scenario, args)
    if scenario.access.mode == "open":
        if "://" in backend:
            raise UsageError("--open (access mode open) needs a managed broker: --broker embedded|mosquitto|auto")
        print(OPEN_WARNING, file=sys.stderr)
    broker = start_broker(backend, scenario, host=getattr(args, "bind", None) or "127.0.0.1", port=port)
    try:
        bridge = Bridge(runtime, service_address(broker))
        bridge.start()
    except BaseException:
        broker.close()
        raise
    return MqttService(broker, bridge, supervise(runtime, broker, bridge))


def supervise(runtime: object, broker: Broker, bridge: Bridge) -> BrokerSupervisor | None:
    """Watch a managed broker with the runtime's watchdog and health registry, if it has them."""
    health, watch = getattr(runtime, "health", None), getattr(runtime, "watch", None)
    if health is None or watch is None or not hasattr(broker, "restart"):
        return None  # an external broker is not ours to restart; a bare RuntimeLike has no watchdog
    supervisor = BrokerSupervisor(broker, health, watch, bridge)  # type: ignore[arg-type]
    supervisor.start()
    return supervisor
