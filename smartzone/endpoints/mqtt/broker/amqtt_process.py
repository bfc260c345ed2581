"""The embedded broker's own process: amqtt 0.12 on a private unix socket.

`EmbeddedBroker` (embedded.py) runs `python -m smartzone.endpoints.mqtt.broker.amqtt_process DIR`,
where DIR is its private directory (mode 0700) holding the pickled AccessPolicy. amqtt is a
pure-Python broker: inside SmartZone's process it shared one GIL with the engine and the
publisher, and its latency suffered (docs/benchmarks.md). Here it has a process of its own.

The process:
- listens on DIR/amqtt.sock, mode 0600 (the gate front relays apps to it; SmartZone's own
  publisher and command listener connect to it directly);
- reads each connection's CONNECT and hands the connection to amqtt through its "external"
  listener, replaying those bytes and enforcing the client's keep-alive (ReplayReader);
- answers control requests, one per line on stdin, with one JSON line on stdout:
  `sessions` -> {"client id": "connected" | "disconnected" | ..., ...};
- ignores SIGINT (Ctrl-C in a terminal reaches the whole process group and SmartZone stops it
  in order) and exits when its stdin closes, so it never outlives SmartZone; it deletes DIR
  as it exits, even when SmartZone was killed before it could.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pickle
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from amqtt.adapters import StreamWriterAdapter

from smartzone.endpoints.mqtt.broker import amqtt_support
from smartzone.endpoints.mqtt.broker.gate import CONNECT_TIMEOUT_S, close_writer
from smartzone.endpoints.mqtt.broker.policy import DenialCounter
from smartzone.endpoints.mqtt.broker.wire import MAX_CONNECT_BYTES, WireError, parse_connect, read_packet

POLICY_FILE = "policy.pickle"
SOCKET_FILE = "amqtt.sock"
KEY = "embedded"
LISTENER = "default"


class LocalWriter(StreamWriterAdapter):
    """A writer on the private unix socket (amqtt wants a peer address; a unix socket has none)."""

    def get_peer_info(self) -> tuple[str, int]:
        return "local", 0


class AmqttProcess:
    """amqtt with SmartZone's plugins, its unix listener and its control channel."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        policy = pickle.loads((directory / POLICY_FILE).read_bytes())
        amqtt_support.register(KEY, policy, DenialCounter())  # the gate front counts denials
        self._conns: set[asyncio.Task[Any]] = set()

    async def run(self) -> None:
        config = {
            "listeners": {LISTENER: {"type": "external", "bind": "local"}},
            "plugins": amqtt_support.plugin_config(KEY),
        }
        self.broker = amqtt_support.SzAmqttBroker(config)  # amqtt wants a running loop
        await self.broker.start()
        path = self.directory / SOCKET_FILE
        server = await asyncio.start_unix_server(self._on_client, path=str(path))
        path.chmod(0o600)
        try:
            await self._control()
        finally:
            server.close()
            await self.broker.shutdown()
            for task in list(self._conns):
                task.cancel()
            await asyncio.gather(*self._conns, return_exceptions=True)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            packet_type, raw, offset = await asyncio.wait_for(read_packet(reader, MAX_CONNECT_BYTES), CONNECT_TIMEOUT_S)
            connect = parse_connect(packet_type, raw, offset)
            replay = amqtt_support.ReplayReader(connect.raw, reader, connect.keep_alive)
            await self.broker.external_connected(replay, LocalWriter(writer), LISTENER)
        except (WireError, asyncio.IncompleteReadError, TimeoutError, ConnectionError, asyncio.CancelledError):
            pass  # a readiness probe, a broken client or shutdown: end this connection only
        finally:
            self._conns.discard(task)
            if not writer.is_closing():
                await close_writer(writer)

    async def _control(self) -> None:
        """Answer stdin requests until EOF (SmartZone closed the pipe or ended)."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            request = line.decode(errors="replace").strip()
            if request == "sessions":
                answer: Any = {cid: s.transitions.state for cid, (s, _) in self.broker.sessions.items()}
            else:
                answer = {"error": f"unknown request {request!r}"}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="amqtt: %(levelname)s %(name)s: %(message)s")
    if len(argv) != 1 or not os.path.isdir(argv[0]):
        sys.stderr.write("usage: python -m smartzone.endpoints.mqtt.broker.amqtt_process DIR\n")
        return 2
    directory = Path(argv[0])
    try:
        with contextlib.suppress(BrokenPipeError):
            asyncio.run(AmqttProcess(directory).run())
    finally:
        shutil.rmtree(directory, ignore_errors=True)  # SmartZone may have died without cleaning up
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
