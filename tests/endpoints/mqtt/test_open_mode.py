"""Open lab mode (`access: {mode: open}`, `smartzone run --open`): the open space outside sz/, and sz/ kept.

The rules come from the one AccessPolicy; both managed backends are checked with real paho
clients as anonymous, owner and app users of tests/fixtures/access-city.yaml.
"""

from __future__ import annotations

from collections.abc import Callable

import pydantic
import pytest

from smartzone.cli.errors import EXIT_OK, EXIT_USAGE
from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.definitions.scenario import Access, Scenario
from smartzone.endpoints.mqtt.broker import Broker
from smartzone.endpoints.mqtt.broker.policy import ANONYMOUS, AccessPolicy, Identity
from tests.endpoints.mqtt.conftest import Probe, dynsec_acls, has_mosquitto
from tests.endpoints.mqtt.harness import MQTT_CITY
from tests.endpoints.mqtt.test_mqtt_service import RUN, smartzone

OPEN_TOPIC = "sz/v2/accessville/open/parking-spot/op-0001/telemetry"
CLOSED_TOPIC = "sz/v2/accessville/comune/parking-spot/cp-0001/telemetry"
ANON = Identity(ANONYMOUS, "anonymous")
BACKENDS = ["embedded", pytest.param("mosquitto", marks=pytest.mark.skipif(not has_mosquitto(), reason="no mosquitto"))]


def with_mode(scenario: Scenario, mode: str) -> Scenario:
    return scenario.model_copy(update={"access": scenario.access.model_copy(update={"mode": mode})})


def test_mode_is_closed_by_default_and_strict() -> None:
    assert Access().mode == "closed"
    assert Access(mode="open").mode == "open"
    with pytest.raises(pydantic.ValidationError, match="mode"):
        Access(mode="public")  # type: ignore[arg-type]


def test_policy_open_space(access_scenario: Scenario) -> None:
    closed = AccessPolicy(access_scenario, "pw")
    assert not closed.may_publish(ANON, "lab/x") and not closed.may_subscribe(ANON, "lab/#")
    lab = AccessPolicy(with_mode(access_scenario, "open"), "pw")
    app = Identity("app", "app")
    assert lab.may_publish(ANON, "lab/x") and lab.may_receive(ANON, "lab/x") and lab.may_subscribe(ANON, "#")
    assert lab.may_publish(app, "lab/x") and lab.may_subscribe(app, "+/x")
    assert not lab.may_publish(ANON, OPEN_TOPIC) and lab.may_receive(ANON, OPEN_TOPIC)
    assert not lab.may_receive(ANON, CLOSED_TOPIC) and not lab.may_subscribe(ANON, "sz/v2/accessville/comune/#")
    assert not lab.may_publish(ANON, "sz/anything") and not lab.may_publish(ANON, "$SYS/x")
    assert not lab.may_publish(Identity("stranger", "unknown"), "lab/x")
    assert lab.authenticate(None, None) == ANON and lab.authenticate("app", "wrong") is None


def test_v1_topics_stay_reserved(catalog: Catalog) -> None:
    scenario = load_scenario(MQTT_CITY, catalog)
    assert scenario.api_v1
    lab = AccessPolicy(with_mode(scenario, "open"), "pw")
    assert not lab.may_publish(ANON, "icity/mqttville/anything/data") and lab.may_publish(ANON, "icity/elsewhere/x")
    assert not lab.filter_meets_open_space("icity/mqttville/#") and lab.filter_meets_open_space("icity/+/x/data")


def test_mosquitto_acl_opens_the_lab_and_denies_closed_tenants(access_scenario: Scenario) -> None:
    anonymous = dynsec_acls(AccessPolicy(with_mode(access_scenario, "open"), "pw"), "anonymous")
    assert {("publishClientReceive", "#", True), ("publishClientSend", "#", True)} <= anonymous
    assert {
        ("publishClientReceive", "sz/v2/accessville/comune/#", False),
        ("publishClientSend", "sz/#", False),
    } <= anonymous
    assert ("publishClientReceive", "sz/v2/accessville/open/#", False) not in anonymous
    closed = dynsec_acls(AccessPolicy(access_scenario, "pw"), "anonymous")
    assert ("publishClientReceive", "#", True) not in closed and ("publishClientSend", "#", True) not in closed


@pytest.mark.parametrize("backend", BACKENDS)
def test_open_lab_as_anonymous_and_as_users(
    backend: str, start_test_broker: Callable[..., Broker], mqtt_client: Callable[..., Probe], access_scenario: Scenario
) -> None:
    b = start_test_broker(backend, with_mode(access_scenario, "open"))
    watcher = mqtt_client(b, "admin", "admin-pw", "admin-watch")
    assert watcher.subscribe("sz/v2/accessville/#", 1) == [1]
    anon = mqtt_client(b, None, None, "lab-1")
    assert anon.subscribe("#", 2) == [2]
    assert anon.subscribe("sz/v2/accessville/comune/#", 1) == [0x80]
    for qos in (0, 1, 2):
        anon.publish(OPEN_TOPIC, f"forged {qos}", qos=qos)  # acknowledged, never delivered
    owner = mqtt_client(b, "owner-comune", "comune-pw", "owner-comune")
    owner.publish(CLOSED_TOPIC, "closed", qos=1)
    owner.publish("lab/owner", "hello lab", qos=1)
    admin = mqtt_client(b, "admin", "admin-pw", "admin")
    admin.publish(OPEN_TOPIC, "open data", qos=1)
    assert anon.wait_for(lambda: anon.received(OPEN_TOPIC) == [b"open data"])
    assert anon.wait_for(lambda: anon.received("lab/owner") == [b"hello lab"])
    assert watcher.wait_for(lambda: watcher.received(OPEN_TOPIC) == [b"open data"])
    assert anon.received(CLOSED_TOPIC) == [] and watcher.received(OPEN_TOPIC) == [b"open data"]
    assert b.denied_counts().get("(anonymous):subscribe") == 1
    assert any("WARNING: OPEN LAB MODE" in line for line in b.describe())


@pytest.mark.parametrize("backend", BACKENDS)
def test_open_mode_keeps_a_command_only_app_off_the_cmd_topics_others_publish(
    backend: str, start_test_broker: Callable[..., Broker], mqtt_client: Callable[..., Probe], access_scenario: Scenario
) -> None:
    """app commands `open` but may not read it: through `#` it gets the lab and its cmd/ack, never the cmd
    another client sends there (mosquitto: the reserved space is denied below the grants, dynsec.py)."""
    b = start_test_broker(backend, with_mode(access_scenario, "open"))
    app = mqtt_client(b, "app", "app-pw", "app-watch")
    assert app.subscribe("#", 1) == [1]
    admin = mqtt_client(b, "admin", "admin-pw", "admin-cmd")
    cmd = "sz/v2/accessville/open/street-light/ol-0001/cmd"
    admin.publish(cmd, "someone else's command", qos=1)
    admin.publish(cmd + "/ack", "an ack", qos=1)
    admin.publish("lab/marker", "end", qos=1)
    assert app.wait_for(lambda: app.received("lab/marker") == [b"end"])  # sent last, on the same path
    assert app.received(cmd + "/ack") == [b"an ack"]
    assert app.received(cmd) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_closed_mode_keeps_anonymous_read_only(
    backend: str, start_test_broker: Callable[..., Broker], mqtt_client: Callable[..., Probe], access_scenario: Scenario
) -> None:
    b = start_test_broker(backend, access_scenario)  # anonymous_read: true, mode closed
    anon = mqtt_client(b, None, None, "reader")
    assert anon.subscribe("lab/#", 1) == [0x80]


def test_run_open_warns_on_stderr_and_in_the_banner() -> None:
    done = smartzone(*RUN, "--broker", "embedded", "--mqtt-port", "0", "--open")
    assert done.returncode == EXIT_OK, done.stderr
    assert "WARNING: open lab mode: anyone who can reach the MQTT port may connect" in done.stderr
    assert "WARNING: OPEN LAB MODE" in done.stderr and "anonymous: every topic outside sz/" in done.stderr


def test_run_open_refuses_an_external_broker() -> None:
    done = smartzone(*RUN, "--broker", "mqtt://127.0.0.1:1", "--open")
    assert done.returncode == EXIT_USAGE and "--open" in done.stderr and "Traceback" not in done.stderr
