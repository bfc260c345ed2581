"""Statistics of a single emulated link: loss, bursts, latency percentiles, duplicates, reorder, rate.

Plain simpy.Environment, fixed seeds: each test drives N readings through one Link and
compares what arrived with what the profile promises.
"""

from __future__ import annotations

import itertools
import statistics

import pytest
from netkit import drive

from smartzone.core.events import Reading
from smartzone.core.network.profiles import LinkProfile, resolve
from smartzone.definitions.network import GilbertElliott, ProfileSpec


def custom(**fields: object) -> LinkProfile:
    return resolve("custom", {"custom": ProfileSpec.model_validate(fields)})


@pytest.mark.parametrize("loss", [0.01, 0.05, 0.2])
def test_random_loss_matches_configured_rate(loss: float) -> None:
    n = 20000
    link, got = drive(custom(loss=loss), n)
    measured = 1 - len(got) / n
    sigma = (loss * (1 - loss) / n) ** 0.5
    assert abs(measured - loss) < 5 * sigma + 1e-4
    assert link.up.sent == n and link.up.drops == {"loss": n - len(got)}
    assert link.up.delivered == len(got)


def _loss_runs(got: list[Reading], n: int) -> list[int]:
    arrived = {r.seq for r in got}
    runs, run = [], 0
    for seq in range(1, n + 1):
        if seq in arrived:
            if run:
                runs.append(run)
            run = 0
        else:
            run += 1
    return runs


def test_gilbert_elliott_loss_comes_in_bursts() -> None:
    n = 40000
    ge = GilbertElliott(p=0.02, r=0.2, bad_loss=1.0, good_loss=0.0)
    _, got = drive(custom(loss=ge.model_dump()), n)
    measured = 1 - len(got) / n
    assert abs(measured - ge.mean_loss()) < 0.015  # 9.1 %
    bursty = statistics.mean(_loss_runs(got, n))
    assert 4.0 < bursty < 6.0  # mean burst length 1/r = 5
    _, plain = drive(custom(loss=ge.mean_loss()), n)
    assert statistics.mean(_loss_runs(plain, n)) < 1.3  # same rate, independent: bursts of ~1.1
    assert bursty > 3 * statistics.mean(_loss_runs(plain, n))


@pytest.mark.parametrize("name", ["lte-m", "4g", "lorawan-sf9"])
def test_latency_percentiles_match_normal_profile(name: str) -> None:
    profile = resolve(name, {})
    if name == "lte-m":  # paretonormal: check the normal reference profile instead
        profile = custom(delay="100ms", jitter="30ms", distribution="normal")
    link, got = drive(profile, 20000, interval=60.0)
    delays = sorted(r.t - r.measured_at for r in got)
    base = profile.delay + profile.serialisation
    p50, p95 = delays[len(delays) // 2], delays[int(len(delays) * 0.95)]
    assert p50 == pytest.approx(base, rel=0.03, abs=0.002)
    assert p95 == pytest.approx(base + 1.645 * profile.jitter, rel=0.03, abs=0.002)
    summary = link.up.latency.summary()  # the histogram agrees with the exact values
    assert summary["p50"] == pytest.approx(p50, rel=0.03)
    assert summary["p95"] == pytest.approx(p95, rel=0.03)


def test_nbiot_latency_is_about_0_8_s_and_never_above_the_10_s_ceiling() -> None:
    profile = resolve("nbiot", {})
    _, got = drive(profile, 20000, interval=60.0)
    delays = sorted(r.t - r.measured_at for r in got)
    assert 0.7 < delays[len(delays) // 2] < 0.95
    assert max(delays) <= 10.0 + profile.serialisation + 1e-9
    assert delays[int(len(delays) * 0.999)] > 1.3  # the Pareto quarter gives a tail


def test_uniform_jitter_stays_in_its_band() -> None:
    _, got = drive(custom(delay="200ms", jitter="50ms"), 5000)
    delays = [r.t - r.measured_at for r in got]
    assert min(delays) >= 0.15 - 1e-9 and max(delays) <= 0.25 + 1e-9
    assert statistics.mean(delays) == pytest.approx(0.2, abs=0.003)


def test_duplicates_arrive_twice_with_the_same_seq() -> None:
    n = 20000
    link, got = drive(custom(delay="50ms", jitter="10ms", duplicate="2%"), n)
    seqs = [r.seq for r in got]
    extra = len(seqs) - len(set(seqs))
    assert extra == link.up.duplicated
    assert abs(extra / n - 0.02) < 0.005
    assert link.up.delivered == n  # delivered counts each reading once


def test_reorder_sends_a_share_without_the_delay() -> None:
    n = 10000
    _, got = drive(custom(delay="2s", reorder="10%"), n, interval=0.5)
    immediate = sum(1 for r in got if r.t - r.measured_at < 1e-9)
    assert abs(immediate / n - 0.10) < 0.015
    order = [r.seq for r in got]
    assert order != sorted(order)  # later readings overtook earlier ones


def test_rate_serialises_messages_fifo() -> None:
    # 100-byte messages on a 8 kbit link take 0.1 s each; sent every 0.05 s they queue up
    _, got = drive(custom(rate="8kbit", packet_bytes=100), 100, interval=0.05)
    arrivals = [r.t for r in sorted(got, key=lambda r: r.seq)]
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert all(g == pytest.approx(0.1) for g in gaps)
    assert arrivals[-1] == pytest.approx(100 * 0.1)


def test_measured_is_the_send_time_and_t_the_arrival() -> None:
    _, got = drive(custom(delay="1s"), 10, interval=10.0)
    assert [r.measured for r in got] == [10.0 * i for i in range(10)]
    assert [r.t for r in got] == [10.0 * i + 1.0 for i in range(10)]
