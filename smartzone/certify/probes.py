"""The certification script: the city's bad days, put to the app at set points of the run.

Each probe owns a window of the run's wall time (fractions below); it starts and ends
through the runtime's public fault and network commands or the broker levers of the
recorder, and leaves a ProbeRec behind for the rules and the report's timeline:

- devices_offline  (20-35 %): the devices the app uses go offline (InjectFault offline);
- degraded_network (40-55 %): their network profiles lose 30 % and add 2 s +/- 1 s delay;
- duplicates       (60-72 %): 50 % duplicated and 50 % reordered readings (3 s +/- 2 s delay);
- broker_restart   (78 %, for profile.probes.outage wall seconds): every app connection is
  dropped, the managed broker process is really restarted (the MQTT service's restart path,
  broker/backends/supervisor.py: SmartZone republishes every retained document; sessions are lost)
  and app CONNECTs are refused with "server unavailable" until the outage ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smartzone.certify.observer import Recorder
from smartzone.certify.profile import Probes
from smartzone.certify.records import ProbeRec, Stamp
from smartzone.core.faults import ClearFault, DegradeLink, InjectFault, RestoreLink

if TYPE_CHECKING:  # certify sits below the runtime: it only drives the one it is given
    from smartzone.runtime.api import Runtime

MAX_TARGETS = 5
SUBMIT_TIMEOUT_S = 5.0


@dataclass
class Step:
    name: str
    start: float  # fraction of the run's wall time
    end: float
    begin: Callable[[], tuple[str, tuple[str, ...]]]
    finish: Callable[[], None]
    rec_start: Stamp | None = None
    detail: str = ""
    targets: tuple[str, ...] = ()
    state: str = "pending"  # pending | running | done


class Script:
    """Runs the probes as wall time passes; `tick(fraction)` is called from the certify loop."""

    def __init__(
        self,
        runtime: Runtime,
        recorder: Recorder,
        settings: Probes,
        targets: Callable[[], list[str]],
        wall_total: float,
        restart: Callable[[str], bool] | None = None,
    ) -> None:
        self.rt, self.rec, self.settings, self.targets = runtime, recorder, settings, targets
        self.restart = restart  # restarts the broker process (MqttService.restart_broker); None: none
        self.steps: list[Step] = []
        self.outage: tuple[float, float] | None = None
        self.kicked = 0  # app connections the broker restart dropped
        self._chosen: list[str] = []
        if settings.devices_offline:
            self.steps.append(Step("devices_offline", 0.20, 0.35, self._offline, self._online))
        if settings.degraded_network:
            self.steps.append(Step("degraded_network", 0.40, 0.55, self._degrade, self._restore("degraded")))
        if settings.duplicates:
            self.steps.append(Step("duplicates", 0.60, 0.72, self._duplicates, self._restore("duplicates")))
        if settings.broker_restart:
            length = settings.outage / max(wall_total, 1e-6)
            start = max(0.5, min(0.78, 0.92 - length))  # leave time to reconnect before the end
            self.steps.append(Step("broker_restart", start, start + length, self._restart, self._restarted))

    # --- driving ----------------------------------------------------------------------------
    def tick(self, fraction: float) -> None:
        for step in self.steps:
            if step.state == "pending" and fraction >= step.start:
                step.rec_start = self.rec.stamp()
                step.detail, step.targets = step.begin()
                step.state = "running"
            if step.state == "running" and fraction >= step.end:
                self._end(step)

    def finish(self) -> None:
        """End every running probe (the run is over): nothing stays broken."""
        for step in self.steps:
            if step.state == "running":
                self._end(step)

    def _end(self, step: Step) -> None:
        step.finish()
        step.state = "done"
        end = self.rec.stamp()
        start = step.rec_start
        assert start is not None
        self.rec.obs.probes.append(ProbeRec(step.name, start, end, step.detail, step.targets))
        if step.name == "broker_restart":
            self.outage = (start.wall, end.wall)

    def _submit(self, command: object) -> None:
        if self.rt.running:
            self.rt.submit(command).result(SUBMIT_TIMEOUT_S)  # type: ignore[arg-type]

    def _devices(self) -> list[str]:
        if not self._chosen:
            self._chosen = self.targets()[:MAX_TARGETS]
        return self._chosen

    def _profiles(self) -> list[str]:
        return sorted({self.rt.devices[d].network for d in self._devices()})

    # --- probes -----------------------------------------------------------------------------
    def _offline(self) -> tuple[str, tuple[str, ...]]:
        devices = self._devices()
        for d in devices:
            self._submit(InjectFault(d, "offline", source="certify"))
        return f"{len(devices)} devices offline: {', '.join(devices) or 'none'}", tuple(devices)

    def _online(self) -> None:
        for d in self._devices():
            self._submit(ClearFault(d, "offline", source="certify"))

    def _degrade(self) -> tuple[str, tuple[str, ...]]:
        profiles = self._profiles()
        for p in profiles:
            self._submit(
                DegradeLink(
                    p, {"loss": "30%", "delay": "2s", "jitter": "1s"}, name="certify-degraded", source="certify"
                )
            )
        return f"30% loss, 2 s +/- 1 s delay on {', '.join(profiles) or 'no profile'}", tuple(profiles)

    def _duplicates(self) -> tuple[str, tuple[str, ...]]:
        profiles = self._profiles()
        for p in profiles:
            self._submit(
                DegradeLink(
                    p,
                    {"duplicate": "50%", "reorder": "50%", "delay": "3s", "jitter": "2s"},
                    name="certify-duplicates",
                    source="certify",
                )
            )
        return f"50% duplicated, 50% reordered readings on {', '.join(profiles) or 'no profile'}", tuple(profiles)

    def _restore(self, which: str) -> Callable[[], None]:
        def restore() -> None:
            for p in self._profiles():
                self._submit(RestoreLink(p, name=f"certify-{which}", source="certify"))

        return restore

    def _restart(self) -> tuple[str, tuple[str, ...]]:
        self.rec.hold = True
        kicked = self.rec.kick()
        self.kicked = len(kicked)
        restarted = self.restart is not None and self.restart("restarted by certification's broker_restart probe")
        detail = f"broker restart: dropped {len(kicked)} app connections, "
        detail += "restarted the broker process, " if restarted else ""
        detail += f"refusing connects for {self.settings.outage:g} s"
        return detail, tuple(f"connection {n}" for n in kicked)

    def _restarted(self) -> None:
        self.rec.hold = False


def wait_reconnect(recorder: Recorder, since_wall: float, timeout: float) -> bool:
    """After the broker came back: wait (bounded) for the app to be connected again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(c.refused is None and c.at.wall >= since_wall for c in list(recorder.obs.connects)):
            return True
        time.sleep(0.05)
    return False
