"""Moving about in a replay that is being served: the recording's span, and seeks.

A seek forward fast-forwards: the engine runs the replay, unpaced, up to the target, so every
event in between is published as recorded (the endpoints, the live state and the GUI see
them all, in order). A seek backward restarts the playing from the recording at the target,
as `smartzone replay --from T` does (`ReplayWorld.rewind`), inside the same runtime: the
endpoints stay up and their clients stay connected; the live state (Modbus registers, the
GUI) is reset to the recorded state at the target at once, and each device whose status or
state differs there is published once (`StatusChanged` / `StateChanged`, cause SEEK_CAUSE), so
the retained MQTT documents say the same.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future
from pathlib import Path

from simpy.core import StopSimulation

from smartzone.core.events import StateChanged, StatusChanged
from smartzone.core.world import World
from smartzone.runtime.api import Runtime
from smartzone.runtime.recording import read_recording
from smartzone.runtime.replay import ReplayWorld

SEEK_CAUSE = "replay seek"  # the reason / cause of the status and state a backward seek restores


def recording_span(path: str | Path) -> float:
    """How long the recording runs, in simulated seconds after its start: the `end` record's
    time, or the last event's after a crash (raises RecordingError on a damaged file)."""
    _header, records = read_recording(path)
    end = 0.0
    for rec in records:
        if rec.get("kind") == "end":
            return max(end, float(rec["t"]))
        if rec.get("kind") != "input":
            end = max(end, float(rec["t"]))
    return end


def replay_world(rt: Runtime) -> ReplayWorld:
    """The replay world of `rt` (TypeError if it runs a live city)."""
    world = rt.world
    if not isinstance(world, ReplayWorld):
        raise TypeError("not a replay")
    return world


def seek(rt: Runtime, t: float) -> Future[float]:
    """Move the replay of `rt` to `t` simulated seconds after the recording's start; it stays
    paused there. The future resolves with the new time once the engine did it."""
    world = replay_world(rt)

    def forward(_world: World) -> float:
        """Fast-forward: every event up to `t` (those at `t` too, as `--to t` has them), as recorded."""
        if t > world.now:
            world.env.run(until=t)
        with contextlib.suppress(StopSimulation):  # the last event played: the replay ends here
            while not world.ended and world.env.peek() <= t:
                world.env.step()
        rt.engine.set_paused(True)
        return world.now

    def rewind(_world: World) -> float:
        served = {d: rt.live.get(d) for d in world.devices}  # what the endpoints said until now
        world.rewind(t)
        for device in world.devices.values():  # what the Modbus gateways and the GUI read
            rt.live.seed(device.id, device.values, device.state, device.online, device.seq)
        for fault in world.prelude:
            rt.live.on_event(fault)
        rt.live.sim_time = t
        for device in world.devices.values():  # retained status and state documents: true at `t` at once
            before = served.get(device.id)
            if before is None or before.online != device.online:
                world.bus.publish(StatusChanged(t, device.id, device.online, SEEK_CAUSE))
            if device.state and (before is None or before.state != device.state):
                world.bus.publish(StateChanged(t, device.id, dict(device.state), SEEK_CAUSE))
        rt.engine.set_paused(True)  # re-anchors the pacing on the new clock
        return world.now

    # which way is decided on the engine thread, where the clock cannot move meanwhile
    return rt.engine.call(lambda w: forward(w) if t >= world.now else rewind(w))
