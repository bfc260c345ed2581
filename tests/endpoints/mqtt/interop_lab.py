"""Helpers of the interoperability tests (test_interop.py): a bare mosquitto, raw sessions, a QoS-aware probe.

The bare mosquitto is the reference: the same behaviours run against it, against SmartZone's
embedded broker and against SmartZone's mosquitto backend, both in open lab mode. Its ACL only
refuses the one topic the subscribe-failure test needs (as SmartZone refuses a closed tenant).
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from smartzone.endpoints.mqtt.codec import control_packet, encode_string, fixed_header
from tests.endpoints.mqtt.conftest import Probe

WAIT_S = 10.0
REFUSED_TOPIC = "sz/v2/accessville/comune/#"  # a tenant that is not open data: anonymous may not read it


def free_port() -> int:
    """A port nobody listens on right now (bind 0, read it, close)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BareMosquitto:
    """A plain mosquitto on 127.0.0.1, anonymous allowed, started and stopped by a test."""

    def __init__(self, binary: str) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="sz-bare-mosquitto-")
        d = Path(self._dir.name)
        (d / "acl").write_text(f"topic readwrite #\ntopic deny {REFUSED_TOPIC}\n", encoding="utf-8")
        self.port = free_port()
        conf = [
            f"user {pwd.getpwuid(os.getuid()).pw_name}",  # as root, mosquitto would drop to a user who cannot read d
            "allow_anonymous true",
            f"acl_file {d / 'acl'}",
            "persistence false",
            "log_dest stderr",
            "log_type error",
            f"listener {self.port} 127.0.0.1",
        ]
        (d / "mosquitto.conf").write_text("\n".join(conf) + "\n", encoding="utf-8")
        self._proc = subprocess.Popen(
            [binary, "-c", str(d / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and self._proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)  # polling a condition (the port accepts) with a deadline
        self.close()
        raise RuntimeError(f"bare mosquitto did not start on port {self.port}")

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(WAIT_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(WAIT_S)
        if self._proc.stderr is not None:
            self._proc.stderr.close()
        self._dir.cleanup()


class QosProbe(Probe):
    """A Probe that also records each message's QoS and the UNSUBACKs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.qos: list[tuple[str, int]] = []
        self.unsubacks: set[int] = set()
        self.client.on_unsubscribe = self._on_unsubscribe

    def _on_unsubscribe(self, client: Any, userdata: Any, mid: int, *rest: Any) -> None:
        with self.cond:
            self.unsubacks.add(mid)
            self.cond.notify_all()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self.cond:
            self.qos.append((msg.topic, msg.qos))
        super()._on_message(client, userdata, msg)


def connect_bytes(
    client_id: str, clean: bool = True, keep_alive: int = 60, will: tuple[str, bytes, int] | None = None
) -> bytes:
    """An anonymous MQTT 3.1.1 CONNECT, optionally with a will (topic, payload, qos)."""
    flags = 0x02 if clean else 0
    payload = encode_string(client_id)
    if will is not None:
        flags |= 0x04 | (will[2] << 3)
        payload += encode_string(will[0]) + len(will[1]).to_bytes(2, "big") + will[1]
    body = encode_string("MQTT") + bytes([4, flags]) + keep_alive.to_bytes(2, "big") + payload
    return control_packet(0x10, body)


class RawSession:
    """One TCP connection speaking raw MQTT: sends bytes, reads whole packets with deadlines."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        self._buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def packet(self, timeout: float = WAIT_S) -> tuple[int, bytes] | None:
        """(first byte, body) of the next packet, or None if the peer closed or nothing came in time."""
        deadline = time.monotonic() + timeout
        while True:
            parsed = self._parse()
            if parsed is not None:
                return parsed
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, OSError):
                return None
            if not data:
                return None
            self._buf += data

    def _parse(self) -> tuple[int, bytes] | None:
        buf = self._buf
        parsed = fixed_header(buf)
        if parsed is None or len(buf) < sum(parsed):
            return None
        pos, length = parsed
        self._buf = buf[pos + length :]
        return buf[0], buf[pos : pos + length]

    def close(self) -> None:
        self.sock.close()
