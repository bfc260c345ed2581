"""The mapping of the shipped sample (examples/owner/real-devices.yaml) applied to vendor data."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.realdevice.mapping import Mapper, MappingError

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "owner" / "real-devices.yaml"


@pytest.fixture(scope="module")
def air() -> Mapper:
    catalog = Catalog.builtin().copy()
    sc = load_scenario(SAMPLE, catalog)
    spec = next(d for d in sc.bridged_devices if d.id == "air-lab-1")
    return Mapper(spec, catalog.types[spec.type])


def test_the_air_sensors_json_becomes_its_signals(air: Mapper) -> None:
    doc = {"gas": {"no2_ppb": 10, "o3_ppb": 20}, "pm": [{"size": "10", "ugm3": 21.5}, {"size": "2.5", "ugm3": 9.1}]}
    values, state = air.read(doc)
    assert values == {"no2": pytest.approx(18.8), "o3": pytest.approx(39.2), "pm25": 9.1, "pm10": 21.5}
    assert state == {}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"gas": {"no2_ppb": "high"}}, "no2: 'high' is not a valid float value"),
        ({"other": 1}, "none of the mapped fields is in the data"),
        ([1, 2], "none of the mapped fields is in the data"),
    ],
)
def test_vendor_data_it_cannot_read_is_refused_with_the_field(air: Mapper, doc: object, message: str) -> None:
    with pytest.raises(MappingError, match=message.replace("(", r"\(")):
        air.read(doc)
