"""Real MQTT devices: their vendor JSON in, vendor commands out, answers matched to commands.

A `MqttConnection` is one paho client on one broker: SmartZone's own (the service account, for
every device publishing on its owner-only ingest topic `sz/v2/{city}/{tenant}/ingest/{device}`)
or an owner's broker (`mqtt://host:port`, one per device, with its credentials). paho retries a
lost broker with backoff (1 s .. 1 min); the devices on it go offline once, with one line, and
online again at their next message. Each command is published on a short-lived thread that waits
for the device's answer up to `ack_timeout` and otherwise answers `timeout`.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import paho.mqtt.client as mqtt

from smartzone.core.bridged import BridgedCommand
from smartzone.definitions.bridged import INGEST, BridgedDevice
from smartzone.definitions.device_type import DeviceType
from smartzone.endpoints.mqtt.publisher import BrokerAddress, new_client
from smartzone.endpoints.mqtt.topics import Topics
from smartzone.endpoints.realdevice.link import BACKOFF_FIRST_S, BACKOFF_MAX_S, Host, Link
from smartzone.endpoints.realdevice.mapping import Mapper, MappingError

STOP_TIMEOUT_S = 5.0


class MqttLink(Link):
    """One real MQTT device: its topics, and its commands waiting for an answer."""

    def __init__(self, rt: Host, spec: BridgedDevice, dtype: DeviceType, topics: Topics) -> None:
        super().__init__(rt, spec, dtype)
        assert spec.mqtt is not None
        self.source = spec.mqtt
        if self.source.broker == INGEST:
            self.data_topic = topics.ingest(spec.tenant, spec.id)
            self.command_topic: str | None = topics.ingest(spec.tenant, spec.id, "command")
            self.ack_topic: str | None = topics.ingest(spec.tenant, spec.id, "answer")
        else:
            self.data_topic = self.source.topic or ""
            self.command_topic, self.ack_topic = self.source.command_topic, self.source.ack_topic
        self.connection: MqttConnection | None = None
        self._waiting: dict[str, tuple[int, threading.Event]] = {}
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def start(self) -> None:
        """Its connection starts it (one connection may carry several devices)."""

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            threads, waiting = list(self._threads), list(self._waiting.values())
        for _ref, done in waiting:
            done.set()
        for thread in threads:
            thread.join(STOP_TIMEOUT_S)

    # --- from the broker (paho's thread) --------------------------------------------------------
    def on_data(self, payload: bytes) -> None:
        try:
            doc = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            self.counts["not_understood"] += 1
            self.last_error = f"not JSON: {exc}"
            return
        self.reach(f"published on {self.data_topic}")
        self.take(doc)

    def on_answer(self, payload: bytes) -> None:
        try:
            answer = self.mapper.answer(json.loads(payload))
        except (ValueError, UnicodeDecodeError, MappingError) as exc:
            self.counts["not_understood"] += 1
            self.last_error = f"answer: {exc}"
            return
        with self._lock:
            entry = self._waiting.pop(answer.id, None)
        if entry is None:
            return  # an answer to a command that already timed out, or not ours
        ref, done = entry
        self.answer(ref, answer.ok, None if answer.ok else "device_error", answer.message or None)
        done.set()

    # --- commands -------------------------------------------------------------------------------
    def command(self, event: BridgedCommand) -> None:
        self.counts["commands"] += 1
        thread = threading.Thread(
            target=self.rt.guard(self.component, self._send), args=(event,), name=f"sz-realdevice-{self.spec.id}-cmd"
        )
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _send(self, event: BridgedCommand) -> None:
        try:
            self._perform(event)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _perform(self, event: BridgedCommand) -> None:
        data = Mapper.command_input(event.ref, event.command_id, event.action, dict(event.params))
        try:
            payload = self.mapper.mqtt_payload(data)
        except MappingError as exc:
            self.answer(event.ref, False, "device_error", str(exc))
            return
        if self.connection is None or self.command_topic is None:
            self.answer(event.ref, False, "device_error", "the mapping gives this device no command topic")
            return
        done = threading.Event()
        with self._lock:
            self._waiting[data["id"]] = (event.ref, done)
        self.connection.publish(self.command_topic, json.dumps(payload))
        if done.wait(self.source.ack_timeout) or self._closed.is_set():
            return
        with self._lock:
            missed = self._waiting.pop(data["id"], None)
        if missed is not None:
            where = f" on {self.ack_topic}" if self.ack_topic else ""
            self.answer(
                event.ref,
                False,
                "timeout",
                f"the real device did not answer within {self.source.ack_timeout:g} s{where}",
            )


class MqttConnection:
    """One paho client on one broker, routing its messages to the devices' links."""

    def __init__(self, rt: Host, address: BrokerAddress, client_id: str, name: str, links: list[MqttLink]) -> None:
        self.rt, self.address, self.name, self.links = rt, address, name, links
        self.component = f"real devices on {name}"
        self.routes: dict[str, tuple[MqttLink, bool]] = {}
        for link in links:
            link.connection = self
            self.routes[link.data_topic] = (link, False)
            if link.ack_topic:
                self.routes[link.ack_topic] = (link, True)
        self.client = new_client(address, client_id)
        self.client.reconnect_delay_set(int(BACKOFF_FIRST_S), int(BACKOFF_MAX_S))
        self.client.on_connect = rt.guard(self.component, self._on_connect)
        self.client.on_connect_fail = rt.guard(self.component, self._on_connect_fail)
        self.client.on_disconnect = rt.guard(self.component, self._on_disconnect)
        self.client.on_message = rt.guard(self.component, self._on_message)
        self._unwatch: Any = None

    def start(self) -> None:
        self.client.connect_async(self.address.target, self.address.port, keepalive=30)
        self.client.loop_start()
        self._unwatch = self.rt.watch(self.component, self._probe)

    def _probe(self) -> str | None:
        thread = self.client._thread  # pinned paho 2.2 (tests/endpoints/mqtt/test_paho_contract.py)
        if thread is not None and thread.is_alive():
            return None
        return f"its paho network thread is no longer running; the real devices on {self.name} are no longer heard"

    def close(self) -> None:
        unwatch, self._unwatch = self._unwatch, None
        if unwatch is not None:
            unwatch()  # a deliberate stop is not a death
        for link in self.links:
            link.close()
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1)

    # --- paho's thread --------------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._lost(f"the broker {self.name} refused the connection: {reason}")
            return
        for topic in self.routes:
            client.subscribe(topic, qos=1)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._lost(f"cannot connect to the broker {self.name}")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._lost(f"lost the broker {self.name}: {reason}")

    def _lost(self, cause: str) -> None:
        for link in self.links:
            link.lose(cause)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        route = self.routes.get(msg.topic)
        if route is None:
            return
        link, is_answer = route
        (link.on_answer if is_answer else link.on_data)(bytes(msg.payload))
