"""W3C WoT Thing Descriptions: export with the real topics and registers, import back into a device type."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smartzone.definitions.catalog import Catalog
from smartzone.endpoints.td import check_td

ROOT = Path(__file__).parents[2]
OWNER = ROOT / "examples" / "owner" / "scenario.yaml"


def smartzone(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smartzone", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def owner_tds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("td")
    proc = smartzone(
        "export",
        "td",
        "--all",
        "--scenario",
        str(OWNER),
        "--out",
        str(out),
        "--mqtt-url",
        "mqtt://city.example:1884",
        "--modbus-port",
        "5100",
    )
    assert proc.returncode == 0, proc.stderr
    return {p.name.split(".")[0]: json.loads(p.read_text()) for p in out.glob("*.td.jsonld")}


def test_export_writes_a_valid_td_per_type_used(owner_tds: dict[str, dict]) -> None:
    assert set(owner_tds) == {"acme-pm3", "energy-meter"}
    for td in owner_tds.values():
        assert check_td(td) == []
        assert td["@context"][0] == "https://www.w3.org/2022/wot/td/v1.1"


def test_forms_are_the_real_mqtt_topics_and_modbus_registers(owner_tds: dict[str, dict]) -> None:
    td = owner_tds["acme-pm3"]
    assert td["sz:ngsiType"] == "ThreePhaseAcMeasurement" and td["id"] == "urn:dev:sz:pm3-0001"
    mqtt, modbus = td["properties"]["voltage"]["forms"]
    assert mqtt["href"] == "mqtt://city.example:1884"
    assert mqtt["mqv:filter"] == "sz/v2/ownerville/acme/acme-pm3/pm3-0001/telemetry"
    assert mqtt["sz:jsonPointer"] == "/values/voltage" and "observeproperty" in mqtt["op"]
    action = td["actions"]["set_relay"]
    assert action["forms"][0]["mqv:topic"] == "sz/v2/ownerville/acme/acme-pm3/pm3-0001/cmd"
    assert action["input"]["properties"]["params"]["properties"]["closed"] == {"type": "boolean"}
    rows = list(
        csv.DictReader(io.StringIO(smartzone("export", "modbus-map", str(OWNER), "--modbus-port", "5100").stdout))
    )
    row = next(r for r in rows if r["device"] == "pm3-0001" and r["signal"] == "signal.voltage")
    assert modbus["modv:unitID"] == int(row["unit"]) and modbus["modv:address"] == int(row["address"])
    assert modbus["modv:quantity"] == 2 and modbus["modv:type"] == "xsd:float"
    assert modbus["modv:entity"] == "InputRegister" and modbus["href"].startswith(
        f"modbus+tcp://127.0.0.1:{row['port']}/"
    )
    assert (modbus["modv:mostSignificantByte"], modbus["modv:mostSignificantWord"]) == (True, False)  # CDAB
    relay = td["properties"]["relay"]["forms"]  # a signal that is also the relay's coil: observed and written
    assert (
        relay[1]["modv:entity"] == "Coil"
        and "writeproperty" in relay[1]["op"]
        and not td["properties"]["relay"]["readOnly"]
    )
    energy = td["properties"]["energy"]["forms"][1]
    assert energy["modv:type"] == "xsd:unsignedInt" and energy["sz:scale"] == 10


def test_one_type_or_all_but_not_neither(tmp_path: Path) -> None:
    one = smartzone("export", "td", "street-light", "--out", str(tmp_path))
    assert one.returncode == 0 and [p.name for p in tmp_path.iterdir()] == ["street-light.td.jsonld"]
    assert smartzone("export", "td", "--out", str(tmp_path)).returncode == 2
    unknown = smartzone("export", "td", "nope", "--out", str(tmp_path))
    assert unknown.returncode == 2 and "no device of type 'nope'" in unknown.stderr


def test_every_shipped_type_round_trips_through_a_td(tmp_path: Path) -> None:
    proc = smartzone("export", "td", "--all", "--scenario", "genoa", "--out", str(tmp_path / "td"))
    assert proc.returncode == 0, proc.stderr
    catalog = Catalog.builtin()
    exported = sorted((tmp_path / "td").glob("*.td.jsonld"))
    assert len(exported) >= 5
    for path in exported:
        out = tmp_path / "types" / path.name.replace(".td.jsonld", ".yaml")
        name = path.name.split(".")[0]
        imp = smartzone("import", "td", str(path), "--out", str(out), "--type", f"{name}-imported")
        assert imp.returncode == 0, imp.stderr
        text = out.read_text()
        assert "SIMPLE DEFAULTS" in text and "smartzone conform" in text
        got, original = Catalog().add_file(out), catalog.types[name]
        assert set(got.signals) == set(original.signals)
        for sig, spec in original.signals.items():
            assert (got.signals[sig].unit, got.signals[sig].min, got.signals[sig].max) == (
                spec.unit,
                spec.min,
                spec.max,
            )
            assert got.signals[sig].unit_code == spec.unit_code and got.signals[sig].ngsi == spec.ngsi
        for cmd, spec in original.commands.items():
            assert set(got.commands[cmd].params) == set(spec.params)
        assert got.ngsi_type == original.ngsi_type and got.report.interval == original.report.interval
        for table in ("input", "holding", "coils", "discrete"):  # the same registers (addresses as laid out)
            mine = {(r.signal, r.state, r.datatype, r.scale, r.word_order) for r in getattr(got.modbus, table)}
            theirs = {(r.signal, r.state, r.datatype, r.scale, r.word_order) for r in getattr(original.modbus, table)}
            assert mine == theirs, (name, table)


def test_a_minimal_third_party_td_imports_and_validates(tmp_path: Path) -> None:
    td = {
        "@context": "https://www.w3.org/2022/wot/td/v1.1",
        "title": "Lamp 3000",
        "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
        "security": "nosec_sc",
        "properties": {
            "brightness": {
                "type": "integer",
                "minimum": 0,
                "maximum": 255,
                "unit": "%",
                "forms": [{"href": "http://lamp/b"}],
            },
            "status": {"type": "string", "enum": ["on", "off"], "forms": [{"href": "x:y"}]},
        },
        "actions": {
            "fade": {
                "input": {
                    "type": "object",
                    "properties": {"brightness": {"type": "integer", "minimum": 0, "maximum": 255}},
                    "required": ["brightness"],
                },
                "forms": [{"href": "http://lamp/fade"}],
            }
        },
    }
    src = tmp_path / "lamp.td.json"
    src.write_text(json.dumps(td))
    out = tmp_path / "devices" / "lamp.yaml"
    proc = smartzone("import", "td", str(src), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    dt = Catalog().add_file(out)
    assert dt.type == "lamp-3000" and dt.kind == "actuator"
    assert dt.commands["fade"].set == {"brightness": "param.brightness"}
    assert dt.signals["brightness"].model.kind == "state" and dt.signals["status"].values == ["on", "off"]


def test_a_file_that_is_not_a_td_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = smartzone("import", "td", str(bad), "--out", str(tmp_path / "x.yaml"))
    assert proc.returncode == 2 and "not JSON" in proc.stderr and "Traceback" not in proc.stderr
    bad.write_text('{"properties": {}}')
    proc = smartzone("import", "td", str(bad), "--out", str(tmp_path / "x.yaml"))
    assert proc.returncode == 2 and "not a Thing Description" in proc.stderr


def test_check_td_finds_structural_problems() -> None:
    assert "missing mandatory 'security'" in check_td(
        {"@context": "https://www.w3.org/2022/wot/td/v1.1", "title": "t", "securityDefinitions": {}}
    )
    td = {
        "@context": "https://www.w3.org/2022/wot/td/v1.1",
        "title": "t",
        "security": "a",
        "securityDefinitions": {"a": {"scheme": "nosec"}},
        "properties": {"p": {"type": "number", "forms": [{"href": "relative", "op": "fly"}]}},
    }
    problems = check_td(td)
    assert "properties.p.forms[0]: href must be an absolute URI" in problems
    assert "properties.p.forms[0]: unknown op 'fly'" in problems


@pytest.mark.skipif(not os.environ.get("SZ_TD_SCHEMA"), reason="set SZ_TD_SCHEMA to the official td-schema.json")
def test_exported_tds_validate_against_the_official_td_schema(owner_tds: dict[str, dict]) -> None:
    """With the W3C TD 1.1 JSON Schema at hand (npm @thing-description-playground/core ships td-schema.json)."""
    import jsonschema

    schema = json.loads(Path(os.environ["SZ_TD_SCHEMA"]).read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    for name, td in owner_tds.items():
        assert [e.message for e in validator.iter_errors(td)] == [], name
