"""The embedded backend: amqtt 0.12 in a child process of its own, behind the CONNECT gate.

Nothing to install beyond pip. amqtt is pure Python: run inside SmartZone's process it
shared one GIL with the simulation engine and the publisher, so every message waited for
them (docs/benchmarks.md). It now runs in `amqtt_process.py`, listening only on a unix
socket in a private directory, exactly as the mosquitto backend does (fronted.py): the gate
front owns the public port (so a busy port is a clear error and port 0 works) and
namespaces client ids per user; SmartZone's own clients use the private socket. An admitted app's
socket is handed to amqtt (handover.py) unless SmartZone observes app traffic, which needs
the relay.
"""

from __future__ import annotations

import json
import pickle
import select
import sys
import threading
from collections import Counter
from typing import Any

from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.mqtt.broker.backends.amqtt_process import HANDOVER_FILE, POLICY_FILE, SOCKET_FILE
from smartzone.endpoints.mqtt.broker.backends.fronted import FrontedBroker
from smartzone.endpoints.mqtt.broker.gate.handover import Handover
from smartzone.errors import EndpointError

CONTROL_TIMEOUT_S = 5.0
MQTT_311_ONLY = frozenset({4})  # amqtt 0.12 misreads 3.1 and 5 CONNECTs

LIMITATIONS = [
    "embedded amqtt 0.12 speaks MQTT 3.1.1 only (MQTT 3.1 and 5 clients are refused: unsupported protocol)",
    "embedded amqtt does not resend unacknowledged QoS 1/2 messages after a reconnect (amqtt #401)",
    "embedded amqtt: SmartZone enforces client keep-alive itself, dropping a silent client "
    "after 1.5 to 2 keep-alive periods (the MQTT rule is 1.5)",
    "embedded amqtt keeps sessions and retained messages in memory only (lost at exit)",
    "embedded amqtt runs in a child process; the gate hands each admitted app's socket to it, except while "
    "SmartZone observes app traffic (GUI traffic panel, smartzone certify): then it relays (one extra local hop)",
]


class EmbeddedBroker(FrontedBroker):
    """amqtt with SmartZone's auth and topic plugins in a child process; see the module docstring."""

    backend = "embedded"
    process_name = "amqtt"
    socket_name = SOCKET_FILE
    levels = MQTT_311_ONLY
    piped = True

    def __init__(self, scenario: Scenario, host: str = "127.0.0.1", port: int = 0) -> None:
        self.limitations = list(LIMITATIONS)
        self._control = threading.Lock()
        self._handover: Handover | None = None
        super().__init__(scenario, host, port)

    def _started(self) -> None:
        """Open the hand-over channel to the amqtt process just started (at start, after a restart)."""
        try:
            handover = Handover(str(self._dir / HANDOVER_FILE))
        except OSError as exc:
            raise EndpointError(f"amqtt's hand-over socket is not reachable: {exc}") from None
        old, self._handover = self._handover, handover
        if self._front is not None:
            self._front.handover = handover  # before closing the old one: the gate reads it on its thread
        if old is not None:
            old.close()

    def _prepare(self) -> list[str]:
        policy_file = self._dir / POLICY_FILE
        policy_file.write_bytes(pickle.dumps(self.policy))
        policy_file.chmod(0o600)
        return [sys.executable, "-m", "smartzone.endpoints.mqtt.broker.backends.amqtt_process", str(self._dir)]

    def session_states(self) -> dict[str, str]:
        """{client id: amqtt session state} of every session amqtt holds ("connected", ...)."""
        answer: dict[str, str] = self._ask("sessions")
        return answer

    def connections_served(self) -> dict[str, int]:
        """{"handed": n, "socket": n}: app sockets handed over to amqtt, and connections on its socket."""
        answer: dict[str, int] = self._ask("connections")
        return answer

    def denied_counts(self) -> dict[str, int]:
        """The gate's counts (connects, relayed connections) plus amqtt's (handed-over connections)."""
        counts = Counter(self.denied.snapshot())
        if self.running():
            try:
                counts.update(self._ask("denied"))
            except (EndpointError, OSError, ValueError):  # it died (or is being restarted) meanwhile
                pass
        return dict(counts)

    def _ask(self, request: str) -> Any:
        """One request on the process's control channel (see amqtt_process.py) and its JSON answer."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None or proc.poll() is not None:
            raise EndpointError("the embedded broker is not running")
        with self._control:
            proc.stdin.write(request.encode() + b"\n")
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], CONTROL_TIMEOUT_S)
            if not ready:
                raise EndpointError(f"the embedded broker did not answer within {CONTROL_TIMEOUT_S:.0f} s")
            return json.loads(proc.stdout.readline())

    def close(self) -> None:
        if self._handover is not None:
            self._handover.close()
            self._handover = None
        super().close()
