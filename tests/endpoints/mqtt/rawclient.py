"""A raw TCP MQTT client for tests that send what no library would: bad flags, huge headers, garbage.

Packets are built with the project's own builders (mqtt/codec.py, rawpublish.py), re-exported
here for the tests. Every wait is bounded.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from smartzone.endpoints.mqtt.codec import connect_packet, publish_packet, subscribe_packet
from smartzone.endpoints.mqtt.codec import control_packet as packet
from smartzone.endpoints.mqtt.codec import encode_string as utf8

WAIT_S = 10.0
DISCONNECT_PACKET = bytes([0xE0, 0])

__all__ = [
    "DISCONNECT_PACKET",
    "PassObserver",
    "RawClient",
    "connect_packet",
    "packet",
    "publish_packet",
    "subscribe_packet",
    "utf8",
]


class RawClient:
    """A TCP connection to a broker port: send bytes, read what comes back, see whether it was closed."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        self.received = bytearray()

    def send(self, data: bytes) -> bool:
        """Send; False if the broker had already closed the connection."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def login(self, user: str, password: str, client_id: str) -> int:
        """Send a CONNECT and return the CONNACK return code (-1: closed without one)."""
        self.send(connect_packet(client_id, user, password))
        deadline = time.monotonic() + WAIT_S
        while len(self.received) < 4 and time.monotonic() < deadline:
            if not self._recv(deadline):
                break
        if len(self.received) < 4 or self.received[0] != 0x20:
            return -1
        code = self.received[3]
        del self.received[:4]
        return code

    def _recv(self, deadline: float) -> bool:
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return True
        except OSError:
            return False
        self.received += data
        return bool(data)

    def closed_by_peer(self, timeout: float = WAIT_S) -> bool:
        """Read until the broker closes the connection (True) or `timeout` passes (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._recv(deadline):
                return True
        return False

    def close(self) -> None:
        self.sock.close()


class PassObserver:
    """A traffic observer (broker/gate/connect.py) that records nothing and refuses nobody: while one is
    set, the embedded backend's gate relays app connections instead of handing them to amqtt."""

    def connect(self, key: Any, connect: Any, identity: Any, refusal: Any) -> None:
        return None

    def client_bytes(self, key: Any, data: bytes) -> None: ...

    def broker_bytes(self, key: Any, data: bytes) -> None: ...

    def closed(self, key: Any) -> None: ...
