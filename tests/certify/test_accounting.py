"""The publish accounting and the command rule on synthetic records, with the real device types."""

from __future__ import annotations

import json

from smartzone.certify.accounting import KINDS, account, kind_of
from smartzone.certify.profile import Profile
from smartzone.certify.records import CommandRec, DeviceFacts, Observations, PublishRec, Stamp
from smartzone.certify.report import TIMELINE_MAX, RunInfo, timeline
from smartzone.certify.rules import evaluate
from smartzone.definitions.catalog import Catalog

LIGHT = "sz/v2/tv/comune/street-light/l-1/cmd"
SPOT = "sz/v2/tv/comune/parking-spot/p-1/cmd"


def obs_with_types(catalog: Catalog) -> Observations:
    obs = Observations("tv", "app", 60.0, wall_duration=10.0, sim_duration=600.0)
    obs.devices = {
        "l-1": DeviceFacts("street-light", "comune", 60.0),
        "p-1": DeviceFacts("parking-spot", "comune", 60.0),
        "x-1": DeviceFacts("parking-spot", "acme", 60.0),
    }
    obs.types = dict(catalog.types)
    return obs


def pub(
    wall: float, topic: str, body: object, *, allowed: bool = True, qos: int = 0, retain: bool = False
) -> PublishRec:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return PublishRec(Stamp(wall, wall * 60), 1, topic, qos, retain, len(raw), allowed, raw)


def cmd(i: int, action: str, params: dict) -> dict:
    return {"id": f"c{i}", "action": action, "params": params}


MIX = [
    ("command", LIGHT, cmd(1, "dim", {"level": 40}), True),
    ("unknown_action", SPOT, cmd(2, "dim", {"level": 40}), True),  # a parking spot cannot dim
    ("unknown_action", LIGHT, cmd(3, "blink", {}), True),
    ("invalid_params", LIGHT, cmd(4, "dim", {"level": 101}), True),
    ("invalid_params", LIGHT, {"id": "c5", "action": "dim", "params": [1]}, True),
    ("malformed", LIGHT, b"{nope", True),
    ("malformed", "sz/v2/tv/comune/street-light/p-1/cmd", cmd(6, "dim", {"level": 1}), True),  # wrong type
    ("forbidden", "sz/v2/tv/comune/parking-spot/x-1/cmd", cmd(7, "dim", {"level": 1}), True),  # acme's device
    ("cleared", LIGHT, b"", True),
    ("not_command", "sz/v2/tv/comune/street-light/l-1/note", b"hi", True),
    ("denied", "sz/v2/tv/acme/parking-spot/x-1/cmd", cmd(8, "dim", {"level": 1}), False),
]


def test_each_publish_has_exactly_one_kind_and_the_totals_add_up(catalog: Catalog) -> None:
    obs = obs_with_types(catalog)
    for i, (_, topic, body, allowed) in enumerate(MIX):
        obs.publishes.append(pub(float(i), topic, body, allowed=allowed, qos=i % 2, retain=i == 0))
    obs.publishes.append(pub(20.0, LIGHT, cmd(1, "dim", {"level": 40})))  # not the first's row: retain differs
    assert [kind_of(obs, p) for p in obs.publishes[: len(MIX)]] == [k for k, *_ in MIX]
    acc = account(obs)
    assert acc["total"] == len(MIX) + 1 == sum(acc["by_kind"].values()) == sum(r["count"] for r in acc["rows"])
    assert set(acc["by_kind"]) == set(KINDS) and acc["by_kind"]["command"] == 2 and acc["retained"] == 1
    assert acc["by_qos"] == {"0": 7, "1": 5, "2": 0}


def test_unknown_actions_count_even_when_the_engine_never_answered(catalog: Catalog) -> None:
    obs = obs_with_types(catalog)
    for i, (_, topic, body, allowed) in enumerate(MIX):
        obs.publishes.append(pub(float(i), topic, body, allowed=allowed))
    # the engine answered only one of them; a Modbus write it refused counts too, once
    obs.commands.append(CommandRec(Stamp(2.1, 126.0), "p-1", "c2", "dim", "mqtt", False, "unknown_action"))
    obs.commands.append(CommandRec(Stamp(3.0, 180.0), "l-1", None, "dim", "modbus", False, "invalid_params"))
    v = {x.id: x for x in evaluate(obs, Profile())}["SZ-CMD-03"]
    assert v.verdict == "fail"
    assert v.counts["unknown_action"] == 2 and v.counts["invalid_params"] == 3 and v.counts["malformed"] == 2
    assert v.counts["invalid"] == 7 and v.counts["commands"] == len(MIX) - 3 + 1  # not denied/cleared/note
    assert "2 unknown_action" in v.summary


def test_a_thinned_timeline_says_what_it_left_out(catalog: Catalog) -> None:
    from datetime import UTC, datetime

    obs = obs_with_types(catalog)
    obs.publishes += [pub(i / 100, LIGHT, cmd(i, "dim", {"level": 5})) for i in range(TIMELINE_MAX + 50)]
    info = RunInfo("s", "tv", "app", "a", "embedded", 60.0, 1, datetime(2026, 1, 1, tzinfo=UTC), False)
    lines = timeline(info, obs)
    assert len(lines) == TIMELINE_MAX
    shown = sum(t["kind"] == "publish" for t in lines)
    assert lines[-1]["kind"] == "note" and f"not shown {TIMELINE_MAX + 50 - shown} publish" in lines[-1]["text"]


def test_a_command_to_another_tenants_device_is_outside_the_grants(catalog: Catalog) -> None:
    obs = obs_with_types(catalog)
    obs.publishes.append(pub(1.0, "sz/v2/tv/comune/parking-spot/x-1/cmd", cmd(1, "dim", {"level": 1})))
    obs.publishes.append(pub(2.0, LIGHT, cmd(2, "dim", {"level": 1})))
    v = {x.id: x for x in evaluate(obs, Profile())}["SZ-ACL-01"]
    assert v.verdict == "fail" and v.counts["commands_to_other_tenants"] == 1 and v.counts["denied_publishes"] == 0
    assert "another tenant" in v.examples[0].text
