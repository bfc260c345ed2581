"""What a behaviour model is, how it reads its inputs, and the registry of named models."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel

from smartzone.core.clock import SimClock
from smartzone.definitions.base import DistrictKind
from smartzone.definitions.device_type import Signal

Source = Callable[[float], float]


class Scope(Protocol):
    """What a model may read: its device's signals and state, and the city context."""

    values: dict[str, Any]
    state: dict[str, Any]
    clock: SimClock
    land_use: DistrictKind  # the kind of district the device stands in (scenario `districts[].kind`)

    def ctx_value(self, name: str, t: float) -> float: ...

    def as_number(self, scope: str, name: str, value: Any) -> float: ...


class Model:
    """A behaviour: produces one signal's value each time the device samples."""

    def sample(self, t: float) -> Any:
        raise NotImplementedError

    def next_change(self) -> float | None:
        """Absolute simulated time of the next spontaneous change, for event-driven signals."""
        return None

    def drives(self) -> dict[str, Any] | None:
        """State variables the last sample implies, for a model that acts on its own (an
        automatic schedule), or None. The device writes them into its state, so the state
        document, the command acks and the telemetry never disagree."""
        return None


Factory = Callable[[Any, Scope, random.Random, Signal], Model]
REGISTRY: dict[str, Factory] = {}


def register(kind: str) -> Callable[[Factory], Factory]:
    def deco(factory: Factory) -> Factory:
        REGISTRY[kind] = factory
        return factory

    return deco


def source(ref: float | str, scope: Scope) -> Source:
    """Compile a number or a `ctx.`/`signal.`/`state.` reference into a function of time."""
    if not isinstance(ref, str):
        value = float(ref)
        return lambda t: value
    where, name = ref.split(".", 1)
    if where == "ctx":
        return lambda t: scope.ctx_value(name, t)
    table = scope.values if where == "signal" else scope.state
    return lambda t: scope.as_number(where, name, table.get(name, 0.0))


def build(spec: BaseModel, scope: Scope, rng: random.Random, signal: Signal) -> Model:
    """Instantiate the registered model named by `spec.kind`."""
    kind = spec.kind  # type: ignore[attr-defined]
    return REGISTRY[kind](spec, scope, rng, signal)


def clamp(value: float, signal: Signal) -> float:
    if signal.min is not None and value < signal.min:
        return signal.min
    if signal.max is not None and value > signal.max:
        return signal.max
    return value
