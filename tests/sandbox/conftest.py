"""Fixtures of the sandbox tests: the sandbox city."""

from __future__ import annotations

import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.scenario import Scenario
from tests.conftest import FIXTURES

SANDBOX_CITY = FIXTURES / "sandbox-city.yaml"


@pytest.fixture(scope="session")
def sandbox_scenario(catalog: Catalog) -> Scenario:
    return load_scenario(SANDBOX_CITY, catalog)
