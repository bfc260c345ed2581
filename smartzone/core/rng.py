"""Named random streams split from one master seed.

Each device and each concern (behaviour, network, faults, weather, faker) gets its own
generator derived from the master seed and its name, so adding a device or a concern does
not change the numbers any other stream draws (the approach SUMO takes).
"""

from __future__ import annotations

import hashlib
import random


def derive_seed(master: int, *names: str) -> int:
    """A 64-bit seed for the stream called *names* under *master*."""
    key = "/".join((str(master), *names)).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big")


def stream(master: int, *names: str) -> random.Random:
    """A fresh generator for the named stream."""
    return random.Random(derive_seed(master, *names))
