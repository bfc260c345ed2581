"""The shipped course "Certify your first app", end to end: the class gives the trainee a copy of the sample
app, the trainee (mosquitto_pub for answers, a text edit for the fix) asks the class to certify it; the class
runs `smartzone certify` itself. The unfixed app's run and a wrong rule id do not count; the fixed one passes.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.classroom.classkit import ROOT, Paper, answer, cell, running_class, wait

CITY = ROOT / "tests" / "fixtures" / "classroom-infra.yaml"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(400),
    pytest.mark.skipif(shutil.which("mosquitto_pub") is None, reason="needs mosquitto-clients"),
]


def test_a_trainee_fixes_the_sample_app_until_it_is_certified(tmp_path: Path) -> None:
    with running_class("certify-first-app", tmp_path, "--scenario", str(CITY), "--no-modbus") as out:
        one = Paper(out / "handout-trainee-01.html")
        user = one.user
        app = out / "apps" / user / "first_app.py"
        assert f"apps/{user}/first_app.py" in one.text
        assert app.read_text() == (ROOT / "courses" / "apps" / "first_app.py").read_text()
        assert (out / "apps" / "trainee-02" / "first_app.py").is_file(), "every trainee gets a copy"

        answer(one, "run", "SZ-APP-01")
        wait("the wrong rule", lambda: cell(out, user, "run").get("attempts", 0) >= 1)
        assert not cell(out, user, "run")["done"]
        answer(one, "run", "SZ-SUB-01")
        wait("run", lambda: cell(out, user, "run").get("done"))

        answer(one, "fix", "ready")  # the app as shipped: certification fails
        wait("the first certification", lambda: cell(out, user, "fix").get("attempts", 0) >= 1, timeout=150)
        assert not cell(out, user, "fix")["done"], "the unfixed app does not pass"
        assert "FAIL" in (out / "apps" / user / "certify-1" / "certify.log").read_text()

        text = app.read_text()
        fixed = text.replace(
            'client.subscribe(f"sz/v2/{CITY}/#")', 'client.subscribe(f"sz/v2/{CITY}/{TENANT}/parking-spot/+/telemetry")'
        )
        fixed = fixed.replace("        os._exit(3)", "        return")
        assert fixed != text
        app.write_text(fixed)
        answer(one, "fix", "ready")
        wait("fix", lambda: cell(out, user, "fix").get("done"), timeout=150)
        digest = (out / "apps" / user / "certify-2" / "app.sha256").read_text().split()[0]
        assert digest == hashlib.sha256(fixed.encode()).hexdigest(), "the class certified the fixed file"
        assert (out / "apps" / user / "certify-2" / "report.json").is_file()
