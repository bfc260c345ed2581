"""Sandbox requests over MQTT: an owner's JSON request becomes an AddDevice, RemoveDevice or ResetSandbox.

The owner of a sandbox tenant publishes on `sz/v2/{city}/{tenant}/sandbox/request`:

    {"id": "r1", "op": "add", "device": "a-light-1", "type": "street-light", "district": "porto"}
    {"id": "r2", "op": "add", "device": "a-spot-1", "type": "parking-spot", "lat": 44.49, "lon": 11.34}
    {"id": "r3", "op": "remove", "device": "a-light-1"}
    {"id": "r4", "op": "reset"}

and reads the answer on `sz/v2/{city}/{tenant}/sandbox/result` (not retained):

    {"id": "r1", "ok": true, "op": "add", "devices": ["a-light-1"], "ts": "2026-11-23T00:10:00.000Z"}
    {"id": "r1", "ok": false, "op": "add", "error": {"code": "quota_exceeded", "message": "..."}}

`id` (optional, a string of at most 64 characters) is echoed back (null when absent or unreadable).
An empty message (clearing a retained request) is no request and gets no answer.
Error codes: `bad_json` (not UTF-8 JSON, nested too deeply, an integer too long, not an object),
`invalid_params` (a missing, unknown or mistyped field, an unknown op, a bad device id, district or
position: the message names the topic and the field), `forbidden` (a retained request: never
executed), `not_sandbox` (the tenant is not of kind sandbox), and the engine's own: `unknown_type`,
`duplicate`, `quota_exceeded`, `not_found` (remove of a device not created in this sandbox),
`not_running` (the simulation has ended), `internal` (SmartZone failed to apply it: a bug, reported in
its health).

Who may publish there is the broker's decision (the access policy: the tenant's owner and admin only),
so a request that arrives is the owner's. A request is parsed by the same defensive JSON reader as a
`cmd` (commands.load_json) on the command listener's thread and guard; the engine applies it, and its
SandboxResult (on the engine thread) is matched to the request by tenant, op and device.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from smartzone.core.commands import MAX_ID_LENGTH, quote_name
from smartzone.core.events import CommandResult, SandboxResult
from smartzone.core.sandbox import AddDevice, RemoveDevice, ResetSandbox, SandboxCommand
from smartzone.endpoints.mqtt.commands import BadCommand, load_json
from smartzone.endpoints.mqtt.host import RuntimeLike
from smartzone.endpoints.mqtt.topics import Topics

SOURCE = "mqtt"
COMPONENT = "mqtt command listener"  # the same thread and guard as device commands
OPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # op: (required fields, optional fields)
    "add": (("device", "type"), ("district", "lat", "lon", "name")),
    "remove": (("device",), ()),
    "reset": ((), ()),
}
Answer = Callable[[str, str, dict[str, Any]], None]  # routing key, result topic, result document


class BadRequest(Exception):
    """A request refused before it reaches the engine (`request_id` None if unreadable)."""

    def __init__(self, code: str, message: str, request_id: str | None, op: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.request_id, self.op = code, message, request_id, op


@dataclass(frozen=True)
class SandboxRequest:
    id: str | None
    op: str
    fields: dict[str, Any]


def _text(doc: dict[str, Any], name: str, where: str, rid: str | None, op: str, limit: int = 80) -> str | None:
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise BadRequest("invalid_params", f"{where}: '{name}' must be a string of 1-{limit} characters", rid, op)
    return value


def _number(doc: dict[str, Any], name: str, where: str, rid: str | None, op: str) -> float | int | None:
    value = doc.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadRequest("invalid_params", f"{where}: '{name}' must be a number", rid, op)
    return value


def parse_request(payload: bytes, where: str) -> SandboxRequest:
    """The op and fields of a request payload published on topic `where`; raises BadRequest only."""
    try:
        doc = load_json(payload)
    except BadCommand as exc:
        raise BadRequest("bad_json", f"{where}: {exc.message}", None) from None
    if not isinstance(doc, dict):
        raise BadRequest("bad_json", f"{where}: payload must be a JSON object, got {type(doc).__name__}", None)
    rid = doc.get("id")
    if rid is not None and (not isinstance(rid, str) or not rid or len(rid) > MAX_ID_LENGTH or not _unicode(rid)):
        raise BadRequest("invalid_params", f"{where}: 'id' must be a string of 1-{MAX_ID_LENGTH} characters", None)
    op = doc.get("op")
    if not isinstance(op, str) or op not in OPS:
        shown = quote_name(op) if isinstance(op, str) else type(op).__name__
        raise BadRequest("invalid_params", f"{where}: 'op' must be one of {', '.join(OPS)}, got {shown}", rid)
    required, optional = OPS[op]
    unknown = sorted(set(doc) - {"id", "op", *required, *optional})
    if unknown:
        allowed = ", ".join(("id", "op", *required, *optional))
        raise BadRequest(
            "invalid_params",
            f"{where}: unknown field '{quote_name(unknown[0])}' for op {op}; allowed: {allowed}",
            rid,
            op,
        )
    missing = [name for name in required if doc.get(name) is None]
    if missing:
        raise BadRequest("invalid_params", f"{where}: op {op} needs '{missing[0]}'", rid, op)
    fields: dict[str, Any] = {}
    for name in ("device", "type", "district", "name"):
        if name in required or name in optional:
            fields[name] = _text(doc, name, where, rid, op, 64 if name != "name" else 80)
    for name in ("lat", "lon"):
        if name in optional:
            fields[name] = _number(doc, name, where, rid, op)
    return SandboxRequest(rid, op, fields)


def _unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def result_ok(rid: str | None, op: str, devices: tuple[str, ...], ts: str) -> dict[str, Any]:
    return {"id": rid, "ok": True, "op": op, "devices": list(devices), "ts": ts}


def result_error(rid: str | None, op: str | None, code: str, message: str) -> dict[str, Any]:
    return {"id": rid, "ok": False, "op": op, "error": {"code": code, "message": message}}


class SandboxRequests:
    """Takes the requests the command listener receives and answers them (SandboxRoute)."""

    def __init__(self, runtime: RuntimeLike, topics: Topics, answer: Answer, iso: Callable[[float], str]) -> None:
        self.runtime, self.topics, self.answer, self.iso = runtime, topics, answer, iso
        self.sandboxes = {t.id for t in runtime.scenario.tenants if t.kind == "sandbox"}
        self.counts = {"sandbox_received": 0, "sandbox_submitted": 0, "sandbox_refused": 0}
        self._pending: dict[tuple[str, str, str], deque[str | None]] = {}  # (tenant, op, device) -> ids
        self._lock = threading.Lock()  # the listener's thread adds, the engine thread takes

    def filter(self) -> str:
        return self.topics.sandbox_request_filter()

    # --- the command listener's paho thread --------------------------------------------------
    def on_message(self, topic: str, payload: bytes, retained: bool) -> bool:
        parts = self.topics.parse(topic)
        if parts.kind != "sandbox" or parts.channel != "request":
            return False
        self.counts["sandbox_received"] += 1
        try:
            self.handle(parts.tenant, topic, payload, retained)
        except BadRequest as exc:
            self.counts["sandbox_refused"] += 1
            self._send(parts.tenant, result_error(exc.request_id, exc.op, exc.code, exc.message))
        return True

    def handle(self, tenant: str, topic: str, payload: bytes, retained: bool) -> None:
        """Check one request and queue it to the engine (raises BadRequest for the refusals decided here)."""
        if not payload:
            return  # someone cleared a retained request (delivered live without its retain flag): no request
        if retained:
            raise BadRequest(
                "forbidden", f"{topic}: retained requests are not accepted; clear the retained message", None
            )
        request = parse_request(payload, topic)
        if tenant not in self.sandboxes:
            raise BadRequest(
                "not_sandbox", f"{topic}: tenant '{tenant}' is not of kind sandbox", request.id, request.op
            )
        command, key = self._command(tenant, request)
        with self._lock:
            self._pending.setdefault(key, deque()).append(request.id)
        future = self.runtime.submit(command)
        self.counts["sandbox_submitted"] += 1
        future.add_done_callback(self.runtime.guard(COMPONENT, lambda f: self._not_applied(f, key, request)))

    @staticmethod
    def _command(tenant: str, request: SandboxRequest) -> tuple[SandboxCommand, tuple[str, str, str]]:
        f = request.fields
        if request.op == "add":
            cmd: SandboxCommand = AddDevice(
                tenant, f["device"], f["type"], f["district"], f["lat"], f["lon"], f["name"], source=SOURCE
            )
            return cmd, (tenant, "add", f["device"])
        if request.op == "remove":
            return RemoveDevice(tenant, f["device"], source=SOURCE), (tenant, "remove", f["device"])
        label = request.id or "reset"
        return ResetSandbox(tenant, request=label, source=SOURCE), (tenant, "reset", label)

    def _not_applied(
        self, future: Future[CommandResult | None], key: tuple[str, str, str], request: SandboxRequest
    ) -> None:
        """The engine could not take the request: answer, so the owner is not left waiting. The run ended:
        `not_running`; anything else is unexpected: `internal`, and the cause goes to health (the guard)."""
        error = None if future.cancelled() else future.exception()
        if error is None and not future.cancelled():
            return  # applied: its SandboxResult was answered by on_result
        stopped = future.cancelled() or (isinstance(error, RuntimeError) and "stopped" in str(error))
        if self._take(key)[0]:
            code, message = ("not_running", "the simulation is not running") if stopped else ("internal", str(error))
            self._send(key[0], result_error(request.id, request.op, code, message[:200]))
        if not stopped and error is not None:
            raise error

    def _take(self, key: tuple[str, str, str]) -> tuple[bool, str | None]:
        """Whether a request waits under `key` and the id of the oldest one (taken off the list)."""
        with self._lock:
            waiting = self._pending.get(key)
            if not waiting:
                return False, None
            rid = waiting.popleft()
            if not waiting:
                del self._pending[key]
            return True, rid

    # --- the engine thread ---------------------------------------------------------------------
    def on_result(self, event: SandboxResult) -> None:
        """Answer a request the engine applied (subscribed to SandboxResult by the bridge)."""
        if event.source != SOURCE:
            return
        _, rid = self._take((event.tenant, event.action, event.request))
        if event.ok:
            doc = result_ok(rid, event.action, event.devices, self.iso(event.t))
        else:
            doc = result_error(rid, event.action, event.error_code or "error", event.error_message or "")
        self._send(event.tenant, doc)

    def _send(self, tenant: str, doc: dict[str, Any]) -> None:
        self.answer(f"sandbox:{tenant}", self.topics.sandbox(tenant, "result"), doc)

    def stats(self) -> dict[str, int]:
        return dict(self.counts)
