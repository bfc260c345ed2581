"""Troubleshooting activities: the trouble a step declares, injected into one trainee's part of the city.

A step's trouble (definitions/trouble.py) is active for a trainee while the trainee has reached the
step (every step before it is done) and not yet done it. `Troubles.sync()` runs on every class tick
and brings the city in line: it injects what became active and removes what no longer is (the step
was done, or the trainer reset the trainee, which clears its cells). Everything goes through the
fault commands the runtime already executes (core/faults/): no second fault system. Names of
network changes carry the trainee and step, so two trainees' troubles on one profile add up and
end one by one. A `word_order` trouble is the device fault effect `word_swap` (the Modbus gateway
swaps the words of the unit's 32-bit registers while it is active).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from smartzone.classroom.progress import Progress
from smartzone.classroom.variables import render
from smartzone.core.faults.commands import (
    ClearFault,
    CutBackhaul,
    DegradeLink,
    FaultCommand,
    FaultRejected,
    InjectFault,
    RestoreLink,
)
from smartzone.core.faults.effects import WORD_SWAP
from smartzone.definitions.course import Course, Step
from smartzone.definitions.device_type import DeviceType
from smartzone.definitions.modbus_layout import Field, build_layout
from smartzone.definitions.trouble import Congestion, DutyCycle, GatewayOutage, Offline, Stuck, Trouble, WordOrder
from smartzone.runtime.health import describe_exception

COMPONENT = "class trouble"
SOURCE = "class"
Pair = tuple[FaultCommand, FaultCommand]  # (inject, remove)


def gateway_profiles(rt: Any) -> dict[str, list[str]]:
    """{gateway id: the network profiles whose traffic it carries} from the scenario (static data)."""
    every = sorted(rt.world.network.refs)  # profile names: fixed when the city is built
    return {b.id: (every if b.networks == "all" else list(b.networks)) for b in rt.scenario.networks.backhauls}


def without_32_bit_registers(rt: Any) -> dict[str, str]:
    """{device id: its type} of the devices whose Modbus map has no 32-bit register (no word order to swap)."""
    narrow = {t for t, dt in rt.catalog.types.items() if all(f.count < 2 for f in _fields(dt))}
    return {d: info.type for d, info in rt.devices.items() if info.type in narrow}


def _fields(dtype: DeviceType) -> list[Field]:
    return [f for fields in build_layout(dtype)[0].tables.values() for f in fields]


def commands(
    trouble: Trouble,
    values: Mapping[str, Any],
    name: str,
    profiles: Mapping[str, list[str]],
    narrow: Mapping[str, str] | None = None,
) -> list[Pair]:
    """The fault commands that inject and remove one trouble for one trainee (`name` is unique to it).

    `narrow`: devices without 32-bit Modbus registers (without_32_bit_registers), refused a word order trouble.
    """
    if isinstance(trouble, WordOrder):
        device = render(trouble.device, values)
        if narrow and device in narrow:
            raise ValueError(f"{device} ({narrow[device]}) has no 32-bit Modbus register: no word order to swap")
        return [(InjectFault(device, WORD_SWAP, source=SOURCE), ClearFault(device, WORD_SWAP, source=SOURCE))]
    if isinstance(trouble, Offline):
        device = render(trouble.device, values)
        return [(InjectFault(device, "offline", source=SOURCE), ClearFault(device, "offline", source=SOURCE))]
    if isinstance(trouble, Stuck):
        device = render(trouble.device, values)
        inject = InjectFault(device, "stuck", signal=trouble.signal, source=SOURCE)
        return [(inject, ClearFault(device, "stuck", source=SOURCE))]
    gateway = render(trouble.gateway, values)
    if isinstance(trouble, GatewayOutage):
        return [(CutBackhaul(gateway, True, source=SOURCE), CutBackhaul(gateway, False, source=SOURCE))]
    if gateway not in profiles:
        raise ValueError(f"unknown gateway {gateway!r}; known: {', '.join(sorted(profiles)) or 'none'}")
    params: dict[str, Any]
    if isinstance(trouble, Congestion):
        params = {"delay": trouble.delay, "loss": f"{trouble.loss}%"}  # profiles take percentages as text
    else:
        assert isinstance(trouble, DutyCycle)  # the schema admits no other kind
        params = {"duty_cycle": f"{trouble.percent}%"}
    return [
        (DegradeLink(p, params, name=name, source=SOURCE), RestoreLink(p, name=name, source=SOURCE))
        for p in profiles[gateway]
    ]


class Troubles:
    """Keeps each trainee's troubles in line with its progress (called on the class's thread)."""

    def __init__(self, rt: Any, course: Course, values: Mapping[str, Mapping[str, Any]]) -> None:
        self.rt, self.values = rt, values
        self.order = [step for _, step in course.steps()]
        self.with_trouble = [s for s in self.order if s.trouble]
        self.profiles = gateway_profiles(rt) if self.with_trouble else {}
        wide = any(isinstance(t, WordOrder) for s in self.with_trouble for t in s.trouble)
        self.narrow = without_32_bit_registers(rt) if wide else {}
        self.active: dict[tuple[str, str], list[Pair]] = {}  # (user, step) -> what was injected

    def wanted(self, progress: Progress) -> set[tuple[str, str]]:
        """(user, step) pairs whose trouble should be in the city now."""
        out = set()
        for user in progress.trainees:
            cells = progress.cells[user]
            for step in self.order:
                if cells[step.id].done:
                    continue
                if step.trouble:
                    out.add((user, step.id))
                break  # the first step not done is the one the trainee is on
        return out

    def sync(self, progress: Progress) -> None:
        if not self.with_trouble:
            return
        wanted = self.wanted(progress)
        for key in sorted(set(self.active) - wanted):
            for _, remove in self.active.pop(key):
                self._submit(remove, key)
        for key in sorted(wanted - set(self.active)):
            step = next(s for s in self.with_trouble if s.id == key[1])
            self.active[key] = self._inject(key, step)

    def _inject(self, key: tuple[str, str], step: Step) -> list[Pair]:
        user, _ = key
        pairs: list[Pair] = []
        for k, trouble in enumerate(step.trouble):
            try:
                pairs += commands(trouble, self.values[user], f"class:{user}:{step.id}:{k}", self.profiles, self.narrow)
            except ValueError as exc:
                self.rt.health.survived(COMPONENT, f"{user} step {step.id}: {exc}")
        for inject, _ in pairs:
            self._submit(inject, key)
        return pairs

    def _submit(self, cmd: FaultCommand, key: tuple[str, str]) -> None:
        done: Callable[[Future[Any]], None] = lambda fut: self._failed(fut, cmd, key)  # noqa: E731
        self.rt.submit(cmd).add_done_callback(done)

    def _failed(self, fut: Future[Any], cmd: FaultCommand, key: tuple[str, str]) -> None:
        exc = fut.exception()
        if exc is not None:  # a device or gateway the city does not have: the course is wrong, say where
            why = f"refused: {exc}" if isinstance(exc, FaultRejected) else describe_exception(exc)
            self.rt.health.survived(COMPONENT, f"{key[0]} step {key[1]}: {type(cmd).__name__} {why}")
