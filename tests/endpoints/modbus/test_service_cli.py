"""The Modbus service in `smartzone run`, `smartzone export modbus-map`, and the pinned pymodbus."""

from __future__ import annotations

import csv
import io
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pymodbus
import pytest
from pymodbus.client import ModbusTcpClient

from smartzone.cli import main
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.modbus import GatewayStartError, ModbusGateways
from smartzone.runtime.api import Runtime

from .conftest import FIXTURES

TESTVILLE = FIXTURES / "testville.yaml"
ROOT = Path(__file__).parents[3]


def test_pymodbus_is_the_pinned_version() -> None:
    """The datastore API (SimData/SimDevice) and the request handler we extend are 3.16.1's."""
    assert pymodbus.__version__ == "3.16.1"
    assert '"pymodbus==3.16.1"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_describe_names_port_tenant_devices_and_an_mbpoll_line(city) -> None:
    lines = city.gateways.describe()
    ports = {g.plan.id: g.port for g in city.gateways.gateways}
    assert len(lines) == 2
    assert lines[0].startswith(f"Modbus gateway rigs: 127.0.0.1:{ports['rigs']}, tenant acqua, 2 devices")
    assert f"mbpoll -m tcp -p {ports['rigs']} -a 1 -0 -t 3 -r 0 -c 21 -1 127.0.0.1" in lines[0]
    assert f"127.0.0.1:{ports['city']}, tenant comune, 5 devices" in lines[1]


def test_a_port_in_use_is_a_clear_error_and_leaves_nothing_running(catalog: Catalog) -> None:
    rt = Runtime(load_scenario(TESTVILLE, catalog), catalog)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(GatewayStartError, match=rf"'comune-centro' cannot listen on 127\.0\.0\.1:{port}"):
            ModbusGateways.start(rt, port)


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartzone", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def test_smartzone_run_prints_the_gateways_and_exits_3_on_a_busy_port() -> None:
    ok = _run("run", str(TESTVILLE), "--fast", "--duration", "1h", "--no-mqtt", "--modbus-port", "0")
    assert ok.returncode == 0, ok.stderr
    shown = ok.stdout + ok.stderr  # the console writes its lines to stderr
    assert "Modbus gateway comune-centro: 127.0.0.1:" in shown and "mbpoll -m tcp -p " in shown
    off = _run("run", str(TESTVILLE), "--fast", "--duration", "1h", "--quiet", "--no-mqtt", "--no-modbus")
    assert off.returncode == 0 and "Modbus gateway" not in off.stdout + off.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        failed = _run("run", str(TESTVILLE), "--fast", "--duration", "1h", "--no-mqtt", "--modbus-port", str(port))
    assert failed.returncode == 3
    # only SmartZone's own message (the console's header line aside): no pymodbus log line beside it
    said = [ln for ln in failed.stderr.splitlines() if not ln.startswith("SmartZone |")]
    assert said == [
        f"smartzone: Modbus gateway 'comune-centro' cannot listen on 127.0.0.1:{port}: Address already in use "
        "(is the port in use? choose another with --modbus-port)"
    ], failed.stderr


def test_export_modbus_map_as_csv_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "modbus-map", str(TESTVILLE), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == [
        "gateway",
        "port",
        "unit",
        "device",
        "table",
        "address",
        "count",
        "datatype",
        "scale",
        "word_order",
        "unit_of_measure",
        "signal",
        "access",
    ]
    assert {r["device"] for r in rows} == {"p-0001", "p-0002", "p-0003", "l-0001", "l-0002"}
    level = next(r for r in rows if r["device"] == "l-0001" and r["table"] == "holding register")
    assert (level["gateway"], level["port"], level["unit"], level["address"], level["access"]) == (
        "comune-centro",
        "5020",
        "4",
        "0",
        "read/write (dim)",
    )
    energy = next(r for r in rows if r["device"] == "l-0001" and r["signal"] == "signal.energy")
    assert (energy["address"], energy["count"], energy["datatype"], energy["scale"], energy["unit_of_measure"]) == (
        "12",
        "2",
        "uint32",
        "1000",
        "kWh",
    )
    out = tmp_path / "map.md"
    assert (
        main(["export", "modbus-map", str(TESTVILLE), "--format", "md", "--out", str(out), "--modbus-port", "6000"])
        == 0
    )
    text = out.read_text(encoding="utf-8")
    assert text.startswith("| gateway | port | unit | device |") and "| comune-centro | 6000 | 1 | p-0001 |" in text
    assert main(["export", "modbus-map", str(tmp_path / "nowhere.yaml")]) == 2


def test_declared_gateways_without_devices_and_unserved_devices_are_reported(tmp_path: Path, catalog: Catalog) -> None:
    text = TESTVILLE.read_text(encoding="utf-8") + (
        "gateways:\n  - {id: lights, tenant: comune, types: [street-light]}\n"
        "  - {id: meters, tenant: comune, types: [water-meter]}\n"
    )
    path = tmp_path / "partial.yaml"
    path.write_text(text, encoding="utf-8")
    rt = Runtime(load_scenario(path, catalog), catalog)
    gateways = ModbusGateways.start(rt, 0)
    try:
        lines = gateways.describe()
        assert [g.plan.id for g in gateways.gateways] == ["lights"]
        assert "Modbus gateway meters: no device matches it (not started)" in lines
        assert "Modbus: 3 devices are behind no declared gateway (e.g. p-0001)" in lines
    finally:
        gateways.close()
        rt.stop()  # the runtime owns the watchdog that supervises the gateways


def test_smartzone_run_reports_denied_writes_live_and_at_the_end(tmp_path: Path) -> None:
    """A real `smartzone run`: a write from a source the rules refuse is printed at once and summed up at exit."""
    scenario = tmp_path / "guarded-testville.yaml"
    scenario.write_text(
        TESTVILLE.read_text(encoding="utf-8")
        + "gateways:\n  - {id: lights, tenant: comune, types: [street-light], access: {write: [127.0.0.2]}}\n",
        encoding="utf-8",
    )
    cmd = [sys.executable, "-m", "smartzone", "run", str(scenario), "--no-mqtt", "--modbus-port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    lines: queue.Queue[str] = queue.Queue()
    readers = [
        threading.Thread(target=lambda f=f: [lines.put(ln.rstrip("\n")) for ln in f], name="run-output")
        for f in (proc.stdout, proc.stderr)
    ]
    for r in readers:
        r.start()
    seen: list[str] = []

    def wait_line(pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            seen.append(line)
            if m := re.search(pattern, line):
                return m
        raise AssertionError(f"no line matching {pattern!r} in {seen}")

    try:
        port = int(wait_line(r"Modbus gateway lights: 127\.0\.0\.1:(\d+), .*writes from 127\.0\.0\.2/32")[1])
        client = ModbusTcpClient("127.0.0.1", port=port, timeout=5, retries=0)
        try:
            assert client.connect()
            denied = client.write_coil(0, False, device_id=1)
            assert denied.isError() and denied.exception_code == 0x01
        finally:
            client.close()
        wait_line(r"^modbus: gateway lights: write denied to 127\.0\.0\.1 \(function 5, unit 1\)$")
        proc.send_signal(signal.SIGTERM)
        wait_line(r"^modbus: gateway lights: 1 writes and 0 reads denied \(from 127\.0\.0\.1\)$")
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for r in readers:
            r.join(10)
        for pipe in (proc.stdout, proc.stderr):  # read to their end by the readers: close the fds now
            if pipe is not None and not any(r.is_alive() for r in readers):
                pipe.close()
