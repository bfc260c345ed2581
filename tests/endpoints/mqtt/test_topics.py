"""The one topic module: what it builds, it parses back, and nothing else parses as ours."""

from __future__ import annotations

import pytest

from smartzone.endpoints.mqtt.topics import DEVICE_CHANNELS, TopicParts, Topics

T = Topics("bologna")


@pytest.mark.parametrize("channel", DEVICE_CHANNELS)
def test_device_topics_round_trip(channel: str) -> None:
    topic = T.device_parts("comune", "street-light", "sl-0001", channel)
    assert T.parse(topic) == TopicParts("device", "comune", "street-light", "sl-0001", channel)
    assert topic == f"{T.device_base('comune', 'street-light', 'sl-0001')}/{channel}"


def test_city_documents_round_trip() -> None:
    assert T.parse(T.catalog("comune")) == TopicParts("catalog", tenant="comune")
    assert T.parse(T.tenants()) == TopicParts("tenants")
    assert T.parse(T.access("demo-app")) == TopicParts("access", user="demo-app")
    assert T.parse(T.answer("t01")) == TopicParts("answer", user="t01")
    assert T.parse(T.v1_data("sl-0001")) == TopicParts("v1", device="sl-0001")


@pytest.mark.parametrize(
    "topic",
    [
        "sz/v2/genoa/comune/street-light/sl-0001/telemetry",  # another city
        "sz/v2/bologna/comune/street-light/sl-0001/bogus",  # no such channel
        "sz/v2/bologna/comune/street-light//telemetry",  # empty level
        "sz/v2/bologna/access/catalog/x/telemetry",  # a city document is not a tenant
        "sz/v2/bologna",
        "sz/v1/bologna/comune/catalog",
        "icity/bologna/sl-0001",
        "icity/genoa/sl-0001/data",
        "",
        "/",
        "$SYS/broker/uptime",
    ],
)
def test_anything_else_is_other(topic: str) -> None:
    assert T.parse(topic).kind == "other"


def test_filters_are_built_from_the_same_base() -> None:
    assert T.tenant_all("comune") == "sz/v2/bologna/comune/#"
    assert T.city_all() == "sz/v2/bologna/#"
    assert T.cmd_filter() == "sz/v2/bologna/+/+/+/cmd"
