"""Shared fixtures and the autouse leak guard (threads, sockets) for every test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.scenario import Scenario

FIXTURES = Path(__file__).parent / "fixtures"
LEAK_GRACE_S = 3.0


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.builtin()


@pytest.fixture(scope="session")
def small_scenario(catalog: Catalog) -> Scenario:
    """A tiny city (a few parking spots and street lights) for fast core tests."""
    return load_scenario(FIXTURES / "testville.yaml", catalog)


@pytest.fixture(scope="session")
def endpoints_off() -> list[str]:
    """`smartzone run` flags that switch off whichever endpoints this installation has."""
    import subprocess
    import sys

    help_text = subprocess.run(
        [sys.executable, "-m", "smartzone", "run", "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    return [flag for flag in ("--no-mqtt", "--no-modbus") if flag in help_text]


def _threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves threads running (engine, endpoints, clients)."""
    before = _threads()
    yield
    deadline = time.monotonic() + LEAK_GRACE_S
    leaked: set[threading.Thread] = set()
    while time.monotonic() < deadline:
        leaked = {
            t
            for t in _threads() - before
            if not t.name.startswith(("asyncio_", "ThreadPoolExecutor", "QThread", "Dummy-"))
        }
        if not leaked:
            return
        time.sleep(0.05)
    pytest.fail(f"test left threads running: {sorted(t.name for t in leaked)}")
