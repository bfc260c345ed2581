"""Where devices stand: random points inside district polygons, and fake identities."""

from __future__ import annotations

import random
from collections.abc import Sequence


def point_in_polygon(lat: float, lon: float, polygon: Sequence[tuple[float, float]]) -> bool:
    """Ray casting on (lat, lon) pairs."""
    inside = False
    n = len(polygon)
    for i in range(n):
        y1, x1 = polygon[i]
        y2, x2 = polygon[(i + 1) % n]
        if (y1 > lat) != (y2 > lat):
            x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < x_cross:
                inside = not inside
    return inside


def random_point(polygon: Sequence[tuple[float, float]], rng: random.Random, tries: int = 200) -> tuple[float, float]:
    """A uniform random point inside the polygon (rejection sampling; centroid as a last resort)."""
    lats = [p[0] for p in polygon]
    lons = [p[1] for p in polygon]
    for _ in range(tries):
        lat = rng.uniform(min(lats), max(lats))
        lon = rng.uniform(min(lons), max(lons))
        if point_in_polygon(lat, lon, polygon):
            return round(lat, 6), round(lon, 6)
    return round(sum(lats) / len(lats), 6), round(sum(lons) / len(lons), 6)
