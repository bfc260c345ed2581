"""Handing an admitted app connection's socket to the embedded broker's process.

Once the gate has admitted a CONNECT, the gate front (front.py) can give the TCP socket
itself to the amqtt process (amqtt_process.py) over a unix seqpacket socket (SCM_RIGHTS):
one record per connection, holding the CONNECT and any bytes the gate had already read
after it (a client may send SUBSCRIBE right behind its CONNECT). amqtt then talks to the
app directly, and the app's traffic never crosses SmartZone's process, where the relay
would wait for the GIL behind the engine (docs/benchmarks.md). Whenever the hand-over
cannot be made (no channel, a full channel, a record too large) the front relays instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from smartzone.endpoints.mqtt.codec import Connect


class Handover:
    """A channel to a broker process that takes sockets; `give` returns False to have the front relay."""

    def __init__(self, path: str) -> None:
        self._channel: socket.socket | None = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._channel.connect(path)
        except OSError:
            self._channel.close()
            raise
        self._channel.setblocking(False)

    def give(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connect: Connect) -> bool:
        """Send the client's socket with its CONNECT; on True the caller closes only its own copy."""
        sock = writer.get_extra_info("socket")
        if self._channel is None or sock is None:
            return False
        transport = writer.transport
        assert isinstance(transport, asyncio.Transport)  # a TCP stream: reads and writes
        transport.pause_reading()  # nothing more may land in the reader's buffer
        pending = bytes(getattr(reader, "_buffer", b""))  # read after the CONNECT, not consumed yet
        try:
            socket.send_fds(self._channel, [connect.raw + pending], [sock.fileno()])
        except OSError:  # full, too large, or the process is gone: relay this one
            transport.resume_reading()
            return False
        return True

    def close(self) -> None:
        if self._channel is not None:
            with contextlib.suppress(OSError):
                self._channel.close()
            self._channel = None
