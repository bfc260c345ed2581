"""The native encoder's fast path writes exactly what dumps() of the documented object gives."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from types import MappingProxyType

from smartzone.core.clock import SimClock
from smartzone.core.device import DeviceInfo
from smartzone.core.events import Reading
from smartzone.endpoints.mqtt.payloads import dumps, native_encoder


def test_native_bytes_equal_dumps_of_the_api_object() -> None:
    clock = SimClock(datetime(2026, 11, 23, tzinfo=UTC), "Europe/Rome")
    info = DeviceInfo('città-"01"', "parking-spot", "comune", "centro", "P", 0, 0, "", "", "", "", "lora", 60)
    encode = native_encoder(info, clock)
    rng = random.Random(3)
    for seq in range(1, 500):
        values = {
            "status": rng.choice(["free", "occupied", "ünknown"]),
            "battery": round(rng.uniform(0, 100), 1),
            "ok": rng.random() < 0.5,
            "count": rng.randint(-5, 5),
            "none": None,
        }
        r = Reading(rng.uniform(0, 90_000), info.id, seq, values, measured=None)
        expected = dumps(
            {
                "device": info.id,
                "type": info.type,
                "tenant": info.tenant,
                "ts": clock.iso(r.measured_at),
                "seq": seq,
                "values": values,
            }
        )
        assert encode(r) == expected
        assert json.loads(encode(r))["device"] == info.id
    proxied = Reading(1.0, info.id, 1, MappingProxyType({"battery": 50.0}))
    assert json.loads(encode(proxied))["values"] == {"battery": 50.0}
