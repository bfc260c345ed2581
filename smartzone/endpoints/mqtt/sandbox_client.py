"""An owner's MQTT client for one sandbox request: what `smartzone sandbox ...` runs against a running city.

    answer = send_request(BrokerAddress("127.0.0.1", 1883, "owner-a", "pw"), Topics("bologna"), "lab-a",
                          {"op": "add", "device": "a-light-1", "type": "street-light"}, timeout=10)

It connects as the owner, subscribes to the tenant's `sandbox/result` topic, publishes the request
(with a fresh `id`) on `sandbox/request` and returns the answer that carries that id (docs/owners.md).
Everything runs on the caller's thread (paho's `loop()` is called here; no thread is started).
What keeps it from an answer (unreachable broker, refused credentials or subscription, no answer in
time) raises SandboxClientError with a message that says what to check.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from smartzone.endpoints.mqtt.publisher import BrokerAddress, new_client
from smartzone.endpoints.mqtt.topics import Topics


class SandboxClientError(Exception):
    """No answer could be had: the message names the broker, the topic or the user."""


class _Session:
    """What the paho callbacks saw (called on this thread, inside client.loop)."""

    def __init__(self) -> None:
        self.connack: Any = None
        self.suback: list[Any] | None = None
        self.closed = False
        self.answers: list[dict[str, Any]] = []

    def on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connack = reason

    def on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.closed = True

    def on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        self.suback = list(reasons)

    def on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            doc = json.loads(msg.payload)
        except ValueError:
            return  # not an answer of ours
        if isinstance(doc, dict):
            self.answers.append(doc)


def send_request(
    address: BrokerAddress, topics: Topics, tenant: str, request: dict[str, Any], timeout: float = 10.0
) -> dict[str, Any]:
    """Send one sandbox request as the owner in `address` and return its answer (SandboxClientError if none)."""
    rid = f"cli-{uuid.uuid4().hex[:12]}"
    where = f"{address.host}:{address.port}"
    result_topic, request_topic = topics.sandbox(tenant, "result"), topics.sandbox(tenant, "request")
    session = _Session()
    client = new_client(address, f"{address.username or 'anonymous'}-sandbox-{rid[4:]}")
    client.on_connect, client.on_disconnect = session.on_connect, session.on_disconnect
    client.on_subscribe, client.on_message = session.on_subscribe, session.on_message
    deadline = time.monotonic() + timeout

    def wait(done: Callable[[], bool], what: str) -> None:
        while not done():
            if session.closed and session.connack is not None and not session.connack.is_failure:
                raise SandboxClientError(f"{where}: the broker closed the connection while {what}")
            if time.monotonic() >= deadline:
                raise SandboxClientError(f"{where}: no answer within {timeout:g} s while {what}")
            if client.loop(timeout=0.05) not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_AGAIN):
                session.closed = True
                if session.connack is None:
                    raise SandboxClientError(f"{where}: the broker closed the connection (wrong user or password?)")

    try:
        client.connect(address.target, address.port, keepalive=30)
    except (OSError, ValueError) as exc:
        raise SandboxClientError(f"cannot connect to {where}: {exc}") from None
    try:
        wait(lambda: session.connack is not None, "connecting")
        if session.connack.is_failure:
            raise SandboxClientError(f"{where} refused user '{address.username}': {session.connack}")
        client.subscribe(result_topic, qos=1)
        wait(lambda: session.suback is not None, f"subscribing to {result_topic}")
        if any(r.is_failure for r in session.suback or ()):
            raise SandboxClientError(
                f"{where} refused the subscription to {result_topic}: "
                f"only the owner of tenant '{tenant}' (and admin) may use its sandbox topics"
            )
        client.publish(request_topic, json.dumps({"id": rid, **request}), qos=1)
        wait(lambda: any(a.get("id") == rid for a in session.answers), f"waiting for the answer on {result_topic}")
        return next(a for a in session.answers if a.get("id") == rid)
    finally:
        client.disconnect()
