"""The wire checks of the gate and the amqtt reader, on single packets (no sockets)."""

from __future__ import annotations

import asyncio

import pytest

from smartzone.endpoints.mqtt.codec import (
    Framer,
    TooLarge,
    WireError,
    control_packet,
    encode_string,
    publish_packet,
    read_packet,
    remaining_length,
    subscribe_packet,
)

V5_SUBSCRIBE = control_packet(0x82, b"\x00\x07\x00" + encode_string("a/#") + bytes([0x2D]))  # no-local, RAP, RH 2
V5_PUBLISH = control_packet(0x32, encode_string("a/b") + b"\x00\x05" + b"\x02\x01\x01" + b"hi")  # props: format
GOOD = [
    (4, publish_packet("a/b", b"x", True)),
    (4, control_packet(0x34, encode_string("a/b") + b"\x00\x09x")),
    (4, subscribe_packet("a/#", options=2)),
    (4, control_packet(0xA2, b"\x00\x02" + encode_string("a/#"))),
    (4, bytes([0x62, 2, 0, 1])),  # PUBREL
    (4, bytes([0xC0, 0])),
    (4, bytes([0xE0, 0])),
    (5, V5_SUBSCRIBE),
    (5, V5_PUBLISH),
    (5, bytes([0x40, 3, 0, 1, 0x10])),  # PUBACK with a reason code
    (5, bytes([0xE0, 1, 0x04])),  # DISCONNECT with will
    (5, bytes([0xF0, 0])),  # AUTH
]
BAD = [
    (4, subscribe_packet("a/#", options=3)),
    (4, subscribe_packet("a/#", options=0x04)),  # reserved before MQTT 5 (no-local in 5)
    (5, subscribe_packet("a/#", options=0x40)),
    (5, subscribe_packet("a/#", options=0x30)),  # retain handling 3
    (4, subscribe_packet("a/#", first=0x80)),
    (4, control_packet(0x82, b"\x00\x01")),
    (4, control_packet(0xA0, b"\x00\x02" + encode_string("a/#"))),
    (4, control_packet(0x36, encode_string("a/b") + b"\x00\x01")),
    (4, control_packet(0x30, b"\x00\x09a/b")),
    (4, bytes([0x40, 3, 0, 1, 0])),
    (4, bytes([0xE0, 1, 0])),
    (4, bytes([0xF0, 0])),  # AUTH before MQTT 5
    (4, bytes([0x20, 2, 0, 0])),  # CONNACK from a client
    (4, bytes([0x00, 0])),
]


@pytest.mark.parametrize(("level", "raw"), GOOD)
def test_well_formed_packets_pass(level: int, raw: bytes) -> None:
    assert [packet for _, packet, _ in Framer(1024, level).feed(raw)] == [raw]


@pytest.mark.parametrize(("level", "raw"), BAD)
def test_violations_raise(level: int, raw: bytes) -> None:
    with pytest.raises(WireError):
        Framer(1024, level).feed(raw)


def test_an_oversized_header_is_refused_before_its_body() -> None:
    framer = Framer(1000, 4)
    head = b"\x30" + remaining_length(998)  # 1 + 2 + 998 = 1001 bytes: one too many
    with pytest.raises(TooLarge) as caught:
        framer.feed(head)  # the header alone is enough
    assert (caught.value.size, caught.value.cap) == (1001, 1000)
    exact = b"\x30" + remaining_length(997) + encode_string("t") + b"x" * 994
    assert [raw for _, raw, _ in Framer(1000, 4).feed(exact)] == [exact]


def test_read_packet_refuses_a_wrong_first_type_on_its_first_byte() -> None:
    async def first_byte_only() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(b"G")  # "GET / HTTP/1.1": nothing more has arrived
        await read_packet(reader, 65536, first_type=1)

    with pytest.raises(WireError, match="packet type 4 where 1 was due"):
        asyncio.run(first_byte_only())
