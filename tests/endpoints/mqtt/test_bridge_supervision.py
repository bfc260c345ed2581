"""Supervision of the bridge's threads: guarded callbacks survive, a dead thread is fatal, a close is not."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.mqtt.broker import Broker
from smartzone.endpoints.mqtt.commands import COMPONENT

from .harness import MQTT_CITY, City, open_city, topic

CMD = topic("comune", "street-light", "cl-0001", "cmd")
WAIT_S = 10.0  # bounded waits; the watchdog reports within 2 s, the bound only stops a hung test


@pytest.fixture
def broker(start_test_broker: Callable[..., Broker], catalog: Catalog) -> Broker:
    return start_test_broker("embedded", load_scenario(MQTT_CITY, catalog))


@pytest.fixture
def city(broker: Broker) -> Iterator[City]:
    city = open_city(broker, speed=20.0)
    city.runtime.start()
    yield city
    city.close()


def dim(cid: str, level: int) -> str:
    return json.dumps({"id": cid, "action": "dim", "params": {"level": level}})


def test_a_callback_that_raises_is_survived_and_the_next_command_works(
    broker: Broker, city: City, mqtt_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = mqtt_client(broker, "app", "app-pw", "app-sup")
    app.subscribe(CMD + "/ack", qos=1)
    listener = city.bridge.commands
    real = listener.handle
    calls = []

    def broken_once(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise MemoryError("simulated failure while handling one command")
        real(*args)

    monkeypatch.setattr(listener, "handle", broken_once)
    app.publish(CMD, dim("lost-1", 10))
    app.publish(CMD, dim("next-1", 20))
    assert app.wait_for(lambda: len(app.received(CMD + "/ack")) >= 1, WAIT_S)
    [ack] = [json.loads(p) for p in app.received(CMD + "/ack")]
    assert ack["id"] == "next-1" and ack["ok"] is True
    part = city.runtime.health.snapshot()[COMPONENT]
    assert part.survived == 1 and part.state == "ok" and "MemoryError" in part.last_cause
    assert listener.stats()["cmd_dropped"] == 1
    assert not city.runtime.health.failed


def test_a_dead_command_thread_is_fatal_and_named(broker: Broker, city: City, mqtt_client: Callable[..., Any]) -> None:
    def unguarded(*args: Any) -> None:
        raise SystemExit("paho's thread ends")  # what an unguarded RecursionError used to do

    city.bridge.commands.client.on_message = unguarded
    app = mqtt_client(broker, "app", "app-pw", "app-kill")
    app.publish(CMD, dim("kill-1", 10))
    assert city.runtime.health.fatal_event.wait(WAIT_S), "the watchdog did not notice the dead thread"
    [cause] = city.runtime.health.fatal_causes()
    assert cause.startswith(COMPONENT + ":") and "paho network thread" in cause


def test_a_publishing_error_is_survived_and_a_dead_publisher_worker_is_fatal(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = city.bridge.publisher.conns[0]
    conn.submit(("not", "a", "message"))  # a malformed item: publishing it raises inside the worker
    health = city.runtime.health

    def wait_survived() -> bool:
        part = health.snapshot().get(conn.component)
        return part is not None and part.survived >= 1

    assert _wait(wait_survived) and conn.is_alive()
    assert not health.failed

    def die(*args: Any) -> None:
        raise SystemExit("the worker ends")

    monkeypatch.setattr(conn, "_pump", die)
    assert health.fatal_event.wait(WAIT_S)
    [cause] = health.fatal_causes()
    assert cause.startswith(conn.component + ":") and "no longer running" in cause


def test_the_engine_failing_is_fatal(city: City) -> None:
    def boom(event: Any) -> None:
        raise ZeroDivisionError("a subscriber on the engine thread failed")

    city.runtime.subscribe(boom)
    assert city.runtime.health.fatal_event.wait(WAIT_S)
    assert any(
        c.startswith("engine: the simulation failed: ZeroDivisionError") for c in city.runtime.health.fatal_causes()
    )
    with pytest.raises(ZeroDivisionError):
        city.runtime.wait(WAIT_S)


def test_a_deliberate_close_is_not_a_death(broker: Broker) -> None:
    city = open_city(broker, speed=20.0)
    city.runtime.start()
    dog = city.runtime._watchdog
    assert dog is not None and dog.is_alive()
    city.close()
    assert dog.is_alive() is False
    dog.check_once()  # every probe was unwatched: nothing is reported after a close
    assert not city.runtime.health.failed and city.runtime.health.snapshot() == {}


def _wait(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    """Poll a condition of another thread (no event to wait on) with a bounded deadline."""
    tick = threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        tick.wait(0.02)
    return predicate()


def test_a_topic_that_is_not_utf8_is_dropped_and_counted(city: City) -> None:
    """Brokers should refuse such a topic; if one passes it on, nothing to answer: drop and count."""
    listener = city.bridge.commands
    msg = mqtt.MQTTMessage(mid=1, topic=b"sz/v2/mqttville/comune/street-light/cl-0001/\xff")
    msg.payload = b'{"id": "x", "action": "dim", "params": {"level": 1}}'
    listener.client.on_message(listener.client, None, msg)
    assert listener.stats()["cmd_dropped"] == 1 and listener.stats()["cmd_received"] == 0
    assert city.runtime.health.snapshot() == {}  # bad input, not a bug: no health event
