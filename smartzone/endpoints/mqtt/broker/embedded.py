"""The embedded backend: amqtt 0.12 in a child process of its own, behind the CONNECT gate.

Nothing to install beyond pip. amqtt is pure Python: run inside SmartZone's process it
shared one GIL with the simulation engine and the publisher, so every message waited for
them (docs/benchmarks.md). It now runs in `amqtt_process.py`, listening only on a unix
socket in a private directory, exactly as the mosquitto backend does (fronted.py): the gate
front owns the public port (so a busy port is a clear error and port 0 works), binds client
ids to users and relays apps to amqtt; SmartZone's own clients use the private socket.
"""

from __future__ import annotations

import json
import os
import pickle
import select
import sys
import threading
from pathlib import Path

from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.mqtt.broker.amqtt_process import POLICY_FILE, SOCKET_FILE
from smartzone.endpoints.mqtt.broker.fronted import FrontedBroker
from smartzone.errors import EndpointError

CONTROL_TIMEOUT_S = 5.0
MQTT_311_ONLY = frozenset({4})  # amqtt 0.12 misreads 3.1 and 5 CONNECTs

LIMITATIONS = [
    "embedded amqtt 0.12 speaks MQTT 3.1.1 only (MQTT 3.1 and 5 clients are refused: unsupported protocol)",
    "embedded amqtt does not resend unacknowledged QoS 1/2 messages after a reconnect (amqtt #401)",
    "embedded amqtt: SmartZone enforces client keep-alive itself, dropping a silent client "
    "after 1.5 to 2 keep-alive periods (the MQTT rule is 1.5)",
    "embedded amqtt keeps sessions and retained messages in memory only (lost at exit)",
    "embedded amqtt runs in a child process; apps reach it through SmartZone's gate relay (one extra local hop)",
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
        super().__init__(scenario, host, port)

    def _prepare(self) -> list[str]:
        policy_file = self._dir / POLICY_FILE
        policy_file.write_bytes(pickle.dumps(self.policy))
        policy_file.chmod(0o600)
        return [sys.executable, "-m", "smartzone.endpoints.mqtt.broker.amqtt_process", str(self._dir)]

    def _env(self) -> dict[str, str]:
        # the child imports smartzone from wherever this process did (a checkout, a venv, a wheel)
        package_root = str(Path(__file__).resolve().parents[4])
        path = os.environ.get("PYTHONPATH")
        return {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else "")}

    def session_states(self) -> dict[str, str]:
        """{client id: amqtt session state} of every session amqtt holds ("connected", ...)."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None or proc.poll() is not None:
            raise EndpointError("the embedded broker is not running")
        with self._control:
            proc.stdin.write(b"sessions\n")
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], CONTROL_TIMEOUT_S)
            if not ready:
                raise EndpointError(f"the embedded broker did not answer within {CONTROL_TIMEOUT_S:.0f} s")
            answer: dict[str, str] = json.loads(proc.stdout.readline())
        return answer
