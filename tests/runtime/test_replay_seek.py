"""Seeking in a served replay: forward fast-forwards through the recorded events, backward
restarts from the recording at the target inside the same runtime (docs/recording.md)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from smartzone.cli import main
from smartzone.definitions.units import parse_offset
from smartzone.runtime.recording import RecordingError, read_recording
from smartzone.runtime.replay import replay_runtime
from smartzone.runtime.replay_seek import recording_span, seek

TESTVILLE = str(Path(__file__).parents[1] / "fixtures" / "testville.yaml")
WAIT_S = 20.0


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "tv.jsonl.gz"
    argv = ["run", TESTVILLE, "--fast", "--duration", "2h", "--no-mqtt", "--no-modbus", "--record", str(path)]
    assert main([*argv, "--quiet"]) == 0
    return path


def _last_readings(path: Path, before: float) -> dict[str, dict[str, Any]]:
    """Each device's last recorded reading at or before `before`."""
    last: dict[str, dict[str, Any]] = {}
    for rec in read_recording(path)[1]:
        if rec["kind"] == "reading" and rec["t"] <= before:
            last[rec["device"]] = rec
    return last


def test_the_span_is_the_end_record(recording: Path) -> None:
    records = list(read_recording(recording)[1])
    assert records[-1]["kind"] == "end"
    assert recording_span(recording) == records[-1]["t"] == 7200.0


def test_a_damaged_recording_is_refused_naming_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(gzip.compress(b'{"format": "smartzone-recording", "version": 2}\n{not json\n'))
    with pytest.raises(RecordingError, match=r"bad\.jsonl\.gz: line 2: not JSON"):
        recording_span(bad)
    with pytest.raises(RecordingError, match=r"bad\.jsonl\.gz: line 1: not a complete recording header"):
        replay_runtime(bad, workdir=tmp_path / "w")


def test_seek_forward_then_back_shows_the_recorded_state(recording: Path, tmp_path: Path) -> None:
    rt = replay_runtime(recording, speed=1.0, workdir=tmp_path / "w")
    seen: list[Any] = []
    rt.subscribe(seen.append)
    try:
        rt.start()
        rt.pause().result(WAIT_S)
        assert seek(rt, 5400.0).result(WAIT_S) == pytest.approx(5400.0)
        played_forward = [e for e in seen if e.kind == "reading"]
        recorded = [r for r in read_recording(recording)[1] if r["kind"] == "reading" and r["t"] <= 5400.0]
        assert [(e.device, e.seq) for e in played_forward] == [(r["device"], r["seq"]) for r in recorded]
        for device, rec in _last_readings(recording, 5400.0).items():
            assert rt.live.get(device).values == rec["values"]
        assert seek(rt, 1800.0).result(WAIT_S) == 1800.0  # backward: from the recording, same runtime
        assert rt.sim_time == 1800.0 and rt.running and rt.paused
        at = _last_readings(recording, 1800.0)
        for device, rec in at.items():
            live = rt.live.get(device)
            assert (live.values, live.seq) == (rec["values"], rec["seq"])
        seen.clear()
        rt.step(600.0).result(WAIT_S)  # and plays on from there, as recorded
        again = [r for r in read_recording(recording)[1] if r["kind"] == "reading" and 1800.0 <= r["t"] <= 2400.0]
        assert [(e.device, e.seq, e.t) for e in seen if e.kind == "reading"] == [
            (r["device"], r["seq"], r["t"]) for r in again
        ]
    finally:
        rt.stop()


@pytest.mark.parametrize(("text", "seconds"), [("14:32", 52320), ("1h30min", 5400), ("0:00:05", 5), ("90min", 5400)])
def test_offsets_read_as_the_replay_options(text: str, seconds: float) -> None:
    assert parse_offset(text) == seconds


def test_a_bad_offset_says_what_it_expected() -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_offset("soon")


def test_a_backward_seek_publishes_the_status_and_state_that_changed(tmp_path: Path) -> None:
    """So that retained MQTT documents (status, state) hold the recorded ones at the target at once."""
    from smartzone.core.commands import DeviceCommand, SetOnline
    from smartzone.runtime.api import Runtime
    from smartzone.runtime.recording import Recorder, scenario_header
    from smartzone.runtime.replay_seek import SEEK_CAUSE

    path = tmp_path / "inputs.jsonl.gz"
    live = Runtime.load(TESTVILLE, fast=True, duration=7200.0)
    recorder = Recorder.open(path)
    recorder.attach(live, scenario_header(live, fast=True, speed=1.0, duration=7200.0))
    live.engine._start_world()
    live.world.env.run(until=3600.0)
    live.submit(SetOnline("p-0002", False, reason="test"))
    live.submit(DeviceCommand("l-0001", "dim", {"level": 25}, id="c1", source="api"))
    live.world.env.run(until=7200.0)
    recorder.close(7200.0)
    before = {d: (live.world.devices[d].online, dict(live.world.devices[d].state)) for d in ("p-0002", "l-0001")}

    rt = replay_runtime(path, speed=1.0, workdir=tmp_path / "w")
    at_start = dict(rt.live.get("l-0001").state)
    published: list[Any] = []
    rt.subscribe(published.append)
    try:
        rt.start()
        seek(rt, 5400.0).result(WAIT_S)
        assert (rt.live.get("p-0002").online, rt.live.get("l-0001").state) == (before["p-0002"][0], before["l-0001"][1])
        published.clear()
        seek(rt, 1800.0).result(WAIT_S)
    finally:
        rt.stop()
    restored = [(e.kind, e.device, getattr(e, "online", None), e.t) for e in published if e.kind in ("status", "state")]
    assert ("status", "p-0002", True, 1800.0) in restored
    states = [e for e in published if e.kind == "state"]
    assert [(e.device, dict(e.values), e.cause) for e in states] == [("l-0001", at_start, SEEK_CAUSE)]
    assert all(e.reason == SEEK_CAUSE for e in published if e.kind == "status")
    assert len(restored) == 2  # only what differs: the other devices' documents were right already
