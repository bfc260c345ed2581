"""Observe one bridged real device in its running scenario (`smartzone conform SCENARIO --device ID`).

The scenario runs as `smartzone run` runs it (the composition root, smartzone/wiring.py: MQTT,
Modbus and the real-device links), in real time, with only the device under check among its
bridged devices and without the simulated network (what is judged is the device and its mapping,
not the link). For `duration` wall-clock seconds every reading the device's link delivered is
collected; once the device has answered, the one command asked for (if any) is sent through the
runtime like an app's and its ack awaited.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from smartzone.conform.trial import Probe, TrialResult
from smartzone.core.commands import DeviceCommand
from smartzone.core.events import CommandResult, Event, Reading
from smartzone.definitions.bridged import BridgedDevice
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.device_type import DeviceType
from smartzone.definitions.scenario import Scenario
from smartzone.runtime.api import Runtime
from smartzone.runtime.services import Service
from smartzone.wiring import start_services

DEFAULT_DURATION = 60.0
MAX_DURATION = 3600.0
ACK_MARGIN_S = 10.0  # beyond the device's own answer timeout: the runtime's share of the wait


@dataclass
class Observation:
    """What one bridged device did while it was observed."""

    spec: BridgedDevice
    trial: TrialResult
    not_understood: int = 0
    last_error: str = ""
    unreachable: str = ""  # why its link could not reach it ("" once it answered)
    ended_at: float = 0.0  # simulated time at the end of the observation
    command: tuple[str, dict[str, Any]] | None = None

    @property
    def reached(self) -> bool:
        return bool(self.trial.readings)


def expected_state(dt: DeviceType, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """The state a successful ack of `action(params)` shows (the command's `set`)."""
    out: dict[str, Any] = {}
    for var, v in dt.commands[action].set.items():
        if isinstance(v, str) and v.startswith("param."):
            if v[6:] in params:
                out[var] = params[v[6:]]
        else:
            out[var] = v
    return out


def ack_wait(spec: BridgedDevice) -> float:
    own = spec.modbus.timeout if spec.modbus is not None else (spec.mqtt.ack_timeout if spec.mqtt else 5.0)
    return own + ACK_MARGIN_S


def observe(
    scenario: Scenario,
    catalog: Catalog,
    spec: BridgedDevice,
    duration: float,
    args: argparse.Namespace,
    command: tuple[str, dict[str, Any]] | None = None,
    source: str = "",
) -> Observation:
    """Run `scenario` with `spec` as its only bridged device for `duration` wall-clock seconds."""
    dt = catalog.types[spec.type]
    city = scenario.model_copy(update={"bridged_devices": [spec]})
    rt = Runtime(city, catalog, source=source, network=False)
    trial = TrialResult(interval=rt.devices[spec.id].report_interval, duration=duration)
    trial.clock, trial.info = rt.world.clock, rt.devices[spec.id]
    obs = Observation(spec, trial, command=command)
    first = threading.Event()

    def collect(event: Event) -> None:  # on the engine thread: only append
        if isinstance(event, Reading) and event.device == spec.id:
            trial.readings.append(event)
            first.set()

    rt.subscribe(collect, (Reading,))
    services: list[Service] = []
    try:
        rt.start()
        start_services(rt, args, services)
        deadline = time.monotonic() + duration
        if command is not None and first.wait(duration):
            _send(rt, obs, dt, command, deadline)
        time.sleep(max(0.0, deadline - time.monotonic()))
        obs.ended_at = rt.sim_time
        part = rt.health.snapshot().get(f"real device {spec.id}")
        if part is not None and part.last_cause:
            obs.unreachable = part.last_cause.removesuffix("; retrying with backoff")
        for service in services:
            link = getattr(service, "links", {}).get(spec.id)
            if link is not None:
                obs.not_understood, obs.last_error = link.counts["not_understood"], link.last_error
    finally:
        rt.stop()
        for service in reversed(services):
            with contextlib.suppress(Exception):
                service.close()
    return obs


def _send(rt: Runtime, obs: Observation, dt: DeviceType, command: tuple[str, dict[str, Any]], deadline: float) -> None:
    """Send the one command once the device has answered; record its ack as a probe of the trial."""
    action, params = command
    probe = Probe(action, params, True, f"{params}", expected_state(dt, action, params))
    future = rt.submit(DeviceCommand(obs.spec.id, action, params, id="conform-1", source="conform"))
    wait = ack_wait(obs.spec)
    try:
        res: CommandResult | None = future.result(timeout=max(wait, deadline - time.monotonic()))
        obs.trial.probes.append((probe, res, "" if res is not None else "no result"))
    except FutureTimeout:
        obs.trial.probes.append((probe, None, f"no ack within {wait:g} s"))
    except Exception as exc:  # the run ended before the device answered
        obs.trial.probes.append((probe, None, f"no ack: {exc}"))
