"""The mosquitto backend: a managed mosquitto subprocess with a generated config.

In a private temporary directory (mode 0700) SmartZone writes the configuration file of
mosquitto's dynamic-security plugin rendered from the AccessPolicy (dynsec.py: users with
PBKDF2-SHA512 password hashes, one role per identity, denies first), and a mosquitto.conf that
loads the plugin and whose only listener is a unix socket in that directory. mosquitto itself
then refuses a forbidden SUBSCRIBE (SUBACK 0x80, MQTT 5: 0x87) and checks every delivery and
publish. The public TCP port belongs to SmartZone's gate front (front.py), which namespaces
client ids per user, frames apps' packets on the way in (size cap, violations, denial counts,
quotas), puts a filter mosquitto refuses in place of one that overlaps nothing readable
(relay.py) and copies mosquitto's answers back unchanged (fronted.py: what this backend shares
with the embedded one).
"""

from __future__ import annotations

import os
import pwd
import select
import shutil
import sys
from pathlib import Path

from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.mqtt.broker.backends.dynsec import SUBSCRIBE_REFUSED, config_json
from smartzone.endpoints.mqtt.broker.backends.fronted import FrontedBroker
from smartzone.endpoints.mqtt.broker.policy import AccessPolicy
from smartzone.errors import EndpointError

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin")
PLUGIN_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib")
QUEUED_MESSAGES_MIN = 10_000
QUEUED_BYTES = 64 * 1024 * 1024  # per client: a slow subscriber cannot make mosquitto grow past this
SERVICE_PACKET_MAX = 16 * 1024 * 1024  # mosquitto's cap: SmartZone's own documents (a catalog) fit

LIMITATIONS = [
    "client ids are namespaced per user by SmartZone's CONNECT gate in front of mosquitto "
    "(mosquitto keeps one session table for all users); mosquitto itself listens on a private unix socket",
    "every byte to and from apps passes through the gate's relay (one extra local hop; cost in "
    "docs/benchmarks.md); SmartZone's own publisher uses the private socket directly",
    "access is enforced by mosquitto's dynamic-security plugin, configured from the scenario; denied "
    "subscribes/publishes are counted and explained by the gate from the same policy",
    "sessions and retained messages are kept in memory only (persistence off) and lost at exit",
    "mosquitto queues at most 4 x the city's retained documents (at least 10,000 messages) and 64 MiB per "
    "client; a subscriber slower than that loses messages past it (QoS 0 and 1 alike)",
]


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary: on PATH, or in the sbin directories Debian uses."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for d in SBIN_DIRS:
        path = os.path.join(d, "mosquitto")
        if os.access(path, os.X_OK):
            return path
    return None


def find_dynsec_plugin() -> str | None:
    """Path of mosquitto's dynamic-security plugin (Debian's mosquitto package ships it)."""
    for d in PLUGIN_DIRS:
        path = os.path.join(d, "mosquitto_dynamic_security.so")
        if os.path.isfile(path):
            return path
    return None


def queue_limits(scenario: Scenario) -> list[str]:
    """mosquitto settings that keep every retained document for a late subscriber, and the packet cap.

    A subscriber to `#` gets every retained document at once; past mosquitto's default queue of
    1,000 messages per client the rest were dropped (1,020 of barcelona's 2,786 arrived, and not
    always the catalog). The queue now holds 4 x the city's retained documents (3 per device, 1
    catalog per tenant), at least 10,000, within QUEUED_BYTES per client. Apps' packets are capped
    by the gate before mosquitto sees them; mosquitto's own cap is a backstop that leaves room for
    SmartZone's service account (a big city's catalog) on the private socket.
    """
    retained = 3 * sum(f.count for f in scenario.fleets) + len(scenario.tenants)
    return [
        f"max_queued_messages {max(QUEUED_MESSAGES_MIN, 4 * retained)}",
        f"max_queued_bytes {QUEUED_BYTES}",
        f"max_packet_size {max(scenario.access.max_packet_size, SERVICE_PACKET_MAX)}",
    ]


def _write_config(path: Path, policy: AccessPolicy) -> None:
    """The dynamic-security plugin's file (passwords hashed, private: mode 0600)."""
    path.touch(mode=0o600)
    path.write_text(config_json(policy), encoding="utf-8")


class MosquittoBroker(FrontedBroker):
    """A mosquitto subprocess behind the gate front; see the module docstring."""

    backend = "mosquitto"
    process_name = "mosquitto"
    socket_name = "mosquitto.sock"
    piped = True  # the tether's stdin (tether.py)
    refused_filter = SUBSCRIBE_REFUSED  # every role denies it (dynsec.py): the gate sends it for a refused filter

    def __init__(self, scenario: Scenario, host: str = "127.0.0.1", port: int = 0) -> None:
        self._binary = find_mosquitto()
        if self._binary is None:
            raise EndpointError("--broker mosquitto: the mosquitto binary is not installed (try --broker embedded)")
        self._plugin = find_dynsec_plugin()
        if self._plugin is None:
            raise EndpointError(
                "--broker mosquitto: mosquitto's dynamic-security plugin (mosquitto_dynamic_security.so, "
                "mosquitto 2.0 or later) is not installed (try --broker embedded)"
            )
        self.limitations = list(LIMITATIONS)
        super().__init__(scenario, host, port)

    def _prepare(self) -> list[str]:
        assert self._binary is not None
        assert self._plugin is not None
        _write_config(self._dir / "dynsec.json", self.policy)
        conf = [
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
            "per_listener_settings false",
            f"allow_anonymous {'true' if self.policy.anonymous_allowed else 'false'}",
            f"plugin {self._plugin}",
            f"plugin_opt_config_file {self._dir / 'dynsec.json'}",
            "persistence false",
            *queue_limits(self.policy.scenario),
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "connection_messages false",
            f"listener 0 {self._sock}",
        ]
        (self._dir / "mosquitto.conf").write_text("\n".join(conf) + "\n", encoding="utf-8")
        # mosquitto does not watch its parent: the tether ends it if SmartZone dies (kill -9)
        tether = [sys.executable, "-m", "smartzone.endpoints.mqtt.broker.backends.tether", "--remove", str(self._dir)]
        return [*tether, self._binary, "-c", str(self._dir / "mosquitto.conf")]

    def _started(self) -> None:
        """Learn mosquitto's own pid from the tether's first line (the supervisor names it, tests kill it)."""
        out = self._proc.stdout if self._proc is not None else None
        if out is not None and select.select([out], [], [], 1.0)[0]:
            line = out.readline().strip()
            self._broker_pid = int(line) if line.isdigit() else None
