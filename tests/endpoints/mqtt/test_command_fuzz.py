"""Fuzz tier: generated bad cmd payloads at a running city, on the embedded and the mosquitto backend.

An ordinary app user with a command grant ('app') publishes each batch; every bad payload
must be answered with a documented error ack (never ok) and change nothing; after each
batch a valid command from another user ('owner-comune') must get an ok ack. Bounded:
a few batches per backend (`max_examples`), every wait has a deadline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from smartzone.definitions.catalog import Catalog, load_scenario
from smartzone.endpoints.mqtt.broker import Broker

from .harness import MQTT_CITY, City, open_city, topic

CMD = topic("comune", "street-light", "cl-0001", "cmd")
ACK = CMD + "/ack"
WAIT_S = 10.0
CODES = {"malformed", "invalid_params", "unknown_action"}

# JSON text of values that are valid for none of the light's parameters (level: int 0-100,
# on: bool, mode: auto|manual), so any payload carrying one in `params` is refused.
MAX_PACKET = 262_144  # the fixture scenario's access.max_packet_size (the default)
ODD_VALUE = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "null", "[]", "{}", "1e400", "-1e400", "100.5", "-0.5"]),
    st.integers(min_value=101).map(str) | st.integers(max_value=-1).map(str),
    st.integers(min_value=20, max_value=6000).map(lambda n: "9" * n),  # past float range, past 4,300 digits
    st.sampled_from([1000, 100_000]).map(lambda d: "[" * d + "]" * d),  # deep nesting
    # the largest strings and arrays a packet may carry: past access.max_packet_size (256 KiB by
    # default) the gate closes the connection before the bridge sees it (test_broker_violations.py)
    st.sampled_from([65, 250_000]).map(lambda n: json.dumps("x" * n)),
    st.integers(min_value=1, max_value=120_000).map(lambda n: "[" + ",".join(["1"] * n) + "]"),
    st.text(max_size=12).filter(lambda t: t not in ("auto", "manual")).map(json.dumps),
    # nested containers of anything JSON (a container is valid for no parameter)
    st.recursive(
        st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6),
        lambda inner: st.lists(inner, min_size=1, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
        max_leaves=8,
    )
    .map(lambda v: [v])
    .map(json.dumps),
)
ANY_FIELD = ODD_VALUE | st.sampled_from(['"c-1"', '"dim"', '"switch"', '"set_mode"', "true", "7", '"\\ud800"'])
KEY = st.text(max_size=8) | st.sampled_from(["\udc00", "a\ud800b"])  # lone surrogates: JSON escapes
PARAMS = st.one_of(
    ODD_VALUE,  # params that are not an object (or an empty object: a required parameter is missing)
    st.dictionaries(st.sampled_from(["level", "on", "mode"]), ODD_VALUE, min_size=1, max_size=3).map(
        lambda d: "{" + ",".join(f'"{k}":{v}' for k, v in d.items()) + "}"
    ),
    st.text(min_size=1, max_size=8)
    .filter(lambda k: k not in ("level", "on", "mode"))
    .map(
        lambda k: "{" + json.dumps(k) + ":1}"  # an unknown parameter
    ),
)


@st.composite
def bad_payload(draw: st.DrawFn) -> bytes:
    form = draw(st.sampled_from(["binary", "bare value", "command", "command with extra field"]))
    if form == "binary":
        return draw(st.binary(max_size=64) | st.binary(min_size=1, max_size=32).map(lambda b: b"\xff" + b))
    if form == "bare value":
        return draw(ODD_VALUE).encode()
    fields = [f'"id":{draw(ANY_FIELD)}', f'"action":{draw(ANY_FIELD)}', f'"params":{draw(PARAMS)}']
    if form == "command with extra field":
        fields.append(f"{json.dumps(draw(KEY))}:{draw(ANY_FIELD)}")
    order = draw(st.permutations(fields))
    return ("{" + ",".join(order) + "}").encode("utf-8", "surrogatepass")


@pytest.fixture(params=["embedded", "mosquitto"])
def broker(request: pytest.FixtureRequest, start_test_broker: Callable[..., Broker], catalog: Catalog) -> Broker:
    return start_test_broker(str(request.param), load_scenario(MQTT_CITY, catalog))


@pytest.fixture
def city(broker: Broker) -> Iterator[City]:
    city = open_city(broker, speed=20.0)
    city.runtime.start()
    yield city
    city.close()


def test_bad_commands_never_stop_the_good_ones(broker: Broker, city: City, mqtt_client: Callable[..., Any]) -> None:
    app = mqtt_client(broker, "app", "app-pw", "app-fuzz")
    owner = mqtt_client(broker, "owner-comune", "comune-pw", "owner-comune-fuzz")
    assert owner.subscribe(ACK, qos=1) == [1]
    expected = dict(city.runtime.snapshot()["cl-0001"].state)
    seen = [0]  # acks read so far
    batches = [0]

    def next_acks(n: int) -> list[dict[str, Any]]:
        want = seen[0] + n
        assert owner.wait_for(lambda: len(owner.received(ACK)) >= want, WAIT_S), "a cmd got no ack"
        out = [json.loads(p) for p in owner.received(ACK)[seen[0] : want]]
        seen[0] = want
        return out

    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(batch=st.lists(bad_payload(), min_size=1, max_size=4))
    def one_batch(batch: list[bytes]) -> None:
        # a packet over access.max_packet_size closes the connection at the gate instead (tested there)
        batch = [p for p in batch if len(p) + len(CMD) + 16 <= MAX_PACKET]
        assume(batch)
        batches[0] += 1
        for payload in batch:
            app.publish(CMD, payload, qos=1)
        for ack, payload in zip(next_acks(len(batch)), batch, strict=True):
            assert ack["ok"] is False and ack["error"]["code"] in CODES, (payload[:200], ack)
            assert len(ack["error"]["message"]) < 300
        assert city.runtime.snapshot()["cl-0001"].state == expected  # the bad ones changed nothing
        level = 1 + batches[0] % 99
        owner.publish(CMD, json.dumps({"id": f"good-{batches[0]}", "action": "dim", "params": {"level": level}}))
        [good] = next_acks(1)
        assert good["id"] == f"good-{batches[0]}" and good["ok"] is True, good
        expected.clear()
        expected.update(good["state"])

    one_batch()
    assert batches[0] >= 5
    stats = city.bridge.commands.stats()
    assert stats["cmd_dropped"] == 0 and stats["cmd_refused"] + stats["cmd_submitted"] == stats["cmd_received"]
    assert not city.runtime.health.failed and city.runtime.health.snapshot() == {}
