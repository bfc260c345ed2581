"""SmartZone says why it refuses (docs/clients.md): live, rate-limited lines and the run summary's totals.

Real brokers on both managed backends, ordinary scenario users with paho; on the embedded
backend an unobserved app is handed over to the amqtt process, which writes its lines to a
copy of SmartZone's stderr: both paths are covered.
"""

from __future__ import annotations

import time

import pytest

from smartzone.endpoints.mqtt.broker import start_broker
from smartzone.endpoints.mqtt.broker.policy import AccessPolicy
from smartzone.endpoints.mqtt.broker.policy.denials import Denials, summary_lines
from tests.endpoints.mqtt.conftest import Probe, has_mosquitto

CITY = "sz/v2/accessville"
WAIT_S = 10.0


def test_lines_are_rate_limited_per_user_and_kind_with_a_count_of_the_rest(access_scenario):
    now = [100.0]
    lines: list[str] = []
    policy = AccessPolicy(access_scenario, "svc")
    d = Denials(policy, lines.append, period=10.0, clock=lambda: now[0])
    app = policy.identity_of("app")
    for _ in range(3):
        d.denied_topic(app, "subscribe", f"{CITY}/comune/#")
    d.denied_topic(app, "publish", f"{CITY}/acme/street-light/x/cmd")  # another kind: its own first line
    assert len(lines) == 2
    assert lines[0].startswith(f"mqtt: denied SUBSCRIBE of app to '{CITY}/comune/#'; app may read {CITY}/acme/#")
    assert lines[1].startswith(f"mqtt: denied PUBLISH of app to '{CITY}/acme/street-light/x/cmd'; app may write ")
    assert f"{CITY}/open/+/+/cmd" in lines[1]
    now[0] += 10.0
    d.denied_topic(app, "subscribe", "#")
    assert len(lines) == 3 and lines[2].endswith("[2 more like this since the last line]")
    assert d.snapshot() == {"app:subscribe": 4, "app:publish": 1}
    assert summary_lines(d.snapshot()) == ["mqtt: 1 PUBLISH denied (app 1)", "mqtt: 4 SUBSCRIBEs denied (app 4)"]


def _wait_err(capfd: pytest.CaptureFixture[str], seen: list[str], needle: str) -> bool:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        seen.append(capfd.readouterr().err)
        if needle in "".join(seen):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("backend", ["embedded", "mosquitto"])
def test_refusals_and_denials_are_said_live_on_stderr(access_scenario, capfd, backend):
    if backend == "mosquitto" and not has_mosquitto():
        pytest.skip("mosquitto is not installed")
    b = start_broker(backend, access_scenario)
    made: list[Probe] = []
    try:
        wrong = Probe(b.port, "app", "nope", "nodered0123456789abcdef")
        made.append(wrong)
        assert wrong.connect() != 0
        app = Probe(b.port, "app", "app-pw", "")
        made.append(app)
        assert app.connect() == 0
        assert app.subscribe(f"{CITY}/comune/#")[0] >= 0x80
        app.publish(f"{CITY}/acme/street-light/x-0001/cmd", b"{}")
        seen: list[str] = []
        assert _wait_err(capfd, seen, "denied PUBLISH"), "".join(seen)
        err = "".join(seen)
        assert "refused CONNECT of user 'app', client id 'nodered0123456789abcdef', from 127.0.0.1:" in err
        assert "unknown user or wrong password; hint: use a user name and password of the scenario" in err
        assert f"denied SUBSCRIBE of app to '{CITY}/comune/#'; app may read {CITY}/acme/#" in err
        assert f"denied PUBLISH of app to '{CITY}/acme/street-light/x-0001/cmd'; app may write" in err
        counts = b.denied_counts()
        assert counts["app:connect"] == 1 and counts["app:subscribe"] == 1 and counts["app:publish"] == 1
    finally:
        for p in made:
            p.close()
        b.close()
