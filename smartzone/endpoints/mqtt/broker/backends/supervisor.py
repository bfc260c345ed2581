"""Supervising a managed broker process: notice its death, restart it, have SmartZone republish.

DESIGN.md 2b: every child process has a supervisor. The broker child (amqtt in its own
process, or mosquitto under its tether) can die: a `kill -9`, the OOM killer, a crash. The
gate still owns the public port, so apps would see a port that accepts TCP and never answers.

`BrokerSupervisor` registers a probe with the runtime's watchdog (`watch`, polled every
0.5 s). When the process is gone it reports the outage (`health.down`), and a worker thread
restarts the broker in place (fronted.py `restart`: same gate, port, users and policy),
wakes SmartZone's publisher and command listener (`Recovering`, the bridge), waits until
they have reconnected, republished every retained document and resubscribed, then reports
`health.up`. While the broker is down the gate answers new CONNECTs "server unavailable".
A broker that cannot be started again (ATTEMPTS failures in a row), or that dies more than
MAX_DEATHS times within DEATH_WINDOW_S, is fatal: `smartzone run` stops with exit 1.

`restart(cause)` restarts a running broker on purpose through the same path (certification's
broker-restart probe). `close()` unwatches first, so a deliberate stop is never a death.
Endpoints sit below the runtime: the health registry and the watch function are passed in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

ATTEMPTS = 3  # starts in a row before the broker is declared dead for good
BACKOFF_S = 0.5  # before a failed start is tried again (times the attempt number)
MAX_DEATHS = 5
DEATH_WINDOW_S = 60.0
RECOVER_TIMEOUT_S = 45.0  # for the bridge to reconnect and have its retained documents acknowledged
POLL_S = 0.05
JOIN_TIMEOUT_S = 30.0

Probe = Callable[[], str | None]
Watch = Callable[[str, Probe], Callable[[], None]]


class HealthSink(Protocol):
    """What the supervisor reports to (smartzone.runtime.health.Health satisfies it)."""

    def down(self, component: str, cause: str) -> None: ...

    def up(self, component: str, how: str = "recovered") -> None: ...

    def fatal(self, component: str, cause: str) -> None: ...


class Restartable(Protocol):
    """A managed broker (fronted.py)."""

    backend: str

    def running(self) -> bool: ...

    def exit_cause(self) -> str: ...

    def restart(self) -> None: ...

    @property
    def pid(self) -> int | None: ...


class Recovering(Protocol):
    """SmartZone's own clients of the broker (the bridge): reconnect, republish, resubscribe."""

    def recovery_mark(self) -> Any: ...

    def reconnect_now(self) -> None: ...

    def recovered(self, mark: Any) -> bool: ...

    def retained_count(self) -> int: ...


def component_name(backend: str) -> str:
    """The health component of a managed broker: "mqtt broker (mosquitto)", "mqtt broker (embedded)"."""
    return f"mqtt broker ({backend})"


class BrokerSupervisor:
    """Watches one managed broker and restarts it; see the module docstring."""

    def __init__(
        self, broker: Restartable, health: HealthSink, watch: Watch, clients: Recovering | None = None
    ) -> None:
        self.broker, self.health, self.clients = broker, health, clients
        self.component = component_name(broker.backend)
        self.restarts = 0
        self._watch = watch
        self._unwatch: Callable[[], None] | None = None
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._halt = threading.Event()
        self._deaths: list[float] = []

    def start(self) -> None:
        """Begin watching (the broker must be running)."""
        self._unwatch = self._watch(self.component, self._probe)

    def restart(self, cause: str) -> bool:
        """Restart the running broker on purpose (reported as an outage with `cause`); False if busy."""
        return self._begin(cause, deliberate=True)

    def close(self) -> None:
        """Stop watching and wait for a restart under way: call before closing the broker."""
        self._halt.set()
        self._stop_watching()
        with self._lock:
            worker = self._worker
        if worker is not None:
            worker.join(JOIN_TIMEOUT_S)

    # --- watchdog thread ----------------------------------------------------------------------
    def _probe(self) -> str | None:
        if not self.broker.running():
            self._begin(self.broker.exit_cause() or f"{self.component} stopped", deliberate=False)
        return None  # the supervisor reports itself: a returned cause would make it fatal at once

    def _begin(self, cause: str, deliberate: bool) -> bool:
        with self._lock:
            if self._halt.is_set() or self._worker is not None:
                return False
            self.health.down(self.component, cause)
            mark = self.clients.recovery_mark() if self.clients is not None else None
            self._worker = threading.Thread(
                target=self._recover, args=(cause, mark, deliberate), name="sz-mqtt-broker-restart", daemon=True
            )
            self._worker.start()
        return True

    # --- restart thread -----------------------------------------------------------------------
    def _recover(self, cause: str, mark: Any, deliberate: bool) -> None:
        try:
            failure = self._restart(cause, deliberate)
            if failure is None and not self._halt.is_set():
                failure = self._await_clients(mark)
            if failure is not None and not self._halt.is_set():
                self._stop_watching()
                self.health.fatal(self.component, failure)
        except Exception as exc:  # a bug here must still end the run, not leave a dead broker unseen
            self._stop_watching()
            self.health.fatal(self.component, f"{cause}; the restart failed: {type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._worker = None

    def _restart(self, cause: str, deliberate: bool) -> str | None:
        """Start the broker again; the cause of giving up, or None once it runs."""
        if not deliberate:
            now = time.monotonic()
            self._deaths = [t for t in self._deaths if now - t < DEATH_WINDOW_S] + [now]
            if len(self._deaths) > MAX_DEATHS:
                return f"{cause}; it died {len(self._deaths)} times within {DEATH_WINDOW_S:.0f} s, not restarting again"
        last = ""
        for attempt in range(1, ATTEMPTS + 1):
            if self._halt.is_set():
                return None
            try:
                self.broker.restart()
                self.restarts += 1
                return None
            except Exception as exc:  # EndpointError: it exited at start, its binary is gone, ...
                last = str(exc) or type(exc).__name__
            if self._halt.wait(BACKOFF_S * attempt):
                return None
        return f"{cause}; it could not be restarted ({ATTEMPTS} attempts): {last}"

    def _await_clients(self, mark: Any) -> str | None:
        """Wake SmartZone's publisher and command listener; wait until they are back. Then up."""
        documents = ""
        if self.clients is not None:
            self.clients.reconnect_now()
            deadline = time.monotonic() + RECOVER_TIMEOUT_S
            while not self.clients.recovered(mark):
                if self._halt.wait(POLL_S):
                    return None
                if time.monotonic() >= deadline:
                    return (
                        f"restarted, but SmartZone's publisher and command listener were not back "
                        f"within {RECOVER_TIMEOUT_S:.0f} s"
                    )
            documents = f"; {self.clients.retained_count()} retained documents republished"
        self.health.up(self.component, f"restarted (pid {self.broker.pid}){documents}")
        return None

    def _stop_watching(self) -> None:
        unwatch, self._unwatch = self._unwatch, None
        if unwatch is not None:
            unwatch()
