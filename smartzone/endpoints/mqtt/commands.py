"""Commands from apps: `cmd` messages become DeviceCommands; every one gets a `cmd/ack`.

The bridge checks what only it can see (the payload shape, the topic, the retain flag) and
answers those errors itself; everything about the device (unknown action, parameters and
their ranges, offline) is decided by the engine when it applies the command, atomically,
so a rejected command changes nothing. Accepted or not, the engine's CommandResult comes
back on the bus and the bridge publishes it as the ack (see bridge.Bridge.render).

Where `forbidden` comes from (the broker's ACL already drops a cmd publish by a user
without a command grant, on the embedded and the mosquitto backends, so such a command
never reaches the bridge):
- a cmd whose topic names a tenant the device does not belong to (the publisher's grant
  covered the topic's tenant, not the device's): refused, nothing is executed;
- a retained cmd replayed to the bridge when it (re)subscribes: its publisher and age are
  unknown, so it is refused and never executed (clear it with an empty retained message).
  MQTT 3.1.1 clears the retain flag on live delivery to an existing subscription, so a
  retained cmd published while the bridge is connected runs once, like any other cmd.

Each cmd is handled on its own: whatever its payload (nested 100,000 levels deep, an integer
of 5,000 digits, NaN, invalid UTF-8, binary, a megabyte string), parsing raises nothing but
BadCommand, answered with `malformed` or `invalid_params`; anything else that goes wrong
while handling one cmd is reported to the runtime's health as survived and the cmd is dropped
and counted (`cmd_dropped`), so the paho thread and the next command are never affected. A
watchdog probe makes a dead paho network thread fatal (the run ends with exit 1).

The same connection and thread also take the sandbox owners' requests (`.../{tenant}/sandbox/request`)
when the bridge hands it a `SandboxRoute` (sandbox_requests.py): they are parsed and answered the
same way, under the same guard and watchdog.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

import paho.mqtt.client as mqtt

from smartzone.core.commands import MAX_ID_LENGTH, DeviceCommand, quote_name
from smartzone.core.events import CommandResult
from smartzone.endpoints.mqtt.documents import ack_error
from smartzone.endpoints.mqtt.host import RuntimeLike
from smartzone.endpoints.mqtt.publisher import BrokerAddress, new_client, set_nodelay
from smartzone.endpoints.mqtt.topics import CmdTopic, Topics

FIELDS = ("id", "action", "params")
SOURCE = "mqtt"
COMPONENT = "mqtt command listener"
AckSink = Callable[[str, str, dict[str, Any]], None]  # device key, ack topic, ack document


class SandboxRoute(Protocol):
    """Where the listener hands the messages of its second subscription (sandbox_requests.SandboxRequests)."""

    def filter(self) -> str: ...

    def on_message(self, topic: str, payload: bytes, retained: bool) -> bool:
        """Handle one message if `topic` is a sandbox request topic (True), else False."""
        ...


class BadCommand(Exception):
    """A cmd the bridge refuses itself (code from API.md; `command_id` None if unreadable)."""

    def __init__(self, code: str, message: str, command_id: str | None) -> None:
        super().__init__(message)
        self.code, self.message, self.command_id = code, message, command_id


@dataclass(frozen=True)
class ParsedCommand:
    id: str
    action: str
    params: dict[str, Any] = field(default_factory=dict)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def load_json(payload: bytes) -> Any:
    """The JSON document of a payload, or BadCommand('malformed'): never any other exception."""
    try:
        return json.loads(payload.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise BadCommand("malformed", "payload is not UTF-8 text", None) from None
    except json.JSONDecodeError as exc:
        raise BadCommand("malformed", f"payload is not JSON: {exc}", None) from None
    except RecursionError:
        raise BadCommand("malformed", "payload is nested too deeply", None) from None
    except Exception as exc:  # ValueError: an integer of more than 4,300 digits, NaN/Infinity, ...
        raise BadCommand("malformed", f"payload is not acceptable JSON: {str(exc)[:120]}", None) from None


def _is_unicode(text: str) -> bool:
    """False for a string with a lone surrogate (a JSON "\\ud800" escape): it cannot be echoed in an ack."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_command(payload: bytes) -> ParsedCommand:
    """The id, action and params of a cmd payload; raises BadCommand (malformed/invalid_params) only."""
    doc = load_json(payload)
    if not isinstance(doc, dict):
        raise BadCommand("malformed", f"payload must be a JSON object, got {type(doc).__name__}", None)
    cid = doc.get("id")
    if not isinstance(cid, str) or not cid or len(cid) > MAX_ID_LENGTH or not _is_unicode(cid):
        raise BadCommand(
            "malformed", f"'id' must be a non-empty string of at most {MAX_ID_LENGTH} Unicode characters", None
        )
    unknown = sorted(set(doc) - set(FIELDS))
    if unknown:
        raise BadCommand("malformed", f"unknown field '{quote_name(unknown[0])}'; allowed: {', '.join(FIELDS)}", cid)
    action = doc.get("action")
    if not isinstance(action, str) or not action:
        raise BadCommand("malformed", "'action' must be a non-empty string", cid)
    params = doc.get("params", {})
    if not isinstance(params, dict):
        raise BadCommand("invalid_params", "'params' must be an object", cid)
    return ParsedCommand(cid, action, params)


def peek_id(payload: bytes) -> str | None:
    """The command id if it can be read, for acks of commands refused before parsing."""
    try:
        return parse_command(payload).id
    except BadCommand as exc:
        return exc.command_id


class CommandListener:
    """The service account's subscription to every cmd topic of the city."""

    def __init__(
        self,
        runtime: RuntimeLike,
        address: BrokerAddress,
        topics: Topics,
        ack: AckSink,
        client_id: str,
        sandbox: SandboxRoute | None = None,
    ):
        self.runtime, self.address, self.topics, self.ack = runtime, address, topics, ack
        self.sandbox = sandbox
        self.client = new_client(address, client_id)
        self.client.reconnect_delay_set(1, 5)
        # paho calls these on its network thread: an exception there would end the thread
        # (and every later command), so each is guarded: reported as survived, then ignored
        self.client.on_connect = runtime.guard(COMPONENT, self._on_connect)
        self.client.on_subscribe = runtime.guard(COMPONENT, self._on_subscribe)
        self.client.on_message = runtime.guard(COMPONENT, self._on_message)
        self.ready = threading.Event()
        self.subscriptions = 0  # granted subscriptions to the cmd filter, one per (re)connect
        self.last_error = ""
        self.counts = {"cmd_received": 0, "cmd_submitted": 0, "cmd_refused": 0, "cmd_dropped": 0}
        self._unwatch: Callable[[], None] | None = None

    def start(self) -> None:
        self.client.connect_async(self.address.target, self.address.port, keepalive=30)
        self.client.loop_start()
        self._unwatch = self.runtime.watch(COMPONENT, self._probe)

    def _probe(self) -> str | None:
        """The watchdog's check: paho's network thread (loop_start) must still run."""
        thread = self.client._thread  # pinned paho 2.2 (tests/endpoints/mqtt/test_paho_contract.py)
        if thread is not None and thread.is_alive():
            return None
        return "its paho network thread is no longer running; commands are no longer received"

    def wait_ready(self, timeout: float) -> bool:
        return self.ready.wait(timeout)

    def close(self) -> None:
        unwatch, self._unwatch = self._unwatch, None
        if unwatch is not None:
            unwatch()  # a deliberate stop is not a death
        self.client.disconnect()
        self.client.loop_stop()

    def stats(self) -> dict[str, int]:
        return dict(self.counts)

    # --- paho thread ------------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.last_error = f"broker refused the command listener: {reason}"
            return
        set_nodelay(client)
        client.subscribe(self.filters())

    def filters(self) -> list[tuple[str, int]]:
        """What the listener subscribes to: every cmd topic and, with a sandbox route, every sandbox request."""
        out = [(self.topics.cmd_filter(), 1)]
        if self.sandbox is not None:
            out.append((self.sandbox.filter(), 1))
        return out

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        if any(r.is_failure for r in reasons):
            names = ", ".join(f for f, _ in self.filters())
            self.last_error = f"broker refused the subscription to {names}"
            return
        self.subscriptions += 1
        self.ready.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic  # paho decodes it here: a broker that passes invalid UTF-8 on makes it raise
        except UnicodeDecodeError:
            self.counts["cmd_dropped"] += 1  # no device to answer on: dropped and counted
            return
        where = self.topics.parse_cmd(topic)
        if where is None:
            if self.sandbox is not None:
                self.sandbox.on_message(topic, bytes(msg.payload), bool(msg.retain))
            return
        self.counts["cmd_received"] += 1
        try:
            self.handle(where, bytes(msg.payload), bool(msg.retain))
        except BadCommand as exc:
            self.counts["cmd_refused"] += 1
            self.ack(where.device, self.topics.ack_for(where), ack_error(exc.command_id, exc.code, exc.message))
        except Exception:
            self.counts["cmd_dropped"] += 1  # unexpected: dropped and counted; the guard reports the cause
            raise

    def handle(self, where: CmdTopic, payload: bytes, retained: bool) -> None:
        """Check one cmd and queue it to the engine (raises BadCommand for the bridge's refusals)."""
        if retained:
            if not payload:
                return  # someone cleared a retained cmd: nothing to do
            raise BadCommand(
                "forbidden",
                f"retained commands are not accepted; clear the retained message on {where.device}",
                peek_id(payload),
            )
        cmd = parse_command(payload)
        info = self.runtime.devices.get(where.device)
        if info is None or info.type != where.type:
            raise BadCommand("malformed", f"no device '{where.device}' of type '{where.type}' in this city", cmd.id)
        if info.tenant != where.tenant:
            raise BadCommand("forbidden", f"device '{info.id}' does not belong to tenant '{where.tenant}'", cmd.id)
        future = self.runtime.submit(DeviceCommand(info.id, cmd.action, cmd.params, id=cmd.id, source=SOURCE))
        self.counts["cmd_submitted"] += 1
        future.add_done_callback(self.runtime.guard(COMPONENT, lambda f: self._not_applied(f, where, cmd.id)))

    def _not_applied(self, future: Future[CommandResult | None], where: CmdTopic, cid: str) -> None:
        """A command the engine could not take (the run ended): ack it so the app is not left waiting.

        Any other failure is unexpected (validation raises nothing but CommandRejected): the
        command is dropped and counted, and the cause reported to health by the guard.
        """
        error = None if future.cancelled() else future.exception()
        if future.cancelled() or (isinstance(error, RuntimeError) and "stopped" in str(error)):
            self.ack(
                where.device,
                self.topics.ack_for(where),
                ack_error(cid, "device_offline", "the simulation is not running"),
            )
        elif error is not None:
            self.counts["cmd_dropped"] += 1
            raise error
