"""Supervision: a gateway that dies is noticed by the runtime's watchdog, restarted, or fatal.

How the tests kill a gateway in-process (docs/modbus.md, Supervision):
- its listener: `loop.call_soon_threadsafe(server.transport.close)` closes the listening
  socket on the gateway's own loop thread, as a crashed accept loop would leave it;
- the Modbus thread: `loop.call_soon_threadsafe(loop.stop)` ends `run_forever`, so the
  thread `smartzone-modbus` returns with every gateway on it;
- a request handler: a unit whose `check` raises once.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from smartzone.endpoints.modbus.running import RunningGateway

from .wire import HOST, assert_serving

DEVICE_FAILURE = 0x04


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def kinds(city, component: str) -> list[str]:
    return [e.kind for e in city.rt.health.events if e.component == component]


def gateway(city, gateway_id: str) -> RunningGateway:
    return next(g for g in city.gateways.gateways if g.plan.id == gateway_id)


def test_a_gateway_whose_listener_dies_is_restarted_on_the_same_port(city) -> None:
    g = gateway(city, "rigs")
    port, unit = city.where("rig-0001")
    seen: list[int] = []
    g.server.observer = lambda handler, unit_id, pdu, response: seen.append(unit_id)  # e.g. certify's
    old = g.server
    city.gateways._loop.call_soon_threadsafe(old.transport.close)
    wait_for(lambda: kinds(city, "modbus gateway rigs") == ["down", "up"])
    down, up = (e for e in city.rt.health.events if e.component == "modbus gateway rigs")
    assert down.cause == f"its server stopped listening on {HOST}:{port}"
    assert up.cause == f"restarted on {HOST}:{port}"
    assert g.server is not old and g.port == port and g.restarts == 1
    assert_serving(port, unit)
    assert seen == [unit]  # the observer moved to the new server
    part = city.rt.health.snapshot()["modbus gateway rigs"]
    assert part.state == "ok" and part.outages == 1 and not city.rt.health.failed
    assert kinds(city, "modbus gateway city") == []  # the other gateway was not touched


def test_when_the_modbus_thread_ends_every_gateway_is_restarted(city) -> None:
    old_thread, old_loop = city.gateways._thread, city.gateways._loop
    old_loop.call_soon_threadsafe(old_loop.stop)
    old_thread.join(10)
    assert not old_thread.is_alive()
    for g in city.gateways.gateways:
        wait_for(lambda g=g: kinds(city, g.component) == ["down", "up"])
    assert city.gateways._thread.is_alive() and city.gateways._thread is not old_thread
    for device in ("rig-0001", "light-0001"):
        assert_serving(*city.where(device))
    assert not city.rt.health.failed


def test_a_gateway_that_cannot_listen_again_is_fatal_naming_it(city) -> None:
    g = gateway(city, "rigs")
    port = g.port
    blocker = socket.socket()
    try:

        def kill_and_take_the_port() -> None:  # on the loop thread: the restart cannot run in between
            g.server.transport.close()
            blocker.bind((HOST, port))
            blocker.listen()

        city.gateways._loop.call_soon_threadsafe(kill_and_take_the_port)
        wait_for(lambda: city.rt.health.failed)
    finally:
        blocker.close()
    assert city.rt.health.fatal_causes() == [
        f"modbus gateway rigs: its server stopped listening on {HOST}:{port}; restarting it failed: "
        f"Modbus gateway 'rigs' cannot listen on {HOST}:{port}: Address already in use "
        "(is the port in use? choose another with --modbus-port)"
    ]
    assert kinds(city, "modbus gateway rigs") == ["down", "fatal"]
    assert_serving(*city.where("light-0001"))  # the other gateway still serves


def test_an_exception_while_answering_is_survived_and_answered_0x04(city, client_factory, monkeypatch) -> None:
    port, unit = city.where("rig-0001")
    target = gateway(city, "rigs").server.units[unit]
    real = target.check
    raised: list[bool] = []

    def check_that_fails_once(table: str, address: int, count: int):
        if not raised:
            raised.append(True)
            raise RuntimeError("injected fault")
        return real(table, address, count)

    monkeypatch.setattr(target, "check", check_that_fails_once)
    c = client_factory(port)
    failed = c.read_input_registers(0, count=1, device_id=unit)
    assert failed.isError() and failed.exception_code == DEVICE_FAILURE
    assert c.read_input_registers(0, count=1, device_id=unit).registers == [900]  # the same connection goes on
    (event,) = [e for e in city.rt.health.events if e.kind == "survived"]
    assert event.component == "modbus gateway rigs"
    assert event.cause.startswith("RuntimeError: injected fault (test_supervision.py:")
    assert not city.rt.health.failed
