"""The embedded backend: amqtt 0.12 on its own thread and event loop, behind the CONNECT gate.

SmartZone owns the listening socket (so a busy port is a clear error and port 0 works),
judges each CONNECT with the gate, then hands the connection to amqtt through its
"external" listener: after the first packet amqtt reads the same socket directly, so the
gate costs one CONNECT parse per connection and nothing per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any

from amqtt.adapters import ReaderAdapter, StreamWriterAdapter

from smartzone.definitions.scenario import Scenario
from smartzone.endpoints.mqtt.broker import amqtt_support
from smartzone.endpoints.mqtt.broker.base import ManagedBrokerBase, port_error
from smartzone.endpoints.mqtt.broker.gate import admit, close_writer, set_nodelay
from smartzone.endpoints.mqtt.broker.loop_thread import LoopThread
from smartzone.endpoints.mqtt.broker.observe import TapReader, TapWriter
from smartzone.endpoints.mqtt.broker.policy import SERVICE_USER, AccessPolicy

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 15.0
MQTT_311_ONLY = frozenset({4})  # amqtt 0.12 misreads 3.1 and 5 CONNECTs

LIMITATIONS = [
    "embedded amqtt 0.12 speaks MQTT 3.1.1 only (MQTT 3.1 and 5 clients are refused: unsupported protocol)",
    "embedded amqtt does not resend unacknowledged QoS 1/2 messages after a reconnect (amqtt #401)",
    "embedded amqtt: SmartZone enforces client keep-alive itself, dropping a silent client "
    "after 1.5 to 2 keep-alive periods (the MQTT rule is 1.5)",
    "embedded amqtt keeps sessions and retained messages in memory only (lost at exit)",
]


class EmbeddedBroker(ManagedBrokerBase):
    """amqtt with SmartZone's gate, auth and topic plugins; see the module docstring."""

    backend = "embedded"

    def __init__(self, scenario: Scenario, host: str = "127.0.0.1", port: int = 0) -> None:
        self.service_user = SERVICE_USER
        self.service_socket: str | None = None
        self.service_password = secrets.token_urlsafe(18)
        super().__init__(scenario, AccessPolicy(scenario, self.service_password))
        self.host = host
        self.port = port
        self.limitations = list(LIMITATIONS)
        self._key = f"sz-{id(self)}-{secrets.token_hex(4)}"
        self._server: asyncio.Server | None = None
        self._amqtt: amqtt_support.SzAmqttBroker | None = None
        self._conns: set[asyncio.Task[Any]] = set()
        amqtt_support.register(self._key, self.policy, self.denied)
        self._loop = LoopThread("sz-mqtt-embedded")
        try:
            self._loop.call(self._start(), START_TIMEOUT_S)
        except OSError as exc:
            self._teardown()
            raise port_error(host, port, exc) from None
        except BaseException:
            self._teardown()
            raise

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._on_client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        config = {
            "listeners": {"default": {"type": "external", "bind": f"{self.host}:{self.port}"}},
            "plugins": amqtt_support.plugin_config(self._key),
        }
        self._amqtt = amqtt_support.SzAmqttBroker(config)
        await self._amqtt.start()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        observer = self.observer
        try:
            set_nodelay(writer)
            admitted = await admit(reader, writer, self.policy, self.denied, MQTT_311_ONLY, observer)
            if admitted is None or self._amqtt is None:
                return
            connect, identity = admitted
            replay: ReaderAdapter = amqtt_support.ReplayReader(connect.raw, reader, connect.keep_alive)
            out: StreamWriterAdapter = StreamWriterAdapter(writer)
            if observer is not None and identity.role != "service":  # see observe.py
                replay, out = TapReader(replay, observer, writer), TapWriter(writer, observer)
            await self._amqtt.external_connected(replay, out, "default")
        except asyncio.CancelledError:
            pass  # closing: end normally (Python 3.11's stream callback logs cancelled handlers)
        finally:
            if observer is not None:
                observer.closed(writer)
            self._conns.discard(task)
            if not writer.is_closing():
                await close_writer(writer)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._amqtt is not None and self._amqtt.transitions.is_started():
            await self._amqtt.shutdown()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), STOP_TIMEOUT_S)

    def _teardown(self) -> None:
        amqtt_support.unregister(self._key)
        self._loop.stop(STOP_TIMEOUT_S)

    def close(self) -> None:
        """Stop accepting, shut amqtt down, close every connection, stop the thread."""
        if self._loop.loop.is_closed():
            return
        try:
            if self._loop.loop.is_running():
                self._loop.call(self._shutdown(), STOP_TIMEOUT_S)
        finally:
            self._teardown()
