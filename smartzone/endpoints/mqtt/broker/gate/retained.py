"""The retained payload bytes each sandbox tenant's owners keep on the broker (the gate's retained-bytes quota).

The gate sees every PUBLISH of a sandbox owner, so it knows the size of each retained message they
set: a new one counts its payload, one on a topic they set before counts the difference, an empty
one (which clears the topic) gives the bytes back. What others retain on the tenant's topics
(SmartZone's own meta, status and catalog documents, admin) is not counted, nor what a broker
restart loses. Used on the gate's event loop only (no lock).
"""

from __future__ import annotations


class RetainedBytes:
    """Per tenant: the size of each retained topic its owners set, and their total."""

    def __init__(self) -> None:
        self._sizes: dict[str, dict[str, int]] = {}
        self._totals: dict[str, int] = {}

    def total(self, tenant: str) -> int:
        return self._totals.get(tenant, 0)

    def admit(self, tenant: str, limit: int, topic: str, size: int) -> bool:
        """Count a retained PUBLISH of `size` payload bytes on `topic`; False (nothing counted) if the
        tenant's total would go over `limit`. Clearing a topic (size 0) is always admitted."""
        sizes = self._sizes.setdefault(tenant, {})
        total = self.total(tenant) - sizes.get(topic, 0) + size
        if size and total > limit:
            return False
        if size:
            sizes[topic] = size
        else:
            sizes.pop(topic, None)
        self._totals[tenant] = total
        return True
