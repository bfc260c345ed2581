"""A broker process on a private unix socket, behind SmartZone's gate front.

Both managed backends run this way: SmartZone makes a private temporary directory (mode
0700), lets the subclass write the broker's files there, starts the broker process with a
unix socket in that directory as its only listener, and puts the gate front (front.py) on
the public TCP port. Apps reach the broker through the gate; SmartZone's own publisher and
command listener connect to the private socket directly (`service_socket`).

`restart()` starts the broker process again in the same place when it died (or on purpose,
certification's broker-restart probe): same private socket behind the same gate, so the same
public port, and the same users, passwords and access policy, its files written afresh.
Noticing the death and deciding to restart is supervisor.py's job.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.mqtt.broker.backends.base import ManagedBrokerBase, port_error
from smartzone.endpoints.mqtt.broker.gate.connect import ConnectionObserver
from smartzone.endpoints.mqtt.broker.gate.front import GateFront
from smartzone.endpoints.mqtt.broker.policy import SERVICE_USER, AccessPolicy
from smartzone.endpoints.mqtt.broker.policy.denials import NOTICE_FD_ENV
from smartzone.errors import EndpointError

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
LOG_NAME = "broker.log"


class FrontedBroker(ManagedBrokerBase):
    """Private directory, gate front, broker process; subclasses say what to run."""

    process_name = "broker"
    socket_name = "broker.sock"
    levels: frozenset[int] = frozenset({3, 4, 5})  # MQTT protocol levels the gate admits
    refused_filter: str | None = None  # a filter the broker always refuses (gate/relay.py); None: it judges itself
    piped = False  # True: stdin and stdout are pipes (a control channel; EOF on stdin ends the process)

    def __init__(self, scenario: Scenario, host: str, port: int) -> None:
        self.service_user = SERVICE_USER
        self.service_password = secrets.token_urlsafe(18)
        super().__init__(scenario, AccessPolicy(scenario, self.service_password))
        self.host = host
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._broker_pid: int | None = None  # the broker itself, when the process we start is a tether
        self._restart_lock = threading.Lock()
        self._front: GateFront | None = None
        self._dir = Path(tempfile.mkdtemp(prefix=f"sz-{self.process_name}-"))
        self._dir.chmod(0o700)
        self._sock = self._dir / self.socket_name
        self.service_socket: str | None = str(self._sock)
        try:
            self._front = GateFront(self.policy, self.denied, host, port, str(self._sock), self.levels)
            self._front.refused_filter = self.refused_filter
        except OSError as exc:
            self.close()
            raise port_error(host, port, exc) from None
        self.port = self._front.port
        try:
            self._spawn(self._prepare())
            self._started()
        except BaseException:
            self.close()
            raise

    def _prepare(self) -> list[str]:
        """Write the broker's files into self._dir; return its command line."""
        raise NotImplementedError

    def _started(self) -> None:
        """Called once the broker accepts connections on its socket (at start and after a restart)."""

    def _env(self) -> dict[str, str]:
        """The process's environment: SmartZone's, where `python -m smartzone...` finds this
        copy of smartzone (a checkout, a venv or a wheel)."""
        package_root = str(Path(__file__).resolve().parents[4])
        path = os.environ.get("PYTHONPATH")
        return {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else "")}

    def set_observer(self, observer: ConnectionObserver | None) -> None:
        self.observer = observer
        if self._front is not None:
            self._front.observer = observer

    def _spawn(self, argv: list[str]) -> None:
        log = (self._dir / LOG_NAME).open("wb")
        fds: list[int] = []
        try:
            pipe = subprocess.PIPE if self.piped else subprocess.DEVNULL
            env = self._env()
            if self.piped:  # the amqtt process says why it denies on a copy of our stderr (denials.py)
                with contextlib.suppress(OSError, ValueError):
                    fds.append(os.dup(sys.stderr.fileno()))
                    env[NOTICE_FD_ENV] = str(fds[0])
            self._proc = subprocess.Popen(argv, stdin=pipe, stdout=pipe, stderr=log, env=env, pass_fds=fds)
        finally:
            log.close()
            for fd in fds:
                os.close(fd)
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

    @property
    def pid(self) -> int | None:
        """Process id of the broker itself (mosquitto, not its tether; the amqtt process), if started."""
        if self._broker_pid is not None:
            return self._broker_pid
        return self._proc.pid if self._proc is not None else None

    def exit_cause(self) -> str:
        """How the broker process ended, in words ("mosquitto was killed by SIGKILL"), or "" if it runs."""
        proc = self._proc
        code = proc.poll() if proc is not None else None
        if proc is None or code is None:
            return "" if proc is not None else f"{self.process_name} is not running"
        if code < 0:
            return f"{self.process_name} (pid {proc.pid}) was killed by {_signal_name(-code)}"
        if code > 128 and self._broker_pid is not None:  # the tether passes a killed broker's -N on as 256-N
            return f"{self.process_name} (pid {self._broker_pid}) was killed by {_signal_name(256 - code)}"
        return f"{self.process_name} (pid {self.pid}) exited with code {code}"

    def restart(self) -> None:
        """Stop what is left of the broker process and start it again behind the same gate.

        Same private socket (so the same public port), same users, passwords and policy: the
        files are written afresh, since the private directory may be gone with the process.
        Raises EndpointError if it does not start (the directory is kept for the next try).
        """
        with self._restart_lock:
            if self._front is None:
                raise EndpointError(f"{self.process_name}: the broker is closed")
            self._stop_process()
            self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            for stale in self._dir.glob("*.sock"):
                stale.unlink(missing_ok=True)  # a killed broker leaves its sockets behind
            self._spawn(self._prepare())
            self._started()

    def _stop_process(self) -> None:
        """Stop the broker process (EOF on its pipes, TERM, then KILL) and reap it: no zombie."""
        proc, self._proc = self._proc, None
        if proc is not None:
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()  # a piped process ends on EOF
            for stop in (None, proc.terminate, proc.kill):
                if stop is None and not self.piped:
                    continue
                if stop is not None:
                    stop()
                try:
                    proc.wait(STOP_TIMEOUT_S)
                    break
                except subprocess.TimeoutExpired:
                    continue
        orphan, self._broker_pid = self._broker_pid, None
        if orphan is not None and self._ours(orphan):
            try:  # its tether was killed: the broker lives on, holding the socket; it is ours to end
                os.kill(orphan, signal.SIGKILL)
            except OSError:
                pass  # gone meanwhile

    def _ours(self, pid: int) -> bool:
        """True if `pid` is still a broker of this private directory (not a pid reused since)."""
        try:
            return str(self._dir).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    def close(self) -> None:
        """Stop the front, stop the process (TERM, then KILL), delete the private directory."""
        if self._front is not None:
            self._front.close()
            self._front = None
        with self._restart_lock:
            self._stop_process()
        shutil.rmtree(self._dir, ignore_errors=True)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
