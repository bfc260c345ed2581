"""Modbus TCP endpoint: every simulated device as a unit behind a gateway (pymodbus 3.16.1).

- gateways.py: which device sits behind which gateway, as which unit id, on which port
- framing.py: MBAP framing and request structure checks (the spec's limits)
- access.py: who may read and write (source addresses) and the denials
- security.py: Modbus/TCP Security: TLS client certificates -> scenario users -> rights
- certs.py: the lab's CA, server and per-user certificates (`smartzone modbus-certs`)
- codec.py: values <-> registers (datatype, scale, word order)
- unitmap.py: a device type's register images and how writes become commands
- unit.py: one unit as a pymodbus SimDevice whose action reads live values
- handler.py: the TCP server and a request handler that answers pipelined requests
- service.py: all gateways on one asyncio thread, supervised; the `smartzone run` service
- export.py: the full register map as CSV or Markdown
See docs/modbus.md.
"""

from smartzone.endpoints.modbus.gateways import DEFAULT_FIRST_PORT, GatewayPlan, plan_gateways
from smartzone.endpoints.modbus.service import GatewayStartError, ModbusGateways

__all__ = ["DEFAULT_FIRST_PORT", "GatewayPlan", "GatewayStartError", "ModbusGateways", "plan_gateways"]
