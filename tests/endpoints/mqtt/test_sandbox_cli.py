"""`smartzone sandbox add|remove|reset` as a subprocess against a running sandbox city."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.mqtt.bridge import Bridge
from smartzone.endpoints.mqtt.broker import Broker, service_address
from smartzone.endpoints.mqtt.service import MqttService
from smartzone.runtime.api import Runtime

from .sandbox_city import CITY, SANDBOX_CITY, running_city

CLI_TIMEOUT_S = 60


@pytest.fixture
def broker(start_test_broker: Callable[..., Broker], catalog: Catalog) -> Broker:
    return start_test_broker("embedded", load_scenario(SANDBOX_CITY, catalog))


@pytest.fixture
def city(broker: Broker) -> Iterator[Runtime]:
    with running_city(broker) as rt:
        yield rt


def smartzone(
    broker: Broker, *args: str, user: str = "owner-a", password: str = "owner-a-pw"
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; the connection comes from the contract's SZ_* variables."""
    env = {
        **os.environ,
        "SZ_URL": f"mqtt://127.0.0.1:{broker.port}",
        "SZ_USER": user,
        "SZ_PASSWORD": password,
        "SZ_CITY": CITY,
    }
    cmd = [sys.executable, "-m", "smartzone", "sandbox", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT_S)


def test_add_remove_reset_as_the_owner(broker: Broker, city: Runtime) -> None:
    done = smartzone(broker, "add", "a-light-1", "--type", "street-light", "--district", "porto", "--tenant", "lab-a")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("added a-light-1 in sandbox lab-a at 2026-11-23T") and done.stdout.count("\n") == 1
    assert city.devices["a-light-1"].district == "porto"
    lat_lon = ("--lat", "44.485", "--lon", "11.34", "--tenant", "lab-a")
    assert smartzone(broker, "add", "a-spot-1", "--type", "parking-spot", *lat_lon).returncode == 0
    assert round(city.devices["a-spot-1"].lat, 3) == 44.485
    removed = smartzone(broker, "remove", "a-light-1", "--tenant", "lab-a")
    assert removed.returncode == 0 and removed.stdout.startswith("removed a-light-1")
    assert "a-light-1" not in city.devices
    reset = smartzone(broker, "reset", "--tenant", "lab-a")
    assert reset.returncode == 0 and reset.stdout.startswith("reset a-spot-1 in sandbox lab-a")
    assert "a-spot-1" not in city.devices


def test_refusals_exit_1_with_one_line_and_no_traceback(broker: Broker, city: Runtime) -> None:
    dup = smartzone(broker, "add", "cp-0001", "--type", "street-light", "--tenant", "lab-a")
    assert dup.returncode == 1 and "refused: duplicate:" in dup.stderr and dup.stdout == ""
    wrong_pw = smartzone(broker, "reset", "--tenant", "lab-a", password="nope")
    assert wrong_pw.returncode == 1 and "owner-a" in wrong_pw.stderr
    app = smartzone(broker, "reset", "--tenant", "lab-a", user="app", password="app-pw")
    assert app.returncode == 1 and "lab-a/sandbox/result" in app.stderr
    unreachable = smartzone(broker, "reset", "--tenant", "lab-a", "--port", "1")
    assert unreachable.returncode == 1 and "127.0.0.1:1" in unreachable.stderr
    for run in (dup, wrong_pw, app, unreachable):
        assert "Traceback" not in run.stderr and run.stderr.count("\n") == 1, run.stderr


def test_usage_errors_exit_2(broker: Broker) -> None:
    half = smartzone(broker, "add", "x1", "--type", "street-light", "--lat", "44.4", "--tenant", "lab-a")
    assert half.returncode == 2 and "--lat and --lon" in half.stderr
    no_tenant = smartzone(broker, "reset")
    assert no_tenant.returncode == 2 and "--tenant" in no_tenant.stderr
    no_user = smartzone(broker, "reset", "--tenant", "lab-a", user="")
    assert no_user.returncode == 2 and "--user" in no_user.stderr
    for run in (half, no_tenant, no_user):
        assert "Traceback" not in run.stderr


def test_the_run_banner_tells_the_sandbox_owner_where_to_ask(broker: Broker, city: Runtime) -> None:
    service = MqttService(broker, Bridge(city, service_address(broker)))  # not started: describe() only
    lines = "\n".join(service.describe())
    assert f"sandbox lab-a: owner-a sends requests on sz/v2/{CITY}/lab-a/sandbox/request" in lines
    [try_line] = [line for line in lines.splitlines() if "try: smartzone sandbox add" in line and "lab-a" in line]
    argv = shlex.split(try_line.split("try: ", 1)[1].replace("DEVICE", "a-banner-1").replace("TYPE", "street-light"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SZ_")}  # the line alone must do
    done = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT_S)
    assert done.returncode == 0, (try_line, done.stderr)
    assert "a-banner-1" in city.devices
