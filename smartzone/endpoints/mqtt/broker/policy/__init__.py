"""SmartZone's MQTT access policy, derived from a scenario's users, roles and grants.

One pure-Python model of docs/api.md "Access", shared by every backend: the embedded broker's
plugins ask it directly, the mosquitto backend writes it out as the configuration of mosquitto's
dynamic-security plugin (backends/dynsec.py), and the CONNECT gate in front of both uses it to namespace client ids.

- every scenario user: reads the city's `tenants` document and its own `access/{user}` document;
- owner: reads and writes `sz/v2/{city}/{tenant}/#` of its own tenant only;
- app: reads the tenants in grants.read, reads `cmd/ack` and publishes `cmd` of the tenants
  in grants.command (never `cmd/ack`: that channel is device -> app);
- admin and SmartZone's own service account: everything;
- a tenant's owner-only topics: its ingest topics (`sz/v2/{city}/{tenant}/ingest/#`, a real device's
  own data) and its sandbox topics (`sz/v2/{city}/{tenant}/sandbox/request|result`, a sandbox owner's
  requests and their results): its owner, admin and the service account only, even for users who may
  read the rest of the tenant;
- anonymous: only when scenario.access.anonymous_read (or open mode), read-only, open-data tenants only;
- open lab mode (`access.mode: open`, `run --open`): everyone may also read and write the open
  space: topics outside `sz/` (with api_v1, `icity/{city}/`) not starting with `$`.
Any client id is accepted; the gate hands the broker a per-user one (`session_id`): ids in
the user's own namespace (its name or "{user}-...", where overlapping names such as "app"
and "app-b" give an id to the longest name it matches) pass unchanged, every other id
becomes "{user}/{id}", so users' sessions never meet.
"""

from __future__ import annotations

import hmac
import threading
from collections import Counter
from dataclasses import dataclass

from smartzone.definitions.scenario import Quotas, Scenario
from smartzone.endpoints.mqtt.topics import DEVICE_CHANNELS, OWNER_ONLY, Topics

ANONYMOUS = "(anonymous)"
SERVICE_USER = "sz_service"  # never a scenario id: ids are [a-z0-9-], no underscore


@dataclass(frozen=True)
class Identity:
    """Who a connection is: a scenario user, the service account, or anonymous."""

    name: str  # ANONYMOUS for anonymous clients
    role: str  # owner | app | admin | service | anonymous

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class Rules:
    """Topic filters a user may read (subscribe/receive) and write (publish)."""

    read: tuple[str, ...]
    write: tuple[str, ...]


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT matching of a concrete topic against a filter (`+`, `#`; `$` topics need a literal)."""
    if topic.startswith("$") and not topic_filter.startswith("$"):
        return False
    f_levels = topic_filter.split("/")
    t_levels = topic.split("/")
    for i, level in enumerate(f_levels):
        if level == "#":
            return True
        if i >= len(t_levels):
            return False
        if level != "+" and level != t_levels[i]:
            return False
    return len(f_levels) == len(t_levels)


def filters_overlap(a: str, b: str) -> bool:
    """True if some concrete topic is matched by both filters `a` and `b` (`+`, `#`, `$` rules).

    A subscription is accepted when its filter overlaps a readable pattern; what it then
    delivers is checked per topic (`topic_matches`), so an overlap grants no more than that.
    """
    a_levels, b_levels = a.split("/"), b.split("/")
    # `+` and `#` in the first level never match a topic that starts with `$`
    for x, y in ((a_levels[0], b_levels[0]), (b_levels[0], a_levels[0])):
        if x in ("+", "#") and y.startswith("$"):
            return False
    for i in range(max(len(a_levels), len(b_levels)) + 1):
        if (i < len(a_levels) and a_levels[i] == "#") or (i < len(b_levels) and b_levels[i] == "#"):
            return True  # `#` also matches its parent level, so a filter that ends here still meets it
        if i == len(a_levels) or i == len(b_levels):
            return len(a_levels) == len(b_levels)
        x, y = a_levels[i], b_levels[i]
        if x != "+" and y != "+" and x != y:
            return False
    return False  # not reached: the loop returns by the level after the shorter filter


class DenialCounter:
    """Thread-safe counts of denied connects/subscribes/publishes per user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, user: str, kind: str) -> None:
        with self._lock:
            self._counts[f"{user}:{kind}"] += 1

    def snapshot(self) -> dict[str, int]:
        """{"user:kind": n} with kind in connect | subscribe | publish."""
        with self._lock:
            return dict(self._counts)


class AccessPolicy:
    """Authentication, client-id binding and topic rules for one scenario."""

    def __init__(self, scenario: Scenario, service_password: str) -> None:
        self.scenario = scenario
        self.city = scenario.city
        self.topics = Topics(scenario.city)
        self.service_password = service_password
        self._users = {u.name: u for u in scenario.users}
        self._tenants = {t.id: t for t in scenario.tenants}
        # deprecated v1 topics icity/{city}/{device}/data carry no tenant: map devices to tenants
        # (ids as core.world names them: "{id_prefix}-{n:04d}")
        self.v1_devices: dict[str, str] = (
            {f"{f.id_prefix}-{n:04d}": f.tenant for f in scenario.fleets for n in range(1, f.count + 1)}
            if scenario.api_v1
            else {}
        )
        self._rules: dict[str, Rules] = {u.name: self._user_rules(u.name) for u in scenario.users}
        self._rules[SERVICE_USER] = Rules(read=("#",), write=("#",))
        self.open_mode = scenario.access.mode == "open"
        self.anonymous_allowed = scenario.access.anonymous_read or self.open_mode
        open_tenants = [t.id for t in scenario.tenants if t.open_data]
        anon_read = tuple(self._tenant_read(t) for t in open_tenants) if self.anonymous_allowed else ()
        self._rules[ANONYMOUS] = Rules(read=anon_read, write=())
        self._v1_cache: dict[str, tuple[str, ...]] = {}
        # longest first, so an id binds to the most specific name
        self._names = sorted([*self._users, SERVICE_USER], key=len, reverse=True)

    # -- topics -------------------------------------------------------------------
    def _tenant_read(self, tenant: str) -> str:
        return f"sz/v2/{self.city}/{tenant}/#"

    def _user_rules(self, name: str) -> Rules:
        user = self._users[name]
        city = self.city
        if user.role == "admin":
            return Rules(read=("#",), write=("#",))
        # discovery: the city's tenant list and this user's own access document (docs/api.md)
        discovery = (self.topics.tenants(), self.topics.access(name))
        if user.role == "owner":
            own = (self._tenant_read(user.tenant),) if user.tenant else ()
            return Rules(read=own + discovery, write=own)
        read = [self._tenant_read(t) for t in user.grants.read] + list(discovery)
        read += [f"sz/v2/{city}/{t}/+/+/cmd/ack" for t in user.grants.command if t not in user.grants.read]
        write = [f"sz/v2/{city}/{t}/+/+/cmd" for t in user.grants.command]
        return Rules(read=tuple(read), write=tuple(write))

    def rules(self, identity: Identity) -> Rules:
        return self._rules.get(identity.name, Rules((), ()))

    # -- open lab mode: the topics outside the city's reserved space -------------------
    def in_open_space(self, topic: str) -> bool:
        """True if open mode is on and `topic` is outside `sz/` (and the city's v1 topics), not `$...`."""
        if not self.open_mode or topic.startswith("$"):
            return False
        lv = topic.split("/")
        return lv[0] != "sz" and not (self.v1_devices and lv[0] == "icity" and len(lv) > 1 and lv[1] == self.city)

    def filter_meets_open_space(self, sub_filter: str) -> bool:
        """True if open mode is on and the filter matches at least one topic of the open space."""
        if not self.open_mode:
            return False
        levels = sub_filter.split("/")
        if levels[0] in ("+", "#"):
            return True  # e.g. "+/x" matches "lab/x"
        return self.in_open_space("/".join(level if level not in ("+", "#") else "x" for level in levels))

    def open_space_denies(self, identity: Identity, everywhere: bool = False) -> list[str]:
        """Reserved filters this identity may not read at all: the deny rules of its mosquitto role.
        In every mode the owner-only (ingest and sandbox) topics of the tenants it reads but does not own; in
        open mode (or with `everywhere`) also the rest: other tenants, other users' `access` documents, the
        non-`cmd` topics of command-only tenants, unreadable v1 topics. None of them overlaps what it reads."""
        if identity.role in ("admin", "service"):
            return []
        readable = self.readable_tenants(identity)
        user = self._users.get(identity.name)
        own = user.tenant if user is not None and user.role == "owner" else None
        ingest = [f"sz/v2/{self.city}/{t}/ingest/#" for t in sorted(readable) if t != own]
        ingest += [self.topics.sandbox_all(t) for t in sorted(readable) if t != own]
        if not (self.open_mode or everywhere):
            return ingest  # in every mode: a real device's own topics and sandbox requests are its owner's alone
        user = self._users.get(identity.name)
        commanded = set(user.grants.command) if user is not None else set()
        out = [self._tenant_read(t.id) for t in self.scenario.tenants if t.id not in readable | commanded]
        for t in sorted(commanded - readable):  # command only: it writes `cmd` and reads `cmd/ack` there
            out.append(self.topics.catalog(t))
            out += [self.topics.device_parts(t, "+", "+", ch) for ch in DEVICE_CHANNELS if not ch.startswith("cmd")]
        out += [self.topics.access(u) for u in self._users if u != identity.name]
        if identity.name == ANONYMOUS:
            out.append(self.topics.tenants())
        out += [f"icity/{self.city}/{d}/data" for d, t in self.v1_devices.items() if t not in readable]
        return out + ingest

    def may_subscribe(self, identity: Identity, sub_filter: str) -> bool:
        """True if the filter can match at least one topic this identity may read.

        A filter that spans tenants (`sz/v2/{city}/+/parking-spot/+/telemetry`) is accepted and
        delivers only the readable part: every delivery, live or retained, is still checked per
        topic (`may_receive` on the embedded broker, the read ACL on mosquitto). A filter with
        no readable part gets the SUBACK failure code.
        """
        if self._hides_owner_only(identity, sub_filter.split("/"), "+"):
            return False
        if any(filters_overlap(sub_filter, p) for p in self.rules(identity).read):
            return True
        if identity.role != "unknown" and self.filter_meets_open_space(sub_filter):
            return True
        return any(filters_overlap(sub_filter, t) for t in self._v1_topics(identity))

    def may_receive(self, identity: Identity, topic: str) -> bool:
        if identity.role != "unknown" and self.in_open_space(topic):
            return True
        if self._hides_owner_only(identity, topic.split("/"), None):
            return False
        return any(topic_matches(p, topic) for p in self.rules(identity).read) or self._v1_read(identity, topic)

    def _hides_owner_only(self, identity: Identity, levels: list[str], wildcard: str | None) -> bool:
        """True if `levels` name an owner-only topic (`sz/v2/{city}/{tenant}/ingest/...` or `.../sandbox/...`)
        this identity may not read: only the tenant's owner may (`wildcard`: a tenant level that also stands
        for its own)."""
        if len(levels) < 6 or levels[4] not in OWNER_ONLY or levels[:3] != ["sz", "v2", self.city]:
            return False
        if identity.role in ("admin", "service"):
            return False
        user = self._users.get(identity.name)
        own = user.tenant if user is not None and user.role == "owner" else None
        return own is None or levels[3] not in (own, wildcard)

    def _v1_read(self, identity: Identity, topic: str) -> bool:
        """v1 `icity/{city}/{device}/data` (one device, no wildcards): readable with its tenant."""
        levels = topic.split("/")
        if len(levels) != 4 or levels[0] != "icity" or levels[1] != self.city or levels[3] != "data":
            return False
        tenant = self.v1_devices.get(levels[2])
        return tenant is not None and tenant in self.readable_tenants(identity)

    def readable_tenants(self, identity: Identity) -> set[str]:
        """Tenants whose whole subtree this identity may read."""
        prefix, suffix = f"sz/v2/{self.city}/", "/#"
        return {
            p[len(prefix) : -len(suffix)]
            for p in self.rules(identity).read
            if p.startswith(prefix) and p.endswith(suffix)
        }

    def _v1_topics(self, identity: Identity) -> tuple[str, ...]:
        """v1_read_topics, computed once per user (the grants do not change during a run)."""
        cached = self._v1_cache.get(identity.name)
        if cached is None:
            cached = self._v1_cache[identity.name] = tuple(self.v1_read_topics(identity))
        return cached

    def v1_read_topics(self, identity: Identity) -> list[str]:
        """The v1 topics this identity may read (for the broker's ACLs); empty unless api_v1."""
        if not self.v1_devices or identity.role in ("admin", "service"):
            return []
        tenants = self.readable_tenants(identity)
        return [f"icity/{self.city}/{d}/data" for d, t in self.v1_devices.items() if t in tenants]

    def may_publish(self, identity: Identity, topic: str) -> bool:
        if identity.role != "unknown" and self.in_open_space(topic):
            return True
        return any(topic_matches(p, topic) for p in self.rules(identity).write)

    # -- connections --------------------------------------------------------------
    def sandbox_limits(self, identity: Identity) -> tuple[str, Quotas] | None:
        """(tenant, its quotas) for an owner of a sandbox tenant, whose connections and publishes the
        gate limits; None for everyone else (no limit)."""
        user = self._users.get(identity.name)
        if user is None or user.role != "owner" or not user.tenant:
            return None
        tenant = self._tenants.get(user.tenant)
        quotas = tenant.limits() if tenant is not None else None
        return (tenant.id, quotas) if tenant is not None and quotas is not None else None

    def authenticate(self, username: str | None, password: bytes | str | None) -> Identity | None:
        """The identity for these credentials, or None (bad password, unknown user, anonymous off)."""
        if username is None or username == "":
            return Identity(ANONYMOUS, "anonymous") if self.anonymous_allowed and not password else None
        given = password.encode() if isinstance(password, str) else (password or b"")
        if username == SERVICE_USER:
            expected = self.service_password.encode()
            return Identity(SERVICE_USER, "service") if hmac.compare_digest(given, expected) else None
        user = self._users.get(username)
        if user is None:
            hmac.compare_digest(given, b"x" * 16)  # same work for unknown names
            return None
        if not hmac.compare_digest(given, user.password.encode()):
            return None
        return Identity(user.name, user.role)

    def identity_of(self, username: str | None) -> Identity:
        """The identity of an already authenticated session's user name."""
        if not username:
            return Identity(ANONYMOUS, "anonymous")
        if username == SERVICE_USER:
            return Identity(SERVICE_USER, "service")
        user = self._users.get(username)
        return Identity(username, user.role if user else "unknown")

    def owner_of_client_id(self, client_id: str) -> str | None:
        """The user name a client id is bound to (longest matching name), if any."""
        for name in self._names:
            if client_id == name or client_id.startswith(name + "-"):
                return name
        return None

    def session_id(self, identity: Identity, client_id: str) -> str:
        """The client id the broker sees for the id `identity` sent (docs/api.md "Client ids").

        An id already in the user's own namespace (its name, or "{user}-..." by the longest-name
        rule, without "/") passes unchanged, as before; any other id, including another user's,
        becomes "{user}/{id}". User names never contain "/" (scenario ids are [a-z0-9-]), so a
        namespaced id can only be its own user's: nobody can take over or disturb another user's
        session, whatever id they send. Anonymous clients share the "(anonymous)/" namespace.
        """
        if identity.name != ANONYMOUS and "/" not in client_id and self.owner_of_client_id(client_id) == identity.name:
            return client_id
        return f"{identity.name}/{client_id}"

    def owner_of_session_id(self, session_id: str) -> str | None:
        """The user a broker-side client id (session_id's result) belongs to, if any."""
        if "/" in session_id:
            return session_id.split("/", 1)[0]
        return self.owner_of_client_id(session_id)

    def session_id_allowed(self, identity: Identity, session_id: str) -> bool:
        """True if a broker-side client id belongs to this identity (the broker's second line behind the gate)."""
        return self.owner_of_session_id(session_id) == identity.name

    # -- rendering ----------------------------------------------------------------
    def users(self) -> list[tuple[str, str, str]]:
        """(name, password, role) of each scenario user, in scenario order."""
        return [(u.name, u.password, u.role) for u in self.scenario.users]
