"""Why SmartZone refused an MQTT client, said live: counted denials with rate-limited lines.

MQTT gives a refused client little to go on (a CONNACK code, a SUBACK 0x80 that MQTT.js and
Node-RED drop silently, nothing at all for a denied PUBLISH), so SmartZone says it on stderr:
a refused CONNECT (user, client id, address, reason, a hint), a denied SUBSCRIBE (user,
filter, what the user may read instead) and a denied PUBLISH (user, topic, what it may
write). The first line of each user and kind is written at once, then at most one every
PERIOD_S, carrying the count of the ones left unsaid; the run summary has the totals
(`summary_lines`). The gate (gate/connect.py, gate/front.py) and the amqtt process (handed-over
connections: amqtt_process.py, amqtt_support.py) each hold one; the amqtt process writes
its lines to a copy of SmartZone's stderr (fronted.py passes it as NOTICE_FD_ENV).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable

from smartzone.endpoints.mqtt.broker.policy import ANONYMOUS, AccessPolicy, DenialCounter, Identity
from smartzone.endpoints.mqtt.codec import BAD_CREDENTIALS, BAD_PROTOCOL, ID_REJECTED, NOT_AUTHORISED, Connect

PERIOD_S = 10.0
NOTICE_FD_ENV = "SZ_MQTT_NOTICE_FD"  # the amqtt process's copy of SmartZone's stderr
SHOWN_PATTERNS = 4  # "may read instead" lists at most this many patterns
KINDS = {  # summary wording per kind: (what, made plural with "s"/"es", why)
    "connect": ("CONNECT", "refused"),
    "subscribe": ("SUBSCRIBE", "denied"),
    "publish": ("PUBLISH", "denied"),
    "oversize": ("connection", "closed: packet over the size cap"),
    "protocol": ("connection", "closed: protocol violation"),
    "rate": ("PUBLISH", "dropped: over a sandbox's messages/s quota"),
    "retained": ("PUBLISH", "dropped: over a sandbox's retained-bytes quota"),
}
USERS_HINT = "use a user name and password of the scenario (smartzone run lists them)"
REASONS: dict[tuple[int, int], tuple[str, str]] = {
    BAD_PROTOCOL: ("MQTT version not served here", "use MQTT 3.1.1 (v3.1.1 in MQTT Explorer, protocolVersion 4)"),
    NOT_AUTHORISED: ("no user name, and this city admits no anonymous clients", USERS_HINT),
    BAD_CREDENTIALS: ("unknown user or wrong password", USERS_HINT),
    ID_REJECTED: ("blank client id with a persistent session (MQTT 3.1.1 forbids it)", "set a client id"),
}


def stderr_line(line: str) -> None:
    """Write one line to stderr; a closed stderr silences the notices, never the broker."""
    with contextlib.suppress(Exception):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _peer(peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer) if peer else "a local socket"


def _patterns(patterns: tuple[str, ...] | list[str]) -> str:
    if not patterns:
        return "nothing"
    shown = ", ".join(patterns[:SHOWN_PATTERNS])
    return shown + (f" (+{len(patterns) - SHOWN_PATTERNS} more)" if len(patterns) > SHOWN_PATTERNS else "")


class Denials(DenialCounter):
    """A DenialCounter that also says why, live, at most once per PERIOD_S per user and kind."""

    def __init__(
        self,
        policy: AccessPolicy | None = None,
        write: Callable[[str], None] | None = stderr_line,
        period: float = PERIOD_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.policy, self._write, self._period, self._clock = policy, write, period, clock
        self._state: dict[tuple[str, str], tuple[float, int]] = {}  # (user, kind) -> (last line at, unsaid)
        self._state_lock = threading.Lock()

    def add(self, user: str, kind: str, detail: str = "") -> None:
        """Count one denial; with a detail, also say it (rate-limited)."""
        super().add(user, kind)
        if detail and self._write is not None:
            self._tell(user, kind, detail)

    def _tell(self, user: str, kind: str, detail: str) -> None:
        now = self._clock()
        with self._state_lock:
            last, unsaid = self._state.get((user, kind), (None, 0))
            if last is not None and now - last < self._period:
                self._state[(user, kind)] = (last, unsaid + 1)
                return
            self._state[(user, kind)] = (now, 0)
        more = f" [{unsaid} more like this since the last line]" if unsaid else ""
        assert self._write is not None
        self._write(f"mqtt: {detail}{more}")

    def refused_connect(self, connect: Connect, refusal: tuple[int, int], peer: object) -> None:
        """A CONNECT the gate refused: user, client id, address, reason and a hint."""
        user = connect.username or ANONYMOUS
        reason, hint = REASONS.get(refusal, ("held back (certify is simulating a broker outage)", "retry later"))
        who = f"user {connect.username!r}" if connect.username else "an anonymous client"
        self.add(
            user,
            "connect",
            f"refused CONNECT of {who}, client id {connect.client_id!r}, from {_peer(peer)}: {reason}; hint: {hint}",
        )

    def refused_quota(self, connect: Connect, tenant: str, limit: int, peer: object) -> None:
        """A CONNECT of a sandbox owner refused because its tenant's connections quota is reached."""
        self.add(
            connect.username or ANONYMOUS,
            "connect",
            f"refused CONNECT of user {connect.username!r}, client id {connect.client_id!r}, from {_peer(peer)}: "
            f"sandbox '{tenant}' already has its {limit} connections open (quotas.connections); "
            "hint: close one of them, or raise the quota in the scenario",
        )

    def over_rate(self, identity: Identity, tenant: str, limit: float, topic: str) -> None:
        """A PUBLISH of a sandbox owner dropped because its tenant's messages/s quota is used up."""
        self.add(
            identity.name,
            "rate",
            f"dropped PUBLISH of {identity.name} to {topic!r}: sandbox '{tenant}' may publish {limit:g} messages/s "
            "(quotas.messages_per_s); hint: publish less often, or raise the quota in the scenario",
        )

    def over_retained(self, identity: Identity, tenant: str, limit: int, topic: str, size: int) -> None:
        """A retained PUBLISH of a sandbox owner dropped because its tenant's retained-bytes quota is used up."""
        self.add(
            identity.name,
            "retained",
            f"dropped retained PUBLISH of {identity.name} to {topic!r} ({size} bytes): sandbox '{tenant}' may keep "
            f"{limit} bytes retained (quotas.retained_bytes); hint: clear retained messages it no longer needs "
            "(an empty retained message), or raise the quota in the scenario",
        )

    def denied_topic(self, identity: Identity, kind: str, topic: str) -> None:
        """A denied SUBSCRIBE filter or PUBLISH topic, with what the user may read or write instead."""
        if self.policy is None or kind not in ("subscribe", "publish"):
            self.add(identity.name, kind)
            return
        rules = self.policy.rules(identity)
        who = "anonymous clients" if identity.name == ANONYMOUS else identity.name
        if kind == "subscribe":
            detail = f"denied SUBSCRIBE of {identity.name} to {topic!r}; {who} may read {_patterns(rules.read)}"
        else:
            detail = f"denied PUBLISH of {identity.name} to {topic!r}; {who} may write {_patterns(rules.write)}"
        if self.policy.topics.parse(topic).kind in ("sandbox", "ingest"):
            detail += " (a tenant's sandbox and ingest topics are its owner's alone)"
        self.add(identity.name, kind, detail)


def summary_lines(counts: dict[str, int]) -> list[str]:
    """The run summary's totals, one line per kind, e.g. "mqtt: 3 SUBSCRIBEs denied (app 2, viewer 1)"."""
    per_kind: dict[str, dict[str, int]] = {}
    for key, n in counts.items():
        user, _, kind = key.rpartition(":")
        per_kind.setdefault(kind, {})[user] = per_kind.setdefault(kind, {}).get(user, 0) + n
    lines = []
    for kind, users in sorted(per_kind.items()):
        total = sum(users.values())
        packet, verb = KINDS.get(kind, (kind, "denied"))
        label = f"{packet}{'' if total == 1 else ('es' if packet.endswith('SH') else 's')} {verb}"
        detail = ", ".join(f"{u} {n}" for u, n in sorted(users.items(), key=lambda item: (-item[1], item[0])))
        lines.append(f"mqtt: {total} {label} ({detail})")
    return lines
