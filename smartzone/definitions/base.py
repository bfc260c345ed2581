"""Shared building blocks for the authored-file schemas."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from smartzone.definitions.units import parse_duration

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
NAME_PATTERN = r"^[a-z_][a-z0-9_]*$"
REF_RE = re.compile(r"^(ctx|state|signal|param)\.[a-z_][a-z0-9_]*$")


class Strict(BaseModel):
    """Base of every authored structure: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Id = Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=64)]
Name = Annotated[str, Field(pattern=NAME_PATTERN, min_length=1, max_length=40)]
DistrictKind = Literal["centre", "residential", "commercial", "industrial", "mixed", "port", "park"]  # land use


def _duration(value: Any) -> float:
    return parse_duration(value)


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    Field(json_schema_extra={"type": ["string", "number"], "examples": ["250ms", "30s", "15min", "1h"]}),
]


def _check_ref(value: Any) -> Any:
    if isinstance(value, str) and not REF_RE.match(value):
        raise ValueError("expected a number or a reference such as 'ctx.traffic', 'signal.flow', 'state.level'")
    return value


Ref = Annotated[
    float | str,
    Field(
        union_mode="left_to_right",
        json_schema_extra={"description": "a number, or ctx.NAME / signal.NAME / state.NAME"},
    ),
    AfterValidator(_check_ref),
]


def _hhmm(value: Any) -> float:
    """'07:30' -> 7.5 (hours); numbers pass as hours."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        hours = float(value)
    else:
        m = re.match(r"^([0-9]{1,2}):([0-5][0-9])$", str(value))
        if not m:
            raise ValueError(f"expected a time of day 'HH:MM', found {value!r}")
        hours = int(m.group(1)) + int(m.group(2)) / 60
    if not 0 <= hours <= 24:
        raise ValueError(f"expected a time of day between 00:00 and 24:00, found {value!r}")
    return hours


TimeOfDay = Annotated[float, BeforeValidator(_hhmm), Field(json_schema_extra={"type": ["string", "number"]})]
