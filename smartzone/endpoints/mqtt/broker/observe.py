"""An optional observer of what app clients send and receive through the managed brokers.

`smartzone certify` watches an app under test through this hook; endpoints never import
the certifier, they only call an object that has these methods (duck typing). Without an
observer (the default) the brokers behave exactly as before.

Both managed backends report the same things from SmartZone's gate front (front.py):
- `connect`: every CONNECT the gate judged (admitted or refused). It may return a CONNACK
  refusal code to refuse an admitted client (certify uses it to keep apps out while it
  simulates a broker restart);
- `client_bytes` / `broker_bytes`: the bytes of an admitted non-service connection after its
  CONNECT, in each direction, from the gate's packet relay;
- `closed`: the connection ended.
Calls run on the broker's event loop thread: an observer only records and returns.
The key of a connection is its asyncio StreamWriter (the client side).
"""

from __future__ import annotations

from typing import Any, Protocol

from smartzone.endpoints.mqtt.broker.policy import Identity
from smartzone.endpoints.mqtt.codec import Connect

SERVER_UNAVAILABLE = (0x03, 0x88)  # CONNACK "server unavailable" (MQTT 3.x, MQTT 5)


class ConnectionObserver(Protocol):
    def connect(
        self, key: Any, connect: Connect, identity: Identity | None, refusal: tuple[int, int] | None
    ) -> tuple[int, int] | None: ...

    def client_bytes(self, key: Any, data: bytes) -> None: ...

    def broker_bytes(self, key: Any, data: bytes) -> None: ...

    def closed(self, key: Any) -> None: ...
