"""`bridged_devices` in a scenario: problems name the file, line and field; `run --no-real-devices`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.errors import DefinitionError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bridged"


def test_the_sample_city_with_real_devices_validates() -> None:
    sc = load_scenario(FIXTURES / "bridged-city.yaml", Catalog.builtin().copy())
    assert [d.id for d in sc.bridged_devices] == ["pm3-real-mqtt", "pm3-real-modbus"]


def test_bad_references_are_located_and_nothing_is_loaded() -> None:
    with pytest.raises(DefinitionError) as err:
        load_scenario(FIXTURES / "bad-city.yaml", Catalog.builtin().copy())
    lines = str(err.value).splitlines()
    assert any(
        ":34:9: bridged_devices[0].mapping.signals.voltige: unknown signal of acme-pm3" in line for line in lines
    )
    assert any(
        ":67:21: bridged_devices[1].mapping.commands.set_relay.register: 'volts' is in the input table" in line
        for line in lines
    )


def test_a_bad_jmespath_is_a_located_schema_error(tmp_path: Path) -> None:
    text = (FIXTURES / "bridged-city.yaml").read_text().replace('path: "meas.i"', 'path: "meas.["')
    text = text.replace("../../../examples", str(Path(__file__).resolve().parents[2] / "examples"))
    bad = tmp_path / "city.yaml"
    bad.write_text(text)
    with pytest.raises(DefinitionError) as err:
        load_scenario(bad, Catalog.builtin().copy())
    assert "bridged_devices[0].mapping.signals.current.path: 'meas.[' is not a JMESPath expression" in str(err.value)
    assert f"{bad}:35:" in str(err.value)


def test_run_without_real_devices_leaves_them_out(endpoints_off: list[str]) -> None:
    cmd = [sys.executable, "-m", "smartzone", "run", str(FIXTURES / "bridged-city.yaml"), "--fast", "--duration", "1h"]
    done = subprocess.run([*cmd, *endpoints_off, "--no-real-devices"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "| 1 devices |" in done.stdout + done.stderr
