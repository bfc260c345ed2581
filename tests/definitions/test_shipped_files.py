"""Every shipped device type and scenario is a test case: load, validate, build, run an hour.

Each reading's values must respect what the type declares (range, enum, datatype), so a
device type whose models drift outside their declared range fails here, not in an app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from smartzone.core.commands import DeviceCommand
from smartzone.core.events import CommandResult, Reading
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog, builtin_dir, load_scenario
from smartzone.definitions.device_type import DeviceType, Param, Signal
from smartzone.definitions.scenario import Scenario

HOUR = 3600.0
DEVICE_FILES = sorted(builtin_dir("devices").glob("*.yaml"))
SCENARIO_FILES = sorted(builtin_dir("scenarios").glob("*.yaml"))
SCENARIOS = ("bologna", "genoa", "london", "barcelona")
REQUIRED_TYPES = {
    "parking-spot",
    "air-quality",
    "noise-meter",
    "traffic-counter",
    "weather-station",
    "water-meter",
    "energy-meter",
    "waste-bin",
    "street-light",
    "traffic-signal",
    "water-valve",
    "ev-charger",
}


def value_problem(sig: Signal, value: Any) -> str | None:
    """Why `value` breaks the signal's declaration, or None."""
    if sig.datatype == "enum":
        return None if value in (sig.values or []) else f"{value!r} not in {sig.values}"
    if sig.datatype == "bool":
        return None if isinstance(value, bool) else f"{value!r} is not a bool"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{value!r} is not a number"
    if sig.datatype == "int" and not isinstance(value, int):
        return f"{value!r} is not an int"
    if sig.min is not None and value < sig.min:
        return f"{value} below min {sig.min:g}"
    if sig.max is not None and value > sig.max:
        return f"{value} above max {sig.max:g}"
    return None


def reading_problems(readings: list[Reading], world: World) -> list[str]:
    out = []
    for r in readings:
        dtype = world.devices[r.device].dtype
        missing = set(dtype.signals) - set(r.values)
        if missing:
            out.append(f"{r.device} seq {r.seq}: missing {sorted(missing)}")
        for name, value in r.values.items():
            why = value_problem(dtype.signals[name], value)
            if why:
                out.append(f"{r.device} ({dtype.type}) seq {r.seq} t={r.t:.0f}: {name} = {why}")
    return out


def run(world: World, until: float) -> list[Reading]:
    readings: list[Reading] = []
    world.bus.subscribe(lambda e: readings.append(e) if isinstance(e, Reading) else None)
    world.run(until)
    return readings


def one_type_city(dtype: DeviceType, catalog: Catalog) -> Scenario:
    """The test fixture city with a small fleet of just this type."""
    base = load_scenario(Path(__file__).parents[1] / "fixtures" / "testville.yaml", catalog)
    data = base.model_dump()
    data["fleets"] = [{"type": dtype.type, "tenant": base.tenants[0].id, "count": 4, "id_prefix": "dut"}]
    if "networks" in data:  # behaviour under test, not the simulated radio links
        data["networks"] = {"enabled": False}
    return Scenario.model_validate(data)


def extreme_params(params: dict[str, Param]) -> list[dict[str, Any]]:
    """Valid parameter sets at the edges of each parameter's range."""
    lows: dict[str, Any] = {}
    highs: dict[str, Any] = {}
    for name, p in params.items():
        if p.type == "bool":
            lows[name], highs[name] = False, True
        elif p.type == "enum":
            values = p.values or []
            lows[name], highs[name] = values[0], values[-1]
        else:
            lo = p.min if p.min is not None else 0
            hi = p.max if p.max is not None else lo + 1
            cast = int if p.type == "int" else float
            lows[name], highs[name] = cast(lo), cast(hi)
    return [lows, highs]


def test_catalog_has_every_required_type(catalog: Catalog) -> None:
    assert REQUIRED_TYPES <= set(catalog.types)
    codes = [dt.modbus.type_code for dt in catalog.types.values()]
    assert len(codes) == len(set(codes)), "Modbus type codes must be distinct"


@pytest.mark.parametrize("path", DEVICE_FILES, ids=[p.stem for p in DEVICE_FILES])
def test_device_type_loads_and_runs_an_hour(path: Path, catalog: Catalog) -> None:
    dtype = Catalog.load([path]).types[path.stem]  # loads on its own, with the real loader
    assert dtype.type == path.stem, "file name and type id must match"
    assert dtype.sources and dtype.vendors and "offline" in dtype.faults
    world = World(one_type_city(dtype, catalog), catalog)
    readings = run(world, HOUR)
    assert len({r.device for r in readings}) == 4, "every device reports within the hour"
    assert reading_problems(readings, world) == []


@pytest.mark.parametrize(
    "path",
    [p for p in DEVICE_FILES if p.stem in {"street-light", "traffic-signal", "water-valve", "ev-charger"}],
    ids=lambda p: p.stem,
)
def test_actuator_commands_at_their_limits_keep_readings_in_range(path: Path, catalog: Catalog) -> None:
    dtype = catalog.types[path.stem]
    world = World(one_type_city(dtype, catalog), catalog)
    readings = run(world, 600.0)
    device = "dut-0001"
    for action, cmd in dtype.commands.items():
        for params in extreme_params(cmd.params):
            results: list[CommandResult | None] = []
            world.execute(DeviceCommand(device, action, params, id=f"{action}-{len(readings)}"), results.append)
            world.run(world.now + 900.0)
            assert len(results) == 1 and results[0] is not None and results[0].ok, (action, params, results)
            assert reading_problems(readings, world) == []
    assert any(r.device == device and r.t > 600.0 for r in readings)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_scenario_loads_builds_and_runs_an_hour(path: Path, catalog: Catalog) -> None:
    sc = load_scenario(path, catalog)
    total = sum(f.count for f in sc.fleets)
    assert 200 <= total < 2000
    assert {f.type for f in sc.fleets} == REQUIRED_TYPES, "every city has every device type"
    world = World(sc, catalog)
    assert len(world.devices) == total
    readings = run(world, HOUR)
    assert reading_problems(readings, world) == []
    assert len({r.device for r in readings}) > 0.9 * total


def test_bologna_is_the_1000_device_benchmark_city(catalog: Catalog) -> None:
    sc = load_scenario(builtin_dir("scenarios") / "bologna.yaml", catalog)
    assert sum(f.count for f in sc.fleets) == 1000


@pytest.mark.parametrize("name", SCENARIOS)
def test_city_has_the_shared_shape(name: str, catalog: Catalog) -> None:
    """Same tenants kinds, users and grants in every city: an app runs unchanged in another."""
    sc = load_scenario(builtin_dir("scenarios") / f"{name}.yaml", catalog)
    kinds = [t.kind for t in sc.tenants]
    assert sorted(kinds) == ["city", "private", "social", "telecom", "utility", "utility"]
    city = next(t.id for t in sc.tenants if t.kind == "city")
    users = {u.name: u for u in sc.users}
    for t in sc.tenants:
        owner = users[f"{t.id}-owner"]
        assert owner.role == "owner" and owner.tenant == t.id
        assert owner.grants.read == [t.id] and owner.grants.command == [t.id]
    app = users["demo-app"]
    assert app.role == "app" and app.grants.command == [city]
    assert city in app.grants.read and len(app.grants.read) == 2
    assert users["admin"].role == "admin"
    assert all(len(u.password) >= 10 for u in sc.users)
    assert 5 <= len(sc.districts) <= 8
    for d in sc.districts:  # polygons lie near the city centre (no swapped lat/lon)
        for lat, lon in d.polygon:
            assert abs(lat - sc.center.lat) < 0.2 and abs(lon - sc.center.lon) < 0.3, (d.id, lat, lon)
    owners = {(f.type, f.tenant) for f in sc.fleets}
    tenant_kind = {t.id: t.kind for t in sc.tenants}
    assert {tenant_kind[t] for _, t in owners} == {"city", "private", "social", "telecom", "utility"}
    assert all(tenant_kind[t] == "utility" for ty, t in owners if ty in ("water-meter", "water-valve"))
    assert all(tenant_kind[t] == "private" for ty, t in owners if ty == "ev-charger")
