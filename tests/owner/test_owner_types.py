"""An owner's own device types: scenario `device_types`, overrides, and `--devices` on every command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.errors import DefinitionError

EXAMPLE = Path(__file__).parents[2] / "examples" / "owner"


def smartzone(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartzone", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def _city(tmp_path: Path, device_types: str, fleet_type: str = "acme-pm3") -> Path:
    """A scenario next to a copy of the example's types, with the given `device_types:` line."""
    shutil.copytree(EXAMPLE / "devices", tmp_path / "types")
    text = (EXAMPLE / "scenario.yaml").read_text()
    text = text.replace("device_types: [./devices/]", device_types)
    text = text.replace("type: acme-pm3", f"type: {fleet_type}")
    path = tmp_path / "city.yaml"
    path.write_text(text)
    return path


def test_a_scenario_lists_its_own_types_relative_to_its_file(tmp_path: Path) -> None:
    path = _city(tmp_path, "device_types: [./types/acme-pm3.yaml]")
    catalog = Catalog.builtin()
    sc = load_scenario(path, catalog)
    assert catalog.types["acme-pm3"].name.startswith("ACME")
    assert catalog.owner_files() == [str(tmp_path / "types" / "acme-pm3.yaml")]
    assert {f.type for f in sc.fleets} == {"acme-pm3", "energy-meter"}


def test_a_folder_of_types_loads_every_yaml_in_it(tmp_path: Path) -> None:
    path = _city(tmp_path, "device_types: [types]")
    catalog = Catalog.builtin()
    load_scenario(path, catalog)
    assert "acme-pm3" in catalog.types


def test_a_missing_path_names_the_scenario_line_and_field(tmp_path: Path) -> None:
    path = _city(tmp_path, "device_types: [./nope/]")
    with pytest.raises(DefinitionError) as err:
        load_scenario(path, Catalog.builtin())
    (problem,) = err.value.problems
    assert problem.file == str(path) and problem.line == 12 and problem.path == "device_types[0]"
    assert "no such file or folder" in problem.message


def test_unknown_keys_in_an_entry_are_errors(tmp_path: Path) -> None:
    path = _city(tmp_path, "device_types: [{path: types, overide: true}]")
    with pytest.raises(DefinitionError) as err:
        load_scenario(path, Catalog.builtin())
    assert any("overide" in str(p) for p in err.value.problems)


def _clone_as_builtin(tmp_path: Path) -> Path:
    """The example type renamed to a built-in id."""
    clone = tmp_path / "types" / "acme-pm3.yaml"
    clone.write_text(clone.read_text().replace("type: acme-pm3", "type: energy-meter"))
    return clone


def test_a_type_that_clashes_with_a_built_in_one_is_an_error(tmp_path: Path) -> None:
    path = _city(tmp_path, "device_types: [types]", fleet_type="energy-meter")
    clone = _clone_as_builtin(tmp_path)
    with pytest.raises(DefinitionError) as err:
        load_scenario(path, Catalog.builtin())
    (problem,) = err.value.problems
    assert problem.file == str(clone) and problem.path == "type" and problem.line == 4
    assert "built-in type" in problem.message and "override: true" in problem.message


def test_a_declared_override_replaces_the_built_in_type(tmp_path: Path) -> None:
    path = _city(tmp_path, "device_types: [{path: types, override: true}]", fleet_type="energy-meter")
    _clone_as_builtin(tmp_path)
    catalog = Catalog.builtin()
    load_scenario(path, catalog)
    assert catalog.types["energy-meter"].name.startswith("ACME")
    assert catalog.owner_files() == [str(tmp_path / "types" / "acme-pm3.yaml")]


def test_run_with_devices_folder_runs_the_owners_devices(tmp_path: Path) -> None:
    path = _city(tmp_path, "device_types: []")
    trace = tmp_path / "t.jsonl"
    proc = smartzone(
        "run",
        str(path),
        "--devices",
        str(tmp_path / "types"),
        "--fast",
        "--duration",
        "1h",
        "--no-mqtt",
        "--no-modbus",
        "--trace",
        str(trace),
    )
    assert proc.returncode == 0, proc.stderr
    devices = {json.loads(line).get("device") for line in trace.read_text().splitlines()[1:]}
    assert {"pm3-0001", "em-0001"} <= devices


def test_without_its_types_the_scenario_names_the_unknown_type(tmp_path: Path) -> None:
    path = _city(tmp_path, "device_types: []")
    proc = smartzone("run", str(path), "--fast", "--duration", "1h", "--no-mqtt", "--no-modbus")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "unknown device type 'acme-pm3'" in proc.stderr and "fleets[0].type" in proc.stderr


def test_a_bad_type_in_devices_exits_2_naming_file_line_and_field(tmp_path: Path) -> None:
    path = _city(tmp_path, "device_types: []")
    bad = tmp_path / "types" / "acme-pm3.yaml"
    bad.write_text(bad.read_text().replace("decimals: 1", "decimals: 9", 1))
    for argv in (
        ("run", str(path), "--fast", "--duration", "1h", "--no-mqtt", "--no-modbus"),
        ("export", "asyncapi", str(path)),
        ("export", "modbus-map", str(path)),
        ("devices",),
    ):
        proc = smartzone(*argv, "--devices", str(tmp_path / "types"))
        assert proc.returncode == 2, (argv, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert f"{bad}:36:" in proc.stderr and "signals.voltage.decimals" in proc.stderr, proc.stderr


def test_devices_must_be_a_folder(tmp_path: Path) -> None:
    proc = smartzone("devices", "--devices", str(tmp_path / "none"))
    assert proc.returncode == 2 and "--devices: no such folder" in proc.stderr


def test_exports_and_the_catalog_listing_include_the_owners_types(tmp_path: Path) -> None:
    path = _city(tmp_path, "device_types: []")
    types = str(tmp_path / "types")
    listing = smartzone("devices", "--json", "--devices", types)
    assert listing.returncode == 0 and "acme-pm3" in json.loads(listing.stdout)
    asyncapi = smartzone("export", "asyncapi", str(path), "--devices", types)
    assert asyncapi.returncode == 0, asyncapi.stderr
    assert "pm3-0001" in asyncapi.stdout
    modbus = smartzone("export", "modbus-map", str(path), "--devices", types)
    assert modbus.returncode == 0, modbus.stderr
    assert "pm3-0001" in modbus.stdout and "relay" in modbus.stdout


def test_certify_and_gui_accept_devices() -> None:
    for command in ("certify", "gui"):
        proc = smartzone(command, "--help")
        assert "--devices DIR" in proc.stdout
