"""A serving Modbus gateway (service.py starts them; sandbox_units.py changes their unit tables)."""

from __future__ import annotations

from dataclasses import dataclass

from smartzone.endpoints.modbus.access import AccessRules, Denials
from smartzone.endpoints.modbus.gateways import GatewayPlan
from smartzone.endpoints.modbus.handler import GatewayServer
from smartzone.endpoints.modbus.security import GatewayTls
from smartzone.endpoints.modbus.unit import Unit


@dataclass
class RunningGateway:
    """A serving gateway: what it serves, to whom, and its current server (replaced on restart)."""

    plan: GatewayPlan
    port: int
    server: GatewayServer
    units: dict[int, Unit]
    rules: AccessRules
    denials: Denials
    tls: GatewayTls | None = None
    restarts: int = 0

    @property
    def component(self) -> str:
        """Its name in the runtime's health registry."""
        return f"modbus gateway {self.plan.id}"
