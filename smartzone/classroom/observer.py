"""What each trainee did, as the certification recorder sees it (certify/observer.py), per user.

`ClassRecorder` is certification's Recorder with one addition: what the broker delivered to
each user (topics counted, acks kept), through the recorder's `delivered_to` hook. `Facts`
gathers, per trainee, everything the checks (checks.py) need; `Tracker.update()` folds the
records that arrived since its last call into them (the record lists only grow), so a class of
30 is evaluated in time proportional to what is new.

Attribution: MQTT is attributed by user (the broker authenticated it). Modbus/TCP carries no
user, and the record keeps only the client's source port, so a Modbus request is attributed by
the unit it addressed: a trainee's Modbus checks name its own device (a variable), so a read of
another trainee's unit never counts for this one. On top, a connection is bound to the trainee
whose own unit it addressed first: a program that goes on to read other trainees' units on the
same connection does not complete their steps. What cannot be told apart: trainee A reading
trainee B's unit on a fresh connection (mbpoll opens one per run) counts for B.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from dataclasses import dataclass, field
from itertools import takewhile
from typing import Any

from smartzone.certify.observer import Recorder, _Conn
from smartzone.certify.records import ModbusRec, Stamp
from smartzone.endpoints.mqtt.codec import Publish

MAX_ANSWERS = 200  # per trainee: a flood of answers must not eat the memory
MAX_MODBUS = 100_000  # per trainee: its requests to its own units, bounded for a client in a loop
MAX_DELIVERY_TIMES = 50_000  # per trainee: enough for a rate over a window, bounded for a flood


@dataclass
class Facts:
    """Everything observed of one trainee over MQTT (its Modbus requests: Tracker.modbus_for)."""

    connected: bool = False
    subscribes: list[tuple[str, bool]] = field(default_factory=list)  # (filter, granted)
    received: Counter[str] = field(default_factory=Counter)  # topic -> deliveries
    commands: dict[str, tuple[str, str]] = field(default_factory=dict)  # cmd id -> (topic, action)
    command_topics: Counter[str] = field(default_factory=Counter)  # cmd topic -> publishes
    acks: list[tuple[str, str | None, bool, str | None]] = field(default_factory=list)  # (topic, id, ok, code)
    answers: list[tuple[str, Any]] = field(default_factory=list)  # (step, value), in order


class ClassRecorder(Recorder):
    """The certification recorder, keeping what the broker delivered to each user."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delivered: dict[str, Counter[str]] = {}
        self.user_acks: dict[str, list[tuple[str, str | None, bool, str | None]]] = {}
        self.delivery_times: dict[str, deque[float]] = {}  # user -> wall stamps of its latest deliveries

    def now(self) -> float:
        """Wall seconds on the records' clock (Stamp.wall)."""
        return self.stamp().wall

    def delivered_to(self, at: Stamp, conn: _Conn, pkt: Publish) -> None:
        user = conn.identity.name
        self.delivered.setdefault(user, Counter())[pkt.topic] += 1
        times = self.delivery_times.get(user)
        if times is None:
            times = self.delivery_times[user] = deque(maxlen=MAX_DELIVERY_TIMES)
        times.append(at.wall)
        if pkt.topic.endswith("/cmd/ack"):
            try:
                body = json.loads(pkt.payload)
                error = body.get("error") or {}
                ack = (pkt.topic, body.get("id"), body.get("ok") is True, error.get("code"))
            except Exception:  # network input: never let it reach the broker's loop
                return
            acks = self.user_acks.setdefault(user, [])
            if len(acks) < MAX_ANSWERS * 10:
                acks.append(ack)


class Tracker:
    """Per-trainee Facts, updated incrementally from a ClassRecorder."""

    def __init__(
        self,
        rec: ClassRecorder,
        users: list[str],
        answer_topic: dict[str, str],
        owners: dict[str, str] | None = None,
        devices: dict[str, set[str]] | None = None,
    ) -> None:
        self.rec = rec
        self._owners = owners or {}  # device -> the trainee whose own device it is (its variables)
        if devices is None:
            devices = {}
            for device, user in self._owners.items():
                devices.setdefault(user, set()).add(device)
        self._device_users: dict[str, list[str]] = {}  # device -> trainees whose variables name it
        for user, names in devices.items():
            for device in names:
                self._device_users.setdefault(device, []).append(user)
        self._conn_owner: dict[str, str] = {}  # Modbus "gateway/port" -> the trainee it proved to be
        self.facts = {u: Facts() for u in users}
        self._answer_topic = answer_topic  # user -> its answer topic
        self._conn_user: dict[int, str] = {}
        self._seen = {"connects": 0, "subscribes": 0, "publishes": 0, "modbus": 0}
        self._base: dict[str, tuple[Counter[str], int]] = {}  # user -> (deliveries, acks) before a reset
        self._modbus: dict[str, list[ModbusRec]] = {u: [] for u in users}  # requests to each one's devices
        self._reset_at: dict[str, float] = {}  # user -> wall stamp of its last reset

    def _new(self, name: str) -> list[Any]:
        records = getattr(self.rec.obs, name)
        start = self._seen[name]
        self._seen[name] = len(records)
        return records[start:]

    def update(self) -> None:
        with self.rec._lock:  # the recorder appends under this lock on the endpoints' threads
            connects, subscribes = self._new("connects"), self._new("subscribes")
            publishes, modbus = self._new("publishes"), self._new("modbus")
            delivered = {u: Counter(c) for u, c in self.rec.delivered.items() if u in self.facts}
            acks = {u: list(a) for u, a in self.rec.user_acks.items() if u in self.facts}
        for c in connects:
            if c.user in self.facts:
                self._conn_user[c.conn] = c.user
                if c.refused is None:
                    self.facts[c.user].connected = True
        for s in subscribes:
            user = self._conn_user.get(s.conn)
            if user is not None:
                self.facts[user].subscribes.append((s.filter, s.allowed))
        for p in publishes:
            user = self._conn_user.get(p.conn)
            if user is not None:
                self._publish(self.facts[user], user, p.topic, p.allowed, p.payload)
        for r in modbus:  # only requests to a trainee's own devices can count for it: keep just those
            owner = self._owners.get(r.device or "")
            if owner is not None:
                self._conn_owner.setdefault(r.conn, owner)
            bound = self._conn_owner.get(r.conn)
            for user in self._device_users.get(r.device or "", ()):
                if bound in (None, user) and len(self._modbus[user]) < MAX_MODBUS:
                    self._modbus[user].append(r)
        for user, counts in delivered.items():
            base = self._base.get(user)
            self.facts[user].received = counts - base[0] if base else counts
        for user, user_acks in acks.items():
            base = self._base.get(user)
            self.facts[user].acks = user_acks[base[1] :] if base else user_acks

    def reset(self, user: str) -> None:
        """Forget what `user` did so far (the trainer reset its progress); it stays connected."""
        if user not in self.facts:
            return
        with self.rec._lock:
            delivered = Counter(self.rec.delivered.get(user, Counter()))
            acks = len(self.rec.user_acks.get(user, []))
        connected = self.facts[user].connected
        self._base[user] = (delivered, acks)
        self._modbus[user] = []
        self._reset_at[user] = self.rec.now()
        self.facts[user] = Facts(connected=connected)

    def _publish(self, facts: Facts, user: str, topic: str, allowed: bool, payload: bytes) -> None:
        try:
            body = json.loads(payload)
        except Exception:  # not JSON: not an answer, not a command the checks can follow
            body = None
        if topic == self._answer_topic.get(user):
            if isinstance(body, dict) and isinstance(body.get("step"), str) and "value" in body:
                self.add_answer(user, body["step"], body["value"])
            return
        if topic.endswith("/cmd") and allowed:
            facts.command_topics[topic] += 1
            if isinstance(body, dict) and isinstance(body.get("id"), str):
                facts.commands[body["id"]] = (topic, str(body.get("action")))

    def modbus_for(self, user: str) -> list[ModbusRec]:
        """The Modbus requests that may count for `user`: to its own devices, since its last reset, on
        connections not bound to another trainee."""
        return self._modbus.get(user, [])

    def delivery_times(self, user: str, since: float) -> list[float]:
        """Wall stamps of the deliveries to `user` at or after `since` (and after its last reset)."""
        floor = max(since, self._reset_at.get(user, float("-inf")))
        with self.rec._lock:
            times = self.rec.delivery_times.get(user)
            return list(takewhile(lambda t: t >= floor, reversed(times))) if times else []

    def add_answer(self, user: str, step: str, value: Any) -> None:
        """An answer from the trainee's topic or from `smartzone class answer`."""
        facts = self.facts.get(user)
        if facts is not None and len(facts.answers) < MAX_ANSWERS:
            facts.answers.append((step, value))
