"""What a service around a run is (MQTT broker and publisher, Modbus gateways, ...).

Each endpoint module exposes a `ServiceSpec`: how to add its command-line options and how to
start it on a runtime. The composition root (smartzone/wiring.py) lists them and starts them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from smartzone.runtime.api import Runtime


class Service(Protocol):
    def describe(self) -> list[str]:
        """Lines telling a user how to connect (URLs, credentials, ready-to-paste commands)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    add_options: Callable[[argparse.ArgumentParser], None]
    start: Callable[[Runtime, argparse.Namespace], Service | None]
