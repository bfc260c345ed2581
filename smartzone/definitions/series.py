"""Time series from CSV files, for the `csv_series` behaviour model (data sets as behaviour).

A series file is a CSV with a header row: one column of ISO 8601 times (`time` unless the
model names another; a time without an offset is read in the model's `timezone`, else the
city's) in increasing order, and one or more numeric columns. Errors name the file and line.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SeriesError(ValueError):
    """A series file that cannot be used; the message names the file (and line)."""


@dataclass(frozen=True)
class Series:
    """Times (epoch seconds, increasing) and one column's values."""

    times: tuple[float, ...]
    values: tuple[float, ...]


def resolve(file: str, base: str | Path | None) -> Path:
    """`file` as written in a device type: absolute, or relative to the device type's folder."""
    path = Path(file)
    return path if path.is_absolute() or base is None else Path(base) / path


def load(path: Path, column: str, time_column: str, timezone: str) -> Series:
    """Read `column` of the CSV at `path` (SeriesError naming the file and line if it cannot)."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SeriesError(f"{path}: unknown time zone '{timezone}'") from None
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as exc:
        raise SeriesError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if not rows:
        raise SeriesError(f"{path}: empty file")
    head = [h.strip() for h in rows[0]]
    for name in (time_column, column):
        if name not in head:
            raise SeriesError(f"{path}: line 1: no column '{name}' (columns: {', '.join(head)})")
    ti, vi = head.index(time_column), head.index(column)
    times: list[float] = []
    values: list[float] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        try:
            when = datetime.fromisoformat(row[ti].strip())
            value = float(row[vi])
        except (ValueError, IndexError):
            raise SeriesError(f"{path}: line {lineno}: expected a time and a number") from None
        stamp = (when if when.tzinfo is not None else when.replace(tzinfo=zone)).timestamp()
        if times and stamp <= times[-1]:
            raise SeriesError(f"{path}: line {lineno}: times must increase")
        times.append(stamp)
        values.append(value)
    if len(times) < 2:
        raise SeriesError(f"{path}: at least two rows of data are needed")
    return Series(tuple(times), tuple(values))
