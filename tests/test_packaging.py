"""The wheel holds every package and the shipped data (tests import the source tree, users don't)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    # Build from a clean copy: a developer's egg-info (from `pip install -e .`) lists files
    # that setuptools would then include even when a package lacks its __init__.py.
    src = out / "src"
    shutil.copytree(
        ROOT,
        src,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
        cwd=out,
    )
    (wheel,) = out.glob("smartzone-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_every_source_module_is_in_the_wheel(wheel_names: set[str]) -> None:
    expected = {str(p.relative_to(ROOT)) for p in (ROOT / "smartzone").rglob("*.py") if "__pycache__" not in p.parts}
    expected |= {
        "smartzone_gui/" + str(p.relative_to(ROOT / "gui"))
        for p in (ROOT / "gui").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert sorted(expected - wheel_names) == []


def test_shipped_yaml_is_in_the_wheel(wheel_names: set[str]) -> None:
    for folder in ("devices", "scenarios", "courses"):
        for path in (ROOT / folder).glob("*.yaml"):
            assert f"smartzone/_builtin/{folder}/{path.name}" in wheel_names
    for path in (ROOT / "courses" / "apps").glob("*.py"):  # sample apps a course hands out
        assert f"smartzone/_builtin/courses/apps/{path.name}" in wheel_names


def test_no_generic_top_level_names(wheel_names: set[str]) -> None:
    tops = {name.split("/")[0] for name in wheel_names}
    assert tops == {"smartzone", "smartzone_gui", "smartzone-0.1.0.dist-info"}


def test_shipped_data_sets_are_in_the_wheel(wheel_names: set[str]) -> None:
    data = sorted((ROOT / "devices" / "data").glob("*.csv"))
    assert data, "no shipped data set"
    for path in data:  # read by csv_series models of shipped device types
        assert f"smartzone/_builtin/devices/data/{path.name}" in wheel_names
