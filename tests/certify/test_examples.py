"""`smartzone certify` on the sample apps, with real endpoints on free ports, rule by rule.

Each run: the certville fixture city at x60 for 8 simulated minutes (about 8 s of wall
time), the app as a real subprocess (paho / pymodbus), every probe. The good app must get
no warning and no failure on both broker backends; each misbehaving app must trip exactly
the rules it was written to trip, and leave the unrelated ones alone.
"""

from __future__ import annotations

import json
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from smartzone.cli import main

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
CITY = HERE / "certville.yaml"
PROFILE = HERE / "fast-profile.yaml"
NOT_FAILED = {"pass", "not applicable"}

pytestmark = pytest.mark.timeout(120)


def certify(app: str, report: Path, *extra: str, broker: str = "embedded") -> tuple[int, dict[str, Any]]:
    argv = [
        "certify",
        str(CITY),
        "--app",
        f"{sys.executable} {ROOT / 'examples' / app}",
        "--user",
        "demo-app",
        "--duration",
        "8min",
        "--speed",
        "60",
        "--report",
        str(report),
        "--broker",
        broker,
        "--profile",
        str(PROFILE),
        *extra,
    ]
    code = main(argv)
    doc = json.loads((report / "report.json").read_text(encoding="utf-8"))
    return code, doc


def verdicts(doc: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["verdict"] for r in doc["rules"]}


@pytest.mark.parametrize("broker", ["embedded", "mosquitto"])
def test_good_app_passes_without_a_single_warning(tmp_path: Path, broker: str) -> None:
    if broker == "mosquitto" and not has_mosquitto():
        pytest.skip("mosquitto is not installed")
    code, doc = certify("good_app.py", tmp_path, broker=broker)
    v = verdicts(doc)
    assert code == 0, doc["rules"]
    assert doc["result"] == "pass" and doc["run"]["broker"] == broker
    noisy = {k: x for k, x in v.items() if x not in NOT_FAILED}
    assert not noisy, [r for r in doc["rules"] if r["id"] in noisy]
    # the rules really looked at something: probes ran, the app was observed on both endpoints
    assert [p["name"] for p in doc["probes"]] == ["devices_offline", "degraded_network", "duplicates", "broker_restart"]
    assert "restarted the broker process" in doc["probes"][3]["detail"]  # the real process, not a pretence
    for rule in (
        "SZ-APP-01",
        "SZ-SUB-01",
        "SZ-SUB-02",
        "SZ-CONN-01",
        "SZ-CONN-02",
        "SZ-CONN-03",
        "SZ-ACL-01",
        "SZ-CMD-01",
        "SZ-CMD-02",
        "SZ-CMD-03",
        "SZ-MB-01",
        "SZ-MB-02",
        "SZ-MB-03",
        "SZ-PROBE-01",
        "SZ-COST-01",
    ):
        assert v[rule] == "pass", (rule, doc["rules"])
    assert v["EXP-backup-light"] == "pass"  # the profile's expectation, triggered by the offline probe
    assert doc["observed"]["subscribes"] >= 4 and doc["observed"]["modbus_requests"] >= 3
    first = doc["connections"][0]
    assert first["client_id"] == "demo-app-app" and first["user"] == "demo-app" and first["refused"] is None
    subs = [s for c in doc["connections"] for s in c["subscriptions"]]
    assert any(s["filter"].endswith("/telemetry") and s["allowed"] for s in subs)
    assert doc["modbus_clients"] and doc["modbus_clients"][0]["functions"] == {"4": doc["observed"]["modbus_requests"]}
    # the reports for people and CI
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "SZ-CONN-02" in html and "Timeline" in html and "broker_restart" in html
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert len(suite.findall("testcase")) == len(doc["rules"]) and suite.get("failures") == "0"


def has_mosquitto() -> bool:
    return shutil.which("mosquitto") is not None or Path("/usr/sbin/mosquitto").exists()


@pytest.mark.parametrize("broker", ["embedded", "mosquitto"])
def test_greedy_app_reads_too_much(tmp_path: Path, broker: str) -> None:
    if broker == "mosquitto" and not has_mosquitto():
        pytest.skip("mosquitto is not installed")
    code, doc = certify("greedy_app.py", tmp_path, broker=broker)
    v = verdicts(doc)
    assert code == 1 and doc["result"] == "fail"
    assert v["SZ-SUB-01"] == "fail" and v["SZ-ACL-01"] == "fail"
    assert v["SZ-API-01"] == "fail"  # a SHOULD raised to MUST by the profile
    assert v["SZ-SUB-02"] == "warn" and v["SZ-TRAFFIC-01"] == "warn" and v["SZ-QOS-01"] == "warn"
    for rule in ("SZ-APP-01", "SZ-CONN-01", "SZ-CMD-01", "SZ-CMD-02", "SZ-CMD-03", "SZ-PUB-01"):
        assert v[rule] in NOT_FAILED, rule
    acl = next(r for r in doc["rules"] if r["id"] == "SZ-ACL-01")["counts"]
    assert acl["denied_subscribes"] >= 2 and acl["denied_subscribes"] == acl["broker_counted_subscribe"]
    cost = next(r for r in doc["rules"] if r["id"] == "SZ-COST-01")  # a tenant-wide filter pulls every document
    assert v["SZ-COST-01"] == "fail" and "retained per subscribe" in cost["summary"], cost
    assert any(e["text"].startswith("SUBSCRIBE sz/v2/certville/comune/# (tenant): ") for e in cost["examples"]), cost
    assert cost["counts"]["retained_per_subscribe"] > 50 and cost["counts"]["messages_delivered"] > 0
    sub = next(r for r in doc["rules"] if r["id"] == "SZ-SUB-01")
    assert any("SUBSCRIBE # " in e["text"] for e in sub["examples"])
    assert all(e["sim"].startswith("2026-11-23T07:") for e in sub["examples"])
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    failed = {c.get("name", "").split()[0] for c in suite.findall("testcase") if c.find("failure") is not None}
    assert failed == {k for k, x in v.items() if x == "fail"}
    warned = {
        c.get("name", "").split()[0]
        for c in suite.iter("testcase")
        if any(p.get("name") == "warning" for p in c.iter("property"))
    }
    assert warned == {k for k, x in v.items() if x == "warn"}


def test_flood_app_floods_with_bad_commands(tmp_path: Path) -> None:
    code, doc = certify("flood_app.py", tmp_path)
    v = verdicts(doc)
    assert code == 1
    for rule in ("SZ-PUB-01", "SZ-CMD-01", "SZ-CMD-02", "SZ-CMD-03"):
        assert v[rule] == "fail", rule
    for rule in ("SZ-APP-01", "SZ-SUB-01", "SZ-ACL-01", "SZ-CONN-01", "SZ-QOS-01"):
        assert v[rule] in NOT_FAILED, rule


def test_stubborn_app_hammers_an_offline_device(tmp_path: Path) -> None:
    code, doc = certify("stubborn_app.py", tmp_path)
    v = verdicts(doc)
    assert code == 1
    assert v["SZ-CMD-04"] == "fail" and v["SZ-PROBE-01"] == "fail"
    for rule in ("SZ-APP-01", "SZ-SUB-01", "SZ-ACL-01", "SZ-CMD-02", "SZ-CMD-03", "SZ-CONN-01"):
        assert v[rule] in NOT_FAILED, rule


def test_stormy_app_reconnects_without_backoff(tmp_path: Path) -> None:
    code, doc = certify("stormy_app.py", tmp_path)
    v = verdicts(doc)
    assert code == 1
    assert v["SZ-CONN-01"] == "fail" and v["SZ-CONN-03"] == "warn"
    for rule in ("SZ-APP-01", "SZ-ACL-01", "SZ-SUB-01", "SZ-PUB-01"):
        assert v[rule] in NOT_FAILED, rule


def test_modbus_hammer_polls_too_fast_and_illegally(tmp_path: Path) -> None:
    code, doc = certify("modbus_hammer.py", tmp_path)
    v = verdicts(doc)
    assert code == 1
    assert v["SZ-MB-01"] == "warn" and v["SZ-MB-02"] == "fail" and v["SZ-MB-03"] == "fail"
    assert v["SZ-APP-01"] == "pass"
    mb2 = next(r for r in doc["rules"] if r["id"] == "SZ-MB-02")
    assert mb2["counts"]["illegal_data_address"] >= 1 and "@200" in mb2["examples"][0]["text"]
    cost = next(r for r in doc["rules"] if r["id"] == "SZ-COST-01")  # the costliest request is named
    assert v["SZ-COST-01"] == "fail" and cost["counts"]["modbus_registers_per_second"] > 100
    assert any(e["text"].startswith("Modbus city unit ") and "registers/s" in e["text"] for e in cost["examples"])


def test_fragile_app_crashes_on_a_bad_day(tmp_path: Path) -> None:
    code, doc = certify("fragile_app.py", tmp_path)
    v = verdicts(doc)
    assert code == 1
    assert v["SZ-APP-01"] == "fail"
    app = next(r for r in doc["rules"] if r["id"] == "SZ-APP-01")
    assert "probe" in app["summary"] and "FATAL" in doc["app_output_tail"]


def test_bad_input_exits_2_with_a_located_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nthresholds:\n  max_connects_per_minute: -1\n  max_fun: 3\n", encoding="utf-8")
    assert (
        main(
            [
                "certify",
                str(CITY),
                "--app",
                "true",
                "--user",
                "demo-app",
                "--profile",
                str(bad),
                "--report",
                str(tmp_path / "r"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "bad.yaml:3:" in err and "thresholds.max_connects_per_minute" in err
    assert "bad.yaml:4:" in err and "unknown key 'max_fun'" in err
    refs = tmp_path / "refs.yaml"
    refs.write_text(
        "schema_version: 1\nrules: {SZ-NOPE-01: {enabled: false}}\nexpect:\n"
        "  - id: x\n    when: {device: nope, signal: status, equals: occupied}\n"
        "    then: {publish: a/b, within: 5s}\n"
        "  - id: y\n    when: {device: cp-0001, signal: colour, equals: red}\n"
        "    then: {publish: a/b, within: 5s}\n",
        encoding="utf-8",
    )
    assert (
        main(
            [
                "certify",
                str(CITY),
                "--app",
                "true",
                "--user",
                "demo-app",
                "--profile",
                str(refs),
                "--report",
                str(tmp_path / "r"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "refs.yaml:2:" in err and "unknown rule 'SZ-NOPE-01'" in err
    assert "refs.yaml:5:" in err and "no device 'nope'" in err
    assert "refs.yaml:8:" in err and "has no signal 'colour'" in err
    assert main(["certify", str(CITY), "--app", "true", "--user", "mallory", "--report", str(tmp_path / "r")]) == 2
    assert "no user 'mallory'" in capsys.readouterr().err
    assert (
        main(
            [
                "certify",
                str(CITY),
                "--app",
                "true",
                "--user",
                "demo-app",
                "--broker",
                "mqtt://127.0.0.1:1",
                "--report",
                str(tmp_path / "r"),
            ]
        )
        == 2
    )
    assert not (tmp_path / "r").exists()


def test_busy_port_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(
            [
                "certify",
                str(CITY),
                "--app",
                "true",
                "--user",
                "demo-app",
                "--broker",
                "embedded",
                "--mqtt-port",
                str(port),
                "--report",
                str(tmp_path / "r"),
            ]
        )
    assert code == 3
    assert str(port) in capsys.readouterr().err
