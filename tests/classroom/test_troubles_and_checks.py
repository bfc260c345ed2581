"""Troubleshooting and the new checks, on a real (not started) city: variables dealt from shared decks,
trouble injected and removed through the fault system as progress moves, Modbus attribution per unit and
connection, rate and reading checks, and located mistakes in troubles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from smartzone.certify.records import ModbusRec, Observations, Stamp
from smartzone.classroom.checks import Context, evaluate
from smartzone.classroom.observer import ClassRecorder, Facts, Tracker
from smartzone.classroom.progress import Cell, Progress
from smartzone.classroom.troubles import Troubles
from smartzone.classroom.variables import draw
from smartzone.core.live import LiveState
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.course import ModbusUsed, Rate, Reading, load_course, resolve_course
from smartzone.definitions.errors import DefinitionError
from smartzone.runtime.api import Runtime

ROOT = Path(__file__).resolve().parents[2]
CITY = ROOT / "tests" / "fixtures" / "classroom-infra.yaml"
USERS = ["anna", "bruno"]


@pytest.fixture
def rt() -> Runtime:
    catalog = Catalog.builtin()
    return Runtime(load_scenario(CITY, catalog), catalog, fast=True)  # never started: commands apply at once


def _values(rt: Runtime, course_name: str) -> tuple[Any, dict[str, dict[str, Any]]]:
    course = load_course(resolve_course(course_name))
    gateways = [b.id for b in rt.scenario.networks.backhauls if b.kind == "gateway"]
    return course, draw(course, course.seed, USERS, rt.devices, gateways)


def test_device_variables_of_one_type_share_a_deck_and_choices_name_them(rt: Runtime) -> None:
    course, values = _values(rt, "troubleshooting")
    spots = {u: [values[u][v] for v in ("spot_a", "spot_b", "spot_c")] for u in USERS}
    assert len(set(spots["anna"] + spots["bruno"])) == 6, f"no sensor is dealt twice: {spots}"
    assert all(values[u]["offline"] in spots[u] for u in USERS), "the offline sensor is one of the trainee's"
    assert {values[u]["gateway"] for u in USERS} == {"gw-north", "gw-south"}
    assert draw(course, course.seed, USERS, rt.devices, ["gw-north", "gw-south"]) == values


def test_trouble_follows_the_step_the_trainee_is_on(rt: Runtime) -> None:
    course, values = _values(rt, "troubleshooting")
    steps = [s.id for _, s in course.steps()]
    progress = Progress(course.id, steps, dict.fromkeys(steps, 1), USERS)
    troubles = Troubles(rt, course, values)
    offline = values["anna"]["offline"]
    profile = "lora-" + values["anna"]["gateway"].removeprefix("gw-")

    base_loss = rt.world.network.refs[profile].current.loss  # lorawan-sf7's own
    troubles.sync(progress)
    assert rt.world.faults.active(offline) == [], "nothing before the trainee reaches the step"
    progress.cell("anna", "connect").done = True
    troubles.sync(progress)
    assert rt.world.faults.active(offline) == ["offline"]
    assert rt.world.faults.active(values["bruno"]["offline"]) == [], "only the trainee's own part of the city"

    progress.cell("anna", "offline").done = True
    troubles.sync(progress)
    assert rt.world.faults.active(offline) == [], "a step done takes its trouble away"
    assert rt.world.network.refs[profile].current.loss == pytest.approx(0.8)
    other = "lora-north" if profile == "lora-south" else "lora-south"
    assert rt.world.network.refs[other].current.loss == base_loss

    for s in steps:  # the trainer resets the trainee: its cells are cleared
        progress.cells["anna"][s] = Cell()
    troubles.sync(progress)
    assert rt.world.network.refs[profile].current.loss == base_loss
    assert not rt.health.snapshot() or all(p.state != "failed" for p in rt.health.snapshot().values())


def _rec(conn: str, device: str, wall: float, address: int = 0, count: int = 7, exc: int | None = None) -> ModbusRec:
    return ModbusRec(Stamp(wall, wall), conn, "gw", 1, device, 4, "input", address, count, exc)


def test_modbus_counts_for_the_trainee_whose_unit_it_is_and_binds_connections() -> None:
    rec = ClassRecorder(Observations("c", "class", 1.0), None, lambda: 0.0)  # type: ignore[arg-type]
    tracker = Tracker(rec, USERS, {}, owners={"em-1": "anna", "em-2": "bruno"})
    rec.obs.modbus += [
        _rec("gw/1000", "em-1", 1.0),
        _rec("gw/1000", "em-2", 2.0),
        _rec("gw/2000", "em-2", 3.0, 200, 2, 2),
    ]
    tracker.update()
    check = ModbusUsed(kind="modbus", device="{meter}", address="{reg}", count=7)
    ctx = lambda user: Context("c", {}, LiveState(), tracker.modbus_for(user))  # noqa: E731
    assert evaluate(check, "s", Facts(), {"meter": "em-1", "reg": "0"}, ctx("anna")) == (True, 1)
    assert evaluate(check, "s", Facts(), {"meter": "em-2", "reg": "0"}, ctx("bruno")) == (False, 1), (
        "anna's connection read bruno's unit: it does not count for bruno"
    )
    assert evaluate(check, "s", Facts(), {"meter": "em-1", "reg": "0"}, ctx("bruno"))[0] is False, "not bruno's unit"
    exception = ModbusUsed(kind="modbus", device="{meter}", exception=2)
    assert evaluate(exception, "s", Facts(), {"meter": "em-2"}, ctx("bruno"))[0] is True
    assert evaluate(exception, "s", Facts(), {"meter": "em-1"}, ctx("anna"))[0] is False

    rate = Rate(kind="rate", of="modbus", device="{meter}", max_per_s=0.5, window=10, min_count=1)
    many = [_rec("gw/3000", "em-1", 10.0 + i / 10) for i in range(20)]
    assert evaluate(rate, "s", Facts(), {"meter": "em-1"}, Context("c", {}, LiveState(), many, now=12.0))[0] is False
    few = many[:3]
    assert evaluate(rate, "s", Facts(), {"meter": "em-1"}, Context("c", {}, LiveState(), few, now=12.0))[0] is True
    assert evaluate(rate, "s", Facts(), {"meter": "em-1"}, Context("c", {}, LiveState(), few, now=40.0))[0] is False


def test_a_reading_is_an_answer_close_to_the_live_value() -> None:
    live = LiveState()
    live.seed("em-1", {"power": 12.345}, {}, True, 1)
    check = Reading(kind="reading", device="{meter}", signal="power", tolerance=0.01)
    facts = Facts(answers=[("decode", 2.4e-41), ("other", 12.345)])
    ctx = Context("c", {}, live, [])
    assert evaluate(check, "decode", facts, {"meter": "em-1"}, ctx) == (False, 1)
    facts.answers.append(("decode", "12.35"))
    assert evaluate(check, "decode", facts, {"meter": "em-1"}, ctx) == (True, 2)


def test_trouble_mistakes_are_located(tmp_path: Path) -> None:
    text = (ROOT / "courses" / "troubleshooting.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace('device: "{offline}"', 'device: "{ofline}"'))
    with pytest.raises(DefinitionError, match=r"trouble.*ofline|ofline") as err:
        load_course(bad)
    assert "bad.yaml:" in str(err.value)
    bad.write_text(text.replace("kind: rate, of: deliveries", "kind: rate, of: modbus"))
    with pytest.raises(DefinitionError, match="needs 'device'"):
        load_course(bad)


def test_a_word_order_trouble_is_located_and_needs_32_bit_registers(rt: Runtime, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EVERY_TROUBLE.replace('{kind: word_order, device: "{meter}"}', '{kind: word_order, devise: "{meter}"}')
    )
    with pytest.raises(DefinitionError) as err:
        load_course(bad)
    assert "bad.yaml:17" in str(err.value) and "devise" in str(err.value), err.value
    spot = tmp_path / "spot.yaml"
    spot.write_text(
        EVERY_TROUBLE.replace("id: every-trouble", "id: spot")
        .replace("type: energy-meter", "type: parking-spot")
        .replace('          - {kind: stuck, device: "{meter}", signal: power}\n', "")
    )
    course = load_course(spot)
    values = draw(course, course.seed, ["anna"], rt.devices, ["gw-north", "gw-south"])
    Troubles(rt, course, values).sync(Progress(course.id, ["s"], {"s": 1}, ["anna"]))
    sensor = values["anna"]["meter"]
    assert rt.world.faults.active(sensor) == [], "a parking sensor's unit has no 32-bit register to swap"
    cause = rt.health.snapshot()["class trouble"].last_cause
    assert f"anna step s: {sensor} (parking-spot) has no 32-bit Modbus register" in cause, cause


def test_a_certified_check_needs_its_sample_and_never_overwrites_a_trainees_copy(tmp_path: Path) -> None:
    from smartzone.classroom.certified import prepare

    text = (ROOT / "courses" / "certify-first-app.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(DefinitionError, match=r"no file 'apps/first_app\.py' next to the course"):
        load_course(bad)
    course = load_course(ROOT / "courses" / "certify-first-app.yaml")
    mine = tmp_path / "class" / "apps" / "anna" / "first_app.py"
    mine.parent.mkdir(parents=True)
    mine.write_text("# anna's fix\n")
    prepare(tmp_path / "class", course, ROOT / "courses", USERS)
    assert mine.read_text() == "# anna's fix\n", "a resumed class keeps the trainee's work"
    assert (tmp_path / "class" / "apps" / "bruno" / "first_app.py").read_text() == (
        ROOT / "courses" / "apps" / "first_app.py"
    ).read_text()


EVERY_TROUBLE = """schema_version: 1
id: every-trouble
title: Every trouble
scenario: bologna
variables:
  meter: {kind: device, type: energy-meter}
  gateway: {kind: gateway}
lessons:
  - id: l
    title: L
    steps:
      - id: s
        title: S
        instructions: all at once
        trouble:
          - {kind: stuck, device: "{meter}", signal: power}
          - {kind: word_order, device: "{meter}"}
          - {kind: gateway_outage, gateway: "{gateway}"}
          - {kind: duty_cycle, gateway: "{gateway}", percent: 0.05}
        checks:
          - {kind: answer, equals: done}
"""


def test_stuck_word_order_outage_and_duty_cycle_are_injected_and_removed(rt: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "every.yaml"
    path.write_text(EVERY_TROUBLE)
    course = load_course(path)
    values = draw(course, course.seed, ["anna"], rt.devices, ["gw-north", "gw-south"])
    meter, gateway = values["anna"]["meter"], values["anna"]["gateway"]
    profile = "lora-" + gateway.removeprefix("gw-")
    progress = Progress(course.id, ["s"], {"s": 1}, ["anna"])
    troubles = Troubles(rt, course, values)
    troubles.sync(progress)
    assert rt.world.faults.active(meter) == ["stuck", "word_swap"]
    assert rt.live.get(meter).effects == {"stuck", "word_swap"}, "the Modbus gateway swaps the meter's words"
    assert rt.world.network.hop(gateway).cut
    assert rt.world.network.refs[profile].current.duty_cycle == pytest.approx(0.0005)
    progress.cell("anna", "s").done = True
    troubles.sync(progress)
    assert rt.world.faults.active(meter) == []
    assert rt.live.get(meter).effects == frozenset()
    assert not rt.world.network.hop(gateway).cut
    assert rt.world.network.refs[profile].current.duty_cycle == pytest.approx(0.01), "back to EU868's 1 %"


def test_a_trouble_the_city_refuses_is_one_line_for_the_trainer(tmp_path: Path) -> None:
    course = tmp_path / "typo.yaml"
    course.write_text(
        EVERY_TROUBLE.replace("id: every-trouble", "id: typo")
        .replace("meter: {kind: device, type: energy-meter}", "meter: {kind: choice, values: [em-9999]}")
        .replace("  gateway: {kind: gateway}\n", "")
        .replace(
            """          - {kind: word_order, device: "{meter}"}
          - {kind: gateway_outage, gateway: "{gateway}"}
          - {kind: duty_cycle, gateway: "{gateway}", percent: 0.05}
""",
            "",
        )
    )
    cmd = [sys.executable, "-m", "smartzone", "class", "start", str(course), "--trainees", "1", "--scenario"]
    cmd += [str(CITY), "--mqtt-port", "0", "--no-modbus", "--duration", "3", "--out", str(tmp_path / "out")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("class: class trouble:")]
    assert lines == ["class: class trouble: trainee-01 step s: InjectFault refused: no device 'em-9999'"], proc.stderr
    assert "Traceback" not in proc.stderr
