"""A broker child killed with `kill -9` is noticed, restarted behind the same port, and republished.

On both managed backends: the MQTT service of a running city (as `smartzone run` starts it,
supervised through the runtime's health registry and watchdog) loses its broker process;
health shows one outage and its recovery; an ordinary app user connecting afterwards with
paho and with mosquitto_sub reads every retained document it may read, as many as before the
kill; a command still gets its ok ack; no defunct child is left. A broker that cannot start
again is fatal. The CLI side (exit 1, the trace line) is in test_broker_restart_cli.py.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from smartzone.endpoints.mqtt import service as mqtt_service
from smartzone.endpoints.mqtt.broker import Broker
from smartzone.runtime.api import Runtime

from .conftest import Probe, has_mosquitto
from .harness import MQTT_CITY, mosquitto_pub, mosquitto_sub, topic

APP, APP_PW = "app", "app-pw"
FILTERS = ("sz/v2/mqttville/#",)  # spans tenants: delivers what the app may read, discovery documents included
LIGHT = ("comune", "street-light", "cl-0001")
RECOVERY_WAIT_S = 60.0


def _start(backend: str) -> tuple[Runtime, mqtt_service.MqttService]:
    if backend == "mosquitto" and not has_mosquitto():
        pytest.skip("mosquitto is not installed")
    rt = Runtime.load(MQTT_CITY, speed=1.0, duration=3600)
    args = argparse.Namespace(broker=backend, mqtt_port=0, no_mqtt=False)
    service = mqtt_service.start(rt, args)
    assert service is not None and service.supervisor is not None
    return rt, service


@pytest.fixture(params=["embedded", "mosquitto"])
def city(request: pytest.FixtureRequest) -> Iterator[tuple[Runtime, mqtt_service.MqttService]]:
    rt, service = _start(str(request.param))
    rt.start()
    try:
        yield rt, service
    finally:
        rt.stop()
        service.close()


@pytest.fixture
def probes() -> Iterator[Callable[..., Probe]]:
    made: list[Probe] = []

    def make(broker: Broker, client_id: str) -> Probe:
        probe = Probe(broker.port, APP, APP_PW, client_id)
        made.append(probe)
        return probe

    yield make
    for probe in made:
        probe.close()


def readable_retained(service: mqtt_service.MqttService) -> set[str]:
    """The retained documents SmartZone publishes that the app user may read (by the access policy)."""
    policy = service.broker.policy  # type: ignore[attr-defined]
    app = policy.identity_of(APP)
    cached = {t for conn in service.bridge.publisher.conns for t in conn.retained}
    return {t for t in cached if policy.may_receive(app, t)}


def retained_topics(probe: Probe) -> set[str]:
    with probe.cond:
        return {t for t, _, retained in probe.messages if retained}


def read_retained(probe: Probe, expected: set[str]) -> set[str]:
    assert probe.connect() == 0
    for f in FILTERS:
        assert probe.subscribe(f, qos=1) == [1]
    probe.wait_for(lambda: len(retained_topics(probe)) >= len(expected), 15.0)
    return retained_topics(probe)


def zombies_of(pid: int) -> list[int]:
    """Defunct children of process `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z" and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `predicate` until true or `timeout` (for states nothing notifies about)."""
    tick = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return True
        tick.wait(0.02)
    return predicate()


def wait_health(rt: Runtime, component: str, kinds: list[str], timeout: float = RECOVERY_WAIT_S) -> list[str]:
    """Wait (bounded) until `component`'s health events are `kinds` (or one is fatal); returns them."""

    def seen() -> list[str]:
        return [e.kind for e in rt.health.events if e.component == component]

    wait_until(lambda: seen() == kinds or "fatal" in seen(), timeout)
    return seen()


def test_a_killed_broker_is_restarted_and_everything_republished(
    city: tuple[Runtime, mqtt_service.MqttService], probes: Callable[..., Probe]
) -> None:
    rt, service = city
    broker = service.broker
    component = f"mqtt broker ({broker.backend})"
    expected = readable_retained(service)
    assert expected and all("/open/" not in t for t in expected)
    assert read_retained(probes(broker, "app-before"), expected) == expected
    port, old_pid = broker.port, broker.pid
    assert old_pid is not None

    os.kill(old_pid, signal.SIGKILL)
    assert wait_health(rt, component, ["down", "up"]) == ["down", "up"], rt.health.events
    down, up = [e for e in rt.health.events if e.component == component]
    assert "killed by SIGKILL" in down.cause and str(old_pid) in down.cause
    assert f"{len(service.bridge.publisher.conns[0].retained)} retained documents republished" in up.cause
    part = rt.health.snapshot()[component]
    assert (part.state, part.outages) == ("ok", 1)
    assert any(component in line and "1 outage(s)" in line for line in rt.health.summary_lines())
    assert broker.port == port and broker.pid not in (None, old_pid) and broker.running()
    assert zombies_of(os.getpid()) == [] and not Path(f"/proc/{old_pid}").exists()

    # an ordinary app user, with paho and with the mosquitto_sub binary, reads every document again
    assert read_retained(probes(broker, "app-after"), expected) == expected
    got = mosquitto_sub(broker, APP, APP_PW, FILTERS[0], len(expected), "--retained-only", "-q", "1")
    assert {name for name, _ in got} == expected and len(got) == len(expected)

    # and commands still reach the city and come back acknowledged
    acks = probes(broker, "app-acks")
    assert acks.connect() == 0 and acks.subscribe(topic(*LIGHT, "cmd/ack"), qos=1) == [1]
    command = {"id": "after-restart", "action": "dim", "params": {"level": 40}}
    mosquitto_pub(broker, APP, APP_PW, topic(*LIGHT, "cmd"), json.dumps(command))
    assert acks.wait_for(lambda: len(acks.received(topic(*LIGHT, "cmd/ack"))) == 1, 15.0)
    ack = json.loads(acks.received(topic(*LIGHT, "cmd/ack"))[0])
    assert ack["id"] == "after-restart" and ack["ok"] is True

    service.close()  # a deliberate stop: no further health event
    assert [e.kind for e in rt.health.events] == ["down", "up"]


@pytest.mark.parametrize("backend", ["embedded", "mosquitto"])
def test_a_broker_that_cannot_start_again_is_fatal(backend: str) -> None:
    rt, service = _start(backend)
    try:
        broker: Any = service.broker
        # from now on the broker's command line fails at once, as a broken or missing binary would
        broker._prepare = lambda: [
            sys.executable,
            "-c",
            "import sys; sys.stderr.write('broken on purpose'); sys.exit(3)",
        ]
        component = f"mqtt broker ({backend})"
        os.kill(broker.pid, signal.SIGKILL)
        assert rt.health.fatal_event.wait(RECOVERY_WAIT_S), rt.health.events
        assert [e.kind for e in rt.health.events] == ["down", "fatal"]
        [cause] = rt.health.fatal_causes()
        assert cause.startswith(component) and "killed by SIGKILL" in cause
        assert "could not be restarted (3 attempts)" in cause and "broken on purpose" in cause
        assert zombies_of(os.getpid()) == []
    finally:
        rt.stop()
        service.close()


@pytest.mark.parametrize("backend", ["embedded", "mosquitto"])
def test_closing_the_service_is_not_a_death(backend: str) -> None:
    rt, service = _start(backend)
    rt.start()
    rt.stop()
    service.close()
    assert rt.health.events == [] and not service.broker.running()  # type: ignore[attr-defined]


@pytest.mark.parametrize("backend", ["embedded", "mosquitto"])
def test_while_the_broker_is_down_the_gate_answers_server_unavailable(
    backend: str, start_test_broker: Callable[..., Broker], access_scenario: Any, mqtt_client: Callable[..., Probe]
) -> None:
    broker: Any = start_test_broker(backend, access_scenario)  # unsupervised: it stays down
    os.kill(broker.pid, signal.SIGKILL)
    assert wait_until(lambda: not broker.running())
    probe = mqtt_client(broker, "app-traffic", "traffic-pw", "app-traffic", connect=False)
    # CONNACK 3 "server unavailable" (paho 2 reports MQTT 3.1.1 return codes as MQTT 5 reason codes: 0x88)
    assert probe.connect() == 0x88


def test_a_broker_that_keeps_dying_is_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    from smartzone.endpoints.mqtt.broker.backends import supervisor

    monkeypatch.setattr(supervisor, "MAX_DEATHS", 1)  # the second death within the window is one too many
    rt, service = _start("embedded")
    try:
        broker: Any = service.broker
        os.kill(broker.pid, signal.SIGKILL)
        assert wait_health(rt, "mqtt broker (embedded)", ["down", "up"]) == ["down", "up"]
        os.kill(broker.pid, signal.SIGKILL)
        assert rt.health.fatal_event.wait(RECOVERY_WAIT_S), rt.health.events
        assert [e.kind for e in rt.health.events] == ["down", "up", "down", "fatal"]
        assert "died 2 times within 60 s" in rt.health.fatal_causes()[0]
    finally:
        rt.stop()
        service.close()


def test_a_killed_tether_takes_its_mosquitto_along_and_both_come_back() -> None:
    rt, service = _start("mosquitto")
    try:
        broker: Any = service.broker
        tether, mosquitto = broker._proc.pid, broker.pid
        assert tether != mosquitto
        os.kill(tether, signal.SIGKILL)  # mosquitto lives on, orphaned, holding the private socket
        assert wait_health(rt, "mqtt broker (mosquitto)", ["down", "up"]) == ["down", "up"], rt.health.events
        assert wait_until(lambda: not Path(f"/proc/{mosquitto}").exists() or "Z" in _state(mosquitto))
        assert broker.running() and broker.pid not in (tether, mosquitto)
    finally:
        rt.stop()
        service.close()


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat[stat.rindex(")") + 2 :].split()[0]
