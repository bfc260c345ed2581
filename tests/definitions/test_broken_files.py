"""Every file of the broken corpus gives one clear, located error and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smartzone.cli import main

BROKEN = Path(__file__).parents[1] / "broken"

# file -> (line, text the message must contain); line None where the file has no lines
EXPECTED = {
    "unknown-key.yaml": (17, "fleets[1].colour: unknown key 'colour'"),
    "wrong-type.yaml": (16, "fleets[0].count: input should be a valid integer"),
    "duplicate-key.yaml": (17, "duplicate key 'seed' (first defined on line 8)"),
    "unknown-device-type.yaml": (16, "fleets[0].type: unknown device type 'parking-meter'"),
    "unknown-behaviour-model.yaml": (31, "signals.status.model.kind: unknown kind 'markov_chain'"),
    "out-of-range.yaml": (16, "fleets[0].count: input should be less than or equal to 20000, found 50000"),
    "out-of-range-parameter.yaml": (36, "initial_occupied: input should be less than or equal to 1, found 1.7"),
    "bad-duration-parameter.yaml": (34, "mean_stay: expected a duration such as"),
    "tab-indentation.yaml": (14, "tab character used for indentation"),
    "truncated.yaml": (17, "is the file truncated"),
    "unclosed-bracket.yaml": (2, "is the file truncated"),
    "empty.yaml": (1, "file is empty"),
    "not-yaml.yaml": (None, "not a UTF-8 text file"),
    "reserved-tenant-id.yaml": (17, "tenants[1].id: 'access' is reserved for a city-level MQTT document"),
}


def test_corpus_is_complete() -> None:
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_gives_one_located_error(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = BROKEN / name
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    line, text = EXPECTED[name]
    problems = [ln for ln in err.splitlines() if ln.startswith(str(path))]
    assert code == 2
    assert len(problems) == 1, err
    assert text in problems[0]
    if line is not None:
        assert problems[0].startswith(f"{path}:{line}:")
    assert "Traceback" not in err


def test_run_with_broken_scenario_exits_2_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "smartzone", "run", str(BROKEN / "unknown-key.yaml"), "--fast", "--duration", "1h"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown key 'colour'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_file_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "no/such/file.yaml"]) == 2
    assert "no/such/file.yaml: cannot read file" in capsys.readouterr().err
