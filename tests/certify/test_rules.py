"""Rule logic on synthetic observation records (pure tier: no sockets, no threads)."""

from __future__ import annotations

import json

import pytest

from smartzone.certify.profile import Expectation, Profile, Thresholds
from smartzone.certify.records import (
    AckRec,
    CommandRec,
    ConnectRec,
    DeviceFacts,
    ModbusRec,
    Observations,
    ProbeRec,
    PublishRec,
    Stamp,
    StatusRec,
    SubscribeRec,
    ValueRec,
)
from smartzone.certify.rules import RULES, evaluate, passed
from smartzone.certify.usage import breadth
from smartzone.certify.verdicts import max_in_window

CITY = "tv"
SPOT = "sz/v2/tv/comune/parking-spot/{}/telemetry"
LIGHT_CMD = "sz/v2/tv/comune/street-light/l-1/cmd"


def at(wall: float) -> Stamp:
    return Stamp(wall, wall * 60)


def base() -> Observations:
    obs = Observations(
        CITY,
        "app",
        60.0,
        wall_duration=60.0,
        sim_duration=3600.0,
        backend="embedded",
    )
    obs.devices = {f"p-{i}": DeviceFacts("parking-spot", "comune", 60.0) for i in range(1, 21)}
    obs.devices["l-1"] = DeviceFacts("street-light", "comune", 60.0)
    obs.connects.append(ConnectRec(at(0.1), 1, "app", "app-1", 4, True))
    return obs


def cmd(wall: float, payload: object = None, retain: bool = False, qos: int = 1, topic: str = LIGHT_CMD) -> PublishRec:
    body = (
        payload
        if isinstance(payload, bytes)
        else json.dumps(payload or {"id": f"c{wall}", "action": "dim", "params": {"level": 10}}).encode()
    )
    return PublishRec(at(wall), 1, topic, qos, retain, len(body), True, body)


def verdicts(obs: Observations, profile: Profile | None = None, outage: tuple[float, float] | None = None) -> dict:
    return {v.id: v for v in evaluate(obs, profile or Profile(), outage)}


def test_rule_ids_are_unique_and_documented() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "certify.md").read_text(encoding="utf-8")
    missing = [i for i in ids if i not in doc]
    assert not missing, f"rules missing from docs/certify.md: {missing}"


def test_a_quiet_well_behaved_app_passes_everything() -> None:
    obs = base()
    obs.subscribes += [SubscribeRec(at(0.2), 1, SPOT.format(f"p-{i}"), 0, True) for i in (1, 2)]
    obs.publishes.append(cmd(5.0))
    obs.commands.append(CommandRec(at(5.1), "l-1", "c5.0", "dim", "mqtt", True, None))
    obs.deliveries.update({"p-1": 10, "p-2": 10, "l-1": 2})
    v = verdicts(obs)
    assert passed(list(v.values()))
    assert {x.verdict for x in v.values()} <= {"pass", "not applicable"}
    assert v["SZ-TRAFFIC-01"].verdict == "pass" and v["SZ-SUB-02"].verdict == "pass"


@pytest.mark.parametrize(
    ("flt", "kind"),
    [
        ("#", "global"),
        ("+/#", "global"),
        ("sz/#", "global"),
        ("sz/v2/+/comune/#", "global"),
        ("sz/v2/tv/#", "city"),
        ("sz/v2/tv/+/parking-spot/+/telemetry", "city"),
        ("icity/tv/+/data", "city"),
        ("sz/v2/tv/comune/#", "tenant"),
        ("sz/v2/tv/comune/parking-spot/+/telemetry", "tenant"),
        ("sz/v2/tv/comune/parking-spot/p-1/telemetry", "narrow"),
        ("sz/v2/tv/comune/parking-spot/p-1/#", "narrow"),
    ],
)
def test_breadth_of_filters(flt: str, kind: str) -> None:
    assert breadth(base(), flt) == kind


def test_global_wildcard_fails_even_when_refused_and_counts_as_outside_grants() -> None:
    obs = base()
    obs.subscribes.append(SubscribeRec(at(1.0), 1, "#", 0, False))
    v = verdicts(obs)
    assert v["SZ-SUB-01"].verdict == "fail"
    assert v["SZ-SUB-01"].examples[0].at.wall == 1.0
    assert v["SZ-ACL-01"].verdict == "fail" and v["SZ-ACL-01"].counts["denied_subscribes"] == 1


def test_tenant_wide_subscription_for_one_device_warns_and_traffic_ratio() -> None:
    obs = base()
    obs.subscribes.append(SubscribeRec(at(0.2), 1, "sz/v2/tv/comune/#", 0, True))
    obs.publishes.append(cmd(3.0))
    obs.deliveries.update({f"p-{i}": 10 for i in range(1, 21)} | {"l-1": 10})
    v = verdicts(obs)
    assert v["SZ-SUB-02"].verdict == "warn"  # 21 devices, uses l-1 only
    assert v["SZ-TRAFFIC-01"].verdict == "warn" and v["SZ-TRAFFIC-01"].counts["ratio"] == 21.0
    declared = Profile(app={"uses": sorted(obs.devices)})  # the profile says it reads them all
    v = verdicts(obs, declared)
    assert v["SZ-SUB-02"].verdict == "pass" and v["SZ-TRAFFIC-01"].verdict == "pass"


def test_v1_use_warns_and_level_can_be_raised_by_the_profile() -> None:
    obs = base()
    obs.subscribes.append(SubscribeRec(at(0.5), 1, "icity/tv/p-1/data", 0, False))
    assert verdicts(obs)["SZ-API-01"].verdict == "warn"
    strict = Profile(rules={"SZ-API-01": {"level": "MUST"}, "SZ-QOS-01": {"enabled": False}})
    v = verdicts(obs, strict)
    assert v["SZ-API-01"].verdict == "fail" and "SZ-QOS-01" not in v


def test_reconnect_storm_and_outage_backoff() -> None:
    obs = base()
    obs.connects += [ConnectRec(at(1 + i * 0.2), i + 2, "app", f"app-{i}", 4, True) for i in range(10)]
    assert verdicts(obs)["SZ-CONN-01"].verdict == "fail"
    calm = base()
    calm.connects.append(ConnectRec(at(30.0), 2, "app", "app-1", 4, True))
    outage_attempts = [ConnectRec(at(20 + i * 0.1), 10 + i, "app", "app-1", 4, True, "outage") for i in range(20)]
    calm.connects += outage_attempts  # a storm during the outage is judged by SZ-CONN-03, not SZ-CONN-01
    calm.probes.append(ProbeRec("broker_restart", at(20.0), at(23.0), "restart", ("connection 1",)))
    v = verdicts(calm, outage=(20.0, 23.0))
    assert v["SZ-CONN-01"].verdict == "pass"
    assert v["SZ-CONN-03"].verdict == "warn" and v["SZ-CONN-03"].counts["attempts_during_outage"] == 20
    assert v["SZ-CONN-02"].verdict == "pass"


def test_no_reconnect_after_the_restart_fails() -> None:
    obs = base()
    obs.probes.append(ProbeRec("broker_restart", at(20.0), at(23.0), "restart", ("connection 1",)))
    v = verdicts(obs, outage=(20.0, 23.0))
    assert v["SZ-CONN-02"].verdict == "fail"
    obs.connects.append(ConnectRec(at(60.0), 2, "app", "app", 4, True))  # later than reconnect_within (30 s)
    assert verdicts(obs, outage=(20.0, 23.0))["SZ-CONN-02"].verdict == "fail"


def test_command_flood_threshold_is_tunable() -> None:
    obs = base()
    obs.publishes += [cmd(1 + i * 5.0) for i in range(8)]  # 8 commands within 40 s
    assert verdicts(obs)["SZ-CMD-01"].verdict == "fail"
    v = verdicts(obs, Profile(thresholds=Thresholds(max_commands_per_device_per_minute=10)))
    assert v["SZ-CMD-01"].verdict == "pass"


def test_publish_rate_window() -> None:
    obs = base()
    obs.publishes += [cmd(2 + i * 0.05) for i in range(15)]
    v = verdicts(obs)
    assert v["SZ-PUB-01"].verdict == "fail" and v["SZ-PUB-01"].counts["peak_per_second"] == 15


def test_retained_and_invalid_commands() -> None:
    obs = base()
    obs.publishes += [cmd(1.0, retain=True), cmd(2.0, b"{not json"), cmd(3.0, {"id": "x", "action": "dim", "zz": 1})]
    obs.publishes.append(cmd(4.0, {"id": "y", "action": "dim", "params": {"level": 900}}))
    obs.commands.append(CommandRec(at(4.1), "l-1", "y", "dim", "mqtt", False, "invalid_params"))
    obs.acks.append(AckRec(at(4.2), "l-1", "y", False, "invalid_params"))  # the same refusal: counted once
    v = verdicts(obs)
    assert v["SZ-CMD-02"].verdict == "fail" and v["SZ-CMD-02"].counts["retained"] == 1
    assert v["SZ-CMD-03"].verdict == "fail" and v["SZ-CMD-03"].counts["invalid"] == 3
    lenient = verdicts(obs, Profile(thresholds=Thresholds(max_invalid_commands=5)))
    assert lenient["SZ-CMD-03"].verdict == "warn"  # tolerated, still reported


def test_commands_to_an_offline_device() -> None:
    obs = base()
    obs.statuses += [StatusRec(at(10.0), "l-1", False), StatusRec(at(20.0), "l-1", True)]
    obs.publishes += [cmd(10.5 + i) for i in range(6)] + [cmd(25.0)]
    v = verdicts(obs)
    assert v["SZ-CMD-04"].verdict == "fail"
    assert v["SZ-CMD-04"].counts == {"commands_to_offline_devices": 6, "beyond_retries": 4}
    polite = base()
    polite.statuses += [StatusRec(at(10.0), "l-1", False), StatusRec(at(20.0), "l-1", True)]
    polite.publishes += [cmd(10.5), cmd(25.0)]
    assert verdicts(polite)["SZ-CMD-04"].verdict == "pass"


def mb(wall: float, sim: float, exc: int | None = None, address: int = 0, fc: int = 4) -> ModbusRec:
    return ModbusRec(Stamp(wall, sim), "city/5000", "city", 1, "p-1", fc, "input", address, 4, exc)


def test_modbus_polling_illegal_and_rate() -> None:
    obs = base()
    obs.modbus += [mb(i * 0.01, i * 0.6) for i in range(40)]  # 100 req/s wall, every 0.6 s simulated
    obs.modbus += [mb(0.5, 30.0, exc=2, address=200)]
    v = verdicts(obs)
    assert v["SZ-MB-01"].verdict == "warn"
    assert v["SZ-MB-02"].verdict == "fail" and v["SZ-MB-02"].counts["illegal_data_address"] == 1
    assert v["SZ-MB-03"].verdict == "fail"
    slow = base()
    slow.modbus += [mb(i * 1.0, i * 60.0) for i in range(10)]  # once per report interval
    v = verdicts(slow)
    assert (v["SZ-MB-01"].verdict, v["SZ-MB-02"].verdict, v["SZ-MB-03"].verdict) == ("pass", "pass", "pass")


def test_qos2_warns() -> None:
    obs = base()
    obs.subscribes.append(SubscribeRec(at(0.2), 1, SPOT.format("p-1"), 2, True))
    assert verdicts(obs)["SZ-QOS-01"].verdict == "warn"


def test_crash_and_burst_during_probes() -> None:
    obs = base()
    obs.probes.append(ProbeRec("devices_offline", at(10.0), at(20.0), "1 devices offline"))
    obs.publishes += [cmd(5.0), cmd(40.0)] + [cmd(10 + i * 0.25) for i in range(30)]
    obs.app_exit, obs.app_exit_at, obs.app_output = 3, at(19.0), "boom\nTraceback: KeyError\n"
    v = verdicts(obs)
    assert v["SZ-APP-01"].verdict == "fail" and "devices_offline" in v["SZ-APP-01"].summary
    assert v["SZ-PROBE-01"].verdict == "fail"


def test_expectation_met_missed_and_not_applicable() -> None:
    exp = Expectation.model_validate(
        {
            "id": "spot-lights",
            "when": {"device": "p-1", "signal": "status", "equals": "occupied"},
            "then": {"publish": "sz/v2/tv/comune/street-light/+/cmd", "within": "5s"},
        }
    )
    profile = Profile(expect=[exp])
    obs = base()
    obs.values += [
        ValueRec(at(0.0), "p-1", {"status": "free"}),
        ValueRec(at(10.0), "p-1", {"status": "occupied"}),
        ValueRec(at(12.0), "p-1", {"status": "occupied"}),
        ValueRec(at(20.0), "p-1", {"status": "free"}),
        ValueRec(at(30.0), "p-1", {"status": "occupied"}),
    ]
    obs.publishes.append(cmd(11.5))
    v = verdicts(obs, profile)["EXP-spot-lights"]
    assert v.verdict == "fail" and v.counts["triggers"] == 2 and v.counts["met"] == 1  # 30 s: nothing
    obs.publishes.append(cmd(33.0))
    assert verdicts(obs, profile)["EXP-spot-lights"].verdict == "pass"
    quiet = base()
    quiet.values.append(ValueRec(at(0.0), "p-1", {"status": "occupied"}))  # occupied from the start: no event
    assert verdicts(quiet, profile)["EXP-spot-lights"].verdict == "not applicable"


def test_an_app_that_never_connects_is_flagged() -> None:
    obs = base()
    obs.connects.clear()
    v = verdicts(obs)
    assert v["SZ-APP-02"].verdict == "warn"


def test_max_in_window() -> None:
    assert max_in_window([], 1.0) == (0, 0.0)
    assert max_in_window([0.0, 0.5, 0.9, 2.0, 2.1], 1.0) == (3, 0.0)
    assert max_in_window([5.0, 0.0, 5.5, 5.9, 6.0], 1.0)[0] == 4


def test_poll_period_of_a_device_reporting_on_change_follows_its_changes() -> None:
    obs = base()
    obs.devices["p-1"] = DeviceFacts("parking-spot", "comune", 3600.0, on_change=True)
    obs.modbus += [mb(i * 1.0, i * 60.0) for i in range(10)]  # every simulated minute
    assert verdicts(obs)["SZ-MB-01"].verdict == "warn"  # no change seen: the heartbeat is hourly
    obs.readings["p-1"] = 60  # a change a minute on average during the hour
    assert verdicts(obs)["SZ-MB-01"].verdict == "pass"


def test_expectation_on_a_status_change() -> None:
    exp = Expectation.model_validate(
        {
            "id": "backup",
            "when": {"device": "l-1", "status": "offline"},
            "then": {"publish": "sz/v2/tv/comune/street-light/+/cmd", "within": "2s"},
        }
    )
    obs = base()
    obs.statuses += [StatusRec(at(10.0), "l-1", False), StatusRec(at(20.0), "l-1", True)]
    obs.publishes.append(cmd(10.4))
    v = verdicts(obs, Profile(expect=[exp]))["EXP-backup"]
    assert v.verdict == "pass" and v.counts["triggers"] == 1
    with pytest.raises(ValueError, match="either 'signal' and 'equals', or 'status'"):
        Expectation.model_validate({"id": "x", "when": {"device": "l-1"}, "then": {"publish": "a", "within": 1}})
