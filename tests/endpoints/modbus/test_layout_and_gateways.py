"""Register layouts and gateway plans: the rules of docs/modbus.md, and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.errors import DefinitionError
from smartzone.definitions.modbus_layout import build_layout
from smartzone.endpoints.modbus.gateways import plan_gateways, unserved
from smartzone.runtime.api import Runtime

from .conftest import FIXTURES, RIG, RIGVILLE


def test_addresses_are_assigned_consecutively_unless_given(rig_catalog: Catalog) -> None:
    layout = build_layout(rig_catalog.types["test-rig"])[0]
    where = {(t, f.name): (f.address, f.count) for t, fs in layout.tables.items() for f in fs}
    assert where[("input", "temperature")] == (10, 1)  # after the common block 0-9
    assert where[("input", "total")] == (11, 2)  # 32-bit: two registers
    assert where[("input", "setpoint_echo")] == (20, 1)
    assert where[("input", "mode_echo")] == (40, 1)  # explicit address
    assert where[("holding", "setpoint")] == (0, 2) and where[("holding", "mode")] == (2, 1)
    assert where[("discrete", "mode_echo")] == (3, 1)


def test_writes_map_to_the_command_that_sets_the_state(catalog: Catalog) -> None:
    layout = build_layout(catalog.types["street-light"])[0]
    (holding,) = layout.tables["holding"]
    (coil,) = layout.tables["coils"]
    assert (holding.command, holding.param) == ("dim", "level")
    assert (coil.command, coil.param) == ("switch", "on")


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        (
            "- {signal: mode_echo, address: 40}",
            "- {signal: mode_echo, address: 5}",
            "modbus.input[7].address",
            "common block",
        ),
        (
            "- {signal: mode_echo, address: 40}",
            "- {signal: mode_echo, address: 12}",
            "modbus.input[7].address",
            "overlaps 'total'",
        ),
        (
            "- {state: enabled}",
            "- {state: enabled, command: set_mode}",
            "modbus.coils[0].command",
            "must set 'enabled'",
        ),
        ("- {state: enabled}", "- {signal: ratio}", "modbus.coils[0]", "map a state variable"),
        ("true_when: busy}", "true_when: asleep}", "modbus.discrete[0].true_when", "not a value"),
        (
            "    set: {enabled: param.enabled}",
            "    set: {enabled: true}",
            "modbus.coils[0].command",
            "no command sets 'enabled'",
        ),
    ],
)
def test_a_bad_register_map_is_a_located_error(tmp_path: Path, old: str, new: str, where: str, message: str) -> None:
    text = RIG.read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "test-rig.yaml"
    bad.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(DefinitionError) as err:
        Catalog().add_file(bad)
    problem = next(p for p in err.value.problems if p.path == where)
    assert problem.file == str(bad) and problem.line is not None and message in problem.message


@pytest.mark.parametrize(
    ("gateways", "where", "message"),
    [
        ("  - {id: g, tenant: nobody}", "gateways[0].tenant", "unknown tenant 'nobody'"),
        ("  - {id: g, tenant: comune, districts: [ovest]}", "gateways[0].districts[0]", "unknown district"),
        ("  - {id: g, tenant: comune, types: [rocket]}", "gateways[0].types[0]", "unknown device type"),
        ("  - {id: g, tenant: comune}\n  - {id: h, tenant: acqua, port_offset: 0}", "gateways[1]", "port offset 0"),
        ("  - {id: g, tenant: comune}\n  - {id: g, tenant: acqua}", "gateways[1].id", "duplicate id"),
        ("  - {id: g, tenant: comune, districts: [nord]}", "gateways[0]", "up to 300 devices"),
    ],
)
def test_gateway_mistakes_are_located_errors(
    tmp_path: Path, rig_catalog: Catalog, gateways: str, where: str, message: str
) -> None:
    text = RIGVILLE.read_text(encoding="utf-8")
    text = text.split("gateways:")[0].replace("count: 3, id_prefix: light", "count: 298, id_prefix: light")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text + "gateways:\n" + gateways + "\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as err:
        load_scenario(bad, rig_catalog)
    problem = next(p for p in err.value.problems if p.path == where)
    assert problem.line is not None and message in problem.message


def test_declared_gateways_take_matching_devices_in_order(rig_catalog: Catalog) -> None:
    rt = Runtime(load_scenario(RIGVILLE, rig_catalog), rig_catalog)
    plans = plan_gateways(rt.scenario, rt.devices.values())
    assert [(p.id, p.tenant, p.port_offset, p.port(5020)) for p in plans] == [
        ("rigs", "acqua", 0, 5020),
        ("city", "comune", 5, 5025),
    ]
    assert [d.id for d in plans[0].units.values()] == ["rig-0001", "rig-0002"]
    assert list(plans[1].units) == [1, 2, 3, 4, 5]
    assert [d.id for d in plans[1].units.values()] == [
        "light-0001",
        "light-0002",
        "light-0003",
        "spot-0001",
        "spot-0002",
    ]
    assert plans[0].port(0) == 0 and unserved(plans, rt.devices.values()) == []


def test_default_gateways_are_one_per_tenant_and_district_split_past_247(tmp_path: Path, catalog: Catalog) -> None:
    text = (FIXTURES / "testville.yaml").read_text(encoding="utf-8")
    text = text.replace("count: 3, id_prefix: p", "count: 600, id_prefix: p")
    big = tmp_path / "big.yaml"
    big.write_text(text, encoding="utf-8")
    rt = Runtime(load_scenario(big, catalog), catalog)
    plans = plan_gateways(rt.scenario, rt.devices.values())
    assert [(p.id, len(p.units), p.port_offset) for p in plans] == [
        ("comune-centro", 247, 0),
        ("comune-centro-2", 247, 1),
        ("comune-centro-3", 108, 2),
    ]
    ids = [d.id for p in plans for d in p.units.values()]
    assert ids == list(rt.devices)  # every device once, in build order
    again = plan_gateways(rt.scenario, Runtime(load_scenario(big, catalog), catalog).devices.values())
    assert [[d.id for d in p.units.values()] for p in again] == [[d.id for d in p.units.values()] for p in plans]
