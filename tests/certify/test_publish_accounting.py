"""Every publish of an app appears exactly once in the certification report (real endpoints).

examples/mixed_publisher.py sends a known mix on one connection (valid commands at QoS 0
and 1, a retained one and its clearing, malformed payloads, unknown actions including `dim`
to a parking spot, out-of-range parameters, denied and non-command topics) and prints what
paho wrote; the report's publish accounting, its rows and the command rule must agree, as
an app user and as the tenant's owner (who may publish in its tenant).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from smartzone.cli import main

HERE = Path(__file__).parent
ROOT = HERE.parents[1]

pytestmark = pytest.mark.timeout(90)


def run(report: Path, broker: str, user: str) -> tuple[dict[str, Any], dict[str, Any]]:
    argv = [
        "certify",
        str(HERE / "certville.yaml"),
        "--app",
        f"{sys.executable} {ROOT / 'examples' / 'mixed_publisher.py'}",
        "--user",
        user,
        "--duration",
        "3min",
        "--speed",
        "60",
        "--report",
        str(report),
        "--broker",
        broker,
        "--profile",
        str(HERE / "quiet-profile.yaml"),
    ]
    assert main(argv) == 1  # the mix breaks MUST rules
    doc = json.loads((report / "report.json").read_text(encoding="utf-8"))
    sent_lines = [ln for ln in (report / "app.log").read_text(encoding="utf-8").splitlines() if ln.startswith("SENT ")]
    assert sent_lines, (report / "app.log").read_text(encoding="utf-8")
    return doc, json.loads(sent_lines[-1][5:])


@pytest.mark.parametrize(
    ("broker", "user", "own_topics"),
    [("embedded", "demo-app", 0), ("mosquitto", "demo-app", 0), ("embedded", "comune-owner", 2)],
)
def test_every_publish_of_the_app_is_in_the_report_once(
    tmp_path: Path, broker: str, user: str, own_topics: int
) -> None:
    if broker == "mosquitto" and shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
        pytest.skip("mosquitto is not installed")
    doc, sent = run(tmp_path, broker, user)
    assert sent["total"] == 22  # the app really sent its whole mix
    pubs = doc["publishes"]
    assert pubs["total"] == doc["observed"]["publishes"] == sent["total"]
    # an app user may publish only commands; an owner also the topics of its own tenant
    kinds = dict(sent["kinds"])
    other = kinds.pop("other")
    kinds["denied"] += other - own_topics
    kinds["not_command"] = own_topics
    assert {k: n for k, n in pubs["by_kind"].items() if n} == {k: n for k, n in kinds.items() if n}
    assert sum(r["count"] for r in pubs["rows"]) == sent["total"]
    assert {q: n for q, n in pubs["by_qos"].items() if q != "2"} == sent["qos"] and pubs["retained"] == sent["retained"]
    assert sum(c["publishes"] for c in doc["connections"]) == sent["total"]
    rules = {r["id"]: r for r in doc["rules"]}
    cmd03 = rules["SZ-CMD-03"]["counts"]
    for code in ("malformed", "unknown_action", "invalid_params"):
        assert cmd03[code] == sent["kinds"][code], (code, cmd03)
    assert cmd03["invalid"] == 10 and rules["SZ-CMD-03"]["verdict"] == "fail"
    acl = rules["SZ-ACL-01"]["counts"]
    assert acl["denied_publishes"] == kinds["denied"] == acl["broker_counted_publish"]
    # the page for people shows the same accounting
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<h2>Publishes</h2>" in html and f"<p>{sent['total']} publishes (" in html
