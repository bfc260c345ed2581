"""The shipped course "Modbus for city infrastructure", end to end: `smartzone class start` in its own
process and a trainee scripted with mbpoll (each run a fresh Modbus TCP connection) and mosquitto_pub
(answers), reading its unit ids and values from its handout.

Wrong attempts that must not count: the right read of another trainee's meter, a float decoded in the
wrong word order, a setpoint other than the trainee's, a wrong exception code. The troubleshooting step
`swapped` swaps the words of the trainee's meter's 32-bit registers (and of no other trainee's meter)
until the trainee names the order and decodes the power with it; then the words are in order again.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from tests.classroom.classkit import ROOT, Paper, answer, cell, mbpoll, mbpoll_values, running_class, wait

CITY = ROOT / "tests" / "fixtures" / "classroom-infra.yaml"

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(
        shutil.which("mbpoll") is None or shutil.which("mosquitto_pub") is None,
        reason="needs mbpoll and mosquitto-clients",
    ),
]


def _float(words: list[int], order: str) -> float:
    high, low = (words[0], words[1]) if order == "ABCD" else (words[1], words[0])
    return struct.unpack(">f", struct.pack(">HH", high & 0xFFFF, low & 0xFFFF))[0]


def _registers(host: str, port: int, unit: int, address: int, count: int) -> list[int]:
    out = mbpoll(host, port, unit, "-t", "3", "-r", str(address), "-c", str(count))
    words = [w & 0xFFFF for w in mbpoll_values(out.stdout)]
    assert out.returncode == 0 and len(words) == count, out.stdout + out.stderr
    return words


def _kwh(words: list[int]) -> float:
    """The meter's energy (uint32, tenths of kWh) from its two registers in the documented order ABCD."""
    return (words[0] << 16 | words[1]) / 10


def _swapped_step(one: Paper, two: Paper, out: Path, meter: str, other_meter: str, kwh: float) -> None:
    """The meter's words come swapped (and only the trainee's meter's); the step is done by the right
    order and a power decoded with it; then the meter serves its documented order again."""
    port, unit = one.modbus(meter)
    status = wait("the trouble", lambda: [r for r in _registers(one.host, port, unit, 2, 1) if r & 0b10])[0]
    assert status & 1, "still online: only its word order changed"
    words = _registers(one.host, port, unit, 24, 2)
    assert abs(_kwh(words[::-1]) - kwh) < 50, f"the energy's words are swapped: {words}, {kwh} kWh before"
    assert abs(_kwh(words) - kwh) > 1000, f"read in the documented order, it is nonsense: {_kwh(words)} kWh"
    other_port, other_unit = two.modbus(other_meter)
    assert not _registers(two.host, other_port, other_unit, 2, 1)[0] & 0b10, "the other trainee's meter is fine"
    other_power = _float(_registers(two.host, other_port, other_unit, 22, 2), "CDAB")
    assert 0 <= other_power <= 70, f"the other trainee's meter decodes as documented: {other_power}"

    words = _registers(one.host, port, unit, 22, 2)
    answer(one, "swapped", "CDAB")
    documented = _float(words, "CDAB")
    answer(one, "swapped", round(documented, 3) if abs(documented) < 1e30 else str(documented))
    wait("the wrong answers seen", lambda: cell(out, one.user, "swapped").get("attempts", 0) >= 3)
    assert not cell(out, one.user, "swapped").get("done")
    answer(one, "swapped", "abcd")  # text answers ignore case
    for _ in range(5):  # the meter may report between our read and the class's evaluation: read again
        power = _float(_registers(one.host, port, unit, 22, 2), "ABCD")
        assert 0 <= power <= 70, f"a meter's power in kW, decoded ABCD while swapped: {power}"
        answer(one, "swapped", round(power, 3))
        try:
            wait("swapped", lambda: cell(out, one.user, "swapped").get("done"), timeout=5)
            break
        except AssertionError:
            continue
    assert cell(out, one.user, "swapped").get("done")
    wait("the documented order again", lambda: not _registers(one.host, port, unit, 2, 1)[0] & 0b10)
    words = _registers(one.host, port, unit, 24, 2)
    assert abs(_kwh(words) - kwh) < 50, f"the energy reads ABCD again: {words}, {kwh} kWh before"
    power = _float(_registers(one.host, port, unit, 22, 2), "CDAB")
    assert 0 <= power <= 70, f"the power decodes CDAB again: {power}"


def test_a_trainee_takes_the_modbus_course(tmp_path: Path) -> None:
    with running_class("modbus-infrastructure", tmp_path, "--scenario", str(CITY), "--speed", "10") as out:
        one, two = Paper(out / "handout-trainee-01.html"), Paper(out / "handout-trainee-02.html")
        meter, valve = one.after("Your energy meter is"), one.after("your water valve is")
        other_meter = two.after("Your energy meter is")
        assert meter != other_meter, "two trainees get different meters"
        opening = int(one.after("Open your valve to", r"\s*(\d+)"))
        port, unit = one.modbus(meter)
        user = one.user

        def done(step: str) -> bool:
            return bool(cell(out, user, step).get("done"))

        # find: the right read of the other trainee's meter, with the right answer, does not count
        other = mbpoll(two.host, *two.modbus(other_meter), "-t", "3", "-r", "0", "-c", "7")
        assert other.returncode == 0 and mbpoll_values(other.stdout)[0] == 7, other.stdout
        answer(one, "find", 7)
        wait("the answer seen", lambda: cell(out, user, "find").get("attempts", 0) >= 1)
        assert not done("find")
        mine = mbpoll(one.host, port, unit, "-t", "3", "-r", "0", "-c", "7")
        assert mine.returncode == 0, mine.stderr
        wait("find", lambda: done("find"))

        # decode: the float in the wrong word order does not count; the right one does
        kwh = _kwh(_registers(one.host, port, unit, 24, 2))  # before the next step swaps the meter's words
        raw = mbpoll(one.host, port, unit, "-t", "3", "-r", "22", "-c", "2")
        words = mbpoll_values(raw.stdout)
        assert len(words) == 2, raw.stdout
        wrong = _float(words, "ABCD")
        answer(one, "decode", round(wrong, 3) if abs(wrong) < 1e30 else str(wrong))
        wait("the wrong decoding seen", lambda: cell(out, user, "decode").get("attempts", 0) >= 1)
        assert not done("decode")
        for _ in range(5):  # the meter may report between our read and the class's evaluation: read again
            raw = mbpoll(one.host, port, unit, "-t", "3", "-r", "22", "-c", "2")
            power = _float(mbpoll_values(raw.stdout), "CDAB")
            assert 0 <= power <= 70, f"a meter's power in kW, decoded CDAB: {power}"
            answer(one, "decode", round(power, 3))
            try:
                wait("decode", lambda: done("decode"), timeout=5)
                break
            except AssertionError:
                continue
        assert done("decode")
        _swapped_step(one, two, out, meter, other_meter, kwh)

        # setpoint: another opening does not count, the trainee's own does
        vport, vunit = one.modbus(valve)
        other_opening = opening + 5 if opening < 90 else opening - 5
        assert mbpoll(one.host, vport, vunit, "-t", "4", "-r", "0", write=other_opening).returncode == 0
        wait(
            "the valve at the wrong opening",
            lambda: (
                mbpoll_values(mbpoll(one.host, vport, vunit, "-t", "3", "-r", "10", "-c", "1").stdout)
                == [other_opening]
            ),
        )
        assert not done("setpoint")
        assert mbpoll(one.host, vport, vunit, "-t", "4", "-r", "0", write=opening).returncode == 0
        wait("setpoint", lambda: done("setpoint"))

        # exception: the code of an unmapped address is 2; 11 is another exception's
        failed = mbpoll(one.host, port, unit, "-t", "3", "-r", "200", "-c", "2")
        assert "Illegal data address" in failed.stdout + failed.stderr
        answer(one, "exception", 11)
        wait("the wrong code seen", lambda: cell(out, user, "exception").get("attempts", 0) >= 2)
        assert not done("exception")
        answer(one, "exception", 2)
        wait("exception", lambda: done("exception"))
        assert not any(
            cell(out, "trainee-02", s).get("done") for s in ("find", "decode", "swapped", "setpoint", "exception")
        )
