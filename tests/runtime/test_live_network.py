"""The live cache counts devices only: network stats, timeline edges and backhaul faults name none."""

from __future__ import annotations

from pathlib import Path

import yaml

from smartzone.core.events import FaultChanged, LinkStats, TimelineChanged
from smartzone.core.faults import CutBackhaul
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


def test_network_state_reports_each_hop_live_and_its_route(tmp_path: Path, catalog: Catalog) -> None:
    """The read-only network view the GUI map polls: counters grow, a cut shows, routes name the hop."""
    data = yaml.safe_load(FIXTURE.read_text())
    data["networks"] = {"backhauls": [{"id": "gw", "kind": "gateway", "capacity": 50, "queue": 20}]}
    (tmp_path / "city.yaml").write_text(yaml.safe_dump(data))
    sc = load_scenario(tmp_path / "city.yaml", catalog)
    rt = Runtime(sc, catalog, fast=True, duration=2 * 3600)
    assert rt.network_routes() == {d: "gw" for d in rt.devices}
    t0, (before,) = rt.network_state().result(5)
    assert (t0, before.id, before.kind, before.capacity, before.queue_limit) == (0.0, "gw", "gateway", 50.0, 20)
    assert (before.sent, before.cut) == (0, False)
    rt.submit(CutBackhaul("gw")).result(5)  # before start: applied at once
    assert rt.network_state().result(5)[1][0].cut
    rt.submit(CutBackhaul("gw", cut=False)).result(5)
    try:
        rt.start()
        assert rt.wait(30)
    finally:
        rt.stop()
    t1, (after,) = rt.network_state().result(5)
    assert t1 == 2 * 3600 and after.sent > 0 and after.delivered + after.dropped <= after.sent
    assert not after.cut


def test_network_state_is_empty_when_emulation_is_off(catalog: Catalog) -> None:
    rt = Runtime(load_scenario(FIXTURE, catalog), catalog, network=False)
    assert rt.network_state().result(5) == (0.0, ()) and rt.network_routes() == {}
