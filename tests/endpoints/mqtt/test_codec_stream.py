"""Decoding what apps send (MQTT 3.1.1 and 5) from raw bytes, split anywhere (pure tier)."""

from __future__ import annotations

from smartzone.endpoints.mqtt.codec import Publish, Stream, Subscribe, control_packet, encode_string

text, packet = encode_string, control_packet


def publish(topic: str, payload: bytes, qos: int = 0, retain: bool = False, v5: bool = False) -> bytes:
    body = text(topic) + (b"\x00\x07" if qos else b"") + (b"\x02\x01\x01" if v5 else b"") + payload
    return packet(0x30 | qos << 1 | int(retain), body)


def subscribe(filters: list[tuple[str, int]], v5: bool = False) -> bytes:
    body = b"\x00\x01" + (b"\x00" if v5 else b"") + b"".join(text(f) + bytes([q]) for f, q in filters)
    return packet(0x82, body)


def test_publish_and_subscribe_v311_split_across_chunks() -> None:
    data = (
        publish("sz/v2/tv/c/street-light/l-1/cmd", b'{"id":"1"}', qos=1, retain=True)
        + subscribe([("sz/v2/tv/c/#", 2), ("icity/tv/+/data", 0)])
        + bytes([0xC0, 0])
    )  # PINGREQ
    stream = Stream(4)
    out = []
    for i in range(0, len(data), 3):  # three bytes at a time
        out += stream.feed(data[i : i + 3])
    pub, sub, ping = out
    assert isinstance(pub, Publish) and (pub.topic, pub.qos, pub.retain, pub.payload) == (
        "sz/v2/tv/c/street-light/l-1/cmd",
        1,
        True,
        b'{"id":"1"}',
    )
    assert isinstance(sub, Subscribe) and sub.filters == (("sz/v2/tv/c/#", 2), ("icity/tv/+/data", 0))
    assert ping == 12


def test_mqtt5_properties_are_skipped() -> None:
    stream = Stream(5)
    pub, sub = stream.feed(publish("a/b", b"xyz", qos=2, v5=True) + subscribe([("a/#", 1)], v5=True))
    assert isinstance(pub, Publish) and (pub.topic, pub.qos, pub.payload, pub.size) == ("a/b", 2, b"xyz", 3)
    assert isinstance(sub, Subscribe) and sub.filters == (("a/#", 1),)


def test_garbage_is_counted_not_raised() -> None:
    stream = Stream(4)
    assert stream.feed(packet(0x30, b"\x00\x09ab")) == []  # topic longer than the packet
    assert stream.undecodable == 1
    assert stream.feed(bytes([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])) == []  # remaining length of 5 bytes
    assert stream.broken and stream.feed(publish("a", b"")) == []
