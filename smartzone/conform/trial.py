"""A trial of one device type: one device in a tiny headless city for a simulated day.

The city is built from data (a Scenario like any other), runs in fast mode without the
simulated network (no loss, no delay: what is judged is the device, not the link) and
without spontaneous dropouts. While it runs, every declared command is sent through the
runtime (Runtime.submit, as an app's command would be) with valid and invalid parameters.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from smartzone.core.commands import DeviceCommand
from smartzone.core.events import CommandResult, Event, Reading
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.device_type import DeviceType, Param
from smartzone.definitions.scenario import Scenario
from smartzone.runtime.api import Runtime

DAY = 86400.0
DEVICE = "dut-0001"  # the device under trial
WAIT_S = 60.0  # wall-clock bound for the whole day and every command's ack


@dataclass(frozen=True)
class Probe:
    """One command sent in the trial and what the contract says should happen."""

    action: str
    params: dict[str, Any]
    expect_ok: bool
    why: str
    expect_state: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrialResult:
    readings: list[Reading] = field(default_factory=list)
    interval: float = 0.0  # the device's reporting interval
    probes: list[tuple[Probe, CommandResult | None, str]] = field(default_factory=list)  # result, or why none
    duration: float = DAY
    clock: Any = None
    info: Any = None


def tiny_city(dt: DeviceType) -> Scenario:
    """A one-district, one-tenant city with a single device of type *dt*."""
    return Scenario.model_validate(
        {
            "schema_version": 1,
            "city": "conform",
            "name": "Conformance trial",
            "country": "IT",
            "locale": "it_IT",
            "timezone": "Europe/Rome",
            "start": "2026-06-15T00:00:00Z",
            "seed": 1,
            "center": {"lat": 44.49, "lon": 11.34},
            "climate": {"temp_mean_c": 20},
            "dropouts": {"fraction": 0},
            "districts": [
                {"id": "trial", "name": "Trial", "polygon": [[44.49, 11.33], [44.50, 11.33], [44.50, 11.35]]}
            ],
            "tenants": [{"id": "owner", "name": "Owner", "kind": "private"}],
            "fleets": [{"type": dt.type, "tenant": "owner", "count": 1, "id_prefix": "dut"}],
        }
    )


def _valid(spec: Param) -> list[Any]:
    if spec.type == "bool":
        return [False, True]
    if spec.type == "enum":
        return list(spec.values or [])[:3]
    lo = spec.min if spec.min is not None else 0
    hi = spec.max if spec.max is not None else lo + 10
    values = [lo, hi, (lo + hi) / 2]
    return [int(v) for v in values] if spec.type == "int" else [float(v) for v in values]


def _invalid(spec: Param) -> list[tuple[Any, str]]:
    out: list[tuple[Any, str]] = [("not-a-value", "a string where the parameter is not one of its values")]
    if spec.type == "bool":
        out.append((1, "a number for a bool"))
    elif spec.type in ("int", "float"):
        if spec.max is not None:
            out.append((spec.max + 1, "above max"))
        if spec.min is not None:
            out.append((spec.min - 1, "below min"))
        if spec.type == "int":
            out.append((0.5, "a fraction for an int"))
    return out


def probes(dt: DeviceType) -> list[Probe]:
    """Valid and invalid calls of every declared command."""
    out: list[Probe] = []
    for name, cmd in dt.commands.items():
        base = {p: _valid(s)[0] for p, s in cmd.params.items() if s.required}
        for pname, spec in cmd.params.items():
            for value in _valid(spec):
                params = {**base, pname: value}
                expect = {
                    var: params[v[6:]]
                    for var, v in cmd.set.items()
                    if isinstance(v, str) and v.startswith("param.") and v[6:] in params
                }
                expect.update(
                    {var: v for var, v in cmd.set.items() if not (isinstance(v, str) and v.startswith("param."))}
                )
                out.append(Probe(name, params, True, f"{pname}={value!r}", expect))
            for value, why in _invalid(spec):
                out.append(Probe(name, {**base, pname: value}, False, f"{pname}={value!r}: {why}"))
            if spec.required:
                out.append(Probe(name, {p: v for p, v in base.items() if p != pname}, False, f"{pname} missing"))
        if not cmd.params:
            out.append(Probe(name, {}, True, "no parameters", dict(cmd.set)))
        out.append(Probe(name, {**base, "bogus_param": 1}, False, "an undeclared parameter"))
    if dt.commands:
        out.append(Probe("no_such_action", {}, False, "an undeclared action"))
    return out


def run_trial(dt: DeviceType, catalog: Catalog) -> TrialResult:
    """Run one device of *dt* for a simulated day; send every probe; collect what it sent."""
    result = TrialResult()
    rt = Runtime(tiny_city(dt), catalog, fast=True, duration=DAY, network=False)
    result.interval = rt.devices[DEVICE].report_interval
    result.clock, result.info = rt.world.clock, rt.devices[DEVICE]

    def collect(event: Event) -> None:  # on the engine thread: only append
        if isinstance(event, Reading) and event.device == DEVICE:
            result.readings.append(event)

    rt.subscribe(collect)
    sent: list[tuple[Probe, Future[CommandResult | None]]] = []
    submitted = threading.Event()

    def send_probes() -> None:  # on the engine thread after the first minute: queued, hence deterministic
        if submitted.is_set():
            return
        for i, probe in enumerate(probes(dt)):
            command = DeviceCommand(DEVICE, probe.action, probe.params, id=f"conform-{i}", source="conform")
            sent.append((probe, rt.submit(command)))
        submitted.set()

    remove = rt.on_step(send_probes)
    try:
        rt.start()
        if not submitted.wait(timeout=WAIT_S):
            raise RuntimeError(f"the trial city did not start within {WAIT_S:g} s")
        remove()
        for probe, fut in sent:
            try:
                res = fut.result(timeout=WAIT_S)
                result.probes.append((probe, res, "" if res is not None else "no result"))
            except FutureTimeout:
                result.probes.append((probe, None, f"no ack within {WAIT_S:g} s"))
            except Exception as exc:  # the run ended before the device applied it
                result.probes.append((probe, None, f"no ack: {exc}"))
        if not rt.wait(timeout=WAIT_S):
            raise RuntimeError(f"the simulated day did not finish within {WAIT_S:g} s")
    finally:
        rt.stop()
    return result
