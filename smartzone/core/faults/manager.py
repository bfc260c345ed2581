"""Starts and ends faults on devices, links and backhauls; every change is a FaultChanged event.

Device faults draw from the "faults" stream of each device. A fault with a duration ends
by itself (a token makes a later re-injection outlive the earlier timer). Ending restores
exactly what the start changed: the device comes back online, a drained battery that
killed the device is replaced, the profile and backhaul return to normal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from smartzone.core.bus import EventBus
from smartzone.core.events import FaultChanged
from smartzone.core.faults.commands import (
    ClearFault,
    CutBackhaul,
    DegradeLink,
    FaultCommand,
    FaultRejected,
    InjectFault,
    RestoreLink,
)
from smartzone.core.faults.effects import VALUE_EFFECTS, ActiveFault, DeviceFaults
from smartzone.core.network.network import Network, NetworkError
from smartzone.core.rng import stream
from smartzone.core.simenv import CityEnvironment
from smartzone.definitions.network import ProfileSpec
from smartzone.definitions.timeline import FAULT_EFFECTS

if TYPE_CHECKING:
    from smartzone.core.device import Device

NUMERIC = ("int", "float")
DROPOUT = "dropout"  # spontaneous outage of a healthy device (scenario `dropouts`)


class FaultHost(Protocol):
    """What faults need of the world (core.world.World is one): no import of the world, no circle."""

    seed: int
    bus: EventBus
    env: CityEnvironment
    network: Network
    devices: dict[str, Device]

    @property
    def now(self) -> float: ...


class FaultManager:
    def __init__(self, world: FaultHost) -> None:
        self.world = world
        self.by_device: dict[str, DeviceFaults] = {}
        self._tokens = 0
        self._links: dict[tuple[str, str], int] = {}
        self._cuts: dict[str, int] = {}

    def _token(self) -> int:
        self._tokens += 1
        return self._tokens

    def _publish(self, target: str, fault: str, active: bool, params: dict[str, Any]) -> None:
        self.world.bus.publish(FaultChanged(self.world.now, target, fault, active, params))

    def execute(self, cmd: FaultCommand) -> None:
        if isinstance(cmd, InjectFault):
            self.inject(cmd)
        elif isinstance(cmd, ClearFault):
            self.clear(cmd.device, cmd.fault, cmd.source)
        elif isinstance(cmd, DegradeLink):
            self.degrade(cmd)
        elif isinstance(cmd, RestoreLink):
            self.restore(cmd.profile, cmd.name, cmd.source)
        elif isinstance(cmd, CutBackhaul):
            self.cut(cmd)

    # --- device faults ----------------------------------------------------------------------
    def _device(self, device_id: str) -> Device:
        device = self.world.devices.get(device_id)
        if device is None:
            raise FaultRejected(f"no device '{device_id}'")
        return device

    def inject(self, cmd: InjectFault) -> None:
        device = self._device(cmd.device)
        declared = device.dtype.faults.get(cmd.fault)
        if declared is None and cmd.fault == DROPOUT:
            pass  # a spontaneous outage (core/variation.py): effect offline
        elif declared is None and cmd.fault not in FAULT_EFFECTS:
            known = ", ".join(sorted(device.dtype.faults)) or "none declared"
            raise FaultRejected(
                f"unknown fault '{cmd.fault}' for {device.dtype.type} (declared: {known}; "
                f"effects: {', '.join(FAULT_EFFECTS)})"
            )
        effect = declared.effect if declared else "offline" if cmd.fault == DROPOUT else cmd.fault
        signal = cmd.signal or (declared.signal if declared else None)
        magnitude = cmd.magnitude
        if magnitude is None and declared is not None and "magnitude" in declared.model_fields_set:
            magnitude = declared.magnitude
        if signal is not None and signal not in device.dtype.signals:
            raise FaultRejected(f"no signal '{signal}' in {device.dtype.type}")
        if effect == "battery_drain" and device.dtype.battery is None:
            raise FaultRejected(f"{device.dtype.type} has no battery to drain")
        if cmd.duration is not None and cmd.duration <= 0:
            raise FaultRejected("duration must be positive")
        signals = self._signals(device, effect, signal)
        faults = self.by_device.get(device.id)
        if faults is None:
            faults = self.by_device[device.id] = DeviceFaults(device, stream(self.world.seed, "faults", device.id))
        if cmd.fault in faults.active:
            self._end(device, faults, faults.active[cmd.fault], "replaced")
        t = self.world.now
        fault = ActiveFault(cmd.fault, effect, signals, 0.0, t, self._token())
        default = {"drift": 1.0, "noise": 1.0, "spike": 10.0, "offset": 1.0, "battery_drain": 10.0, "clock_skew": 300.0}
        fault.magnitude = float(magnitude) if magnitude is not None else default.get(effect, 0.0)
        fault.params = {"effect": effect, "signal": signal, "magnitude": magnitude, "source": cmd.source}
        fault.out_of_range = bool(declared and declared.out_of_range)
        fault.physical = bool(declared and declared.physical and signal == declared.signal)
        if cmd.duration is not None:
            fault.params["duration"] = cmd.duration
        if effect == "stuck":
            fault.frozen = {
                s: (
                    self._within(device, s, magnitude, fault.out_of_range)
                    if magnitude is not None and device.dtype.signals[s].datatype in NUMERIC
                    else device.values.get(s)
                )
                for s in signals
            }
        faults.active[cmd.fault] = fault
        self._publish(device.id, cmd.fault, True, fault.params)
        if effect == "offline":
            device.set_online(False, t, f"fault:{cmd.fault}")
        elif effect == "battery_drain":
            self._start_drain(device, fault)
        elif fault.physical:  # the quantity itself changes: signals computed from it follow
            device.bias[signals[0]] = device.bias.get(signals[0], 0.0) + fault.magnitude
        if faults.value_faults():
            device.distort = faults.distort
        if cmd.duration is not None:
            token = fault.token
            self.world.env.at(t + cmd.duration, lambda: self._expire(device, cmd.fault, token))

    @staticmethod
    def _within(device: Device, name: str, value: float, free: bool) -> float:
        """A stuck reading stays in the signal's range unless the fault is flagged out_of_range."""
        sig = device.dtype.signals[name]
        if sig.circular is not None:
            return value % sig.circular
        if not free:
            value = max(value, sig.min) if sig.min is not None else value
            value = min(value, sig.max) if sig.max is not None else value
        return value

    @staticmethod
    def _signals(device: Device, effect: str, signal: str | None) -> tuple[str, ...]:
        if signal is not None:
            return (signal,)
        if effect not in VALUE_EFFECTS or effect == "clock_skew":
            return ()
        sigs = device.dtype.signals
        return tuple(n for n, s in sigs.items() if effect == "stuck" or s.datatype in NUMERIC)

    def _start_drain(self, device: Device, fault: ActiveFault) -> None:
        t = self.world.now
        old = device.battery_drain
        new = old * max(fault.magnitude, 1e-9)
        fault.params["_drain"] = old
        device.battery_age += t * (old - new)  # continuity: the charge left does not jump
        device.battery_drain = new
        life = device.dtype.battery.life if device.dtype.battery else 0.0
        dead_at = (life - device.battery_age) / new
        token = fault.token
        self.world.env.at(max(t, dead_at), lambda: self._battery_dead(device, fault.name, token))

    def _battery_dead(self, device: Device, name: str, token: int) -> None:
        faults = self.by_device.get(device.id)
        fault = faults.active.get(name) if faults else None
        if fault is not None and fault.token == token:
            fault.params["_dead"] = True
            device.set_online(False, self.world.now, "battery empty")

    def _expire(self, device: Device, name: str, token: int) -> None:
        faults = self.by_device.get(device.id)
        fault = faults.active.get(name) if faults else None
        if faults is not None and fault is not None and fault.token == token:
            self._end(device, faults, fault, "expired")

    def clear(self, device_id: str, name: str, source: str = "api") -> None:
        device = self._device(device_id)
        faults = self.by_device.get(device_id)
        if faults is not None and name in faults.active:
            self._end(device, faults, faults.active[name], source)

    def _end(self, device: Device, faults: DeviceFaults, fault: ActiveFault, why: str) -> None:
        t = self.world.now
        del faults.active[fault.name]
        if fault.effect == "offline" and not any(f.effect == "offline" for f in faults.active.values()):
            device.set_online(True, t, f"fault:{fault.name} ended")
        elif fault.effect == "battery_drain":
            old = fault.params.pop("_drain")
            device.battery_age += t * (device.battery_drain - old)
            device.battery_drain = old
            if fault.params.pop("_dead", False):
                device.battery_age = -t * old  # battery replaced: full again
                device.set_online(True, t, "battery replaced")
        elif fault.physical:
            name = fault.signals[0]
            left = device.bias.get(name, 0.0) - fault.magnitude
            base = device.calibration.get(name, 0.0)
            if abs(left - base) < 1e-9:
                left = base  # no rounding residue once the last physical fault ends
            if left:
                device.bias[name] = left
            else:
                device.bias.pop(name, None)
        if not faults.value_faults():
            device.distort = None
        params = {k: v for k, v in fault.params.items() if not k.startswith("_")}
        self._publish(device.id, fault.name, False, {**params, "ended": why})

    def active(self, device_id: str) -> list[str]:
        faults = self.by_device.get(device_id)
        return sorted(faults.active) if faults else []

    # --- network faults ---------------------------------------------------------------------
    def degrade(self, cmd: DegradeLink) -> None:
        net = self.world.network
        try:
            overrides = ProfileSpec.model_validate(dict(cmd.params))
            net.degrade(cmd.profile, cmd.name, {k: v for k, v in overrides if v is not None})
        except NetworkError as exc:
            raise FaultRejected(str(exc)) from None
        except ValueError as exc:  # pydantic ValidationError is a ValueError
            raise FaultRejected(f"bad link parameters: {exc}") from None
        token = self._links[(cmd.profile, cmd.name)] = self._token()
        self._publish(cmd.profile, cmd.name, True, {"target": "network", **dict(cmd.params), "source": cmd.source})
        if cmd.duration is not None:
            self.world.env.at(self.world.now + cmd.duration, lambda: self._restore_if(cmd.profile, cmd.name, token))

    def _restore_if(self, profile: str, name: str, token: int) -> None:
        if self._links.get((profile, name)) == token:
            self.restore(profile, name, "expired")

    def restore(self, profile: str, name: str, source: str = "api") -> None:
        if self._links.pop((profile, name), None) is not None:
            self.world.network.restore(profile, name)
            self._publish(profile, name, False, {"target": "network", "ended": source})

    def cut(self, cmd: CutBackhaul) -> None:
        try:
            hop = self.world.network.hop(cmd.backhaul)
        except NetworkError as exc:
            raise FaultRejected(str(exc)) from None
        name = "gateway_outage" if hop.spec.kind == "gateway" else "backhaul_cut"
        if cmd.cut == hop.cut:
            return
        hop.cut = cmd.cut
        self._publish(hop.id, name, cmd.cut, {"target": hop.spec.kind, "source": cmd.source})
        if cmd.cut:
            token = self._cuts[hop.id] = self._token()
            if cmd.duration is not None:
                self.world.env.at(self.world.now + cmd.duration, lambda: self._uncut_if(hop.id, token))
        else:
            self._cuts.pop(hop.id, None)

    def _uncut_if(self, hop_id: str, token: int) -> None:
        if self._cuts.get(hop_id) == token:
            self.cut(CutBackhaul(hop_id, False, source="expired"))
