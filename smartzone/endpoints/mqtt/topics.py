"""MQTT topic names of the contract (docs/api.md): `sz/v2/{city}/{tenant}/{type}/{device}/{channel}`,
the per-tenant catalog, the per-city discovery documents and the deprecated v1 topic."""

from __future__ import annotations

from dataclasses import dataclass

from smartzone.core.device import DeviceInfo

ROOT = "sz/v2"
DEVICE_CHANNELS = ("telemetry", "meta", "status", "state", "cmd", "cmd/ack")


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

    def catalog(self, tenant: str) -> str:
        return f"{self.base}/{tenant}/catalog"

    def tenants(self) -> str:
        """The retained discovery document: every tenant of the city (any authenticated user reads it)."""
        return f"{self.base}/tenants"

    def access(self, user: str) -> str:
        """The retained document saying what one user may read and command (that user alone reads it)."""
        return f"{self.base}/access/{user}"

    def cmd_filter(self) -> str:
        """The subscription of the bridge: every device's cmd topic."""
        return f"{self.base}/+/+/+/cmd"

    def v1_data(self, device: str) -> str:
        """The deprecated v1 flat topic."""
        return f"icity/{self.city}/{device}/data"

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
