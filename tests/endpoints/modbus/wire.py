"""Raw Modbus TCP on a socket, for the tests that send what no well-behaved client would."""

from __future__ import annotations

import socket
import struct
import time

HOST = "127.0.0.1"


def read_ir(tid: int, unit: int, address: int, count: int) -> bytes:
    """A raw Modbus TCP 'read input registers' frame."""
    return struct.pack(">HHHBBHH", tid, 0, 6, unit, 4, address, count)


def recv_frames(sock: socket.socket, n: int, timeout: float = 5.0) -> list[bytes]:
    """Read `n` complete MBAP frames (bounded by `timeout`)."""
    sock.settimeout(timeout)
    buf, frames = b"", []
    deadline = time.monotonic() + timeout
    while len(frames) < n and time.monotonic() < deadline:
        while len(buf) >= 6 and len(buf) >= 6 + int.from_bytes(buf[4:6], "big"):
            size = 6 + int.from_bytes(buf[4:6], "big")
            frames.append(buf[:size])
            buf = buf[size:]
        if len(frames) >= n:
            break
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            break
        if not chunk:
            break
        buf += chunk
    return frames


def closed_by_peer(sock: socket.socket, timeout: float = 5.0) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def assert_serving(port: int, unit: int) -> None:
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(read_ir(77, unit, 0, 2))
        (frame,) = recv_frames(s, 1)
        assert frame[:2] == (77).to_bytes(2, "big") and frame[7] == 4 and frame[8] == 4
