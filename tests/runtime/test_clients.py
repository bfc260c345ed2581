"""ClientRegistry on its own: observer callbacks fed with real MQTT packet bytes (split across
chunks), the scenario's access rules, bounds, rates and detach. The end-to-end checks with
real clients and both brokers are in tests/gui/test_traffic_clients.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.mqtt.broker.policy import AccessPolicy, Identity
from smartzone.endpoints.mqtt.codec import Connect, control_packet, encode_string
from smartzone.runtime import clients as mod
from smartzone.runtime.clients import KEEP_CLOSED, MAX_MESSAGES, ClientRegistry
from smartzone.runtime.health import Health

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class Writer:
    """Stands for the asyncio StreamWriter the broker uses as a connection key."""

    def __init__(self, port: int) -> None:
        self.port = port

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", self.port) if name == "peername" else None


_text, _packet = encode_string, control_packet


def publish(topic: str, payload: bytes) -> bytes:
    return _packet(0x30, _text(topic) + payload)


def subscribe(*filters: str) -> bytes:
    return _packet(0x82, (1).to_bytes(2, "big") + b"".join(_text(f) + b"\x00" for f in filters))


def unsubscribe(*filters: str) -> bytes:
    return _packet(0xA2, (2).to_bytes(2, "big") + b"".join(_text(f) for f in filters))


@pytest.fixture
def policy(catalog: Catalog, tmp_path: Path) -> AccessPolicy:
    data = yaml.safe_load((FIXTURES / "testville.yaml").read_text(encoding="utf-8"))
    data["tenants"].append({"id": "acqua", "name": "Acqua", "kind": "utility"})
    data["users"] = [
        {
            "name": "dash",
            "password": "dash-secret",
            "role": "app",
            "grants": {"read": ["comune"], "command": ["comune"]},
        }
    ]
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return AccessPolicy(load_scenario(path, catalog), "svc")


def _connect(
    reg: ClientRegistry,
    key: Writer,
    client_id: str = "dash-1",
    role: str = "app",
    refusal: tuple[int, int] | None = None,
) -> None:
    conn = Connect(4, client_id, "dash", b"dash-secret", True, b"")
    identity = None if refusal else Identity("dash" if role == "app" else "svc", role)
    assert reg.connect(key, conn, identity, refusal) is None  # the registry never refuses anyone


def test_packets_split_across_chunks_are_counted_once_with_the_access_rules(policy: AccessPolicy) -> None:
    reg = ClientRegistry(policy, sim_time=lambda: 12.5)
    key = Writer(50000)
    _connect(reg, key)
    up = (
        subscribe("sz/v2/testville/comune/#", "sz/v2/testville/acqua/#")
        + publish("sz/v2/testville/comune/street-light/l-1/cmd", b'{"id":"a"}')
        + publish("sz/v2/testville/acqua/x/y/cmd", b"{}")
    )
    for i in range(0, len(up), 7):  # 7-byte chunks: every packet arrives in pieces
        reg.client_bytes(key, up[i : i + 7])
    down = publish("sz/v2/testville/comune/street-light/l-1/telemetry", b"{}") * 3
    reg.broker_bytes(key, down[:10])
    reg.broker_bytes(key, down[10:])
    (view,) = reg.snapshot()
    assert (view.protocol, view.client_id, view.user, view.remote, view.state) == (
        "mqtt",
        "dash-1",
        "dash",
        "127.0.0.1:50000",
        "connected",
    )
    assert view.subscriptions == [("sz/v2/testville/comune/#", True), ("sz/v2/testville/acqua/#", False)]
    assert (view.msgs_in, view.msgs_out, view.denied) == (2, 3, 2)
    messages = reg.drain()
    assert [(m.topic, m.ok, m.who, m.t) for m in messages] == [
        ("sz/v2/testville/comune/street-light/l-1/cmd", True, "dash/dash-1", 12.5),
        ("sz/v2/testville/acqua/x/y/cmd", False, "dash/dash-1", 12.5),
    ]
    assert messages[0].payload == '{"id":"a"}'
    assert reg.drain() == []
    reg.closed(key)
    assert [v.state for v in reg.snapshot()] == ["closed"]


def suback(codes: bytes, packet_id: int = 1, v5: bool = False) -> bytes:
    return _packet(0x90, packet_id.to_bytes(2, "big") + (b"\x00" if v5 else b"") + codes)


@pytest.mark.parametrize("level", [4, 5])
def test_subscribes_and_command_acks_become_app_traffic_rows(policy: AccessPolicy, level: int) -> None:
    """Each filter of a SUBSCRIBE gets a row when the broker answers it (QoS granted or the refusal),
    in order across SUBSCRIBEs; an ack delivered to the app gets a row; other deliveries do not."""
    reg = ClientRegistry(policy, sim_time=lambda: 3.0)
    key = Writer(50003)
    reg.connect(key, Connect(level, "dash-2", "dash", b"dash-secret", True, b""), Identity("dash", "app"), None)
    comune, acqua = "sz/v2/testville/comune/#", "sz/v2/testville/acqua/#"
    first = subscribe(comune, acqua)
    if level == 5:  # MQTT 5: an empty property block after the packet id
        first = _packet(0x82, (1).to_bytes(2, "big") + b"\x00" + _text(comune) + b"\x01" + _text(acqua) + b"\x00")
    reg.client_bytes(key, first)
    reg.client_bytes(key, subscribe(comune) if level == 4 else _packet(0x82, b"\x00\x02\x00" + _text(comune) + b"\x02"))
    assert reg.drain() == []  # not answered yet
    refused = 0x87 if level == 5 else 0x80
    ack_topic = "sz/v2/testville/comune/street-light/l-1/cmd/ack"
    down = (
        suback(bytes([1, refused]), 1, level == 5)
        + publish("sz/v2/testville/comune/street-light/l-1/telemetry", b"{}")
        + suback(b"\x02" if level == 5 else b"\x00", 2, level == 5)
        + publish(ack_topic, (b"\x00" if level == 5 else b"") + b'{"id":"a","ok":true}')  # v5: no properties
    )
    for i in range(0, len(down), 6):
        reg.broker_bytes(key, down[i : i + 6])
    rows = [(m.kind, m.topic, m.payload, m.ok, m.who) for m in reg.drain()]
    qos_asked = (1, 0, 2) if level == 5 else (0, 0, 0)
    assert rows == [
        ("subscribe", comune, f"QoS {qos_asked[0]} granted QoS 1", True, "dash/dash-2"),
        ("subscribe", acqua, f"QoS {qos_asked[1]} refused (0x{refused:02x})", False, "dash/dash-2"),
        ("subscribe", comune, f"QoS {qos_asked[2]} granted QoS {2 if level == 5 else 0}", True, "dash/dash-2"),
        ("ack", ack_topic, '{"id":"a","ok":true}', True, "dash/dash-2"),
    ]
    (view,) = reg.snapshot()
    assert view.msgs_out == 2


def test_unsubscribe_and_resubscribe_keep_the_subscription_list_current(policy: AccessPolicy) -> None:
    reg = ClientRegistry(policy)
    key = Writer(50001)
    _connect(reg, key)
    comune, acqua, lights = "sz/v2/testville/comune/#", "sz/v2/testville/acqua/#", "sz/v2/testville/comune/+/+/state"
    up = subscribe(comune, acqua, lights) + unsubscribe(comune, "never/subscribed") + subscribe(lights)
    for i in range(0, len(up), 5):
        reg.client_bytes(key, up[i : i + 5])
    (view,) = reg.snapshot()
    assert view.subscriptions == [(acqua, False), (lights, True)]
    assert view.denied == 1  # the refused subscribe still counts


def test_service_connections_are_not_listed_refusals_are(policy: AccessPolicy) -> None:
    reg = ClientRegistry(policy)
    _connect(reg, Writer(1), "svc-gw0", role="service")
    _connect(reg, Writer(2), "dash-bad", refusal=(0x04, 0x86))
    assert [(v.client_id, v.state) for v in reg.snapshot()] == [("dash-bad", "refused")]


def test_closed_connections_and_messages_are_bounded(policy: AccessPolicy) -> None:
    reg = ClientRegistry(policy)
    keys = [Writer(p) for p in range(KEEP_CLOSED + 5)]
    for n, key in enumerate(keys):
        _connect(reg, key, f"dash-{n}")
        reg.closed(key)
    ended = reg.snapshot()
    assert len(ended) == KEEP_CLOSED and ended[0].client_id == f"dash-{len(keys) - 1}"  # newest first
    live = Writer(9)
    _connect(reg, live)
    reg.client_bytes(live, publish("sz/v2/testville/comune/a/b/cmd", b"{}") * (MAX_MESSAGES + 10))
    assert len(reg.drain()) == MAX_MESSAGES and reg.dropped_messages == 10


def test_rates_over_a_window(policy: AccessPolicy, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(mod.time, "monotonic", lambda: now[0])
    reg = ClientRegistry(policy)
    key = Writer(3)
    _connect(reg, key)
    reg.snapshot()  # the first mark
    reg.client_bytes(key, publish("sz/v2/testville/comune/a/b/cmd", b"{}") * 6)
    now[0] = 102.0
    (view,) = reg.snapshot()
    assert view.rate_in == 3.0 and view.rate_out == 0.0


def test_attach_and_detach_set_and_clear_the_hooks(policy: AccessPolicy) -> None:
    class Broker:
        backend, policy, observer = "embedded", None, None

        def set_observer(self, observer: Any) -> None:
            self.observer = observer

    class Gateway:
        def __init__(self) -> None:
            self.server = type("Server", (), {"observer": None})()
            self.plan = type("Plan", (), {"id": "gw-1"})()

    broker = Broker()
    broker.policy = policy  # type: ignore[assignment]
    modbus = type("Modbus", (), {"gateways": [Gateway()]})()
    reg = ClientRegistry()
    assert reg.attach([type("Mqtt", (), {"broker": broker})(), modbus]) == ["MQTT (embedded)", "Modbus gw-1"]
    assert broker.observer is reg and reg.policy is policy
    assert callable(modbus.gateways[0].server.observer)
    reg.detach()
    assert broker.observer is None and modbus.gateways[0].server.observer is None


def test_an_observer_error_is_survived_and_the_registry_goes_on(
    policy: AccessPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Called on the broker's loop: an error is reported to health, never raised into the relay."""
    health = Health()
    reg = ClientRegistry(policy, health=health)
    key = Writer(4)
    _connect(reg, key)
    calls = []

    def broken(identity: Identity, topic: str) -> bool:
        calls.append(topic)
        if len(calls) == 1:
            raise KeyError("a policy bug")
        return True

    monkeypatch.setattr(policy, "may_publish", broken)
    assert reg.client_bytes(key, publish("sz/v2/testville/comune/a/b/cmd", b"1")) is None  # no exception
    reg.client_bytes(key, publish("sz/v2/testville/comune/a/b/cmd", b"2"))
    assert [m.payload for m in reg.drain()] == ["2"]
    part = health.snapshot()[mod.COMPONENT]
    assert part.survived == 1 and "KeyError" in part.last_cause and not health.failed
    reg.closed(key)
    assert [v.state for v in reg.snapshot()] == ["closed"]
