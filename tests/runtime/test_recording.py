"""Recordings: what a run records, re-simulation byte for byte, a crash-cut file, diff, the writer thread."""

from __future__ import annotations

import gzip
import io
import itertools
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from smartzone.cli import main
from smartzone.core.commands import DeviceCommand, SetOnline
from smartzone.core.faults import ClearFault, DegradeLink, InjectFault
from smartzone.runtime import recording
from smartzone.runtime.api import Runtime
from smartzone.runtime.recording import CONTROLS, Recorder, RecordingError, read_recording, scenario_header
from smartzone.runtime.replay import replay_runtime, resimulate
from smartzone.runtime.trace import encode_event

FIXTURE = Path(__file__).parents[1] / "fixtures" / "testville.yaml"
HOURS = 4 * 3600.0


def _record(path: Path, *, paced_inputs: bool) -> Runtime:
    """A fast testville run with commands, faults, a network change and pacing controls.

    paced_inputs: inputs at known simulated times (paused, stepped); otherwise sent while the
    engine runs flat out, landing wherever they land (the recording must still say where)."""
    duration = HOURS if paced_inputs else 365 * 86400.0  # long enough to be still running: stopped below
    rt = Runtime.load(FIXTURE, fast=True, duration=duration)
    recorder = Recorder.open(path)
    recorder.attach(rt, scenario_header(rt, fast=True, speed=1.0, duration=duration))
    inputs = [
        DeviceCommand("l-0001", "dim", {"level": 40}, id="c1", source="mqtt", user="app"),
        InjectFault("l-0002", "lamp_failure", source="gui"),
        SetOnline("p-0001", False, reason="gui"),
        DegradeLink("lorawan-sf9", {"loss": 0.5}, duration=1800.0, source="cli"),
        DeviceCommand("l-0002", "switch", {"on": False}, id="m1", source="modbus"),
        DeviceCommand("l-0001", "dim", {"level": 400}, id="bad", source="mqtt"),  # rejected: recorded too
        ClearFault("l-0002", "lamp_failure", source="gui"),
        SetOnline("p-0001", True, reason="gui"),
    ]
    try:
        paused = rt.pause() if paced_inputs else None  # queued first: applied at time zero
        rt.start()
        if paused is not None:
            paused.result(10)
        futures = []
        for command in inputs:
            if paced_inputs:
                rt.step(1234.5).result(10)
            futures.append(rt.submit(command))
        if paced_inputs:
            rt.set_speed(2.0).result(10)
            rt.resume().result(10)
        else:
            for future in futures:
                future.result(30)
            assert rt.running, "the run ended before its inputs were applied"
            rt.engine.request_stop()
        assert rt.wait(120)
    finally:
        rt.stop()
    rt.network_summary()
    assert recorder.close(rt.sim_time) is None
    return rt


def _body(path: Path) -> bytes:
    """Everything after the header line (the header of a re-simulation names its source)."""
    return gzip.decompress(path.read_bytes()).split(b"\n", 1)[1]


@pytest.mark.parametrize("paced_inputs", [True, False], ids=["known-times", "while-running"])
def test_resimulation_is_byte_identical(tmp_path: Path, paced_inputs: bool) -> None:
    original, again = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    _record(original, paced_inputs=paced_inputs)
    header, records = read_recording(original)
    recs = list(records)
    inputs = [r for r in recs if r["kind"] == "input"]
    assert header["seed"] == 1 and "street-light" in header["device_types"] and "fleets" in header["scenario_yaml"]
    assert recs[-1]["kind"] == "end"
    commands = [r for r in inputs if r["input"] == "DeviceCommand"]
    assert [(c["source"], c.get("user")) for c in commands] == [("mqtt", "app"), ("modbus", None), ("mqtt", None)]
    assert {r["input"] for r in inputs} >= {"InjectFault", "ClearFault", "SetOnline", "DegradeLink", "netstats"}
    if paced_inputs:
        applied = [r["t"] for r in inputs if r["input"] not in CONTROLS]  # each one step of 1234.5 s later
        assert [b - a for a, b in itertools.pairwise(applied)] == [1234.5] * 7
    assert any(r["kind"] == "command" and r["error_code"] == "invalid_params" for r in recs)
    events, n_inputs = resimulate(original, again)
    assert n_inputs == len(inputs) and events == recs[-1]["events"]
    assert _body(again) == _body(original)
    assert main(["diff", str(original), str(again)]) == 0


def test_diff_names_the_first_divergence_per_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original, changed = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    _record(original, paced_inputs=True)
    lines = [json.loads(line) for line in gzip.decompress(original.read_bytes()).splitlines()]
    reading = next(line for line in lines if line["kind"] == "reading" and line["device"] == "l-0001")
    reading["values"]["level"] += 1  # one reading of one device differs
    changed.write_bytes(gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode()))
    capsys.readouterr()
    assert main(["diff", str(original), str(changed)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].startswith("l-0001: t=") and " values.level: " in out[0]
    assert out[1] == "1 device(s) differ"


def test_a_recording_cut_by_a_crash_reads_up_to_its_last_flush(tmp_path: Path) -> None:
    path, cut = tmp_path / "a.jsonl.gz", tmp_path / "cut.jsonl.gz"
    rt = Runtime.load(FIXTURE, fast=True, duration=3600.0)
    recorder = Recorder.open(path)
    recorder.attach(rt, scenario_header(rt, fast=True, speed=1.0, duration=3600.0))
    rt.world.run(3600.0)  # no engine thread: the world runs here
    assert recorder.sync()  # what the writer does at least once a second
    shutil.copy(path, cut)  # the file as a crash would leave it: no end record, no gzip trailer
    written = recorder.events
    assert recorder.close(rt.sim_time) is None
    _, records = read_recording(cut)
    recs = list(records)
    assert written > 0 and len(recs) == written and all(r["kind"] != "end" for r in recs)


def test_a_file_that_is_not_a_recording_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b'{"kind":"manifest"}\n'))
    with pytest.raises(RecordingError, match="line 1: not a SmartZone recording header"):
        read_recording(bad)
    plain = tmp_path / "plain.txt"
    plain.write_text("hello\n")
    with pytest.raises(RecordingError, match="not a recording"):
        read_recording(plain)


def test_a_replay_from_the_middle_starts_with_the_faults_active_then(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    _record(path, paced_inputs=True)
    faults = [r for r in read_recording(path)[1] if r["kind"] == "fault" and r["device"] == "l-0002"]
    assert [f["active"] for f in faults] == [True, False]
    middle = (faults[0]["t"] + faults[1]["t"]) / 2
    during = replay_runtime(path, first=middle, workdir=tmp_path / "during")
    after = replay_runtime(path, first=faults[1]["t"] + 1, workdir=tmp_path / "after")
    assert during.live.get("l-0002").faults == {"lamp_failure"}
    assert after.live.get("l-0002").faults == set()


def test_a_writer_thread_that_dies_makes_the_run_fail_naming_the_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.jsonl.gz"
    calls = [0]

    real = recording.encode_events

    def broken(kind: str, events: Any) -> list[bytes]:  # a bug in the writer, some way into the run
        calls[0] += 1
        if calls[0] > 3:
            raise RuntimeError("encoder bug")
        return real(kind, events)

    monkeypatch.setattr(recording, "encode_events", broken)
    # a year of fast simulation: the run ends only because the watchdog finds the writer dead
    code = main(
        [
            "run",
            str(FIXTURE),
            "--fast",
            "--duration",
            "365d",
            "--no-mqtt",
            "--no-modbus",
            "--quiet",
            "--record",
            str(path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    # told as a fatal failure of the run (the watchdog stopped it), not only when the file was closed
    assert err.startswith("smartzone: the run failed at ") and f"recording {path}: RuntimeError: encoder bug" in err
    assert "Traceback" not in err


DAYS = 20 * 86400.0  # about 6,000 events of testville


class _SlowDisk(io.BytesIO):
    """A file whose writes wait for a gate: a disk slower than the engine."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def write(self, data: Any) -> int:
        assert self.gate.wait(60), "the test never opened the gate"
        return super().write(data)

    def close(self) -> None:  # keep the text readable after close()
        pass


def test_a_slow_disk_holds_the_engine_back_and_loses_nothing(tmp_path: Path) -> None:
    rt = Runtime.load(FIXTURE, fast=True, duration=DAYS)
    events: list[Any] = []
    rt.subscribe(events.append)
    rt.world.run(DAYS)  # the facts to write, made here
    assert len(events) > 4 * 1024
    disk = _SlowDisk()
    recorder = Recorder(disk, max_pending=2048)
    producer = threading.Thread(target=lambda: [recorder(e) for e in events], name="engine")
    producer.start()
    try:
        deadline = time.monotonic() + 30
        while recorder.stalls == 0 and time.monotonic() < deadline:  # the engine waits for room
            time.sleep(0.01)
        # the writer may have taken one batch before its write blocked: the engine then stalls again
        assert recorder.stalls >= 1 and producer.is_alive()
        assert len(recorder._items) <= 2048 + 1  # bounded: the engine did not run ahead
    finally:
        disk.gate.set()  # whatever happened above, let both threads finish
        producer.join(30)
    assert not producer.is_alive()
    assert recorder.close(DAYS) is None
    recs = [recording.normalised(json.loads(line)) for line in disk.getvalue().splitlines()]
    # every event, in order, as the trace writes it (less its derived `ts`)
    traced = [json.loads(encode_event(e, rt.world.clock)) for e in events]
    assert recs[:-1] == [{k: v for k, v in line.items() if k != "ts"} for line in traced]
    assert recs[-1] == {"t": DAYS, "kind": "end", "events": len(events), "inputs": 0}


def test_a_version_1_recording_is_still_read_and_diffs_identical_to_version_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new, old = tmp_path / "v2.jsonl.gz", tmp_path / "v1.jsonl.gz"
    rt = _record(new, paced_inputs=True)
    header, records = read_recording(new)
    recs = list(records)
    assert header["version"] == 2 and recs[-1]["kind"] == "end"
    with gzip.open(new, "rb") as f:  # version 2: events without `ts`, `kind` first
        lines = [json.loads(line) for line in f]
    assert any(r["kind"] == "reading" and "ts" not in r and next(iter(r)) == "kind" for r in lines)
    # the same recording as version 1 wrote it: one trace line (with `ts`) per event
    with gzip.open(old, "wt", encoding="utf-8") as f:
        f.write(json.dumps({**header, "version": 1}) + "\n")
        for rec in recs:
            event = rec["kind"] not in ("input", "end")
            f.write(encode_event(recording.event_from_record(rec), rt.world.clock) if event else json.dumps(rec) + "\n")
    old_header, old_records = read_recording(old)
    assert old_header["version"] == 1
    assert [{k: v for k, v in r.items() if k != "ts"} for r in old_records] == recs
    assert main(["diff", str(old), str(new)]) == 0
    assert capsys.readouterr().out.startswith("identical: ")


def test_an_event_line_without_its_time_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl.gz"
    header = {"kind": "recording", "format": "smartzone-recording", "version": 2}
    path.write_bytes(gzip.compress((json.dumps(header) + '\n{"kind":"reading","device":"x"}\n').encode()))
    with pytest.raises(RecordingError, match=r"bad.jsonl.gz: line 2: not a record \(an object with `t` and `kind`\)"):
        list(read_recording(path)[1])
