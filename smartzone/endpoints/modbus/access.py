"""Who may read and write through a gateway (by client source address), and the denials.

Plain Modbus/TCP carries no identity, so a gateway's rules (scenario `gateways[].access`,
smartzone/definitions/gateway.py) are source networks. In Modbus/TCP Security mode the
client certificate's user decides instead (security.py); its denials are counted here too,
by "user@address". A denied request is answered with
exception 0x01 (illegal function): the Modbus/TCP Security specification answers a request
its authorisation refuses with 0x01, and 0x01 tells a client "not for you" without
suggesting that the device failed (0x04) or that it may retry.

Denials are counted per gateway (by source and kind), printed live on stderr at most once
per `interval` per gateway (with how many were not printed), and summed up at close.
"""

from __future__ import annotations

import ipaddress
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

from smartzone.definitions.gateway import GatewayAccess
from smartzone.endpoints.modbus.framing import WRITES

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LIVE_INTERVAL_S = 10.0


def _address(source: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    addr = ipaddress.ip_address(source.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1 for the rules
    return addr


class AccessRules:
    """A gateway's rules: `may(source)` -> (may read, may write)."""

    def __init__(self, access: GatewayAccess) -> None:
        self.read: list[Network] = [ipaddress.ip_network(n) for n in access.read]
        self.write: list[Network] = [ipaddress.ip_network(n) for n in access.write]

    def may(self, source: str) -> tuple[bool, bool]:
        """(read, write) for a client address; an address that does not parse may do nothing."""
        try:
            addr = _address(source)
        except ValueError:
            return False, False
        write = any(addr in n for n in self.write)
        return write or any(addr in n for n in self.read), write


def kind_of(fc: int) -> str:
    """'write' for functions that change state (5, 6, 15, 16, 23), else 'read'."""
    return "write" if fc in WRITES else "read"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Denials:
    """Denied requests of one gateway, by "source:kind"; thread-safe."""

    def __init__(
        self,
        gateway: str,
        emit: Callable[[str], None] = _stderr,
        interval: float = LIVE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gateway, self.emit, self.interval, self.clock = gateway, emit, interval, clock
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._next_emit = float("-inf")
        self._unprinted = 0

    def add(self, source: str, fc: int, unit: int, why: str = "") -> None:
        """Count one denied request; print it (with `why`, if given) unless a line was printed less than
        `interval` ago."""
        kind = kind_of(fc)
        now = self.clock()
        with self._lock:
            self._counts[f"{source}:{kind}"] += 1
            if now < self._next_emit:
                self._unprinted += 1
                return
            unprinted, self._unprinted, self._next_emit = self._unprinted, 0, now + self.interval
        more = f" ({unprinted} more denied since the last line)" if unprinted else ""
        because = f": {why}" if why else ""
        self.emit(
            f"modbus: gateway {self.gateway}: {kind} denied to {source} (function {fc}, unit {unit}){because}{more}"
        )

    def snapshot(self) -> dict[str, int]:
        """{"source:kind": n}, kind in read | write."""
        with self._lock:
            return dict(self._counts)

    def summary(self) -> str | None:
        """One line for the end of a run, or None when nothing was denied."""
        counts = self.snapshot()
        if not counts:
            return None
        writes = sum(n for k, n in counts.items() if k.endswith(":write"))
        reads = sum(n for k, n in counts.items() if k.endswith(":read"))
        sources = sorted({k.rsplit(":", 1)[0] for k in counts})
        return (
            f"modbus: gateway {self.gateway}: {writes} writes and {reads} reads denied "
            f"(from {', '.join(sources[:5])}{' ...' if len(sources) > 5 else ''})"
        )
