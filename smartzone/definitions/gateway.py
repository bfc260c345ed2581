"""Schema of a scenario's Modbus gateways: which devices sit behind them and who may use them.

    gateways:
      - id: lights
        tenant: comune
        types: [street-light]
        access:                      # optional; these are the defaults
          read: [0.0.0.0/0, ::/0]    # anyone who reaches the port may read
          write: [127.0.0.0/8, ::1]  # only this machine may write

Access rules are source addresses (CIDR) of the TCP client, the only identity plain
Modbus/TCP has. A source that may write may also read. See docs/modbus.md.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from smartzone.definitions.base import Id, Strict

EVERYONE = ("0.0.0.0/0", "::/0")
LOOPBACK = ("127.0.0.0/8", "::1/128")


def _cidr(value: Any) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        raise ValueError(
            f"expected an address or a network in CIDR form such as 127.0.0.2 or 10.0.0.0/8 ({exc})"
        ) from None


Cidr = Annotated[
    str,
    AfterValidator(_cidr),
    Field(json_schema_extra={"examples": ["127.0.0.1", "10.0.0.0/8", "::1"]}),
]


class GatewayAccess(Strict):
    """Which client source addresses may read, and which may write (a writer may also read)."""

    read: list[Cidr] = Field(
        default_factory=lambda: list(EVERYONE), description="sources that may read (default: everyone)"
    )
    write: list[Cidr] = Field(
        default_factory=lambda: list(LOOPBACK),
        description="sources that may write coils and holding registers (default: loopback only)",
    )


class Gateway(Strict):
    """A Modbus TCP gateway: one port, one tenant, up to 247 devices as unit ids 1..247."""

    id: Id
    tenant: Id
    districts: list[Id] | Literal["all"] = "all"
    types: list[Id] | Literal["all"] = "all"
    port_offset: int | None = Field(
        None, ge=0, le=1000, description="port = --modbus-port + this (default: its position in the list)"
    )
    access: GatewayAccess = Field(default_factory=GatewayAccess, description="who may read and write, by source")
