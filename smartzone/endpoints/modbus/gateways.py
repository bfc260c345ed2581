"""Which devices sit behind which Modbus gateway, as which unit id, on which port.

Declared gateways (scenario `gateways:`): a device goes to the first gateway, in the order
declared, whose tenant, districts and types match it; devices that match none are not on
Modbus. Gateway i listens on `first_port + port_offset` (default offset: i).

No gateways declared: one gateway per tenant and district (tenants, then districts, in
scenario order; pairs without devices are skipped), named `{tenant}-{district}`; more than
247 devices split into `{tenant}-{district}-2`, `-3`, ... Ports follow in that order.

Access rules (who may read and write, by client source address) come from a declared
gateway's `access:`; default gateways get the defaults (anyone reads, loopback writes).

Unit ids are 1, 2, 3 ... in the order the world builds devices (fleets in scenario order,
devices by number), so the same scenario and seed always give the same map.

Sandbox gateways: every sandbox tenant (scenario order) also gets a gateway of its own,
`{tenant}-sandbox`, on the ports after all the gateways above (port offset: the highest
offset + 1, + 2 ...), started even while empty. It reserves units 1..N, N = the tenant's
`quotas.devices` (at most 247): a device created at run time takes the lowest free unit,
a deleted one frees it. Access rules: those of the tenant's first declared gateway, else the
defaults.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from smartzone.core.device import DeviceInfo
from smartzone.definitions.gateway import Gateway, GatewayAccess
from smartzone.definitions.modbus_layout import MAX_UNITS
from smartzone.definitions.scenario import Scenario

DEFAULT_FIRST_PORT = 5020


@dataclass(frozen=True)
class GatewayPlan:
    """One gateway: its id, owner, port offset, devices by unit id (1..247) and access rules."""

    id: str
    tenant: str
    port_offset: int
    units: dict[int, DeviceInfo]
    access: GatewayAccess = field(default_factory=GatewayAccess)
    reserved: int = 0  # a sandbox gateway: units 1..reserved for devices created at run time

    @property
    def sandbox(self) -> bool:
        return self.reserved > 0

    def port(self, first_port: int) -> int:
        """The port to bind (0 asks the OS for a free one)."""
        return 0 if first_port == 0 else first_port + self.port_offset


def _matches(gw: Gateway, info: DeviceInfo) -> bool:
    return (
        info.tenant == gw.tenant
        and (gw.districts == "all" or info.district in gw.districts)
        and (gw.types == "all" or info.type in gw.types)
    )


def _declared(scenario: Scenario, devices: list[DeviceInfo]) -> list[GatewayPlan]:
    members: list[list[DeviceInfo]] = [[] for _ in scenario.gateways]
    for info in devices:
        for i, gw in enumerate(scenario.gateways):
            if _matches(gw, info):
                members[i].append(info)
                break
    plans = []
    for i, gw in enumerate(scenario.gateways):
        if len(members[i]) > MAX_UNITS:  # the catalog's check prevents this for loaded scenarios
            raise ValueError(f"gateway '{gw.id}' would serve {len(members[i])} devices (at most {MAX_UNITS})")
        offset = i if gw.port_offset is None else gw.port_offset
        units = {n: d for n, d in enumerate(members[i], 1)}
        plans.append(GatewayPlan(gw.id, gw.tenant, offset, units, gw.access))
    return plans


def _defaults(scenario: Scenario, devices: list[DeviceInfo]) -> list[GatewayPlan]:
    groups: dict[tuple[str, str], list[DeviceInfo]] = {}
    for info in devices:
        groups.setdefault((info.tenant, info.district), []).append(info)
    plans: list[GatewayPlan] = []
    for tenant in scenario.tenants:
        for district in scenario.districts:
            members = groups.get((tenant.id, district.id), [])
            for part, start in enumerate(range(0, len(members), MAX_UNITS), 1):
                chunk = members[start : start + MAX_UNITS]
                name = f"{tenant.id}-{district.id}" + (f"-{part}" if part > 1 else "")
                plans.append(GatewayPlan(name, tenant.id, len(plans), {n: d for n, d in enumerate(chunk, 1)}))
    return plans


def sandbox_gateway_id(tenant: str) -> str:
    return f"{tenant}-sandbox"


def _sandboxes(scenario: Scenario, first_offset: int) -> list[GatewayPlan]:
    plans: list[GatewayPlan] = []
    for tenant in scenario.tenants:
        quota = tenant.limits()
        if quota is None or quota.devices == 0:
            continue
        access = next((gw.access for gw in scenario.gateways if gw.tenant == tenant.id), GatewayAccess())
        offset, reserved = first_offset + len(plans), min(quota.devices, MAX_UNITS)
        plans.append(GatewayPlan(sandbox_gateway_id(tenant.id), tenant.id, offset, {}, access, reserved))
    return plans


def plan_gateways(scenario: Scenario, devices: Iterable[DeviceInfo]) -> list[GatewayPlan]:
    """The gateways of a scenario with their devices, then the sandbox gateways (see the module docstring).

    `devices`: the scenario's own devices (devices created at run time go to the sandbox gateways).
    """
    ordered = list(devices)
    plans = _declared(scenario, ordered) if scenario.gateways else _defaults(scenario, ordered)
    return plans + _sandboxes(scenario, max((p.port_offset for p in plans), default=-1) + 1)


def unserved(plans: list[GatewayPlan], devices: Iterable[DeviceInfo]) -> list[str]:
    """Ids of devices that no gateway serves (only possible with declared gateways)."""
    served = {d.id for p in plans for d in p.units.values()}
    return [d.id for d in devices if d.id not in served]
