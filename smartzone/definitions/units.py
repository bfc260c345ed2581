"""Quantities with units as authored in YAML and on the command line.

Durations: "250ms", "5s", "15min", "1h", "2d" (a bare number means seconds).
Data rates: "20kbit", "1mbit", "250bit" (per second), as in Linux netem.
"""

from __future__ import annotations

import re

_DURATION_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}
_RATE_UNITS = {"bit": 1.0, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "bps": 1.0, "kbps": 1e3, "mbps": 1e6}
_NUM = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_DURATION_RE = re.compile(rf"^\s*{_NUM}\s*([a-z]*)\s*$")


def parse_duration(value: str | float | int) -> float:
    """Seconds in *value*; raises ValueError naming the accepted units."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '15min', found a boolean")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"expected a non-negative duration, found {value}")
        return float(value)
    m = _DURATION_RE.match(str(value).lower())
    if not m or (m.group(2) and m.group(2) not in _DURATION_UNITS):
        raise ValueError(f"expected a duration such as '250ms', '30s', '15min', '1h', '2d', found {value!r}")
    return float(m.group(1)) * _DURATION_UNITS.get(m.group(2) or "s", 1.0)


_CLOCK_RE = re.compile(r"(\d+):([0-5]\d)(?::([0-5]\d))?")  # 14:32 = 14 h 32 min after a start
_PART_RE = re.compile(r"\d+(?:\.\d+)?[a-z]+")


def parse_offset(text: str) -> float:
    """Seconds after a start in *text*: a duration (`90min`, `14h32min`) or a clock `14:32[:05]`
    counted from the start (replay --from/--to and the GUI timeline); raises ValueError."""
    clock = _CLOCK_RE.fullmatch(text.strip())
    if clock:
        hours, minutes, seconds = clock.groups()
        return int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0)
    parts = _PART_RE.findall(text)
    if not parts or "".join(parts) != text.replace(" ", ""):
        raise ValueError(f"expected a duration such as '90min', '14h32min' or a time such as '14:32', found {text!r}")
    return sum(parse_duration(part) for part in parts)


def parse_rate(value: str | float | int) -> float:
    """Bits per second in *value* ("20kbit" -> 20000.0)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = _DURATION_RE.match(str(value).lower())
    if not m or m.group(2) not in _RATE_UNITS:
        raise ValueError(f"expected a data rate such as '250bit', '20kbit', '1mbit', found {value!r}")
    return float(m.group(1)) * _RATE_UNITS[m.group(2)]


def format_duration(seconds: float) -> str:
    """Short human form: 90 -> '1min30s', 86400 -> '1d'."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    parts = []
    rest = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"
