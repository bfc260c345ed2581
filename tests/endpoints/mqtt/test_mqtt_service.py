"""`smartzone run` with the MQTT service: how to connect, a busy port (exit 3), --no-mqtt."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from smartzone.cli.errors import EXIT_ENDPOINT, EXIT_OK

from .conftest import has_mosquitto
from .harness import MQTT_CITY

RUN = ["run", str(MQTT_CITY), "--fast", "--duration", "10min", "--no-modbus"]


def smartzone(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, in a child process (its console binds stderr at import)."""
    return subprocess.run([sys.executable, "-m", "smartzone", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("backend", ["embedded", "mosquitto"])
def test_run_prints_how_to_connect(backend: str) -> None:
    if backend == "mosquitto" and not has_mosquitto():
        pytest.skip("mosquitto is not installed")
    done = smartzone(*RUN, "--broker", backend, "--mqtt-port", "0")
    assert done.returncode == EXIT_OK, done.stderr
    out = done.stderr
    assert f"MQTT broker ({backend}): mqtt://127.0.0.1:" in out
    assert "mosquitto_sub -h 127.0.0.1 -p " in out and "-u admin -P admin-pw" in out
    assert "user app  password app-pw" in out
    assert "publishing 5 devices on sz/v2/mqttville/" in out and "icity/mqttville/{device}/data" in out


@pytest.mark.parametrize("backend", ["embedded", "mosquitto"])
def test_busy_port_exits_3_naming_the_port(backend: str) -> None:
    if backend == "mosquitto" and not has_mosquitto():
        pytest.skip("mosquitto is not installed")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = smartzone(*RUN, "--broker", backend, "--mqtt-port", str(port))
    assert done.returncode == EXIT_ENDPOINT
    err = done.stderr
    assert f"port {port}" in err and "in use" in err and "Traceback" not in err


def test_no_mqtt() -> None:
    done = smartzone(*RUN, "--no-mqtt")
    assert done.returncode == EXIT_OK and "MQTT broker" not in done.stderr


def test_unreachable_external_broker_exits_3() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        done = smartzone(*RUN, "--broker", f"mqtt://127.0.0.1:{port}")
    assert done.returncode == EXIT_ENDPOINT and str(port) in done.stderr and "Traceback" not in done.stderr
