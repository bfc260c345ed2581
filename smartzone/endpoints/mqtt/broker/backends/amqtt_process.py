"""The embedded broker's own process: amqtt 0.12 on private unix sockets.

`EmbeddedBroker` (embedded.py) runs `python -m smartzone.endpoints.mqtt.broker.backends.amqtt_process DIR`,
where DIR is its private directory (mode 0700) holding the pickled AccessPolicy. amqtt is a
pure-Python broker: inside SmartZone's process it shared one GIL with the engine and the
publisher, and its latency suffered (docs/benchmarks.md). Here it has a process of its own.

The process:
- listens on DIR/amqtt.sock (stream): the gate front relays observed app connections to it,
  and SmartZone's own publisher and command listener connect to it directly;
- listens on DIR/handover.sock (seqpacket): the gate front hands over an admitted app's TCP
  socket itself (SCM_RIGHTS), with the CONNECT and any bytes read after it in the same
  record, so that app traffic does not cross SmartZone's process at all;
- for every connection, reads the CONNECT and hands the connection to amqtt through its
  "external" listener, replaying those bytes and enforcing the client's keep-alive
  (ReplayReader); a handed-over app's stream is read through a CheckedReader (amqtt_support.py), which gives
  amqtt only whole packets within the scenario's `access.max_packet_size` that keep MQTT's
  framing rules (codec.check_header / check_packet) and ends the stream on the first that
  does not, before its body is read (amqtt 0.12 would buffer any size, answer SUBSCRIBE
  QoS 3 with SUBACK 0x03 and skip malformed packets); the gate has checked relayed ones;
- answers control requests, one per line on stdin, with one JSON line on stdout:
  `sessions` -> {"client id": "connected" | "disconnected" | ...};
  `denied` -> {"user:kind": n} for handed-over connections (the gate counts relayed ones), whose
  denials it also says live on SmartZone's stderr (denials.py; the fd is in SZ_MQTT_NOTICE_FD);
  `connections` -> {"handed": n, "socket": n}, connections that sent a CONNECT, since start;
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
import socket
import sys
from pathlib import Path
from typing import Any

from amqtt.adapters import StreamWriterAdapter
from amqtt.session import Session

from smartzone.endpoints.mqtt.broker.backends import amqtt_support
from smartzone.endpoints.mqtt.broker.backends.amqtt_support import CheckedReader
from smartzone.endpoints.mqtt.broker.gate.connect import CONNECT_TIMEOUT_S, close_writer
from smartzone.endpoints.mqtt.broker.policy.denials import NOTICE_FD_ENV, Denials
from smartzone.endpoints.mqtt.codec import MAX_CONNECT_BYTES, WireError, parse_connect, read_packet

POLICY_FILE = "policy.pickle"
SOCKET_FILE = "amqtt.sock"
HANDOVER_FILE = "handover.sock"
HANDOVER_MAX_BYTES = 262144  # one record: a CONNECT and what the gate read after it
KEY = "embedded"
LISTENER = "default"


class LocalWriter(StreamWriterAdapter):
    """A writer on the private unix socket (amqtt wants a peer address; a unix socket has none)."""

    def get_peer_info(self) -> tuple[str, int]:
        return "local", 0


def notice_writer() -> Any:
    """Where denial lines go: the copy of SmartZone's stderr the parent passed (fronted.py), else nowhere
    (this process's own stderr is the broker's log file)."""
    fd = os.environ.get(NOTICE_FD_ENV, "")
    if not fd.isdigit():
        return None

    def write(line: str) -> None:
        with contextlib.suppress(OSError):
            os.write(int(fd), (line + "\n").encode("utf-8", "replace"))

    return write


class AmqttProcess:
    """amqtt with SmartZone's plugins, its two listeners and its control channel."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        policy = pickle.loads((directory / POLICY_FILE).read_bytes())
        self.denied = Denials(policy, notice_writer())
        self.max_packet = policy.scenario.access.max_packet_size
        self.handed: dict[str, int] = {}  # client id -> handed-over connections open with that id
        self.served = {"handed": 0, "socket": 0}
        amqtt_support.register(KEY, policy, self.denied, self._counted)
        self._conns: set[asyncio.Task[Any]] = set()

    def _counted(self, session: Session) -> bool:
        """Count a denial here only for handed-over connections (the gate counts relayed ones)."""
        return self.handed.get(session.client_id or "", 0) > 0

    async def run(self) -> None:
        config = {
            "listeners": {LISTENER: {"type": "external", "bind": "local"}},
            "plugins": amqtt_support.plugin_config(KEY),
        }
        self.broker = amqtt_support.SzAmqttBroker(config, key=KEY)  # amqtt wants a running loop
        await self.broker.start()
        handover = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        handover.bind(str(self.directory / HANDOVER_FILE))
        handover.listen()
        handover.setblocking(False)
        (self.directory / HANDOVER_FILE).chmod(0o600)
        # last: SmartZone waits for this one. Created under a umask that leaves it 0600, so it
        # never exists with a wider mode (a chmod after bind left a moment when it did).
        path = self.directory / SOCKET_FILE
        previous = os.umask(0o177)
        try:
            server = await asyncio.start_unix_server(self._on_client, path=str(path))
        finally:
            os.umask(previous)
        path.chmod(0o600)
        accepting = asyncio.ensure_future(self._accept_handovers(handover))
        try:
            await self._control()
        finally:
            accepting.cancel()
            server.close()
            handover.close()
            await self.broker.shutdown()
            for task in list(self._conns):
                task.cancel()
            await asyncio.gather(*self._conns, accepting, return_exceptions=True)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._serve(reader, writer, LocalWriter(writer), None)

    async def _accept_handovers(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            channel, _ = await loop.sock_accept(listener)
            channel.setblocking(False)
            loop.add_reader(channel.fileno(), self._on_handover, channel)

    def _on_handover(self, channel: socket.socket) -> None:
        """One record from the gate: an app's socket and the bytes the gate read from it."""
        try:
            data, fds, _, _ = socket.recv_fds(channel, HANDOVER_MAX_BYTES, 1)
        except BlockingIOError:
            return
        except OSError:
            fds, data = [], b""
        if not fds and not data:  # the gate closed its end
            asyncio.get_running_loop().remove_reader(channel.fileno())
            channel.close()
            return
        for fd in fds[1:]:
            os.close(fd)
        if fds:
            task = asyncio.ensure_future(self._serve_handed(fds[0], data))
            self._conns.add(task)
            task.add_done_callback(self._conns.discard)

    async def _serve_handed(self, fd: int, first: bytes) -> None:
        try:
            reader, writer = await asyncio.open_connection(sock=socket.socket(fileno=fd))
        except OSError:
            return
        await self._serve(reader, writer, StreamWriterAdapter(writer), first)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, out: StreamWriterAdapter, first: bytes | None
    ) -> None:
        """Read the CONNECT (from the stream, or from the bytes the gate handed over), then amqtt."""
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        handed = None
        replay: amqtt_support.ReplayReader | None = None
        try:
            source = reader
            if first is not None:
                source = asyncio.StreamReader()
                source.feed_data(first)
                source.feed_eof()
            packet_type, raw, offset = await asyncio.wait_for(read_packet(source, MAX_CONNECT_BYTES), CONNECT_TIMEOUT_S)
            connect = parse_connect(packet_type, raw, offset)
            self.served["handed" if first is not None else "socket"] += 1
            if first is not None:
                handed = connect.client_id
                self.handed[handed] = self.handed.get(handed, 0) + 1
            if first is None:  # the gate's relay, which checked the packets, or SmartZone's own client
                replay = amqtt_support.ReplayReader(raw, reader, connect.keep_alive)
            else:
                replay = CheckedReader(connect, first[len(raw) :], reader, self.max_packet, self.denied)
            await self.broker.external_connected(replay, out, LISTENER)
        except (WireError, asyncio.IncompleteReadError, TimeoutError, ConnectionError, asyncio.CancelledError):
            pass  # a readiness probe, a broken client or shutdown: end this connection only
        finally:
            if isinstance(replay, CheckedReader):
                replay.release()
            if handed is not None:
                self.handed[handed] -= 1
                if not self.handed[handed]:
                    del self.handed[handed]
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
            answer: Any
            if request == "sessions":
                answer = {cid: s.transitions.state for cid, (s, _) in self.broker.sessions.items()}
            elif request == "denied":
                answer = self.denied.snapshot()
            elif request == "connections":
                answer = dict(self.served)
            else:
                answer = {"error": f"unknown request {request!r}"}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(0))  # exit through the clean-up below
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="amqtt: %(levelname)s %(name)s: %(message)s")
    if len(argv) != 1 or not os.path.isdir(argv[0]):
        sys.stderr.write("usage: python -m smartzone.endpoints.mqtt.broker.backends.amqtt_process DIR\n")
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
