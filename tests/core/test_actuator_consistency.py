"""An actuator's state, its telemetry and its command acks never disagree (every actuator type).

Two simulated days of every shipped actuator type under random valid commands, its own
schedules (a street light's dusk/dawn automation, back to auto by command) and every fault
its type declares. Each reading's state-derived signals are checked against the state in
effect when the reading was measured (the StateChanged events are what the bridge renders as
the retained `state` document), and every successful ack's state against that state.
"""

from __future__ import annotations

import bisect
import random
from typing import Any

from smartzone.core.commands import DeviceCommand
from smartzone.core.events import CommandResult, Reading, StateChanged
from smartzone.core.faults.commands import ClearFault, InjectFault
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.device_type import DeviceType, Param
from smartzone.definitions.scenario import Fleet, Scenario

DAYS = 2
STEP_S = 1200.0  # a command round every 20 simulated minutes


def actuator_types(catalog: Catalog) -> dict[str, DeviceType]:
    return {name: t for name, t in sorted(catalog.types.items()) if t.state}


def expected(model: Any, state: dict[str, Any]) -> Any:
    """What a signal that reports a state variable must say for a given state (None: the
    signal is a measurement, e.g. a power drawn by mode, which faults may rightly distort)."""
    if model.kind == "state" and model.map is None:
        return state[model.var]
    if model.kind == "dusk_dawn":
        return state[model.level_var] if state[model.on_var] else 0
    return None


def random_params(params: dict[str, Param], rng: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, p in params.items():
        if p.values:
            out[name] = rng.choice(list(p.values))
        elif p.type == "bool":
            out[name] = rng.random() < 0.5
        elif p.type == "int":
            out[name] = rng.randint(int(p.min if p.min is not None else 0), int(p.max if p.max is not None else 100))
        else:
            out[name] = round(rng.uniform(p.min if p.min is not None else 0.0, p.max if p.max is not None else 1.0), 1)
    return out


def test_state_telemetry_and_acks_agree_for_every_actuator(small_scenario: Scenario, catalog: Catalog) -> None:
    types = actuator_types(catalog)
    assert {"street-light", "water-valve", "traffic-signal", "ev-charger"} <= set(types)
    fleets = [Fleet(type=name, tenant="comune", count=2, id_prefix=f"a{i}", report_interval=300.0)
              for i, name in enumerate(types)]  # fmt: skip
    world = World(small_scenario.model_copy(update={"fleets": fleets}), catalog)
    history: dict[str, list[tuple[float, dict[str, Any]]]] = {
        d.id: [(0.0, dict(d.state))] for d in world.devices.values()
    }
    readings: list[Reading] = []
    acks: list[tuple[CommandResult, dict[str, Any]]] = []
    causes: set[tuple[str, str]] = set()

    def on_event(event: Any) -> None:
        if isinstance(event, StateChanged):
            history[event.device].append((event.t, dict(event.values)))
            causes.add((world.devices[event.device].info.type, event.cause))
        elif isinstance(event, Reading):
            readings.append(event)
        elif isinstance(event, CommandResult) and event.ok:
            acks.append((event, history[event.device][-1][1]))

    world.bus.subscribe(on_event, (StateChanged, Reading, CommandResult))
    rng = random.Random(5)
    devices = list(world.devices.values())
    faults: dict[str, str] = {}
    t = 0.0
    while t < DAYS * 86400:
        t += STEP_S
        world.run(t)
        for device in devices:
            roll = rng.random()
            if device.id in faults and roll < 0.3:
                world.execute(ClearFault(device.id, faults.pop(device.id)))
            elif device.id not in faults and roll < 0.1 and device.dtype.faults:
                faults[device.id] = rng.choice(sorted(device.dtype.faults))
                world.execute(InjectFault(device.id, faults[device.id], duration=3 * STEP_S))
            elif roll < 0.6:
                action = rng.choice(sorted(device.dtype.commands))
                params = random_params(device.dtype.commands[action].params, rng)
                world.execute(DeviceCommand(device.id, action, params, id=f"c{int(t)}"))
    world.run(t + 3600)  # let commands and readings in flight arrive

    checked = 0
    for reading in readings:
        device = world.devices[reading.device]
        times = [at for at, _ in history[reading.device]]
        state = history[reading.device][bisect.bisect_right(times, reading.measured_at) - 1][1]
        for name, sig in device.dtype.signals.items():
            want = expected(sig.model, state)
            if want is not None:
                assert reading.values[name] == want, (reading, name, state)
                checked += 1
    assert checked > 1000 and len(acks) > 100
    for result, state in acks:
        assert dict(result.state or {}) == state, result
    for device in devices:  # and what the device holds now is its last published state
        assert device.state == history[device.id][-1][1]
    # the schedule acted on its own: street lights changed state without a command
    assert ("street-light", "schedule") in causes
