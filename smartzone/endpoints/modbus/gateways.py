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


def plan_gateways(scenario: Scenario, devices: Iterable[DeviceInfo]) -> list[GatewayPlan]:
    """The gateways of a scenario with their devices (see the module docstring for the rules)."""
    ordered = list(devices)
    return _declared(scenario, ordered) if scenario.gateways else _defaults(scenario, ordered)


def unserved(plans: list[GatewayPlan], devices: Iterable[DeviceInfo]) -> list[str]:
    """Ids of devices that no gateway serves (only possible with declared gateways)."""
    served = {d.id for p in plans for d in p.units.values()}
    return [d.id for d in devices if d.id not in served]
