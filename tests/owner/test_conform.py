"""`smartzone conform`: every shipped type conforms; a broken owner type fails the right rules."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from smartzone.conform.payload_checks import _senml_record
from smartzone.conform.rules import RULE_IDS, Subject, commands, interval, seq
from smartzone.conform.session import judge_type, load_target
from smartzone.conform.trial import Probe, TrialResult
from smartzone.core.events import CommandResult, Reading
from smartzone.definitions.catalog import builtin_dir

ROOT = Path(__file__).parents[2]
BROKEN = ROOT / "tests" / "fixtures" / "owner" / "broken-meter.yaml"
SHIPPED = sorted(builtin_dir("devices").glob("*.yaml"))


def smartzone(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smartzone", *args], capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize(
    "path", [*SHIPPED, ROOT / "examples" / "owner" / "devices" / "acme-pm3.yaml"], ids=lambda p: p.stem
)
def test_every_shipped_type_conforms(path: Path) -> None:
    dt, catalog = load_target(path)
    verdicts = {v.id: v for v in judge_type(dt, catalog, str(path))}
    assert set(verdicts) == set(RULE_IDS)
    assert [v.id for v in verdicts.values() if v.failed] == []
    for rule in ("SZ-CONF-RANGE", "SZ-CONF-INTERVAL", "SZ-CONF-SEQ", "SZ-CONF-SENML", "SZ-CONF-NGSI"):
        assert verdicts[rule].verdict == "pass", verdicts[rule]  # judged on a real day, not skipped
    if dt.commands:
        assert verdicts["SZ-CONF-CMD"].verdict == "pass" and verdicts["SZ-CONF-CMD"].counts["sent"] >= 3


def test_a_broken_owner_type_fails_the_right_rules(tmp_path: Path) -> None:
    proc = smartzone("conform", str(BROKEN), "--report", str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    doc = json.loads((tmp_path / "report.json").read_text())
    got = {r["id"]: r["verdict"] for r in doc["rules"]}
    assert got == {
        "SZ-CONF-META": "fail",
        "SZ-CONF-UNIT": "fail",
        "SZ-CONF-UNIT-KNOWN": "warn",
        "SZ-CONF-RANGE": "fail",
        "SZ-CONF-INTERVAL": "pass",
        "SZ-CONF-CMD": "not applicable",
        "SZ-CONF-SEQ": "pass",
        "SZ-CONF-MODBUS": "fail",
        "SZ-CONF-SENML": "pass",
        "SZ-CONF-NGSI": "fail",
        "SZ-CONF-SDM": "warn",
    }
    text = {r["id"]: " | ".join(e["text"] for e in r["examples"]) for r in doc["rules"]}
    assert "unit_code KWT is not CEL" in text["SZ-CONF-UNIT"]
    assert "temperature pinned at 40" in text["SZ-CONF-RANGE"]
    assert "max 100 x scale 1000 beyond uint16" in text["SZ-CONF-MODBUS"]
    assert "wind-speed: not a valid NGSI-LD attribute name" in text["SZ-CONF-NGSI"]
    assert "'furlong'" in text["SZ-CONF-UNIT-KNOWN"] and "raceDistance" in text["SZ-CONF-SDM"]
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("failures") == "5" and suite.get("skipped") == "1"
    html = (tmp_path / "report.html").read_text()
    assert "Conformance" in html and "SZ-CONF-MODBUS" in html and "How to fix" in html
    assert "FAIL" in proc.stdout and "SZ-CONF-RANGE" in proc.stdout


def test_an_invalid_file_exits_2_with_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN.read_text().replace("interval: 5min", "interval: soon"))
    proc = smartzone("conform", str(bad), "--report", str(tmp_path / "r"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{bad}:14:" in proc.stderr and "report.interval" in proc.stderr
    missing = smartzone("conform", str(tmp_path / "none.yaml"), "--report", str(tmp_path / "r"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def _subject(readings: list[Reading], probes: list[tuple[Probe, CommandResult | None, str]] | None = None) -> Subject:
    dt, _catalog = load_target(builtin_dir("devices") / "water-valve.yaml")
    trial = TrialResult(readings=readings, interval=300.0, probes=probes or [], duration=3000.0)
    return Subject(dt, "water-valve.yaml", trial)


def _reading(t: float, n: int) -> Reading:
    return Reading(t, "dut-0001", n, {"opening": 80})


def test_interval_and_seq_rules_fail_on_late_or_lost_readings() -> None:
    steady = [_reading(300.0 * i, i + 1) for i in range(11)]
    assert interval(_subject(steady)).status == "ok" and seq(_subject(steady)).status == "ok"
    late = [r for r in steady if r.seq != 5]  # one reading missing: a 600 s gap and a seq jump
    assert (
        interval(_subject(late)).status == "bad"
        and "600 s without a reading" in interval(_subject(late)).examples[0].text
    )
    assert seq(_subject(late)).status == "bad"
    assert seq(_subject([replace(steady[0], seq=3), steady[1]])).status == "bad"


def test_commands_rule_fails_when_an_invalid_call_is_accepted_or_the_ack_is_wrong() -> None:
    probe = Probe("set_opening", {"opening": 101}, False, "opening=101: above max")
    accepted = CommandResult(60.0, "dut-0001", "c1", "set_opening", "conform", True, {"opening": 101})
    assert commands(_subject([], [(probe, accepted, "")])).status == "bad"
    good = Probe("set_opening", {"opening": 40}, True, "opening=40", {"opening": 40})
    wrong_state = CommandResult(60.0, "dut-0001", "c2", "set_opening", "conform", True, {"opening": 80})
    assert commands(_subject([], [(good, wrong_state, "")])).status == "bad"
    assert commands(_subject([], [(good, None, "no ack within 60 s")])).status == "bad"
    right = replace(wrong_state, state={"opening": 40})
    assert commands(_subject([], [(good, right, "")])).status == "ok"


def test_senml_record_checks() -> None:
    assert list(_senml_record({"n": "temp", "u": "Cel", "v": 3.5}, "urn:dev:sz:x:")) == []
    assert any("exactly one" in p for p in _senml_record({"n": "temp", "v": 1, "vs": "a"}, ""))
    assert any("not in RFC 8428" in p for p in _senml_record({"n": "temp", "v": 1, "unit": "x"}, ""))
    assert any("not a valid SenML name" in p for p in _senml_record({"n": " bad", "v": 1}, ""))


def test_an_unwritable_report_folder_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = smartzone("conform", str(BROKEN), "--report", str(blocker / "sub"))
    assert proc.returncode == 2 and "--report: cannot write" in proc.stderr and "Traceback" not in proc.stderr
