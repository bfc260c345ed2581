"""The third-party mbpoll binary reads and writes real gateways (Debian package mbpoll)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("mbpoll") is None, reason="mbpoll is not installed (apt install mbpoll)")

VALUE = re.compile(r"^\[(\d+)\]:\s+(\S+)", re.MULTILINE)


def mbpoll(port: int, unit: int, *args: str, write: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """One mbpoll call: -0 makes references the 0-based wire addresses of docs/modbus.md."""
    cmd = ["mbpoll", "-m", "tcp", "-p", str(port), "-a", str(unit), "-0", "-1", "-o", "5", *args, "127.0.0.1"]
    if write is not None:
        cmd += ["--", *write]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)


def values(out: str) -> dict[int, str]:
    return {int(a): v for a, v in VALUE.findall(out)}


def test_mbpoll_reads_the_common_block_and_every_word_order(city) -> None:
    port, unit = city.where("rig-0001")
    live = city.rt.live.get("rig-0001")
    common = mbpoll(port, unit, "-t", "3", "-r", "0", "-c", "10")
    assert common.returncode == 0, common.stderr
    got = values(common.stdout)
    assert got[0] == "900" and got[1] == "3" and got[2] == "1"
    assert int(got[3]) * 65536 + int(got[4]) == live.seq
    # mbpoll reads 32-bit values low word first (CDAB) unless -B (ABCD) is given
    assert values(mbpoll(port, unit, "-t", "3:int", "-r", "11", "-c", "1").stdout) == {11: "123456789"}
    assert values(mbpoll(port, unit, "-t", "3:float", "-B", "-r", "15", "-c", "1").stdout) == {15: "0.8125"}
    assert values(mbpoll(port, unit, "-t", "3:float", "-r", "17", "-c", "1").stdout) == {17: "2.345"}
    assert values(mbpoll(port, unit, "-t", "1", "-r", "0", "-c", "1").stdout) == {0: "1"}


def test_the_mbpoll_line_printed_at_start_works(city) -> None:
    lines = [line for line in city.gateways.describe() if "mbpoll" in line]
    assert len(lines) == 2
    for line in lines:
        cmd = shlex.split(line[line.index("mbpoll") :])
        out = subprocess.run([*cmd[:1], "-o", "5", *cmd[1:]], capture_output=True, text=True, timeout=30, check=False)
        assert out.returncode == 0, out.stderr
        got = values(out.stdout)
        assert set(got) >= set(range(10)) and got[2] == "1"  # common block, online


def test_mbpoll_writes_a_street_light_and_gets_exceptions(city, results) -> None:
    port, unit = city.where("light-0001")
    written = mbpoll(port, unit, "-t", "4", "-r", "0", write=["55"])
    assert written.returncode == 0, written.stdout + written.stderr
    city.settle("light-0001", results)
    assert city.rt.snapshot()["light-0001"].state["level"] == 55
    assert values(mbpoll(port, unit, "-t", "4", "-r", "0", "-c", "1").stdout) == {0: "55"}
    before = city.rt.snapshot()["light-0001"].state
    too_bright = mbpoll(port, unit, "-t", "4", "-r", "0", write=["150"])
    assert too_bright.returncode != 0 and "Illegal data value" in too_bright.stdout + too_bright.stderr
    unmapped = mbpoll(port, unit, "-t", "4", "-r", "1", "-c", "1")
    assert unmapped.returncode != 0 and "Illegal data address" in unmapped.stdout + unmapped.stderr
    nobody = mbpoll(port, 99, "-t", "3", "-r", "0", "-c", "1")
    assert nobody.returncode != 0 and "Target device failed to respond" in nobody.stdout + nobody.stderr
    city.rt.step(60).result(30)
    assert city.rt.snapshot()["light-0001"].state == before


def test_mbpoll_from_a_source_without_write_access_is_refused(guarded_city) -> None:
    """mbpoll cannot bind a source address: the guarded rules make its 127.0.0.1 the foreign one."""
    city = guarded_city
    port, unit = city.where("rig-0001")
    before = city.rt.snapshot()["rig-0001"].state
    read = mbpoll(port, unit, "-t", "4", "-r", "2", "-c", "1")
    assert read.returncode == 0 and values(read.stdout) == {2: "1"}, read.stdout + read.stderr  # mode eco
    written = mbpoll(port, unit, "-t", "4", "-r", "2", write=["2"])
    assert written.returncode != 0 and "Illegal function" in written.stdout + written.stderr
    city.rt.step(120).result(30)
    assert city.rt.snapshot()["rig-0001"].state == before
    assert values(mbpoll(port, unit, "-t", "4", "-r", "2", "-c", "1").stdout) == {2: "1"}
    assert city.gateways.stats()["denied"]["rigs"] == {"127.0.0.1:write": 1}
