"""A class served with Modbus/TCP Security: the handout carries the trainee's certificate, and a
trainee who saves it reads its unit with pymodbus's TLS client (mbpoll speaks no TLS).

The course (tests/fixtures/course-lab.yaml) grants trainees read access to comune-bologna
only, so under TLS, where the user decides, a trainee's read counts and its write is refused.
"""

from __future__ import annotations

import html
import re
import signal
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pymodbus.client import ModbusTlsClient

from tests.classroom.test_mqtt_course_e2e import ROOT, _cell, _wait

CITY = ROOT / "tests" / "fixtures" / "classroom-city.yaml"
COURSE = ROOT / "tests" / "fixtures" / "course-lab.yaml"
ILLEGAL_FUNCTION = 0x01

pytestmark = pytest.mark.timeout(240)


def test_a_tls_class_hands_each_trainee_its_certificate(tmp_path: Path) -> None:
    out = tmp_path / "class"
    log = (tmp_path / "class.log").open("w")
    cmd = [
        sys.executable, "-m", "smartzone", "class", "start", str(COURSE), "--trainees", "1",
        "--scenario", str(CITY), "--mqtt-port", "0", "--modbus-port", "0", "--modbus-tls", "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    user = "trainee-01"
    try:
        handout = out / f"handout-{user}.html"
        _wait("the handout", lambda: proc.poll() is not None or handout.exists())
        assert proc.poll() is None, (tmp_path / "class.log").read_text()
        page = handout.read_text()
        assert "mbpoll" not in page
        saved = tmp_path / "trainee"
        saved.mkdir()
        files = dict(re.findall(r"<p>save as ([\w.-]+):</p><pre>(.*?)</pre>", page, re.S))
        assert sorted(files) == sorted(["ca.pem", f"{user}.pem", f"{user}-key.pem"]), page
        for name, text in files.items():
            (saved / name).write_text(html.unescape(text))
        assert stat.S_IMODE((out / "modbus-certs" / "users" / f"{user}-key.pem").stat().st_mode) == 0o600
        text = html.unescape(page)
        port = int(re.search(r"ModbusTlsClient\('[^']+', port=(\d+)", text).group(1))  # type: ignore[union-attr]
        unit = int(re.search(r"device_id=(\d+)\)", text).group(1))  # type: ignore[union-attr]

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(saved / "ca.pem")
        ctx.load_cert_chain(saved / f"{user}.pem", saved / f"{user}-key.pem")
        ctx.check_hostname = False
        client = ModbusTlsClient("127.0.0.1", port=port, sslctx=ctx, timeout=5, retries=0)
        try:
            assert client.connect()
            assert not client.read_input_registers(10, count=1, device_id=unit).isError()
            refused = client.write_register(0, 40, device_id=unit)  # the course grants no command
            assert refused.isError() and refused.exception_code == ILLEGAL_FUNCTION
        finally:
            client.close()
        _wait("the read", lambda: _cell(out, user, "read").get("done"))
        assert not _cell(out, user, "write").get("done")
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        log.close()
    assert code == 0, (tmp_path / "class.log").read_text()
    assert f"write denied to {user}@127.0.0.1" in (tmp_path / "class.log").read_text()
