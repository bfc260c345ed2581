"""A real device's readings and answers are recorded as inputs: a re-simulation is byte-identical."""

from __future__ import annotations

import gzip
from pathlib import Path

from smartzone.core.bridged import BridgedAnswer, BridgedReading
from smartzone.core.commands import DeviceCommand, SetOnline
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.runtime.api import Runtime
from smartzone.runtime.recording import Recorder, read_recording, scenario_header
from smartzone.runtime.replay import resimulate

FIXTURES = Path(__file__).parents[1] / "fixtures" / "bridged"
PM3 = Path(__file__).parents[2] / "examples" / "owner" / "devices" / "acme-pm3.yaml"
HOURS = 2 * 3600.0


def _body(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()).split(b"\n", 1)[1]


def test_real_device_inputs_resimulate_byte_for_byte(tmp_path: Path) -> None:
    original, again = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    # the owner's type comes with the catalog (a recording's header carries the types it uses)
    city = tmp_path / "city.yaml"
    city.write_text(
        (FIXTURES / "bridged-city.yaml").read_text().replace("device_types: [../../../examples/owner/devices/]", "")
    )
    catalog = Catalog.builtin().copy()
    catalog.add_file(PM3)
    rt = Runtime(load_scenario(city, catalog), catalog, source=str(city), fast=True, duration=HOURS)
    recorder = Recorder.open(original, rt.world.clock)
    recorder.attach(rt, scenario_header(rt, fast=True, speed=1.0, duration=HOURS))
    inputs = [
        SetOnline("pm3-real-modbus", True, "real device: answered"),
        BridgedReading("pm3-real-modbus", {"voltage": 231.0, "current": 3.25}, {"relay": True}),
        DeviceCommand("pm3-real-modbus", "set_relay", {"closed": False}, id="c1", source="mqtt", user="acme-app"),
        BridgedReading("pm3-real-modbus", {"current": 0.0}, {"relay": False}),
    ]
    paused = rt.pause()
    try:
        rt.start()
        paused.result(10)
        for command in inputs:
            rt.step(600.0).result(10)
            rt.submit(command)
        rt.step(600.0).result(10)
        rt.submit(BridgedAnswer("pm3-real-modbus", 1, True))
        rt.resume().result(10)
        assert rt.wait(120)
    finally:
        rt.stop()
    assert recorder.close(rt.sim_time) is None
    _header, records = read_recording(original)
    recs = list(records)
    names = [r["input"] for r in recs if r["kind"] == "input"]
    assert names.count("BridgedReading") == 2 and names.count("BridgedAnswer") == 1
    assert any(r["kind"] == "command" and r["device"] == "pm3-real-modbus" and r["ok"] for r in recs)
    resimulate(original, again)
    assert _body(again) == _body(original)
