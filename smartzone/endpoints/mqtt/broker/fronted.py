"""A broker process on a private unix socket, behind SmartZone's gate front.

Both managed backends run this way: SmartZone makes a private temporary directory (mode
0700), lets the subclass write the broker's files there, starts the broker process with a
unix socket in that directory as its only listener, and puts the gate front (front.py) on
the public TCP port. Apps reach the broker through the gate; SmartZone's own publisher and
command listener connect to the private socket directly (`service_socket`).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.mqtt.broker.base import ManagedBrokerBase, port_error
from smartzone.endpoints.mqtt.broker.front import GateFront
from smartzone.endpoints.mqtt.broker.policy import SERVICE_USER, AccessPolicy
from smartzone.errors import EndpointError

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
LOG_NAME = "broker.log"


class FrontedBroker(ManagedBrokerBase):
    """Private directory, gate front, broker process; subclasses say what to run."""

    process_name = "broker"
    socket_name = "broker.sock"
    levels: frozenset[int] = frozenset({3, 4, 5})  # MQTT protocol levels the gate admits
    piped = False  # True: stdin and stdout are pipes (a control channel; EOF on stdin ends the process)

    def __init__(self, scenario: Scenario, host: str, port: int) -> None:
        self.service_user = SERVICE_USER
        self.service_password = secrets.token_urlsafe(18)
        super().__init__(scenario, AccessPolicy(scenario, self.service_password))
        self.host = host
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._front: GateFront | None = None
        self._dir = Path(tempfile.mkdtemp(prefix=f"sz-{self.process_name}-"))
        self._dir.chmod(0o700)
        self._sock = self._dir / self.socket_name
        self.service_socket: str | None = str(self._sock)
        try:
            self._front = GateFront(self.policy, self.denied, host, port, str(self._sock), self.levels)
        except OSError as exc:
            self.close()
            raise port_error(host, port, exc) from None
        self.port = self._front.port
        try:
            self._spawn(self._prepare())
        except BaseException:
            self.close()
            raise

    def _prepare(self) -> list[str]:
        """Write the broker's files into self._dir; return its command line."""
        raise NotImplementedError


    def _env(self) -> dict[str, str]:
        """The process's environment: SmartZone's, where `python -m smartzone...` finds this
        copy of smartzone (a checkout, a venv or a wheel)."""
        package_root = str(Path(__file__).resolve().parents[4])
        path = os.environ.get("PYTHONPATH")
        return {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else "")}

    def set_observer(self, observer: Any) -> None:
        self.observer = observer
        if self._front is not None:
            self._front.observer = observer

    def _spawn(self, argv: list[str]) -> None:
        log = (self._dir / LOG_NAME).open("wb")
        try:
            pipe = subprocess.PIPE if self.piped else subprocess.DEVNULL
            self._proc = subprocess.Popen(argv, stdin=pipe, stdout=pipe, stderr=log, env=self._env())
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise EndpointError(
                    f"{self.process_name} exited at start (code {self._proc.returncode}): {self._log_tail()}"
                )
            if self._socket_ready():
                return
            try:
                self._proc.wait(timeout=0.02)  # wakes early if it dies
            except subprocess.TimeoutExpired:
                pass
        raise EndpointError(
            f"{self.process_name} did not accept connections within {START_TIMEOUT_S:.0f} s: {self._log_tail()}"
        )

    def _socket_ready(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(str(self._sock))
            except OSError:
                return False
            return True

    def _log_tail(self) -> str:
        path = self._dir / LOG_NAME
        text = path.read_text(errors="replace").strip() if path.exists() else ""
        return text[-2000:] or "(no output)"

    def running(self) -> bool:
        """True while the broker process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        """Stop the front, stop the process (TERM, then KILL), delete the private directory."""
        if self._front is not None:
            self._front.close()
            self._front = None
        if self._proc is not None:
            for pipe in (self._proc.stdin, self._proc.stdout):
                if pipe is not None:
                    pipe.close()  # a piped process ends on EOF
            for stop in (None, self._proc.terminate, self._proc.kill):
                if stop is None and not self.piped:
                    continue
                if stop is not None:
                    stop()
                try:
                    self._proc.wait(STOP_TIMEOUT_S)
                    break
                except subprocess.TimeoutExpired:
                    continue
            self._proc = None
        shutil.rmtree(self._dir, ignore_errors=True)
