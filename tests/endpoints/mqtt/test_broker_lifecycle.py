"""Backend choice, start/stop, port errors, denial counts and the external backend."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from smartzone.endpoints.mqtt.broker import start_broker
from smartzone.errors import EndpointError, UsageError
from tests.endpoints.mqtt.conftest import Probe, has_mosquitto

CITY = "sz/v2/accessville"
needs_mosquitto = pytest.mark.skipif(not has_mosquitto(), reason="mosquitto is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unknown_backend_is_a_clear_error(access_scenario):
    with pytest.raises(EndpointError, match="unknown broker 'rabbit'"):
        start_broker("rabbit", access_scenario)


@needs_mosquitto
def test_auto_prefers_mosquitto_when_installed(start_test_broker, access_scenario):
    assert start_test_broker("auto", access_scenario).backend == "mosquitto"


@needs_mosquitto
def test_mosquitto_busy_port_and_clean_stop(access_scenario):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(EndpointError, match=f"port {port} .*in use"):
            start_broker("mosquitto", access_scenario, port=port)
    broker = start_broker("mosquitto", access_scenario)
    proc, private = broker._proc, broker._dir
    assert proc is not None and proc.poll() is None
    broker.close()
    assert proc.poll() is not None and not private.exists()
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", broker.port))


@pytest.mark.parametrize("backend", ["embedded", pytest.param("mosquitto", marks=needs_mosquitto)])
def test_denied_counts_per_user(backend, start_test_broker, access_scenario, mqtt_client):
    b = start_test_broker(backend, access_scenario)
    thief = Probe(b.port, "app", "wrong", "app-1")
    try:
        assert thief.connect() != 0
    finally:
        thief.close()
    app = mqtt_client(b, "app", "app-pw", "app-count")
    assert app.subscribe(f"{CITY}/comune/#")[0] >= 0x80
    app.publish(f"{CITY}/acme/street-light/ap-1/cmd", b"{}")  # read grant only: no command
    app.publish(f"{CITY}/open/street-light/ol-0001/cmd", b"{}")  # granted: not counted
    expected = {"app:connect": 1, "app:subscribe": 1, "app:publish": 1}
    # counting happens on the broker's thread after the PUBACK: wait (bounded) for it
    deadline = time.monotonic() + 5.0
    while b.denied_counts() != expected and time.monotonic() < deadline:
        threading.Event().wait(0.02)
    assert b.denied_counts() == expected


@needs_mosquitto
def test_external_broker_by_url(start_test_broker, access_scenario, monkeypatch):
    managed = start_test_broker("mosquitto", access_scenario)
    url = f"mqtt://{managed.service_user}:{managed.service_password}@127.0.0.1:{managed.port}"
    ext = start_broker(url, access_scenario)
    assert (ext.host, ext.port, ext.service_user) == ("127.0.0.1", managed.port, managed.service_user)
    assert any("external" in lim for lim in ext.limitations)
    assert ext.describe()[0].endswith(f"mqtt://127.0.0.1:{managed.port}")
    ext.close()
    monkeypatch.setenv("SMARTZONE_MQTT_USER", "admin")
    monkeypatch.setenv("SMARTZONE_MQTT_PASSWORD", "admin-pw")
    from_env = start_broker(f"mqtt://127.0.0.1:{managed.port}", access_scenario)
    assert from_env.service_user == "admin"
    from_env.close()
    monkeypatch.setenv("SMARTZONE_MQTT_PASSWORD", "wrong")
    with pytest.raises(EndpointError, match="refused SmartZone"):
        start_broker(f"mqtt://127.0.0.1:{managed.port}", access_scenario)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:1883", "mqtt://:1883", "mqtt://127.0.0.1:notaport", "mqtt://127.0.0.1:1883/x"]
)
def test_bad_external_urls(url, access_scenario):
    with pytest.raises(UsageError, match="bad broker URL"):
        start_broker(url, access_scenario)


def test_unreachable_external_broker(access_scenario, monkeypatch):
    monkeypatch.delenv("SMARTZONE_MQTT_USER", raising=False)
    with pytest.raises(EndpointError, match="not reachable"):
        start_broker(f"mqtt://127.0.0.1:{_free_port()}", access_scenario)


def test_mosquitto_start_failure_surfaces_its_stderr(access_scenario, tmp_path, monkeypatch):
    from smartzone.endpoints.mqtt.broker.backends import mosquitto

    if mosquitto.find_dynsec_plugin() is None:
        pytest.skip("mosquitto's dynamic-security plugin is not installed")
    fake = tmp_path / "mosquitto"
    fake.write_text("#!/bin/sh\necho 'Error: Unable to open config: boom' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(mosquitto, "find_mosquitto", lambda: str(fake))
    with pytest.raises(EndpointError, match=r"mosquitto exited at start .*boom"):
        start_broker("mosquitto", access_scenario)


def test_mosquitto_without_its_dynamic_security_plugin_is_a_clear_error(access_scenario, monkeypatch):
    from smartzone.endpoints.mqtt.broker.backends import mosquitto

    if mosquitto.find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    monkeypatch.setattr(mosquitto, "PLUGIN_DIRS", ())
    with pytest.raises(EndpointError, match=r"mosquitto_dynamic_security\.so.*try --broker embedded"):
        start_broker("mosquitto", access_scenario)


def test_auto_falls_back_to_embedded_without_mosquitto(start_test_broker, access_scenario, monkeypatch):
    from smartzone.endpoints.mqtt.broker.backends import mosquitto

    monkeypatch.setattr(mosquitto, "find_mosquitto", lambda: None)
    assert start_test_broker("auto", access_scenario).backend == "embedded"


def _connect_packet(client_id: str, user: str, password: str, keep_alive: int) -> bytes:
    def s(text: str) -> bytes:
        return len(text).to_bytes(2, "big") + text.encode()

    body = s("MQTT") + bytes([4, 0xC2]) + keep_alive.to_bytes(2, "big") + s(client_id) + s(user) + s(password)
    return bytes([0x10, len(body)]) + body


@pytest.mark.parametrize("backend", ["embedded", pytest.param("mosquitto", marks=needs_mosquitto)])
def test_silent_clients_are_dropped_after_their_keep_alive(backend, start_test_broker, access_scenario):
    """amqtt 0.12 never enforces keep-alive; SmartZone does (mosquitto does by itself)."""
    broker = start_test_broker(backend, access_scenario)
    with socket.create_connection(("127.0.0.1", broker.port), timeout=20) as sock:
        sock.sendall(_connect_packet("app-silent", "app", "app-pw", keep_alive=1))
        assert sock.recv(4) == bytes([0x20, 2, 0, 0])  # CONNACK accepted
        # then silence: the broker must close within 1.5-2 keep-alives (20 s bound, no timing asserted)
        assert sock.recv(16) == b""


@pytest.mark.parametrize("backend", ["embedded", pytest.param("mosquitto", marks=needs_mosquitto)])
def test_close_with_clients_still_connected(backend, access_scenario):
    """close() ends live sessions and half-open connections, and leaves no thread behind."""
    broker = start_broker(backend, access_scenario)
    probe = Probe(broker.port, "admin", "admin-pw", "admin-live")
    half_open = socket.create_connection(("127.0.0.1", broker.port), timeout=10)
    try:
        assert probe.connect() == 0
        assert probe.subscribe("sz/v2/accessville/#") == [0]
        half_open.sendall(b"\x10")  # a CONNECT that never completes
        broker.close()
        assert probe.wait_for(lambda: probe.disconnects > 0)
        assert half_open.recv(16) == b""
    finally:
        half_open.close()
        probe.close()
        broker.close()


def _subscribe_packet(packet_id: int, topic_filter: str) -> bytes:
    body = packet_id.to_bytes(2, "big") + len(topic_filter).to_bytes(2, "big") + topic_filter.encode() + b"\x00"
    return bytes([0x82, len(body)]) + body


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.parametrize("backend", ["embedded", pytest.param("mosquitto", marks=needs_mosquitto)])
def test_a_subscribe_pipelined_behind_the_connect_is_answered(backend, start_test_broker, access_scenario):
    """CONNECT and SUBSCRIBE in one segment: the gate reads both; nothing read may be lost on the way on."""
    broker = start_test_broker(backend, access_scenario)
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as sock:
        own = "sz/v2/accessville/comune/#"
        other = "sz/v2/accessville/acme/#"
        sock.sendall(
            _connect_packet("owner-comune-pipe", "owner-comune", "comune-pw", 30)
            + _subscribe_packet(7, own)
            + _subscribe_packet(8, other)
        )
        assert _read_exactly(sock, 4) == bytes([0x20, 2, 0, 0])
        assert _read_exactly(sock, 5) == bytes([0x90, 3, 0, 7, 0])  # granted QoS 0
        assert _read_exactly(sock, 5) == bytes([0x90, 3, 0, 8, 0x80])  # another tenant: refused
    deadline = time.monotonic() + 5
    while broker.denied_counts().get("owner-comune:subscribe") != 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert broker.denied_counts().get("owner-comune:subscribe") == 1


class _Watcher:
    """The least a connection observer does (gate/connect.py)."""

    def __init__(self) -> None:
        self.bytes_seen = 0

    def connect(self, key, connect, identity, refusal):
        return None

    def client_bytes(self, key, data):
        self.bytes_seen += len(data)

    def broker_bytes(self, key, data):
        self.bytes_seen += len(data)

    def closed(self, key):
        pass


def test_embedded_hands_app_sockets_to_amqtt_unless_observed(start_test_broker, access_scenario, mqtt_client):
    broker = start_test_broker("embedded", access_scenario)
    before = broker.connections_served()
    direct = mqtt_client(broker, "admin", "admin-pw", "admin-direct")
    assert direct.subscribe("sz/v2/accessville/#") == [0]
    after = broker.connections_served()
    assert after["handed"] == before["handed"] + 1 and after["socket"] == before["socket"]
    watcher = _Watcher()
    broker.set_observer(watcher)
    watched = mqtt_client(broker, "admin", "admin-pw", "admin-watched")
    assert watched.subscribe("sz/v2/accessville/#") == [0]
    assert watcher.bytes_seen > 0  # relayed, so observed
    last = broker.connections_served()
    assert last["handed"] == after["handed"] and last["socket"] == after["socket"] + 1
    # both paths reach the same broker
    topic = "sz/v2/accessville/comune/parking-spot/cp-0001/telemetry"
    watched.publish(topic, b"hello")
    assert direct.wait_for(lambda: direct.received(topic) == [b"hello"])


@pytest.mark.parametrize("backend", ["embedded", pytest.param("mosquitto", marks=needs_mosquitto)])
def test_the_broker_process_never_outlives_smartzone(backend):
    """Killing SmartZone (-9, no clean-up) ends the broker process (amqtt, or mosquitto through its
    tether) and its private directory goes."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from tests.endpoints.mqtt.harness import MQTT_CITY

    script = (
        "from smartzone.definitions.catalog import Catalog, load_scenario\n"
        "from smartzone.endpoints.mqtt.broker import start_broker\n"
        f"b = start_broker({backend!r}, load_scenario({str(MQTT_CITY)!r}, Catalog.builtin()))\n"
        "print(b._proc.pid, b.service_socket, flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = parent.stdout.readline().split()
        assert line, "the broker did not start"
        child, sock = int(line[0]), Path(line[1])
        broker_pids = _descendants(child) | {child}
        assert sock.exists() and (sock.parent.stat().st_mode & 0o777) == 0o700  # no other OS user gets in
        assert backend != "embedded" or (sock.stat().st_mode & 0o777) == 0o600
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in broker_pids):
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in broker_pids), f"{backend} outlived SmartZone"
        while time.monotonic() < deadline and sock.parent.exists():
            time.sleep(0.05)
        assert not sock.parent.exists(), "the private directory was left behind"
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.stdout.close()


def _descendants(pid: int) -> set[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = {int(k) for k in f.read().split()}
    except FileNotFoundError:
        return set()
    return kids.union(*(_descendants(k) for k in kids)) if kids else kids


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
