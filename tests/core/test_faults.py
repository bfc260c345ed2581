"""Device, link and backhaul faults: each effect while active, and a clean end."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest
from netkit import scenario_with

from smartzone.core.events import FaultChanged, Reading, StatusChanged
from smartzone.core.faults import ClearFault, DegradeLink, FaultRejected, InjectFault, RestoreLink
from smartzone.core.live import LiveState
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.scenario import Scenario


class Tap:
    """Readings with the device's true values at the moment it sent them (no network)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rows: list[tuple[Reading, dict[str, Any]]] = []
        self.events: list[Any] = []
        world.bus.subscribe(self._on)

    def _on(self, e: Any) -> None:
        if isinstance(e, Reading):
            self.rows.append((e, dict(self.world.devices[e.device].values)))
        else:
            self.events.append(e)

    def deltas(self, device: str, signal: str, t0: float, t1: float) -> list[float]:
        return [r.values[signal] - true[signal] for r, true in self.rows if r.device == device and t0 <= r.t < t1]


@pytest.fixture
def fast_city(tmp_path: Path, catalog: Catalog) -> Scenario:
    return scenario_with(
        tmp_path,
        catalog,
        fleets=[
            {"type": "street-light", "tenant": "comune", "count": 2, "id_prefix": "l", "report_interval": "1min"},
            {"type": "parking-spot", "tenant": "comune", "count": 2, "id_prefix": "p", "report_interval": "5min"},
        ],
    )


def _run(sc: Scenario, catalog: Catalog, cmd: Any, start: float = 3600.0, end: float = 3 * 3600.0) -> tuple[World, Tap]:
    world = World(sc, catalog, network=False)
    tap = Tap(world)
    world.run(start)
    world.execute(cmd)
    world.run(end)
    return world, tap


def _fault_edges(tap: Tap) -> list[tuple[float, str, str, bool]]:
    return [(e.t, e.device, e.fault, e.active) for e in tap.events if isinstance(e, FaultChanged)]


def test_offset(fast_city: Scenario, catalog: Catalog) -> None:
    world, tap = _run(fast_city, catalog, InjectFault("l-0001", "offset", "power", 5.0, duration=3600))
    during = tap.deltas("l-0001", "power", 3600, 7200)
    assert len(during) >= 59 and all(d == pytest.approx(5.0) for d in during)
    assert all(d == 0 for d in tap.deltas("l-0001", "power", 7200, 3 * 3600))
    assert all(d == 0 for d in tap.deltas("l-0002", "power", 0, 3 * 3600))  # only that device
    assert _fault_edges(tap) == [(3600.0, "l-0001", "offset", True), (7200.0, "l-0001", "offset", False)]
    assert world.devices["l-0001"].distort is None


def test_drift_grows_with_time(fast_city: Scenario, catalog: Catalog) -> None:
    _, tap = _run(fast_city, catalog, InjectFault("l-0001", "drift", "energy", 12.0, duration=3600))
    rows = [
        (r.t, r.values["energy"] - true["energy"])
        for r, true in tap.rows
        if r.device == "l-0001" and 3600 <= r.t < 7200
    ]
    for t, delta in rows:
        assert delta == pytest.approx(12.0 * (t - 3600) / 3600, abs=0.002)
    assert rows[-1][1] > 11.0
    assert all(d == 0 for d in tap.deltas("l-0001", "energy", 7200, 3 * 3600))


def test_noise_has_the_given_spread(fast_city: Scenario, catalog: Catalog) -> None:
    _, tap = _run(fast_city, catalog, InjectFault("l-0001", "noise", "energy", 3.0), end=30 * 3600)
    deltas = tap.deltas("l-0001", "energy", 3600, 30 * 3600)
    assert len(deltas) > 1500
    assert statistics.pstdev(deltas) == pytest.approx(3.0, rel=0.08)
    assert abs(statistics.mean(deltas)) < 0.3


def test_spike_hits_a_fifth_of_the_readings(fast_city: Scenario, catalog: Catalog) -> None:
    _, tap = _run(fast_city, catalog, InjectFault("l-0001", "spike", "energy", 50.0), end=30 * 3600)
    deltas = tap.deltas("l-0001", "energy", 3600, 30 * 3600)
    hits = [d for d in deltas if abs(d) > 1]
    assert abs(len(hits) / len(deltas) - 0.2) < 0.04
    assert all(abs(abs(d) - 50.0) < 0.01 for d in hits)


def test_declared_stuck_fault_holds_its_magnitude(fast_city: Scenario, catalog: Catalog) -> None:
    _, tap = _run(fast_city, catalog, InjectFault("l-0001", "lamp_failure", duration=3600))  # stuck power at 0
    during = [r.values["power"] for r, _ in tap.rows if r.device == "l-0001" and 3600 <= r.t < 7200]
    after = [r.values["power"] for r, _ in tap.rows if r.device == "l-0001" and r.t >= 7200]
    assert during and all(v == 0 for v in during)
    assert after and all(v > 10 for v in after)  # night: the lamp is on again


def test_stuck_without_magnitude_freezes_the_current_value(fast_city: Scenario, catalog: Catalog) -> None:
    world = World(fast_city, catalog, network=False)
    tap = Tap(world)
    world.run(3600)
    frozen = world.devices["l-0001"].values["energy"]
    world.execute(InjectFault("l-0001", "stuck", "energy"))
    world.run(7200)
    assert {r.values["energy"] for r, _ in tap.rows if r.device == "l-0001" and r.t >= 3600} == {frozen}
    world.execute(ClearFault("l-0001", "stuck"))
    world.run(7300)
    after = [r.values["energy"] for r, _ in tap.rows if r.device == "l-0001" and r.t > 7200]
    assert after and all(v > frozen for v in after)  # the meter kept counting underneath


def test_clock_skew_shifts_measured(fast_city: Scenario, catalog: Catalog) -> None:
    _, tap = _run(fast_city, catalog, InjectFault("l-0002", "clock_skew", magnitude=-7200.0, duration=600))
    skewed = [r for r, _ in tap.rows if r.device == "l-0002" and 3600 <= r.t < 4200]
    assert skewed and all(r.measured == r.t - 7200.0 for r in skewed)
    assert all(r.measured is None for r, _ in tap.rows if r.device == "l-0002" and r.t >= 4200)


def test_word_swap_changes_no_reading_and_tells_its_effect(fast_city: Scenario, catalog: Catalog) -> None:
    live = LiveState()
    world = World(fast_city, catalog, network=False)
    tap = Tap(world)
    world.bus.subscribe(live.on_event)
    live.seed("l-0002", {}, {}, True, 0)
    world.run(3600.0)
    world.execute(InjectFault("l-0002", "word_swap", duration=1800))
    world.run(4000.0)
    assert live.get("l-0002").effects == frozenset({"word_swap"}), "what the Modbus gateway asks"
    world.run(3 * 3600.0)
    rows = [(r, true) for r, true in tap.rows if r.device == "l-0002" and 3600 <= r.t < 5400]
    assert rows and all(dict(r.values) == true for r, true in rows), "its MQTT payloads carry the true values"
    assert _fault_edges(tap) == [(3600.0, "l-0002", "word_swap", True), (5400.0, "l-0002", "word_swap", False)]
    assert world.devices["l-0002"].online and live.get("l-0002").effects == frozenset()


def test_offline_fault_silences_the_device_and_ends(fast_city: Scenario, catalog: Catalog) -> None:
    world, tap = _run(fast_city, catalog, InjectFault("p-0001", "offline", duration=1800))
    status = [(e.t, e.online, e.reason) for e in tap.events if isinstance(e, StatusChanged)]
    assert status == [(3600.0, False, "fault:offline"), (5400.0, True, "fault:offline ended")]
    assert not [r for r, _ in tap.rows if r.device == "p-0001" and 3600 < r.t < 5400]
    assert [r for r, _ in tap.rows if r.device == "p-0001" and r.t > 5400]
    seqs = [r.seq for r, _ in tap.rows if r.device == "p-0001"]
    assert seqs == list(range(1, len(seqs) + 1))  # not sent is not lost: no gap
    assert world.devices["p-0001"].online


def test_battery_drain_kills_the_device_and_clearing_replaces_it(fast_city: Scenario, catalog: Catalog) -> None:
    world = World(fast_city, catalog, network=False)
    tap = Tap(world)
    world.run(3600)
    before = world.devices["p-0002"].battery(3600)
    own = world.devices["p-0002"].battery_drain  # this device's own drain (core/variation.py)
    world.execute(InjectFault("p-0002", "battery_drain", magnitude=20000.0))  # 5 years in ~2.2 h
    assert world.devices["p-0002"].battery(3600) == pytest.approx(before)  # no jump at the start
    world.run(12 * 3600)
    dead = [e for e in tap.events if isinstance(e, StatusChanged) and e.device == "p-0002"]
    assert [(e.online, e.reason) for e in dead] == [(False, "battery empty")]
    life = 1825 * 86400.0
    assert dead[0].t == pytest.approx(3600 + before * life / (20000.0 * own), rel=1e-6)
    last = [r for r, _ in tap.rows if r.device == "p-0002"][-1]
    assert last.t < dead[0].t and last.values["battery"] < 10
    world.execute(ClearFault("p-0002", "battery_drain"))
    assert world.devices["p-0002"].online and world.devices["p-0002"].battery(world.now) == pytest.approx(1.0)
    world.run(13 * 3600)
    assert [r for r, _ in tap.rows if r.device == "p-0002"][-1].values["battery"] > 99


def test_reinjection_outlives_the_earlier_timer(fast_city: Scenario, catalog: Catalog) -> None:
    world = World(fast_city, catalog, network=False)
    world.run(100)
    world.execute(InjectFault("l-0001", "offset", "power", 1.0, duration=100))
    world.run(150)
    world.execute(InjectFault("l-0001", "offset", "power", 2.0, duration=1000))
    world.run(500)
    assert world.faults.active("l-0001") == ["offset"]
    world.run(1200)
    assert world.faults.active("l-0001") == []


@pytest.mark.parametrize(
    ("cmd", "text"),
    [
        (InjectFault("nope", "offline"), "no device 'nope'"),
        (InjectFault("l-0001", "melt"), "unknown fault 'melt'"),
        (InjectFault("l-0001", "drift", "colour"), "no signal 'colour'"),
        (InjectFault("l-0001", "battery_drain"), "has no battery"),
        (DegradeLink("carrier-pigeon", {"loss": "5%"}), "unknown network profile"),
        (DegradeLink("lorawan-sf9", {"loss": "lots"}), "bad link parameters"),
    ],
)
def test_bad_fault_commands_are_rejected_and_change_nothing(
    fast_city: Scenario, catalog: Catalog, cmd: Any, text: str
) -> None:
    world = World(fast_city, catalog)
    events: list[Any] = []
    world.bus.subscribe(events.append, (FaultChanged, StatusChanged))
    with pytest.raises(FaultRejected, match=text):
        world.execute(cmd)
    assert events == [] and world.faults.active("l-0001") == []


def test_link_degradation_changes_the_profile_live_and_restores(fast_city: Scenario, catalog: Catalog) -> None:
    world = World(fast_city, catalog)
    world.run(600)
    ref = world.network.refs["lorawan-sf9"]
    normal = ref.current
    world.execute(DegradeLink("lorawan-sf9", {"loss": "40%", "delay": "2s"}))
    assert ref.current.loss == 0.4 and ref.current.delay == 2.0 and ref.current.airtime == normal.airtime
    world.execute(RestoreLink("lorawan-sf9"))
    assert ref.current == normal


def test_duty_cycle_added_live_gates_the_radios(tmp_path: Path, catalog: Catalog) -> None:
    sc = scenario_with(
        tmp_path,
        catalog,
        fleets=[
            {
                "type": "street-light",
                "tenant": "comune",
                "count": 2,
                "id_prefix": "l",
                "report_interval": "1min",
                "network": "4g",
            }
        ],
    )
    world = World(sc, catalog)
    world.run(3600)
    up = world.network.up["4g"]
    assert up.throttled == 0
    before = up.sent
    world.execute(DegradeLink("4g", {"rate": "1kbit", "duty_cycle": "1%"}, duration=3600))
    world.run(7200)
    # 200-byte messages take 1.6 s at 1 kbit/s: at 1 % one message per 160 s per device
    assert up.sent - before <= 2 * (3600 / 160 + 1)
    assert up.throttled > 0
    throttled = up.throttled
    world.run(3 * 3600)
    assert up.throttled == throttled  # restored: no more gating (the profile has no duty cycle)


@pytest.fixture
def weather_city(tmp_path: Path, catalog: Catalog) -> Scenario:
    return scenario_with(
        tmp_path,
        catalog,
        dropouts={"fraction": 0},
        fleets=[
            {"type": "weather-station", "tenant": "comune", "count": 3, "id_prefix": "w", "report_interval": "1min"},
            {"type": "water-meter", "tenant": "comune", "count": 2, "id_prefix": "m", "report_interval": "5min"},
        ],
    )


def test_faults_stay_within_the_declared_range_unless_flagged(weather_city: Scenario, catalog: Catalog) -> None:
    world = World(weather_city, catalog, network=False)
    tap = Tap(world)
    world.run(600)
    world.execute(InjectFault("w-0001", "noise", "wind_speed", 20.0))  # storm gusts: would go negative
    world.execute(InjectFault("w-0002", "anemometer_iced", magnitude=-5.0))  # stuck below the range
    world.execute(InjectFault("w-0003", "probe_open_circuit"))  # declared out_of_range: true
    world.run(4 * 3600)
    sig = catalog.types["weather-station"].signals
    noisy = [r.values["wind_speed"] for r, _ in tap.rows if r.device == "w-0001" and r.t > 600]
    assert min(noisy) == sig["wind_speed"].min and max(noisy) > 10  # clamped at 0, still noisy
    assert all(v <= sig["wind_speed"].max for v in noisy)
    assert {r.values["wind_speed"] for r, _ in tap.rows if r.device == "w-0002" and r.t > 600} == {0.0}
    broken = [r.values["temperature"] for r, _ in tap.rows if r.device == "w-0003" and r.t > 600]
    assert min(broken) > sig["temperature"].max  # the flagged fault may leave the range


def test_circular_signal_wraps_under_faults_and_in_its_walk(weather_city: Scenario, catalog: Catalog) -> None:
    world = World(weather_city, catalog, network=False)
    tap = Tap(world)
    world.run(600)
    world.execute(InjectFault("w-0001", "offset", "wind_direction", 200.0))
    world.run(2 * 86400)
    shifted = [
        (r.values["wind_direction"], true["wind_direction"])
        for r, true in tap.rows
        if r.device == "w-0001" and r.t > 600
    ]
    assert all(0 <= v <= 359 and v == (t + 200) % 360 for v, t in shifted)
    walk = [true["wind_direction"] for r, true in tap.rows if r.device != "w-0001" and "wind_direction" in true]
    assert all(0 <= v <= 359 for v in walk)
    assert sum(1 for v in walk if v >= 355) < len(walk) / 20  # no sticking at the top of the range


def test_a_leak_moves_the_meter_index(weather_city: Scenario, catalog: Catalog) -> None:
    def volumes(leak: bool) -> tuple[float, float, list[Any]]:
        world = World(weather_city, catalog, network=False)
        tap = Tap(world)
        world.run(3600)
        if leak:
            world.execute(InjectFault("m-0001", "leak", duration=6 * 3600))
        world.run(10 * 3600)
        flows = [r.values["flow"] for r, _ in tap.rows if r.device == "m-0001" and 3600 < r.t < 7 * 3600]
        return world.devices["m-0001"].values["volume"], world.devices["m-0002"].values["volume"], flows

    leaky, other, flows = volumes(True)
    dry, other_dry, dry_flows = volumes(False)
    assert leaky - dry == pytest.approx(4.0 * 60 * 6 / 1000, abs=0.02)  # 4 l/min for 6 h = 1.44 m3
    assert other == other_dry  # the neighbour's index does not move
    assert statistics.mean(flows) - statistics.mean(dry_flows) == pytest.approx(4.0, abs=0.05)
    world = World(weather_city, catalog, network=False)
    world.run(3600)
    world.execute(InjectFault("m-0001", "leak", duration=3600))
    world.run(3 * 3600)
    assert not world.devices["m-0001"].bias  # the leak ended: nothing left behind
