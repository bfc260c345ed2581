"""Conformance of a bridged real device: find it in its scenario, observe it, judge, write the reports.

The reports are the device-type check's (session.py: certify's verdicts, report.json, junit.xml,
report.html); `target` names the scenario, the device and how long it was observed.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartzone.certify.verdicts import Verdict
from smartzone.conform.live import Observation, observe
from smartzone.conform.live_rules import judge_device
from smartzone.conform.session import document, write_reports
from smartzone.definitions.bridged import BridgedDevice
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.scenario import Scenario
from smartzone.errors import UsageError


@dataclass(frozen=True)
class DeviceResult:
    spec: BridgedDevice
    observation: Observation
    verdicts: list[Verdict]
    paths: dict[str, Path]

    @property
    def passed(self) -> bool:
        return not any(v.failed for v in self.verdicts)


def find_device(scenario: Scenario, source: str, device: str) -> BridgedDevice:
    """The scenario's bridged device `device`; a usage error naming the ones there are otherwise."""
    for spec in scenario.bridged_devices:
        if spec.id == device:
            return spec
    there = ", ".join(s.id for s in scenario.bridged_devices) or "none"
    simulated = " (a simulated device: conform checks bridged real devices)" if _simulated(scenario, device) else ""
    raise UsageError(f"--device: {source} has no bridged device {device!r}{simulated}; its bridged devices: {there}")


def _simulated(scenario: Scenario, device: str) -> bool:
    return any(device.startswith(f"{f.id_prefix}-") for f in scenario.fleets)


def parse_command(catalog: Catalog, spec: BridgedDevice, action: str | None, params: str | None) -> Any:
    """(action, params) of `--command`/`--params`, checked against the type (usage errors exit 2)."""
    if action is None:
        if params is not None:
            raise UsageError("--params needs --command ACTION")
        return None
    dt = catalog.types[spec.type]
    if action not in dt.commands:
        declared = ", ".join(dt.commands) or "none"
        raise UsageError(f"--command: {spec.type} declares no command {action!r} (declared: {declared})")
    try:
        values = json.loads(params) if params is not None else {}
    except ValueError as exc:
        raise UsageError(f"--params: not JSON: {exc}") from None
    if not isinstance(values, dict):
        raise UsageError("--params: a JSON object, e.g. '{\"closed\": true}'")
    return action, values


def conform_device(
    scenario: Scenario,
    catalog: Catalog,
    source: str,
    spec: BridgedDevice,
    duration: float,
    args: argparse.Namespace,
    report: Path,
    command: tuple[str, dict[str, Any]] | None = None,
) -> DeviceResult:
    obs = observe(scenario, catalog, spec, duration, args, command, source)
    dt = catalog.types[spec.type]
    verdicts = judge_device(dt, source, obs)
    target = {"device": spec.id, "observed_seconds": duration, "reached": obs.reached}
    doc = document(dt, source, verdicts, **target)
    return DeviceResult(spec, obs, verdicts, write_reports(report, doc, spec.id, verdicts))
