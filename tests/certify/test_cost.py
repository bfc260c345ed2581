"""SZ-COST-01 (platform cost against the profile's budget) on synthetic records, and the
budget's strict validation. The sample apps' verdicts on real endpoints are in test_examples.py."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from smartzone.certify.profile import Budget, Profile, load_profile
from smartzone.certify.records import DeviceFacts, FilterCost, ModbusRec, Observations, Stamp, SubscribeRec
from smartzone.certify.rules import RULE_IDS, evaluate
from smartzone.certify.rules_cost import peak_sum
from smartzone.certify.verdicts import Verdict
from smartzone.definitions.errors import DefinitionError

SPOT = "sz/v2/tv/comune/parking-spot/p-1/telemetry"
TENANT = "sz/v2/tv/comune/#"


def at(wall: float) -> Stamp:
    return Stamp(wall, wall * 60)


def quiet() -> Observations:
    """An app that watches one spot and reads the catalog once: 600 s simulated in 10 s."""
    obs = Observations("tv", "app", 60.0, wall_duration=10.0, sim_duration=600.0)
    obs.devices = {f"p-{i}": DeviceFacts("parking-spot", "comune", 60.0) for i in range(1, 31)}
    for flt, n, size, retained in ((SPOT, 10, 120, 1), ("sz/v2/tv/comune/catalog", 1, 4000, 1)):
        obs.subscribes.append(SubscribeRec(at(0.5), 1, flt, 0, True))
        obs.filter_costs[flt] = FilterCost(flt, at(0.5), 1, n, n * size, retained)
        obs.deliveries["p-1"] += n
        obs.delivered_bytes += n * size
        obs.retained_by_second[0] += retained
    return obs


def cost(obs: Observations, budget: Budget | None = None) -> Verdict:
    profile = Profile(budget=budget or Budget())
    return next(v for v in evaluate(obs, profile) if v.id == "SZ-COST-01")


def test_a_narrow_app_is_within_the_default_budget() -> None:
    v = cost(quiet())
    assert v.verdict == "pass" and v.level == "MUST"
    assert v.counts["messages_per_second"] == pytest.approx(11 / 600, abs=1e-3)
    assert v.counts["retained_per_subscribe"] == 1 and v.counts["wide_subscriptions"] == 0
    assert "SUBSCRIBE sz/v2/tv/comune/catalog" in v.examples[0].text  # the costliest first (bytes)


def test_nothing_to_judge_is_not_applicable() -> None:
    obs = Observations("tv", "app", 60.0, wall_duration=10.0, sim_duration=600.0)
    assert cost(obs).verdict == "not applicable"


def test_a_tenant_wide_subscription_that_pulls_every_retained_document_fails() -> None:
    obs = quiet()
    obs.subscribes += [SubscribeRec(at(1.0), 1, TENANT, 2, True), SubscribeRec(at(5.0), 2, TENANT, 2, True)]
    obs.filter_costs[TENANT] = FilterCost(TENANT, at(1.0), subscribes=2, messages=3000, bytes=900_000, retained=180)
    obs.deliveries["p-2"] += 3000
    obs.delivered_bytes += 900_000
    obs.retained_by_second.update({1: 90, 5: 90})
    v = cost(obs)
    assert v.verdict == "fail"
    assert v.counts["retained_per_subscribe"] == 90
    assert v.counts["retained_per_minute"] == 182  # with the catalog and spot of quiet()
    assert v.counts["messages_per_second"] > 5 and v.counts["bytes_per_second"] > 1500
    assert "retained per subscribe 90 > 50" in v.summary and "messages per second" in v.summary
    top = v.examples[0].text
    assert top.startswith(f"SUBSCRIBE {TENANT} (tenant): 3000 messages (5.00/s simulated), 900.0 kB")
    assert "180 retained documents on 2 subscribes (90 each)" in top
    for cheaper in ("not to wide filters", "catalog once", "poll Modbus less often"):  # guidance to cheaper calls
        assert cheaper in v.guidance
    # a city may allow more
    roomy = Budget(messages_per_second=10, bytes_per_second=5000, retained_per_subscribe=100, retained_per_minute=500)
    assert cost(obs, roomy).verdict == "pass"


def test_a_resubscribe_loop_fetches_too_many_retained_documents_a_minute() -> None:
    obs = quiet()
    flt = "sz/v2/tv/comune/catalog"
    obs.filter_costs[flt] = FilterCost(flt, at(0.5), subscribes=300, messages=300, bytes=1_200_000, retained=300)
    obs.retained_by_second = Counter({s: 30 for s in range(10)})  # 30 a second for 10 s
    v = cost(obs)
    assert v.verdict == "fail" and v.counts["retained_per_minute"] == 300
    assert "retained per minute 300 > 200" in v.summary
    assert any("on 300 subscribes (1 each)" in e.text for e in v.examples)


def test_wide_filters_and_modbus_reads_count_against_the_budget() -> None:
    obs = quiet()
    wide = ["sz/v2/tv/comune/+/+/telemetry", "sz/v2/tv/comune/parking-spot/+/status", "sz/v2/tv/+/#"]
    obs.subscribes += [SubscribeRec(at(1.0), 1, f, 0, True) for f in wide]
    obs.subscribes.append(SubscribeRec(at(1.0), 1, "#", 0, False))  # refused: costs nothing
    for k in range(2000):  # 200 requests a second of 12 registers for 10 s
        obs.modbus.append(ModbusRec(at(k / 200), "city/5000", "city", 1, "p-1", 4, "input", 0, 12, None))
    v = cost(obs)
    assert v.verdict == "fail" and v.counts["wide_subscriptions"] == 3
    assert v.counts["modbus_registers_per_second"] == pytest.approx(2400, rel=0.01)
    assert "wide subscriptions 3 > 2" in v.summary and "modbus registers per second" in v.summary
    texts = [e.text for e in v.examples]
    assert texts[0].startswith("wide filters: ") and "sz/v2/tv/+/#" in texts[0]
    assert any(t.startswith("Modbus city unit 1 fc 4 @0 x12: 2000 requests") for t in texts)


def test_peak_sum_finds_the_busiest_window() -> None:
    assert peak_sum(Counter(), 60) == 0
    assert peak_sum(Counter({0: 5, 30: 5, 59: 5, 61: 100}), 60) == 110
    assert peak_sum(Counter({0: 5, 30: 5, 59: 5}), 60) == 15


def test_the_budget_is_strict_and_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "schema_version: 1\nbudget:\n  messages_per_second: 0\n  retained_per_subscrib: 10\n"
        "  modbus_registers_per_second: lots\n",
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as err:
        load_profile(path, {}, set(RULE_IDS))
    text = str(err.value)
    assert "p.yaml:3:" in text and "budget.messages_per_second" in text
    assert "p.yaml:4:" in text and "retained_per_subscrib" in text
    assert "p.yaml:5:" in text and "budget.modbus_registers_per_second" in text
    path.write_text("schema_version: 1\nbudget: {messages_per_second: 0.5, wide_subscriptions: 0}\n", encoding="utf-8")
    budget = load_profile(path, {}, set(RULE_IDS)).budget
    assert budget.messages_per_second == 0.5 and budget.wide_subscriptions == 0 and budget.retained_per_subscribe == 50
