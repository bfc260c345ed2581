"""MQTT topic names of the contract (docs/api.md): `sz/v2/{city}/{tenant}/{type}/{device}/{channel}`,
the per-tenant catalog, the per-city discovery documents, the classroom's answer topic, a sandbox
tenant's request/result topics and the deprecated v1 topic. The one place that builds and parses
them: everything else asks `Topics`."""

from __future__ import annotations

from dataclasses import dataclass

from smartzone.core.device import DeviceInfo

ROOT = "sz/v2"
V1_ROOT = "icity"
DEVICE_CHANNELS = ("telemetry", "meta", "status", "state", "cmd", "cmd/ack")
CITY_DOCUMENTS = ("tenants", "access", "class")  # city-level documents sit where a tenant id would
INGEST = "ingest"  # .../{tenant}/ingest/{device}: a real device's own data (owner-only, docs/owners.md)
INGEST_CHANNELS = ("", "command", "answer")  # its data, the commands SmartZone sends it, its answers
SANDBOX = "sandbox"  # .../{tenant}/sandbox/{request|result}: a sandbox owner's requests (owner-only, docs/owners.md)
SANDBOX_CHANNELS = ("request", "result")
OWNER_ONLY = (INGEST, SANDBOX)  # the levels after a tenant id that only its owner (and admin) may use


@dataclass(frozen=True)
class TopicParts:
    """What one topic names. `kind`: device (with `channel`), catalog, tenants, access, answer
    (the classroom's per-trainee answer topic), ingest (a real device's own topics: `channel` ""
    for its data, "command" or "answer"), sandbox (`channel` request or result), v1 (deprecated data
    topic), or other (not ours)."""

    kind: str
    tenant: str = ""
    type: str = ""
    device: str = ""
    channel: str = ""
    user: str = ""


@dataclass(frozen=True)
class CmdTopic:
    """The parts of a `.../{tenant}/{type}/{device}/cmd` topic."""

    tenant: str
    type: str
    device: str


class Topics:
    """Topic names for one city."""

    def __init__(self, city: str) -> None:
        self.city = city
        self.base = f"{ROOT}/{city}"

    def device(self, info: DeviceInfo, channel: str) -> str:
        return f"{self.base}/{info.tenant}/{info.type}/{info.id}/{channel}"

    def device_parts(self, tenant: str, dtype: str, device: str, channel: str) -> str:
        return f"{self.base}/{tenant}/{dtype}/{device}/{channel}"

    def device_base(self, tenant: str, dtype: str, device: str) -> str:
        """`.../{tenant}/{type}/{device}`: append `/{channel}` for one of its topics."""
        return f"{self.base}/{tenant}/{dtype}/{device}"

    def tenant_all(self, tenant: str) -> str:
        """The filter of everything one tenant publishes (what its owner may read)."""
        return f"{self.base}/{tenant}/#"

    def city_all(self) -> str:
        """The filter of every topic of the city (admin only)."""
        return f"{self.base}/#"

    def answer(self, user: str) -> str:
        """The classroom's answer topic of one trainee (docs/courses.md)."""
        return f"{self.base}/class/{user}/answer"

    def catalog(self, tenant: str) -> str:
        return f"{self.base}/{tenant}/catalog"

    def tenants(self) -> str:
        """The retained discovery document: every tenant of the city (any authenticated user reads it)."""
        return f"{self.base}/tenants"

    def access(self, user: str) -> str:
        """The retained document saying what one user may read and command (that user alone reads it)."""
        return f"{self.base}/access/{user}"

    def ingest(self, tenant: str, device: str, channel: str = "") -> str:
        """A bridged real device's owner-only topic: its vendor data (channel ""), the vendor commands
        SmartZone sends it ("command") and its answers ("answer")."""
        return f"{self.base}/{tenant}/{INGEST}/{device}" + (f"/{channel}" if channel else "")

    def sandbox(self, tenant: str, channel: str) -> str:
        """A sandbox tenant's owner-only topic: `request` (owner -> SmartZone) or `result` (SmartZone -> owner)."""
        return f"{self.base}/{tenant}/{SANDBOX}/{channel}"

    def sandbox_all(self, tenant: str) -> str:
        """The filter of one tenant's sandbox topics (denied to every user but its owner and admin)."""
        return f"{self.base}/{tenant}/{SANDBOX}/#"

    def sandbox_request_filter(self) -> str:
        """The subscription of SmartZone's command listener: every tenant's sandbox requests."""
        return f"{self.base}/+/{SANDBOX}/request"

    def cmd_filter(self) -> str:
        """The subscription of the bridge: every device's cmd topic."""
        return f"{self.base}/+/+/+/cmd"

    def v1_data(self, device: str) -> str:
        """The deprecated v1 flat topic."""
        return f"{V1_ROOT}/{self.city}/{device}/data"

    def parse(self, topic: str) -> TopicParts:
        """What `topic` names in this city (kind "other" for anything else, another city included)."""
        parts = topic.split("/")
        if parts[0] == V1_ROOT:
            ok = len(parts) == 4 and parts[1] == self.city and parts[3] == "data" and parts[2]
            return TopicParts("v1", device=parts[2]) if ok else TopicParts("other")
        if len(parts) < 4 or parts[0] != "sz" or parts[1] != "v2" or parts[2] != self.city or "" in parts[3:]:
            return TopicParts("other")
        rest = parts[3:]
        if rest == ["tenants"]:
            return TopicParts("tenants")
        if len(rest) == 2 and rest[0] == "access":
            return TopicParts("access", user=rest[1])
        if len(rest) == 3 and rest[0] == "class" and rest[2] == "answer":
            return TopicParts("answer", user=rest[1])
        if len(rest) == 2 and rest[1] == "catalog" and rest[0] not in CITY_DOCUMENTS:
            return TopicParts("catalog", tenant=rest[0])
        if len(rest) in (3, 4) and rest[1] == INGEST and rest[0] not in CITY_DOCUMENTS:
            channel = rest[3] if len(rest) == 4 else ""
            return (
                TopicParts("ingest", rest[0], device=rest[2], channel=channel)
                if channel in INGEST_CHANNELS
                else TopicParts("other")
            )
        if len(rest) == 3 and rest[1] == SANDBOX and rest[2] in SANDBOX_CHANNELS and rest[0] not in CITY_DOCUMENTS:
            return TopicParts("sandbox", rest[0], channel=rest[2])
        if len(rest) >= 4 and rest[0] not in CITY_DOCUMENTS:
            channel = "/".join(rest[3:])
            if channel in DEVICE_CHANNELS:
                return TopicParts("device", rest[0], rest[1], rest[2], channel)
        return TopicParts("other")

    def parse_cmd(self, topic: str) -> CmdTopic | None:
        """The parts of a cmd topic of this city, or None if `topic` is not one."""
        parts = topic.split("/")
        if len(parts) != 7 or "/".join(parts[:3]) != self.base or parts[6] != "cmd":
            return None
        tenant, dtype, device = parts[3:6]
        if not (tenant and dtype and device):
            return None
        return CmdTopic(tenant, dtype, device)

    def ack_for(self, cmd: CmdTopic) -> str:
        return self.device_parts(cmd.tenant, cmd.type, cmd.device, "cmd/ack")
