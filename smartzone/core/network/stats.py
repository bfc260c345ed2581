"""Counters and a latency histogram per link (network profile) and per backhaul/gateway.

Latency is kept in a log-scale histogram (50 buckets per decade, 10 us .. 1000 s: about
2 % resolution) so memory stays bounded on week-long runs; percentiles are read from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from smartzone.core.events import LinkStats

_PER_DECADE = 50
_LOW = 1e-5
_BUCKETS = 8 * _PER_DECADE + 1
BATCH = 4096


class LatencyHistogram:
    """Bounded-memory latency distribution.

    `add` only appends; samples are folded into the buckets in batches (cheaper per
    message than bucketing each one as it comes).
    """

    __slots__ = ("buckets", "count", "max", "pending", "total", "zeros")

    def __init__(self) -> None:
        self.buckets = [0] * _BUCKETS
        self.count = 0
        self.zeros = 0
        self.total = 0.0
        self.max = 0.0
        self.pending: list[float] = []

    def add(self, seconds: float) -> None:
        pending = self.pending
        pending.append(seconds)
        if len(pending) >= BATCH:
            self.fold()

    def fold(self) -> None:
        pending, self.pending = self.pending, []
        if not pending:
            return
        self.count += len(pending)
        self.total += sum(pending)
        self.max = max(self.max, *pending) if len(pending) > 1 else max(self.max, pending[0])
        buckets = self.buckets
        log10, top = math.log10, _BUCKETS - 1
        for seconds in pending:
            if seconds < _LOW:
                self.zeros += 1
            else:
                i = int(log10(seconds / _LOW) * _PER_DECADE)
                buckets[i if i < top else top] += 1

    def percentile(self, q: float) -> float:
        """The q-th percentile (0..100) in seconds; 0.0 with no samples."""
        self.fold()
        if self.count == 0:
            return 0.0
        rank = q / 100.0 * self.count
        seen = self.zeros
        if rank <= seen:
            return 0.0
        for i, n in enumerate(self.buckets):
            if n and seen + n >= rank:
                frac = (rank - seen) / n  # interpolate inside the bucket (log scale)
                return min(self.max, _LOW * 10 ** ((i + frac) / _PER_DECADE))
            seen += n
        return self.max

    def summary(self) -> dict[str, float]:
        self.fold()
        mean = self.total / self.count if self.count else 0.0
        return {
            "count": self.count,
            "mean": round(mean, 6),
            "p50": round(self.percentile(50), 6),
            "p95": round(self.percentile(95), 6),
            "p99": round(self.percentile(99), 6),
            "max": round(self.max, 6),
        }


@dataclass
class Counters:
    """What happened to the messages that went through one link or hop."""

    name: str
    scope: str
    sent: int = 0
    delivered: int = 0
    duplicated: int = 0
    throttled: int = 0
    drops: dict[str, int] = field(default_factory=dict)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    @property
    def dropped(self) -> int:
        return sum(self.drops.values())

    def drop(self, reason: str) -> None:
        self.drops[reason] = self.drops.get(reason, 0) + 1

    def event(self, t: float) -> LinkStats:
        return LinkStats(
            t,
            self.name,
            self.scope,
            self.sent,
            self.delivered,
            self.dropped,
            self.duplicated,
            self.throttled,
            dict(sorted(self.drops.items())),
            self.latency.summary(),
        )

    def line(self) -> str:
        lat = self.latency
        loss = self.dropped / self.sent * 100 if self.sent else 0.0
        return (
            f"{self.scope:8} {self.name:18} sent {self.sent:>9,} delivered {self.delivered:>9,} "
            f"dropped {self.dropped:>7,} ({loss:4.1f}%) dup {self.duplicated:>5,} throttled {self.throttled:>6,} "
            f"latency p50 {lat.percentile(50) * 1000:8.1f} ms p99 {lat.percentile(99) * 1000:8.1f} ms"
        )
