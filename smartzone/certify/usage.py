"""What the app really uses, and how broad its subscriptions are (helpers of the rules)."""

from __future__ import annotations

from smartzone.certify.records import Observations
from smartzone.endpoints.mqtt.broker.policy import topic_matches
from smartzone.endpoints.mqtt.topics import Topics

WRITES = frozenset({5, 6, 15, 16, 23})


def cmd_device(obs: Observations, topic: str) -> str | None:
    """The device of a `sz/v2/{city}/{tenant}/{type}/{device}/cmd` topic, else None."""
    parts = topic.split("/")
    if len(parts) == 7 and parts[:3] == ["sz", "v2", obs.city] and parts[6] == "cmd":
        return parts[5]
    return None


def breadth(obs: Observations, flt: str) -> str:
    """global | city | tenant | narrow: how much of the city one filter takes in."""
    levels = flt.split("/")
    wild = ("#", "+")
    if levels[0] in wild:
        return "global"
    if levels[0] == "icity":
        return "city" if len(levels) < 3 or levels[1] in wild or levels[2] in wild else "narrow"
    if levels[0] != "sz":
        return "narrow"
    if len(levels) < 3 or levels[1] in wild or levels[2] in wild:
        return "global"
    if len(levels) < 4 or levels[3] in wild:
        return "city"
    if len(levels) < 6 or "#" in levels[4:6] or "+" in levels[4:6]:
        return "tenant"
    return "narrow"


def subscribed_devices(obs: Observations, filters: list[str]) -> set[str]:
    """Devices whose telemetry one of the filters matches."""
    out = set()
    topics = Topics(obs.city)
    for dev, facts in obs.devices.items():
        topic = topics.device_parts(facts.tenant, facts.type, dev, "telemetry")
        if any(topic_matches(f, topic) for f in filters):
            out.add(dev)
    return out


def used_devices(obs: Observations, declared: frozenset[str]) -> set[str]:
    """Devices the app uses: declared in the profile, commanded, polled or written over Modbus,
    or named one by one in a subscription (a filter without wildcards at the device level)."""
    used = set(declared)
    for p in obs.publishes:
        dev = cmd_device(obs, p.topic)
        if dev is not None and dev in obs.devices:
            used.add(dev)
    used.update(m.device for m in obs.modbus if m.device is not None)
    narrow = [s.filter for s in obs.subscribes if s.allowed and breadth(obs, s.filter) == "narrow"]
    used.update(subscribed_devices(obs, narrow))
    return used
