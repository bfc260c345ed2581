"""Trouble a course step injects into a trainee's part of the city (troubleshooting activities).

A step's `trouble` list is applied when the trainee reaches the step (every step before it done)
and removed when the step is done or the trainee is reset (classroom/troubles.py). Each kind maps
onto the fault system the timeline and the runtime already use (core/faults/commands.py): device
faults (InjectFault/ClearFault), gateway outages (CutBackhaul) and live link changes on the network
profiles a gateway carries (DegradeLink/RestoreLink); a wrong Modbus word order is the device fault
effect `word_swap`. Device and gateway fields are templates, so
each trainee gets trouble on its own device or gateway (a `device` or `gateway` variable).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from smartzone.definitions.base import Duration, Strict


class Offline(Strict):
    """The device stops reporting; its `status` turns offline and its Modbus unit answers 0x0B."""

    kind: Literal["offline"]
    device: str = Field(description="device id (template)")


class Stuck(Strict):
    """A signal of the device freezes at its current value while the others go on."""

    kind: Literal["stuck"]
    device: str = Field(description="device id (template)")
    signal: str = Field(description="the signal that freezes")


class WordOrder(Strict):
    """The device's Modbus unit serves its 32-bit registers with the two words swapped (a wrong word order)."""

    kind: Literal["word_order"]
    device: str = Field(description="device id (template); its type must map a 32-bit Modbus register")


class GatewayOutage(Strict):
    """A gateway (a backhaul hop of the scenario) is cut: everything through it is lost."""

    kind: Literal["gateway_outage"]
    gateway: str = Field(description="backhaul id (template)")


class Congestion(Strict):
    """Backhaul congestion behind a gateway: the links of the profiles it carries get queueing delay and loss."""

    kind: Literal["congestion"]
    gateway: str = Field(description="backhaul id (template)")
    delay: Duration = Field(20.0, ge=0, description="added one-way latency (queueing)")
    loss: float = Field(60.0, ge=0, le=100, description="percent of messages dropped (queue overflow)")


class DutyCycle(Strict):
    """LoRa duty-cycle exhaustion behind a gateway: the radios may send only `percent` of the time."""

    kind: Literal["duty_cycle"]
    gateway: str = Field(description="backhaul id (template)")
    percent: float = Field(0.01, gt=0, le=100, description="duty-cycle limit, percent (EU868 default: 1)")


Trouble = Annotated[Offline | Stuck | WordOrder | GatewayOutage | Congestion | DutyCycle, Field(discriminator="kind")]
