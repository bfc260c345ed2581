"""Cross-reference checks for `networks:` and `timeline:` (called from catalog.check_scenario).

A fleet's network, a profile's base, a backhaul's networks and districts, and everything a
timeline event names (devices, types, fleets, districts, faults, signals, profiles,
backhauls) must exist; each problem is located in the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from smartzone.definitions.errors import Problem
from smartzone.definitions.loader import problem_at
from smartzone.definitions.network import BUILTIN_PROFILES
from smartzone.definitions.timeline import FAULT_EFFECTS, FaultAction
from smartzone.definitions.yaml_source import PathKey, SourceDoc

if TYPE_CHECKING:
    from smartzone.definitions.device_type import DeviceType
    from smartzone.definitions.scenario import Scenario

_DEVICE_RE = re.compile(r"^(.+)-([0-9]{4,})$")


def profile_names(sc: Scenario) -> set[str]:
    return set(BUILTIN_PROFILES) | set(sc.networks.profiles)


def _check_profiles(sc: Scenario, doc: SourceDoc, types: Mapping[str, DeviceType]) -> list[Problem]:
    out: list[Problem] = []
    known = profile_names(sc)
    districts = {d.id for d in sc.districts}
    for name, spec in sc.networks.profiles.items():
        seen = {name}
        base = spec.base
        while base is not None and base in sc.networks.profiles and base not in seen:
            seen.add(base)
            base = sc.networks.profiles[base].base
        if spec.base is not None and spec.base not in known:
            out.append(
                problem_at(
                    doc,
                    ("networks", "profiles", name, "base"),
                    f"unknown network profile '{spec.base}'; known: {', '.join(sorted(known))}",
                )
            )
        elif base is not None and base in seen and not (base == name and name in BUILTIN_PROFILES):
            out.append(problem_at(doc, ("networks", "profiles", name, "base"), f"profile '{name}' is based on itself"))
    for i, b in enumerate(sc.networks.backhauls):
        for j, net in enumerate([] if b.networks == "all" else b.networks):
            if net not in known:
                where = ("networks", "backhauls", i, "networks", j)
                out.append(problem_at(doc, where, f"unknown network profile '{net}'"))
        for j, d in enumerate([] if b.districts == "all" else b.districts):
            if d not in districts:
                out.append(problem_at(doc, ("networks", "backhauls", i, "districts", j), f"unknown district '{d}'"))
    for i, fleet in enumerate(sc.fleets):
        dtype = types.get(fleet.type)
        used = fleet.network or (dtype.network if dtype else None)
        if used is not None and used not in known:
            spot: tuple[str, int, str] = ("fleets", i, "network") if fleet.network else ("fleets", i, "type")
            out.append(problem_at(doc, spot, f"unknown network profile '{used}'; known: {', '.join(sorted(known))}"))
    return out


def _check_fault(
    sc: Scenario, doc: SourceDoc, types: Mapping[str, DeviceType], fa: FaultAction, path: PathKey
) -> list[Problem]:
    out: list[Problem] = []
    fleets = {f.id_prefix: f for f in sc.fleets}
    districts = {d.id for d in sc.districts}
    chosen = list(sc.fleets)
    for j, dev in enumerate(fa.devices):
        m = _DEVICE_RE.match(dev)
        fleet = fleets.get(m.group(1)) if m else None
        if m is None or fleet is None or not 1 <= int(m.group(2)) <= fleet.count:
            out.append(problem_at(doc, (*path, "devices", j), f"unknown device '{dev}'"))
    if fa.devices:
        chosen = [fleets[m.group(1)] for d in fa.devices if (m := _DEVICE_RE.match(d)) and m.group(1) in fleets]
    if fa.type is not None:
        if fa.type not in {f.type for f in sc.fleets}:
            out.append(problem_at(doc, (*path, "type"), f"no fleet of device type '{fa.type}' in this scenario"))
        chosen = [f for f in chosen if f.type == fa.type]
    if fa.fleet is not None:
        if fa.fleet not in fleets:
            known = ", ".join(sorted(fleets))
            out.append(problem_at(doc, (*path, "fleet"), f"unknown fleet '{fa.fleet}'; known: {known}"))
        chosen = [f for f in chosen if f.id_prefix == fa.fleet]
    if fa.district is not None and fa.district not in districts:
        out.append(problem_at(doc, (*path, "district"), f"unknown district '{fa.district}'"))
    picked = [types[f.type] for f in chosen if f.type in types]
    if fa.fault not in FAULT_EFFECTS:
        missing = sorted({t.type for t in picked if fa.fault not in t.faults})
        if missing or not picked:
            which = ", ".join(missing) or "the selection"
            message = f"unknown fault '{fa.fault}' for {which}; use a fault the type declares or an effect: "
            out.append(problem_at(doc, (*path, "fault"), message + ", ".join(FAULT_EFFECTS)))
    if fa.signal is not None:
        missing = sorted({t.type for t in picked if fa.signal not in t.signals})
        if missing:
            out.append(problem_at(doc, (*path, "signal"), f"no signal '{fa.signal}' in {', '.join(missing)}"))
    return out


def _check_timeline(sc: Scenario, doc: SourceDoc, types: Mapping[str, DeviceType]) -> list[Problem]:
    out: list[Problem] = []
    known = profile_names(sc)
    backhauls = {b.id for b in sc.networks.backhauls}
    districts = {d.id for d in sc.districts}
    names: dict[str, int] = {}
    for i, ev in enumerate(sc.timeline):
        if ev.name in names:
            message = f"duplicate event name '{ev.name}' (also timeline[{names[ev.name]}])"
            out.append(problem_at(doc, ("timeline", i, "name"), message))
        names[ev.name] = i
        for key in ev.multiply:
            if ":" in key and key.split(":", 1)[1] not in districts:
                district = key.split(":", 1)[1]
                out.append(problem_at(doc, ("timeline", i, "multiply", key), f"unknown district '{district}'"))
        for j, fa in enumerate(ev.faults):
            out += _check_fault(sc, doc, types, fa, ("timeline", i, "faults", j))
        for j, na in enumerate(ev.network):
            if na.profile not in known:
                out.append(
                    problem_at(
                        doc,
                        ("timeline", i, "network", j, "profile"),
                        f"unknown network profile '{na.profile}'; known: {', '.join(sorted(known))}",
                    )
                )
        for j, hop in enumerate(ev.outage):
            if hop not in backhauls:
                known_hops = ", ".join(sorted(backhauls)) or "none (declare networks.backhauls)"
                message = f"unknown backhaul '{hop}'; known: {known_hops}"
                out.append(problem_at(doc, ("timeline", i, "outage", j), message))
    return out


def check_networks(sc: Scenario, doc: SourceDoc, types: Mapping[str, DeviceType]) -> list[Problem]:
    """Every cross-reference problem in `networks:`, fleets' networks and `timeline:`."""
    return _check_profiles(sc, doc, types) + _check_timeline(sc, doc, types)
