"""Bounded fuzz tier: random and mutated Modbus TCP streams thrown at a running gateway.

The gateway is 'rigs' of the guarded city (conftest.GUARDED_GATEWAYS): from 127.0.0.1 the
fuzzer may read but every write is refused, so whatever it sends, no state may change. The
oracle below is written from the Modbus TCP specification, independently of framing.py:
every complete frame is answered once, in order, with a well-formed response; a header that
cannot be Modbus closes the connection. After each example another client (127.0.0.2) still
reads the right values; at the end a fresh client reads exactly what it read before.
"""

from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import FOREIGN
from .wire import HOST, closed_by_peer, recv_frames

pytestmark = pytest.mark.timeout(120)  # a failing example is shrunk, each try bounded by a 5 s read

EXCEPTIONS = {0x01, 0x02, 0x03, 0x04, 0x0B}
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

fcs = st.sampled_from([1, 2, 3, 4, 5, 6, 15, 16, 23, 0, 7, 8, 17, 0x2B, 0x55, 0x80, 0x83, 0xFF])
reads = st.builds(
    lambda fc, address, count: struct.pack(">BHH", fc, address, count),
    st.integers(1, 4),
    st.integers(0, 70),
    st.sampled_from([0, 1, 2, 10, 125, 126, 2000, 2001, 0xFFFF]),
)
writes = st.builds(
    lambda fc, address, qty, count, data: struct.pack(">BHHB", fc, address, qty, count) + data,
    st.sampled_from([15, 16]),
    st.integers(0, 4),
    st.integers(0, 130),
    st.integers(0, 255),
    st.binary(max_size=20),
)
pdus = st.one_of(reads, writes, st.builds(lambda fc, body: bytes([fc]) + body, fcs, st.binary(max_size=12)))


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    pdu = draw(pdus)
    pid = draw(st.sampled_from([0, 0, 0, 0, 1, 0xFFFF]))
    delta = draw(st.sampled_from([0, 0, 0, 0, -1, 1, -len(pdu) - 1, -len(pdu), 300]))
    length = max(0, len(pdu) + 1 + delta) & 0xFFFF
    unit = draw(st.sampled_from([1, 2, 2, 0, 3, 247, 255]))
    return struct.pack(">HHHB", draw(st.integers(0, 0xFFFF)), pid, length, unit) + pdu


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    data = b"".join(draw(st.lists(frames(), min_size=1, max_size=4)))
    if draw(st.booleans()):
        data = data[: draw(st.integers(1, len(data)))]  # truncated
    return data


def expected(data: bytes) -> tuple[list[tuple[int, int, int]], bool]:
    """(tid, unit, fc) of every frame a server must answer, and whether it must close the connection."""
    out, i = [], 0
    while len(data) - i >= 6:
        tid, pid, length = struct.unpack_from(">HHH", data, i)
        if pid != 0 or not 2 <= length <= 254:
            return out, True
        if len(data) - i < 6 + length:
            break
        out.append((tid, data[i + 6], data[i + 7]))
        i += 6 + length
    return out, False


def check_answers(sent: list[tuple[int, int, int]], got: list[bytes]) -> None:
    assert len(got) == len(sent), (sent, got)
    for (tid, unit, fc), frame in zip(sent, got, strict=True):
        r_tid, r_pid, r_len, r_unit, r_fc = struct.unpack_from(">HHHBB", frame)
        assert (r_tid, r_pid, r_len, r_unit) == (tid, 0, len(frame) - 6, unit), frame.hex()
        if r_fc & 0x80:
            assert r_fc == fc | 0x80 and r_len == 3 and frame[8] in EXCEPTIONS, frame.hex()
        else:
            assert r_fc == fc and fc in (1, 2, 3, 4), frame.hex()  # from 127.0.0.1 no write may succeed


def throw(port: int, pieces: list[bytes]) -> None:
    for n in range(1, len(pieces) + 1):  # nothing is sent after the piece that must close the connection
        if expected(b"".join(pieces[:n]))[1]:
            pieces = pieces[:n]
            break
    sent, must_close = expected(b"".join(pieces))
    with socket.create_connection((HOST, port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in pieces:
            s.sendall(piece)
        check_answers(sent, recv_frames(s, len(sent), timeout=5))
        if must_close:
            assert closed_by_peer(s)


def image(client, units: list[int]) -> list[object]:
    out: list[object] = []
    for unit in units:
        out.append(client.read_input_registers(0, count=21, device_id=unit).registers)
        out.append(client.read_holding_registers(0, count=3, device_id=unit).registers)
        out.append(client.read_coils(0, count=1, device_id=unit).bits[:1])
        out.append(client.read_discrete_inputs(0, count=4, device_id=unit).bits[:4])
    return out


@pytest.fixture
def target(guarded_city, client_factory):
    """(port, another client, check) where check() asserts the gateway serves and nothing changed."""
    port, _ = guarded_city.where("rig-0001")
    units = sorted(next(g for g in guarded_city.gateways.gateways if g.plan.id == "rigs").plan.units)
    before = image(client_factory(port, FOREIGN), units)
    state = {d: s.state for d, s in guarded_city.rt.snapshot().items()}
    other = client_factory(port, FOREIGN)

    def check() -> None:
        assert other.read_input_registers(0, count=2, device_id=units[0]).registers == [900, 3]

    yield port, check
    assert image(client_factory(port, FOREIGN), units) == before
    assert {d: s.state for d, s in guarded_city.rt.snapshot().items()} == state
    assert not guarded_city.rt.health.failed


def test_random_bytes(target) -> None:
    port, check = target

    @FUZZ
    @given(st.binary(min_size=1, max_size=300))
    def one(data: bytes) -> None:
        throw(port, [data])
        check()

    one()


def test_mutated_frames_wrong_lengths_unknown_functions_oversized_counts(target) -> None:
    port, check = target

    @FUZZ
    @given(streams())
    def one(data: bytes) -> None:
        throw(port, [data])
        check()

    one()


def test_slow_drip(target) -> None:
    port, check = target

    @settings(FUZZ, max_examples=40)
    @given(streams(), st.lists(st.integers(1, 5), min_size=1, max_size=40))
    def one(data: bytes, cuts: list[int]) -> None:
        pieces, i = [], 0
        for n in cuts:
            if i >= len(data):
                break
            pieces.append(data[i : i + n])
            i += n
        if i < len(data):
            pieces.append(data[i:])
        throw(port, pieces)  # one send per piece (TCP_NODELAY): a request arrives a few bytes at a time
        check()

    one()
