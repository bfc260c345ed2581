"""Access rules per gateway: who may read and write, by client source address.

On loopback a client can bind another source address (127.0.0.2), so the guarded scenario
(conftest.GUARDED_GATEWAYS) treats 127.0.0.1 as a foreign machine and 127.0.0.2 as trusted.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from smartzone.cli import main
from smartzone.definitions.gateway import GatewayAccess
from smartzone.endpoints.modbus.access import AccessRules, Denials

from .conftest import FOREIGN, RIGVILLE

ILLEGAL_FUNCTION = 0x01


def test_default_rules_let_loopback_write_and_everyone_else_only_read() -> None:
    rules = AccessRules(GatewayAccess())
    assert rules.may("127.0.0.1") == (True, True)
    assert rules.may("127.0.0.2") == (True, True)
    assert rules.may("::1") == (True, True)
    assert rules.may("::ffff:127.0.0.1") == (True, True)  # IPv4-mapped: judged as IPv4
    assert rules.may("10.1.2.3") == (True, False)
    assert rules.may("2001:db8::1") == (True, False)
    assert rules.may("not an address") == (False, False)
    strict = AccessRules(GatewayAccess(read=["10.0.0.0/8"], write=["192.168.1.7"]))
    assert strict.may("10.9.9.9") == (True, False)
    assert strict.may("192.168.1.7") == (True, True)  # a writer may also read
    assert strict.may("127.0.0.1") == (False, False)


def test_denials_are_counted_and_printed_at_most_once_per_interval() -> None:
    now = [100.0]
    lines: list[str] = []
    denials = Denials("gw", emit=lines.append, interval=10.0, clock=lambda: now[0])
    denials.add("10.0.0.5", 6, 3)
    denials.add("10.0.0.5", 16, 3)
    denials.add("10.0.0.6", 3, 1)
    now[0] = 111.0
    denials.add("10.0.0.5", 5, 2)
    assert lines == [
        "modbus: gateway gw: write denied to 10.0.0.5 (function 6, unit 3)",
        "modbus: gateway gw: write denied to 10.0.0.5 (function 5, unit 2) (2 more denied since the last line)",
    ]
    assert denials.snapshot() == {"10.0.0.5:write": 3, "10.0.0.6:read": 1}
    assert denials.summary() == "modbus: gateway gw: 3 writes and 1 reads denied (from 10.0.0.5, 10.0.0.6)"
    assert Denials("quiet").summary() is None


def test_a_source_without_write_access_gets_illegal_function_and_changes_nothing(
    guarded_city, client_factory, capsys: pytest.CaptureFixture[str]
) -> None:
    city = guarded_city
    port, unit = city.where("rig-0001")
    local = client_factory(port)  # 127.0.0.1: read-only on gateway 'rigs'
    before_regs = local.read_holding_registers(0, count=3, device_id=unit).registers
    before_state = city.rt.snapshot()["rig-0001"].state
    assert before_state["mode"] == "eco" and before_state["enabled"] is True
    for denied in (
        local.write_register(2, 2, device_id=unit),  # FC6 mode <- comfort
        local.write_coil(0, False, device_id=unit),  # FC5 enabled <- false
        local.write_registers(0, [1000, 0], device_id=unit),  # FC16 setpoint
    ):
        assert denied.isError() and denied.exception_code == ILLEGAL_FUNCTION
    city.rt.step(120).result(30)
    assert city.rt.snapshot()["rig-0001"].state == before_state
    assert local.read_holding_registers(0, count=3, device_id=unit).registers == before_regs
    assert city.gateways.stats()["denied"]["rigs"] == {"127.0.0.1:write": 3}
    # the trusted source writes through the same gateway
    trusted = client_factory(port, FOREIGN)
    assert not trusted.write_register(2, 2, device_id=unit).isError()
    for _ in range(60):
        if city.rt.snapshot()["rig-0001"].state["mode"] == "comfort":
            break
        city.rt.step(10).result(30)
    assert city.rt.snapshot()["rig-0001"].state["mode"] == "comfort"
    assert city.gateways.stats()["denied"]["rigs"] == {"127.0.0.1:write": 3}
    live = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("modbus: gateway rigs:")]
    assert live == ["modbus: gateway rigs: write denied to 127.0.0.1 (function 6, unit 1)"]  # rate-limited
    assert city.gateways.summary_lines() == ["modbus: gateway rigs: 3 writes and 0 reads denied (from 127.0.0.1)"]


def test_a_source_without_read_access_cannot_read(guarded_city, client_factory) -> None:
    port, unit = guarded_city.where("light-0001")
    refused = client_factory(port).read_input_registers(0, count=1, device_id=unit)
    assert refused.isError() and refused.exception_code == ILLEGAL_FUNCTION
    ok = client_factory(port, FOREIGN).read_input_registers(0, count=1, device_id=unit)
    assert not ok.isError() and ok.registers[0] != 0
    assert guarded_city.gateways.stats()["denied"]["city"] == {"127.0.0.1:read": 1}
    assert any("writes from nobody, reads from 127.0.0.2/32" in ln for ln in guarded_city.gateways.describe())


@pytest.mark.parametrize(
    ("access", "message"),
    [
        ("{write: [10.0.0.1/8]}", "gateways[0].access.write[0]: expected an address or a network in CIDR form"),
        ("{read: [localhost]}", "gateways[0].access.read[0]: expected an address or a network in CIDR form"),
        ("{writers: [127.0.0.1]}", "gateways[0].access.writers: unknown key 'writers'"),
    ],
)
def test_a_wrong_rule_is_one_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], access: str, message: str
) -> None:
    lines = RIGVILLE.read_text(encoding="utf-8").splitlines()
    at = lines.index("  - {id: rigs, tenant: acqua}")
    lines[at] = f"  - {{id: rigs, tenant: acqua, access: {access}}}"
    path = tmp_path / "bad-access.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = main(["validate", str(path), "--devices", str(RIGVILLE.parent)])
    err = capsys.readouterr().err
    problems = [ln for ln in err.splitlines() if ln.startswith(str(path))]
    assert code == 2 and "Traceback" not in err
    assert len(problems) == 1 and problems[0].startswith(f"{path}:{at + 1}:") and message in problems[0], err


def test_the_exported_scenario_schema_knows_access_rules(tmp_path: Path) -> None:
    assert main(["export", "schema", "--out", str(tmp_path)]) == 0
    schema = json.loads((tmp_path / "scenario.schema.json").read_text(encoding="utf-8"))
    base = {"id": "g", "tenant": "t"}
    gw = schema["$defs"]["Gateway"]
    assert "access" in gw["properties"]
    good = {**base, "access": {"read": ["0.0.0.0/0"], "write": ["127.0.0.2"]}}
    sub = {"$defs": schema["$defs"], **gw}
    assert not list(jsonschema.Draft202012Validator(sub).iter_errors(good))
    assert list(jsonschema.Draft202012Validator(sub).iter_errors({**base, "access": {"writers": []}}))
