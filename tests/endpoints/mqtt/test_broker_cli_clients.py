"""Access seen through the third-party mosquitto_sub / mosquitto_pub binaries, on both backends."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from smartzone.endpoints.mqtt.broker import Broker, start_broker
from tests.endpoints.mqtt.conftest import Probe, has_mosquitto

CITY = "sz/v2/accessville"
pytestmark = pytest.mark.skipif(shutil.which("mosquitto_sub") is None, reason="mosquitto-clients not installed")


@pytest.fixture(scope="module", params=["embedded", "mosquitto"])
def broker(request: pytest.FixtureRequest, access_scenario) -> Iterator[Broker]:
    if request.param == "mosquitto" and not has_mosquitto():
        pytest.skip("mosquitto is not installed")
    b = start_broker(request.param, access_scenario)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def service(broker) -> Iterator[Probe]:
    probe = Probe(broker.port, broker.service_user, broker.service_password, f"{broker.service_user}-cli")
    assert probe.connect() == 0
    yield probe
    probe.close()


def run(
    broker: Broker, tool: str, user: str, password: str, client_id: str, *args: str
) -> subprocess.CompletedProcess[str]:
    cmd = [tool, "-h", "127.0.0.1", "-p", str(broker.port), "-u", user, "-P", password, "-i", client_id, "-d", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)


def test_denied_subscribe_gets_the_failure_code(broker):
    out = run(broker, "mosquitto_sub", "owner-acme", "acme-pw", "owner-acme-cli", "-t", f"{CITY}/comune/#", "-W", "5")
    assert "Subscribed (mid: 1): 128" in out.stdout, out.stdout + out.stderr
    assert "All subscription requests were denied" in out.stderr


def test_granted_subscribe_reads_the_retained_catalog(broker, service):
    service.publish(f"{CITY}/acme/catalog", b'{"devices": ["ap-0001"]}', retain=True)
    out = run(broker, "mosquitto_sub", "app", "app-pw", "app-cli", "-t", f"{CITY}/acme/catalog", "-C", "1", "-W", "5")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Subscribed (mid: 1): 0" in out.stdout
    assert '{"devices": ["ap-0001"]}' in out.stdout


def test_default_and_foreign_client_ids_are_accepted(broker, service):
    """mosquitto_pub without -i (its default: a blank id, or mosq-... in older versions) and with another
    user's id both get in."""
    assert service.subscribe(f"{CITY}/open/+/+/cmd", qos=1) == [1]
    plain = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-u", "app", "-P", "app-pw", "-d", "-q", "1"]
    out = subprocess.run(
        [*plain, "-t", f"{CITY}/open/x/y/cmd", "-m", "default-id"], capture_output=True, text=True, timeout=20
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "received CONNACK (0)" in out.stdout  # with the tool's default id: blank (mosquitto 2) or mosq-...
    out = run(
        broker, "mosquitto_pub", "app", "app-pw", "admin", "-t", f"{CITY}/open/x/y/cmd", "-m", "admin-id", "-q", "1"
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert service.wait_for(lambda: service.received(f"{CITY}/open/x/y/cmd") == [b"default-id", b"admin-id"])


def test_granted_command_arrives_and_denied_one_is_dropped(broker, service):
    assert service.subscribe(f"{CITY}/+/+/+/cmd", qos=1) == [1]
    denied = run(
        broker,
        "mosquitto_pub",
        "app-traffic",
        "traffic-pw",
        "app-traffic-cli",
        "-t",
        f"{CITY}/acme/street-light/x-1/cmd",
        "-m",
        "denied",
        "-q",
        "1",
    )
    granted = run(
        broker,
        "mosquitto_pub",
        "app-traffic",
        "traffic-pw",
        "app-traffic-cli",
        "-t",
        f"{CITY}/comune/street-light/x-1/cmd",
        "-m",
        "granted",
        "-q",
        "1",
    )
    assert denied.returncode == 0 and granted.returncode == 0  # MQTT 3.1.1 drops silently
    assert service.wait_for(lambda: service.received(f"{CITY}/comune/street-light/x-1/cmd") == [b"granted"])
    assert service.received(f"{CITY}/acme/street-light/x-1/cmd") == []


def test_mqtt5_denied_subscribe_code_on_mosquitto(broker, service):
    if broker.backend != "mosquitto":
        pytest.skip("the embedded broker speaks MQTT 3.1.1 only")
    service.publish(f"{CITY}/acme/parking-spot/ap-0002/status", b"{}", retain=True)
    out = run(
        broker,
        "mosquitto_sub",
        "app",
        "app-pw",
        "app-v5",
        "-V",
        "mqttv5",
        "-t",
        f"{CITY}/comune/#",
        "-t",
        f"{CITY}/acme/#",
        "-C",
        "1",
        "-W",
        "5",
    )
    assert "Subscribed (mid: 1): 135, 0" in out.stdout, out.stdout + out.stderr


def test_mqtt31_clients(broker, service):
    service.publish(f"{CITY}/open/catalog", b"open-catalog", retain=True)
    out = run(broker, "mosquitto_sub", "app-traffic", "traffic-pw", "app-traffic-31", "-V", "mqttv31",
              "-t", f"{CITY}/open/catalog", "-C", "1", "-W", "5")  # fmt: skip
    if broker.backend == "embedded":  # amqtt 0.12 misreads 3.1 CONNECTs: the gate refuses them
        assert "unacceptable protocol version" in (out.stdout + out.stderr)
    else:
        assert "open-catalog" in out.stdout, out.stdout + out.stderr
