"""What each trainee did, as the certification recorder sees it (certify/observer.py), per user.

`ClassRecorder` is certification's Recorder with one addition: what the broker delivered to
each user (topics counted, acks kept), through the recorder's `delivered_to` hook. `Facts`
gathers, per trainee, everything the checks (checks.py) need; `Tracker.update()` folds the
records that arrived since its last call into them (the record lists only grow), so a class of
30 is evaluated in time proportional to what is new.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from smartzone.certify.observer import Recorder, _Conn
from smartzone.certify.packets import Publish
from smartzone.certify.records import ModbusRec, Stamp

MAX_ANSWERS = 200  # per trainee: a flood of answers must not eat the memory


@dataclass
class Facts:
    """Everything observed of one trainee (all users' Modbus requests are shared: Modbus has no users)."""

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

    def delivered_to(self, at: Stamp, conn: _Conn, pkt: Publish) -> None:
        user = conn.identity.name
        self.delivered.setdefault(user, Counter())[pkt.topic] += 1
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

    def __init__(self, rec: ClassRecorder, users: list[str], answer_topic: dict[str, str]) -> None:
        self.rec = rec
        self.facts = {u: Facts() for u in users}
        self._answer_topic = answer_topic  # user -> its answer topic
        self._conn_user: dict[int, str] = {}
        self._seen = {"connects": 0, "subscribes": 0, "publishes": 0, "modbus": 0}
        self._base: dict[str, tuple[Counter[str], int]] = {}  # user -> (deliveries, acks) before a reset
        self.modbus: list[ModbusRec] = []
        self._modbus_base: dict[str, int] = {}  # user -> Modbus records before its reset

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
        self.modbus.extend(modbus)
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
        self._modbus_base[user] = len(self.modbus)
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
        """The Modbus requests that count for `user` (all of them since its last reset)."""
        return self.modbus[self._modbus_base.get(user, 0) :]

    def add_answer(self, user: str, step: str, value: Any) -> None:
        """An answer from the trainee's topic or from `smartzone class answer`."""
        facts = self.facts.get(user)
        if facts is not None and len(facts.answers) < MAX_ANSWERS:
            facts.answers.append((step, value))
