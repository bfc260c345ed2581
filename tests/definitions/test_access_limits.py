"""The scenario's `access.max_packet_size`: a default that fits the shipped cities, strict validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartzone.cli import main
from smartzone.definitions.catalog import Catalog, load_scenario

FIXTURE = Path(__file__).parents[1] / "fixtures" / "access-city.yaml"
ACCESS_LINE = "access: {anonymous_read: true}"


def scenario_with(tmp_path: Path, access: str) -> Path:
    text = FIXTURE.read_text(encoding="utf-8")
    assert ACCESS_LINE in text
    path = tmp_path / "city.yaml"
    path.write_text(text.replace(ACCESS_LINE, f"access: {access}"), encoding="utf-8")
    return path


def test_the_default_is_256_kib(catalog: Catalog) -> None:
    assert load_scenario(FIXTURE, catalog).access.max_packet_size == 262_144


def test_a_chosen_size_is_kept(tmp_path: Path, catalog: Catalog) -> None:
    path = scenario_with(tmp_path, "{anonymous_read: true, max_packet_size: 65536}")
    assert load_scenario(path, catalog).access.max_packet_size == 65536


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("512", "greater than or equal to 1024"),
        ("268435456", "less than or equal to 268435455"),
        ("'262144'", "valid integer"),
        ("2.5e5", "valid integer"),
        ("true", "valid integer"),
    ],
)
def test_a_bad_size_is_one_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    path = scenario_with(tmp_path, f"{{anonymous_read: true, max_packet_size: {value}}}")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    problems = [ln for ln in err.splitlines() if ln.startswith(str(path))]
    assert len(problems) == 1, err
    assert problems[0].startswith(f"{path}:13:")
    assert "access.max_packet_size" in problems[0] and message in problems[0]
    assert "Traceback" not in err
