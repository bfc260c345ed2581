"""The GUI plays a recording: the timeline spans it, seeks forward and back, pause and step work,
commands are refused, and a damaged file is reported while the open city runs on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtWidgets import QMessageBox

from smartzone.cli import main
from smartzone.core.commands import DeviceCommand
from smartzone.runtime.recording import read_recording
from smartzone.runtime.replay import REPLAY_REFUSED

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SPAN_S = 7200.0
WAIT_MS = 15_000


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two simulated hours of Testville, recorded as `smartzone run --record` does."""
    path = tmp_path_factory.mktemp("rec") / "testville.jsonl.gz"
    argv = ["run", str(FIXTURES / "testville.yaml"), "--fast", "--duration", "2h", "--no-mqtt", "--no-modbus"]
    assert main([*argv, "--record", str(path), "--quiet"]) == 0
    return path


def recorded_value(path: Path, device: str, signal: str, at: float) -> Any:
    """`signal` of `device` in its last recorded reading at or before `at`."""
    value = None
    for rec in read_recording(path)[1]:
        if rec["kind"] == "reading" and rec["device"] == device and rec["t"] <= at and signal in rec["values"]:
            value = rec["values"][signal]
    return value


def a_changing_signal(path: Path, early: float, late: float) -> tuple[str, str]:
    """A (device, signal) whose recorded value differs between `early` and `late`: seeks must show it."""
    for rec in read_recording(path)[1]:
        if rec["kind"] == "reading":
            for signal in rec["values"]:
                device = rec["device"]
                if recorded_value(path, device, signal, early) != recorded_value(path, device, signal, late):
                    return device, signal
    raise AssertionError("nothing changed in the recording")


def shown_value(window: Any, signal: str) -> str:
    names = [window.inspector.values.item(r, 0).text() for r in range(window.inspector.values.rowCount())]
    return window.inspector.values.item(names.index(signal), 1).text()


def test_the_timeline_spans_the_recording_and_seeks_both_ways(window: Any, qtbot: Any, recording: Path) -> None:
    from smartzone_gui.inspector import _fmt

    assert window.timeline.isHidden()  # no recording yet
    assert window.open_recording(recording)
    rt, bar = window.session.runtime, window.timeline
    assert not bar.isHidden() and "replay of testville.jsonl.gz" in window.windowTitle()
    assert (bar.slider.minimum(), bar.slider.maximum()) == (0, int(SPAN_S))
    start = datetime.fromisoformat(read_recording(recording)[0]["start"])
    local = start.astimezone(window.zone)
    assert bar.start_label.text() == f"{local:%H:%M:%S}"
    assert (
        bar.end_label.text()
        == f"{datetime.fromtimestamp(start.timestamp() + SPAN_S, UTC).astimezone(window.zone):%H:%M:%S}"
    )
    device, signal = a_changing_signal(recording, 1800.0, 5400.0)
    window.select_device(device)

    bar.slider.setValue(5400)  # as a drag released there: forward, fast-forwarded
    assert rt.sim_time == pytest.approx(5400.0) and window.session.state == "paused"
    want = _fmt(recorded_value(recording, device, signal, 5400.0))
    qtbot.waitUntil(lambda: shown_value(window, signal) == want, timeout=WAIT_MS)
    assert "+1h30min" in bar.position.text()

    bar.go_to.setText("30min")  # typed: backward, played again from the recording, same runtime
    bar.go_to.returnPressed.emit()
    assert window.session.runtime is rt and rt.sim_time == 1800.0
    want = _fmt(recorded_value(recording, device, signal, 1800.0))
    assert shown_value(window, signal) == want  # at once: the live state was reset to the recording
    qtbot.waitUntil(lambda: bar.slider.value() == 1800, timeout=WAIT_MS)
    assert window.bar.clock.text().startswith(
        f"{datetime.fromtimestamp(start.timestamp() + 1800, UTC).astimezone(window.zone):%Y-%m-%d %H:%M:%S}"
    )

    bar.go_to.setText("3h")  # past the end: said, not done
    bar.go_to.returnPressed.emit()
    assert "after the end" in bar.problem.text() and rt.sim_time == 1800.0


def test_pause_resume_and_step_drive_the_replay(window: Any, qtbot: Any, recording: Path) -> None:
    assert window.open_recording(recording)
    rt = window.session.runtime
    window.set_speed(600.0)
    window.bar.run_action.trigger()
    qtbot.waitUntil(lambda: rt.sim_time > 120, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.timeline.slider.value() > 60, timeout=WAIT_MS)  # the handle follows the play
    window.bar.run_action.trigger()
    assert window.session.state == "paused"
    qtbot.waitUntil(lambda: rt.paused, timeout=WAIT_MS)
    frozen = rt.sim_time
    qtbot.wait(300)
    assert rt.sim_time == frozen
    window.bar.step_action.trigger()
    qtbot.waitUntil(lambda: rt.sim_time == pytest.approx(frozen + 60.0), timeout=WAIT_MS)
    window.timeline.slider.setValue(int(SPAN_S))  # to the end: the replay waits there, finished
    qtbot.waitUntil(lambda: window.session.state == "finished", timeout=WAIT_MS)
    assert not window.bar.run_action.isEnabled()
    window.timeline.slider.setValue(600)  # and can still go back
    assert rt.sim_time == 600.0 and window.session.state == "paused" and window.bar.run_action.isEnabled()
    window.bar.run_action.trigger()
    qtbot.waitUntil(lambda: rt.sim_time > 700, timeout=WAIT_MS)


def test_a_replay_refuses_commands_and_disables_live_actions(window: Any, recording: Path) -> None:
    assert window.open_recording(recording)
    window.select_device("l-0001")
    assert not window.inspector.controls.isEnabled() and not window.network.edit.isEnabled()
    assert REPLAY_REFUSED in window.inspector.controls.toolTip()
    result = window.session.submit(DeviceCommand("l-0001", "dim", {"level": 10}, id="x", source="gui")).result(10)
    assert (result.ok, result.error_code, result.error_message) == (False, "forbidden", REPLAY_REFUSED)
    assert window.open_scenario(str(FIXTURES / "testville.yaml"))  # a live city again: all back
    assert window.timeline.isHidden() and window.inspector.controls.isEnabled() and window.network.edit.isEnabled()


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"this is not gzip", "not a recording"), (b"", "not a SmartZone recording header")],
)
def test_a_damaged_recording_is_reported_and_the_city_runs_on(
    window: Any, qtbot: Any, monkeypatch: Any, tmp_path: Path, content: bytes, problem: str
) -> None:
    assert window.open_scenario(str(FIXTURES / "testville.yaml"))
    rt = window.session.runtime
    window.set_speed(600.0)
    window.session.start()
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _p, title, text: shown.append((title, text)))
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(content)
    assert not window.open_recording(bad)
    assert shown and shown[0][0] == "Cannot open the recording"
    assert str(bad) in shown[0][1] and problem in shown[0][1]
    assert window.session.runtime is rt and window.timeline.isHidden()
    t = rt.sim_time
    qtbot.waitUntil(lambda: rt.sim_time > t + 60, timeout=WAIT_MS)  # still running


def test_a_recording_with_a_bad_line_is_refused_at_open(
    window: Any, monkeypatch: Any, recording: Path, tmp_path: Path
) -> None:
    import gzip

    lines = gzip.decompress(recording.read_bytes()).split(b"\n")
    bad = tmp_path / "cut.jsonl.gz"
    bad.write_bytes(gzip.compress(b"\n".join([*lines[:5], b"{garbage", *lines[5:]])))
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _p, _t, text: shown.append(text))
    assert not window.open_recording(bad)
    assert shown == [f"{bad}: line 6: not JSON"]


def _smartzone(*args: str) -> Any:
    import os
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "smartzone", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, cwd=root, env=env, check=False)


def test_smartzone_gui_replay_plays_and_saves_a_screenshot(recording: Path, tmp_path: Path) -> None:
    png = tmp_path / "replay.png"
    args = ["--no-endpoints", "--start", "--speed", "600", "--screenshot", str(png), "--screenshot-after", "1"]
    out = _smartzone("gui", "--replay", str(recording), *args)
    assert out.returncode == 0, out.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--replay", "nowhere.jsonl.gz"], "--replay: no such recording nowhere.jsonl.gz"),
        (["testville", "--replay", "x.jsonl.gz"], "a scenario or --replay FILE, not both"),
        (["--replay", "x.jsonl.gz", "--seed", "3"], "--seed and --start-hour do not apply to --replay"),
        (["--replay", "BAD", "--no-endpoints"], "BAD: not a recording (Not a gzipped file"),
    ],
)
def test_smartzone_gui_replay_mistakes_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_text("hello\n")
    out = _smartzone("gui", *[str(bad) if a == "BAD" else a for a in args])
    assert out.returncode == 2
    assert message.replace("BAD", str(bad)) in out.stderr and "Traceback" not in out.stderr


def test_a_seek_after_the_engine_stopped_says_so(window: Any, monkeypatch: Any, recording: Path) -> None:
    assert window.open_recording(recording)
    window.session.start()
    window.session.runtime.stop()  # as after a fatal failure of the engine
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: shown.append(text))
    window.timeline.slider.setValue(600)
    assert shown == ["The replay cannot move to that time: the simulation has stopped"]
