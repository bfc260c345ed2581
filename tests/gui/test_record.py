"""`smartzone gui --record FILE`: the session's GUI actions are recorded and re-simulate exactly."""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from smartzone.core.commands import DeviceCommand, SetOnline
from smartzone.runtime.recording import read_recording
from smartzone.runtime.replay import resimulate

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_gui_actions_are_recorded_and_resimulate_byte_for_byte(qtbot: Any, tmp_path: Path) -> None:
    from smartzone_gui.session import Session

    path, again = tmp_path / "gui.jsonl.gz", tmp_path / "again.jsonl.gz"
    session = Session(start_services=False, service_options=argparse.Namespace(record=str(path)))
    try:
        session.open(str(FIXTURES / "testville.yaml"))
        session.step(600.0)  # starts paused, then advances ten simulated minutes
        session.submit(DeviceCommand("l-0001", "dim", {"level": 25}, id="g1", source="gui"))  # acked after its downlink
        session.submit(SetOnline("p-0002", False, reason="gui")).result(10)
        session.set_speed(50.0)
        session.step(300.0)
        session.runtime.step(1.0).result(10)  # a barrier: everything above was applied
    finally:
        session.close()
    header, records = read_recording(path)
    inputs = [(r["input"], r.get("source")) for r in records if r["kind"] == "input"]
    assert header["fast"] is False and header["seed"] == 1
    assert ("DeviceCommand", "gui") in inputs and ("SetOnline", None) in inputs
    assert [name for name, _ in inputs if name in ("pause", "step", "speed")][:4] == ["pause", "step", "speed", "step"]
    resimulate(path, again)
    body = [gzip.decompress(p.read_bytes()).split(b"\n", 1)[1] for p in (path, again)]
    assert body[0] == body[1]
