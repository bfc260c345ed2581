"""Daily profiles: values at times of day, interpolated and wrapping at midnight."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping


class DailyProfile:
    def __init__(self, points: Mapping[float, float]) -> None:
        items = sorted(points.items())
        # Wrap: repeat the last point one day earlier and the first one day later.
        self.hours = [items[-1][0] - 24.0] + [h for h, _ in items] + [items[0][0] + 24.0]
        self.values = [items[-1][1]] + [v for _, v in items] + [items[0][1]]

    def at(self, hour: float) -> float:
        i = bisect_right(self.hours, hour)
        h0, h1 = self.hours[i - 1], self.hours[i]
        v0, v1 = self.values[i - 1], self.values[i]
        return v0 + (v1 - v0) * (hour - h0) / (h1 - h0) if h1 > h0 else v0
