"""Services started around a run (MQTT broker and publisher, Modbus gateways, ...).

Each service module exposes a `ServiceSpec`: how to add its command-line options, and how
to start it on a runtime. `smartzone run` starts every enabled service after loading the
scenario and before the engine starts, prints how to connect, and closes them at the end.
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


def registered() -> list[ServiceSpec]:
    """The service specs known to this installation (endpoints register here)."""
    specs: list[ServiceSpec] = []
    for loader in _LOADERS:
        specs.extend(loader())
    return specs


_LOADERS: list[Callable[[], list[ServiceSpec]]] = []


def register(loader: Callable[[], list[ServiceSpec]]) -> Callable[[], list[ServiceSpec]]:
    _LOADERS.append(loader)
    return loader


def start_services(
    rt: Runtime, args: argparse.Namespace, into: list[Service], describe: Callable[[str], None] | None = None
) -> None:
    """Start every registered, enabled service on `rt` (run, replay and certify all do it this way).

    Each service is appended to `into` as soon as it runs, so the caller's clean-up closes what
    started even when a later one fails (EndpointError, exit 3). `describe` gets each line that
    tells a user how to connect.
    """
    for spec in registered():
        service = spec.start(rt, args)
        if service is not None:
            into.append(service)
            if describe is not None:
                for line in service.describe():
                    describe(line)
