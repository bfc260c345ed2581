"""Broker unreachable: the engine never blocks, readings wait in a bounded backlog, losses are counted."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smartzone.core.events import Reading
from smartzone.endpoints.mqtt.bridge import Bridge
from smartzone.endpoints.mqtt.publisher import BrokerAddress, Connection, GatewayPublisher
from smartzone.runtime.api import Runtime

from .harness import MQTT_CITY, free_port

BACKLOG = 40


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def plain_mosquitto(tmp_path: Path) -> Iterator[Callable[[int], None]]:
    """Start an anonymous mosquitto on a given port (an 'external' broker); killed at teardown."""
    if shutil.which("mosquitto") is None:
        pytest.skip("mosquitto is not installed")
    procs: list[subprocess.Popen[bytes]] = []

    def start(port: int) -> None:
        cfg = tmp_path / "mosquitto.conf"
        cfg.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        procs.append(subprocess.Popen(["mosquitto", "-c", str(cfg)], stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while not _accepts(port):
            assert time.monotonic() < deadline and procs[-1].poll() is None, "mosquitto did not start"
            time.sleep(0.02)

    yield start
    for p in procs:
        p.terminate()
        p.wait(10)


def test_broker_down_bounded_backlog_losses_counted_then_delivered(plain_mosquitto: Callable[[int], None]) -> None:
    port = free_port()
    warnings: list[str] = []
    rt = Runtime.load(MQTT_CITY, fast=True, duration=3600)
    bridge = Bridge(rt, BrokerAddress("127.0.0.1", port), backlog_bound=BACKLOG, connections=2, warn=warnings.append)
    readings: list[Reading] = []
    rt.subscribe(lambda e: readings.append(e) if isinstance(e, Reading) else None)
    bridge.start(wait=False)
    try:
        rt.start()
        assert rt.wait(30), "the engine must finish its run although the broker is down"
        telemetry = 2 * len(readings)  # native/senml/ngsi-ld + the v1 copy
        assert telemetry > 2 * BACKLOG
        pub = bridge.publisher
        done = lambda: sum(c.inbox.qsize() for c in pub.conns) == 0  # noqa: E731
        assert _wait(done), "the workers keep draining while disconnected"
        s = bridge.stats()
        assert s["published"] == 0 and s["connected"] == 0
        assert s["lost_offline"] + s["lost_queue_full"] == telemetry - sum(len(c.backlog) for c in pub.conns)
        assert all(len(c.backlog) <= BACKLOG for c in pub.conns)
        assert "cannot connect" in pub.last_error()
        pub.check_losses()
        assert any("lost" in w for w in warnings)
        # the broker comes up: retained documents and the backlog are published
        plain_mosquitto(port)
        retained = sum(len(c.retained) for c in pub.conns)
        backlog = sum(len(c.backlog) for c in pub.conns)
        assert _wait(lambda: bridge.stats()["published"] >= retained + backlog, 20)
        assert bridge.stats()["queued"] == 0
    finally:
        rt.stop()
        bridge.close()


def test_queue_full_is_counted_not_blocking() -> None:
    conn = Connection(BrokerAddress("127.0.0.1", 1), "t-gw0", lambda item: (), bound=10, backlog=10)
    accepted = [conn.submit(i) for i in range(15)]
    assert accepted == [True] * 10 + [False] * 5
    assert conn.lost_queue_full == 5


def test_staged_batches_respect_the_bound_and_wake_the_worker_once() -> None:
    pub = GatewayPublisher(BrokerAddress("127.0.0.1", 1), lambda item: (), client_prefix="t", queue_bound=10)
    conn = pub.conns[0]
    for i in range(7):
        pub.stage(f"d{i}", i)
    assert conn.queued() == 0  # nothing handed over before the engine's step ends
    pub.flush()
    assert conn.queued() == 7 and conn.inbox.qsize() == 1  # one entry: one wake-up
    for i in range(6):
        pub.stage(f"d{i}", i)
    pub.flush()  # 3 fit under the bound of 10, 3 are counted lost
    assert conn.queued() == 10 and conn.lost_queue_full == 3
    assert pub.stats()["queued"] == 10
    assert conn._take(None) == list(range(7)) and conn.queued() == 3


def _wait(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
