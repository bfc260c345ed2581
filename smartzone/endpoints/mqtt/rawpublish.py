"""QoS 0 PUBLISH packets written in batches on a paho client's socket (fewer syscalls).

paho sends every packet with its own send() call; for telemetry at thousands of messages
per second that is most of the cost. A Connection owns its paho client and thread, so it
can pack a batch of QoS 0 PUBLISH packets (MQTT 3.1.1 section 3.3: no packet id) into one
buffer and write it while paho has nothing half-written. QoS 1 messages, acks, pings and
reconnects stay with paho; the writer is flushed before each of them to keep the order.
"""

from __future__ import annotations

import select
import socket
import time

from smartzone.endpoints.mqtt.codec import publish_packet

WRITE_TIMEOUT_S = 2.0


class RawWriter:
    """Packs QoS 0 publishes and writes them in one go (bounded wait for a full socket)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.count = 0

    def add(self, topic: str, payload: bytes, retain: bool) -> None:
        self.buffer += publish_packet(topic, payload, retain)
        self.count += 1

    def flush(self, sock: socket.socket | None) -> tuple[int, int]:
        """Write the buffer: (messages written, messages lost because the socket failed)."""
        count, view = self.count, memoryview(bytes(self.buffer))
        self.buffer.clear()
        self.count = 0
        if not count:
            return 0, 0
        if sock is None:
            return 0, count
        deadline = time.monotonic() + WRITE_TIMEOUT_S
        try:
            while view:
                try:
                    view = view[sock.send(view) :]
                except BlockingIOError:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return 0, count
                    select.select([], [sock], [], min(left, 0.05))
        except OSError:
            return 0, count
        return count, 0
