"""`smartzone conform SCENARIO --device ID`: a bridged REAL device (pymodbus's own server, or a paho
client on the ingest topic) is observed in its running scenario and judged by the conformance rules."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from tests.endpoints.realdevice.rig import CITY, HOST, MeterServer, VendorMeter, free_port

ROOT = Path(__file__).parents[2]
OWNER_TYPES = ROOT / "examples" / "owner" / "devices"
MODBUS = ["--device", "pm3-real-modbus", "--no-mqtt", "--no-modbus"]


def city(tmp_path: Path, modbus_port: int) -> Path:
    """The real-devices fixture city, its Modbus meter at `modbus_port`."""
    text = CITY.read_text().replace("port: 1\n", f"port: {modbus_port}\n")
    path = tmp_path / "city.yaml"
    path.write_text(text.replace("../../../examples/owner/devices/", f"{OWNER_TYPES}/"))
    return path


def smartzone(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smartzone", *args], capture_output=True, text=True, timeout=120)


def verdicts(report: Path) -> dict[str, str]:
    return {r["id"]: r["verdict"] for r in json.loads((report / "report.json").read_text())["rules"]}


def examples(report: Path, rule: str) -> str:
    doc = json.loads((report / "report.json").read_text())
    return " | ".join(e["text"] for r in doc["rules"] if r["id"] == rule for e in r["examples"])


@pytest.fixture
def meter() -> Iterator[MeterServer]:
    server = MeterServer()
    yield server
    server.close()


def test_a_conforming_modbus_device_passes_and_its_command_reaches_it(tmp_path: Path, meter: MeterServer) -> None:
    report = tmp_path / "r"
    proc = smartzone(
        "conform", str(city(tmp_path, meter.port)), *MODBUS, "--duration", "3s", "--report", str(report),
        "--command", "set_relay", "--params", '{"closed": false}',
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = verdicts(report)
    for rule in ("SZ-CONF-META", "SZ-CONF-UNIT", "SZ-CONF-RANGE", "SZ-CONF-INTERVAL", "SZ-CONF-CMD", "SZ-CONF-SEQ"):
        assert got[rule] == "pass", (rule, proc.stdout)
    assert got["SZ-CONF-SENML"] == got["SZ-CONF-NGSI"] == "pass"
    assert got["SZ-CONF-MODBUS"] == got["SZ-CONF-SDM"] == got["SZ-CONF-UNIT-KNOWN"] == "not applicable"
    doc = json.loads((report / "report.json").read_text())
    assert doc["result"] == "pass" and doc["target"]["device"] == "pm3-real-modbus"
    rng = next(r for r in doc["rules"] if r["id"] == "SZ-CONF-RANGE")
    assert rng["counts"]["readings"] >= 5  # polled every 200 ms for 3 s
    # the command was really written to the device: its relay coil is open now
    client = ModbusTcpClient(HOST, port=meter.port, timeout=2)
    try:
        assert client.connect()
        assert client.read_coils(0, count=1, device_id=1).bits[0] is False
    finally:
        client.close()
    assert (
        "PASS" in proc.stdout
        and (report / "junit.xml").is_file()
        and "pm3-real-modbus" in (report / "report.html").read_text()
    )


def test_an_out_of_range_value_fails_the_range_rule(tmp_path: Path) -> None:
    meter = MeterServer(volts_dv=3000)  # 300.0 V; acme-pm3 declares 207..253 V
    try:
        report = tmp_path / "r"
        proc = smartzone(
            "conform", str(city(tmp_path, meter.port)), *MODBUS, "--duration", "2s", "--report", str(report)
        )
    finally:
        meter.close()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    got = verdicts(report)
    assert got["SZ-CONF-RANGE"] == "fail" and got["SZ-CONF-INTERVAL"] == "pass" and got["SZ-CONF-SEQ"] == "pass"
    assert "voltage=300.0 outside [207.0, 253.0]" in examples(report, "SZ-CONF-RANGE")
    assert "FAIL" in proc.stdout


def test_an_unreachable_device_fails_with_guidance(tmp_path: Path) -> None:
    port = free_port()  # nobody listens there
    report = tmp_path / "r"
    proc = smartzone("conform", str(city(tmp_path, port)), *MODBUS, "--duration", "2s", "--report", str(report))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"pm3-real-modbus was not reached in 2 s (cannot connect to modbus://127.0.0.1:{port} unit 1)" in proc.stdout
    assert "check that the device is on and reachable" in proc.stdout
    assert verdicts(report)["SZ-CONF-RANGE"] == "fail" and verdicts(report)["SZ-CONF-SEQ"] == "not applicable"
    doc = json.loads((report / "report.json").read_text())
    rng = next(r for r in doc["rules"] if r["id"] == "SZ-CONF-RANGE")
    assert "was not reached" in rng["guidance"] and doc["target"]["reached"] is False


def test_usage_mistakes_exit_2_without_a_traceback(tmp_path: Path) -> None:
    path = city(tmp_path, 1)
    report = str(tmp_path / "r")
    cases = {
        ("--device", "nope"): "has no bridged device 'nope'; its bridged devices: pm3-real-mqtt, pm3-real-modbus",
        ("--device", "em-0001"): "(a simulated device: conform checks bridged real devices)",
        ("--device", "pm3-real-modbus", "--command", "explode"): "acme-pm3 declares no command 'explode'",
        ("--device", "pm3-real-modbus", "--command", "set_relay", "--params", "{"): "--params: not JSON",
        ("--device", "pm3-real-modbus", "--duration", "2h"): "--duration: at most 3600 s",
        ("--duration", "3s"): "--duration: only with --device ID",
        ("--device", "pm3-real-mqtt", "--no-mqtt"): "--no-mqtt: pm3-real-mqtt publishes on SmartZone's broker",
    }
    for extra, message in cases.items():
        proc = smartzone("conform", str(path), *extra, "--report", report)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, (extra, proc.stderr)
    bad = tmp_path / "bad.yaml"
    bad.write_text(path.read_text().replace("poll: 200ms", "poll: often"))
    proc = smartzone("conform", str(bad), "--device", "pm3-real-modbus", "--report", report)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{bad}:" in proc.stderr and "poll" in proc.stderr


def _connect(port: int, proc: subprocess.Popen[str], within: float = 30.0) -> VendorMeter:
    """The vendor meter, connected once the scenario's broker listens and knows its users."""
    deadline, why = time.monotonic() + within, "nothing"
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as s:
            listening = s.connect_ex((HOST, port)) == 0
        if listening:
            try:
                return VendorMeter(port)
            except ConnectionRefusedError as exc:
                why = str(exc)
        time.sleep(0.1)
    raise AssertionError(f"the scenario's broker did not take the meter ({why})")


def test_an_mqtt_device_that_does_not_answer_its_command_fails_cmd_with_timeout(tmp_path: Path) -> None:
    port, report = free_port(), tmp_path / "r"
    args = ["conform", str(city(tmp_path, 1)), "--device", "pm3-real-mqtt", "--duration", "6s", "--report", str(report)]
    args += ["--broker", "embedded", "--mqtt-port", str(port), "--no-modbus"]
    args += ["--command", "set_relay", "--params", '{"closed": false}']
    proc = subprocess.Popen(
        [sys.executable, "-m", "smartzone", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    vendor = None
    try:
        vendor = _connect(port, proc)
        vendor.silent = True
        while proc.poll() is None:
            vendor.send(volts_dv=2305, qos=0)  # the run may end at any time: wait for no PUBACK
            time.sleep(0.3)
        out, err = proc.communicate(timeout=60)
    finally:
        if vendor is not None:
            vendor.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, out + err
    got = verdicts(report)
    assert got["SZ-CONF-RANGE"] == "pass" and got["SZ-CONF-SEQ"] == "pass" and got["SZ-CONF-CMD"] == "fail"
    assert vendor is not None and [c["relay"] for c in vendor.commands] == ["off"]  # it was sent, never answered
    assert "the real device did not answer within 2 s" in examples(report, "SZ-CONF-CMD")
    doc = json.loads((report / "report.json").read_text())
    cmd = next(r for r in doc["rules"] if r["id"] == "SZ-CONF-CMD")
    assert (
        cmd["summary"] == "set_relay answered timeout" and "A `timeout`: the device never answered" in cmd["guidance"]
    )


def test_a_device_that_goes_silent_fails_the_interval_rule(tmp_path: Path) -> None:
    meter, report = MeterServer(), tmp_path / "r"
    args = ["conform", str(city(tmp_path, meter.port)), *MODBUS, "--duration", "9s", "--report", str(report)]
    proc = subprocess.Popen([sys.executable, "-m", "smartzone", *args], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and "observing pm3-real-modbus" in proc.stdout.readline()
        time.sleep(2.0)  # polled every 200 ms meanwhile; then the meter disappears for the rest of the 9 s
        meter.close()
        out, _err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        meter.close()
    assert proc.returncode == 1, out
    got = verdicts(report)
    assert got["SZ-CONF-INTERVAL"] == "fail" and got["SZ-CONF-RANGE"] == "pass", out
    assert "without a reading at the end of the observation: the device went silent" in examples(
        report, "SZ-CONF-INTERVAL"
    )


def test_the_unit_rule_flags_a_mapping_that_does_not_convert_the_vendor_unit() -> None:
    from smartzone.conform.live import Observation
    from smartzone.conform.live_rules import units_live
    from smartzone.conform.rules import Subject
    from smartzone.conform.trial import TrialResult
    from smartzone.definitions.catalog import Catalog, load_scenario

    catalog = Catalog.builtin().copy()
    spec = next(s for s in load_scenario(CITY, catalog).bridged_devices if s.id == "pm3-real-mqtt")
    subject = Subject(catalog.types["acme-pm3"], str(CITY), TrialResult())
    assert units_live(subject, Observation(spec, TrialResult())).status == "ok"  # W x 0.001 -> kW
    signals = dict(spec.mapping.signals)
    signals["power"] = signals["power"].model_copy(update={"scale": 1.0})
    unconverted = spec.model_copy(update={"mapping": spec.mapping.model_copy(update={"signals": signals})})
    out = units_live(subject, Observation(unconverted, TrialResult()))
    assert out.status == "bad"
    assert [e.text for e in out.examples] == ["mapping.signals.power: the device sends W, the type wants kW: no scale"]
