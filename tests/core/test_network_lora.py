"""LoRa time on air (Semtech formula) and the EU868 duty-cycle gate."""

from __future__ import annotations

import itertools

import pytest
from netkit import drive

from smartzone.core.network.lora import time_on_air
from smartzone.core.network.profiles import resolve


def test_reference_airtime_sf9_125khz_cr45_12_bytes() -> None:
    assert time_on_air(12, 9, 125, 1) * 1000 == pytest.approx(144.384, abs=1e-9)


@pytest.mark.parametrize(
    ("sf", "ms"),  # Semtech LoRa calculator, 12-byte payload, 125 kHz, CR 4/5, 8 preamble symbols
    [(7, 41.216), (8, 82.432), (9, 144.384), (10, 288.768), (11, 577.536), (12, 1155.072)],
)
def test_airtime_per_spreading_factor(sf: int, ms: float) -> None:
    assert time_on_air(12, sf) * 1000 == pytest.approx(ms, abs=1e-6)
    assert resolve(f"lorawan-sf{sf}", {}).airtime * 1000 == pytest.approx(ms, abs=1e-6)


def test_low_data_rate_optimisation_only_for_sf11_sf12_at_125khz() -> None:
    assert time_on_air(12, 12, 125, 1, low_dr_optimize=False) < time_on_air(12, 12)
    assert time_on_air(12, 12, 250) == pytest.approx(time_on_air(12, 12, 250, low_dr_optimize=False))


def test_longer_payload_takes_longer() -> None:
    assert time_on_air(51, 9) > time_on_air(12, 9) > time_on_air(1, 9)


@pytest.mark.parametrize("sf", [7, 9, 12])
def test_duty_cycle_caps_the_send_rate(sf: int) -> None:
    profile = resolve(f"lorawan-sf{sf}", {})
    interval, n = 5.0, 5000  # the device wants a reading every 5 s: far above 1 % at any SF
    link, got = drive(profile, n, interval=interval)
    duration = n * interval
    allowed = duration * profile.duty_cycle / profile.airtime + 1
    assert link.up.sent <= allowed
    assert link.up.sent + link.up.throttled == n
    starts = sorted(r.measured_at for r in got)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= profile.airtime / profile.duty_cycle - 1e-9
    busy = len(got) * profile.airtime
    assert busy / duration <= profile.duty_cycle + 1e-9


def test_slow_reports_are_not_throttled() -> None:
    link, _ = drive(resolve("lorawan-sf12", {}), 200, interval=600.0)
    assert link.up.throttled == 0 and link.up.sent == 200
