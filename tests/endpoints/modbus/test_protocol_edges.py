"""Protocol edges as the Modbus specifications say: MBAP lengths, bursts of any size, byte counts."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from smartzone.endpoints.modbus.framing import Frame, request_error, split_frames

from .wire import HOST, assert_serving, closed_by_peer, read_ir, recv_frames

BURST = 20_000  # requests in one burst: 240,000 bytes, far beyond any receive buffer limit


def test_split_frames_keeps_a_partial_frame_and_rejects_impossible_headers() -> None:
    two = read_ir(1, 5, 0, 1) + read_ir(2, 5, 9, 2)
    assert split_frames(two + two[:7]) == (
        [Frame(1, 5, bytes([4, 0, 0, 0, 1])), Frame(2, 5, bytes([4, 0, 9, 0, 2]))],
        len(two),
        None,
    )
    assert split_frames(two[:5]) == ([], 0, None)
    for header in (
        struct.pack(">HHH", 1, 0, 0),
        struct.pack(">HHH", 1, 0, 1),
        struct.pack(">HHH", 1, 0, 255),
        struct.pack(">HHH", 1, 3, 6),
    ):
        frames, used, bad = split_frames(read_ir(0, 1, 0, 1) + header)  # no body needed to judge a header
        assert len(frames) == 1 and used == 12 and bad is not None


@pytest.mark.parametrize(
    ("pdu", "code"),
    [
        (struct.pack(">BHH", 3, 0, 1), None),
        (struct.pack(">BHH", 3, 0, 0), 0x03),  # quantity 0
        (struct.pack(">BHH", 3, 0, 126), 0x03),  # more than 125 registers
        (struct.pack(">BHH", 1, 0, 2001), 0x03),  # more than 2000 coils
        (struct.pack(">BH", 4, 0), 0x03),  # truncated
        (struct.pack(">BHH", 5, 0, 0xFF00), None),
        (struct.pack(">BHH", 5, 0, 0x1234), 0x03),  # a coil is 0x0000 or 0xFF00
        (struct.pack(">BHHBHH", 16, 0, 2, 4, 1, 2), None),
        (struct.pack(">BHHBHH", 16, 0, 2, 3, 1, 2), 0x03),  # byte count 3 for 2 registers
        (struct.pack(">BHHBH", 16, 0, 2, 4, 1), 0x03),  # byte count 4, 2 data bytes
        (struct.pack(">BHHB", 16, 0, 0, 0), 0x03),  # quantity 0
        (struct.pack(">BHHBB", 15, 0, 9, 2, 0xFF) + b"\x01", None),
        (struct.pack(">BHHBB", 15, 0, 9, 1, 0xFF), 0x03),  # 9 coils need 2 bytes
        (struct.pack(">BHHHHBH", 23, 0, 1, 0, 1, 2, 7), None),
        (struct.pack(">BHHHHBH", 23, 0, 1, 0, 1, 4, 7), 0x03),
        (bytes([0x55]), 0x01),
        (bytes([0x2B, 0x0E, 1, 0]), 0x01),  # device identification: not offered
    ],
)
def test_request_structure(pdu: bytes, code: int | None) -> None:
    assert request_error(pdu) == code


def test_headers_that_cannot_be_modbus_close_the_connection_at_once(city) -> None:
    port, unit = city.where("rig-0001")
    for header in (
        struct.pack(">HHH", 1, 0, 0),  # length 0: only the 6 header bytes, no body will come
        struct.pack(">HHHB", 1, 0, 1, unit),  # length 1: a unit id and no function code
        struct.pack(">HHH", 1, 0, 255),  # beyond a 253-byte PDU
        struct.pack(">HHH", 1, 9, 6),  # protocol id 9
    ):
        with socket.create_connection((HOST, port), timeout=5) as s:
            s.sendall(header)
            assert closed_by_peer(s), header
    with socket.create_connection((HOST, port), timeout=5) as s:  # answered first, then closed
        s.sendall(read_ir(5, unit, 0, 1) + struct.pack(">HHH", 6, 0, 0))
        (frame,) = recv_frames(s, 1)
        assert frame[:2] == (5).to_bytes(2, "big") and frame[-2:] == (900).to_bytes(2, "big")
        assert closed_by_peer(s)
    assert_serving(port, unit)


def test_a_burst_of_any_size_is_answered_in_order(city) -> None:
    port, unit = city.where("rig-0001")
    burst = b"".join(read_ir(i, unit, i % 2, 1) for i in range(BURST))
    with socket.create_connection((HOST, port), timeout=30) as s:
        errors: list[BaseException] = []

        def send() -> None:  # the server stops reading while its answers wait: send and read at once
            try:
                s.sendall(burst)
            except BaseException as exc:  # surfaced by the assertion below
                errors.append(exc)

        sender = threading.Thread(target=send, name="burst-sender")
        sender.start()
        try:
            frames = recv_frames(s, BURST, timeout=120)
        finally:
            sender.join(30)
        assert not errors and not sender.is_alive()
        assert len(frames) == BURST
        assert [int.from_bytes(f[:2], "big") for f in frames] == list(range(BURST))
        assert {f[-2:] for f in frames[0::2]} == {(900).to_bytes(2, "big")}  # input 0: type code
        assert {f[-2:] for f in frames[1::2]} == {(3).to_bytes(2, "big")}  # input 1: map version
    assert_serving(port, unit)


def test_write_byte_counts_that_do_not_match_are_illegal_data_value(city, client_factory) -> None:
    port, unit = city.where("rig-0001")
    before = client_factory(port).read_holding_registers(0, count=3, device_id=unit).registers
    state = city.rt.snapshot()["rig-0001"].state
    bad = [
        struct.pack(">BHHBHH", 16, 0, 2, 3, 1000, 0)[:-1],  # FC16: byte count 3 for 2 registers
        struct.pack(">BHHBHH", 16, 0, 2, 6, 1000, 0),  # FC16: byte count 6, 4 data bytes
        struct.pack(">BHHBH", 16, 0, 2, 4, 1000),  # FC16: 2 of 4 data bytes
        struct.pack(">BHHBB", 15, 0, 9, 1, 0x00),  # FC15: 9 coils in 1 byte
        struct.pack(">BHHBB", 15, 0, 1, 2, 0x00),  # FC15: 1 coil in 2 bytes (1 sent)
        struct.pack(">BHHHHBH", 23, 0, 1, 2, 1, 4, 2),  # FC23: byte count 4 for 1 register
        struct.pack(">BHH", 5, 0, 0x0001),  # FC5: neither ON nor OFF
    ]
    with socket.create_connection((HOST, port), timeout=5) as s:
        for tid, pdu in enumerate(bad, 1):
            s.sendall(struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu)
            (frame,) = recv_frames(s, 1)
            assert frame[:2] == tid.to_bytes(2, "big") and frame[7:] == bytes([pdu[0] | 0x80, 0x03]), pdu.hex()
    city.rt.step(120).result(30)
    assert city.rt.snapshot()["rig-0001"].state == state
    assert client_factory(port).read_holding_registers(0, count=3, device_id=unit).registers == before
