"""The live cache counts devices only: network stats, timeline edges and backhaul faults name none."""

from __future__ import annotations

from pathlib import Path

import yaml

from smartzone.core.events import FaultChanged, LinkStats, TimelineChanged
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.runtime.api import Runtime

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "testville.yaml"


def test_live_state_ignores_events_that_name_no_device(tmp_path: Path, catalog: Catalog) -> None:
    data = yaml.safe_load(FIXTURE.read_text())
    data["networks"] = {"stats_interval": "10min", "backhauls": [{"id": "gw", "kind": "gateway", "capacity": 50}]}
    data["timeline"] = [{"name": "cut", "at": "02:00", "duration": "30min", "outage": ["gw"]}]
    (tmp_path / "city.yaml").write_text(yaml.safe_dump(data))
    sc = load_scenario(tmp_path / "city.yaml", catalog)
    rt = Runtime(sc, catalog, fast=True, duration=3 * 3600)
    seen: list[object] = []
    rt.subscribe(seen.append, (LinkStats, TimelineChanged, FaultChanged))
    try:
        rt.start()
        assert rt.wait(30)
    finally:
        rt.stop()
    assert {type(e) for e in seen} == {LinkStats, TimelineChanged, FaultChanged}
    assert rt.live.online_count() == len(rt.devices) == 5
    assert rt.live.get("gw") is None and rt.live.get("") is None
