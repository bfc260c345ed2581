"""`csv_series`: a signal fed from a time series in a CSV file (data sets as behaviour).

The simulated instant (an absolute time, from the city's clock) is looked up in the
series: `hold` keeps the last row's value until the next row, `linear` interpolates
between rows. With `loop` the series repeats with a period of its span plus one step (a
week of hourly rows repeats weekly, keeping weekdays and hours aligned); without it, times
before the first row or after the last hold the end values.
"""

from __future__ import annotations

import bisect
import random

from smartzone.core.behaviours.base import Model, Scope, register
from smartzone.definitions import behaviour_params as p
from smartzone.definitions import series
from smartzone.definitions.device_type import Signal

_CACHE: dict[tuple[str, str, str, str], series.Series] = {}  # one read per file and column per process


def _load(spec: p.CsvSeries, zone: str) -> series.Series:
    path = series.resolve(spec.file, spec._base)
    key = (str(path), spec.column, spec.time_column, zone)
    if key not in _CACHE:
        _CACHE[key] = series.load(path, spec.column, spec.time_column, zone)
    return _CACHE[key]


@register("csv_series")
class CsvSeries(Model):
    def __init__(self, spec: p.CsvSeries, scope: Scope, rng: random.Random, signal: Signal) -> None:
        self.clock = scope.clock
        data = _load(spec, spec.timezone or scope.clock.zone.key)
        self.times, self.values = data.times, data.values
        self.first = self.times[0]
        self.period = self.times[-1] - self.first + (self.times[-1] - self.times[-2])
        self.scale, self.offset = spec.scale, spec.offset
        self.linear, self.loop = spec.interpolation == "linear", spec.loop

    def sample(self, t: float) -> float:
        x = self.clock.epoch(t)
        if self.loop:
            x = self.first + (x - self.first) % self.period
        times, values = self.times, self.values
        i = bisect.bisect_right(times, x) - 1
        if i < 0:
            raw = values[0]
        elif i >= len(times) - 1:
            last = values[-1]
            # past the last row within the period: linear heads back to the first row (the loop's join)
            raw = (
                last + (values[0] - last) * (x - times[-1]) / (self.first + self.period - times[-1])
                if self.linear and self.loop
                else last
            )
        elif self.linear:
            t0, t1 = times[i], times[i + 1]
            raw = values[i] + (values[i + 1] - values[i]) * (x - t0) / (t1 - t0)
        else:
            raw = values[i]
        return round(raw * self.scale + self.offset, 6)
