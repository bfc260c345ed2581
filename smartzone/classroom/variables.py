"""Per-trainee variables drawn from the course seed, and templates that use them.

A device variable gives every trainee a different device while there are enough candidates:
the candidates are shuffled once per course seed and dealt in roster order, so the same roster
gets the same tasks again. Numbers and choices are drawn per trainee name. Templates replace
`{name}` for known names only, so JSON examples in instructions (`{"id": ...}`) need no escaping.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

from smartzone.core.device import DeviceInfo
from smartzone.definitions.course import Course, PickChoice, PickDevice, PickNumber
from smartzone.errors import UsageError

_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def render(text: str, values: Mapping[str, Any]) -> str:
    """`text` with every `{name}` of `values` filled in; other braces are left as written."""

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        return str(values[name]) if name in values else m.group(0)

    return _FIELD.sub(fill, text)


def unknown_names(text: str, known: set[str]) -> list[str]:
    """Template names in `text` that no variable provides (a typo in a course)."""
    return sorted({m.group(1) for m in _FIELD.finditer(text)} - known)


def device_candidates(pick: PickDevice, devices: Mapping[str, DeviceInfo]) -> list[str]:
    return sorted(d for d, info in devices.items() if info.type == pick.type and pick.tenant in (None, info.tenant))


def draw(
    course: Course, seed: int, trainees: list[str], devices: Mapping[str, DeviceInfo]
) -> dict[str, dict[str, Any]]:
    """{trainee: {variable: value, ...}}; a device variable also gives NAME_type, NAME_tenant, NAME_name."""
    out: dict[str, dict[str, Any]] = {t: {} for t in trainees}
    for var, spec in course.variables.items():
        if isinstance(spec, PickDevice):
            candidates = device_candidates(spec, devices)
            if not candidates:
                where = f" of tenant {spec.tenant}" if spec.tenant else ""
                raise UsageError(f"course {course.id}: variable '{var}': the scenario has no {spec.type}{where}")
            random.Random(f"{seed}:{course.id}:{var}").shuffle(candidates)
            for i, trainee in enumerate(trainees):
                dev = candidates[i % len(candidates)]
                info = devices[dev]
                out[trainee].update(
                    {var: dev, f"{var}_type": info.type, f"{var}_tenant": info.tenant, f"{var}_name": info.name}
                )
            continue
        for trainee in trainees:
            rng = random.Random(f"{seed}:{course.id}:{var}:{trainee}")
            if isinstance(spec, PickNumber):
                steps = int((spec.max - spec.min) // spec.step)
                value = spec.min + spec.step * rng.randint(0, steps)
                out[trainee][var] = int(value) if float(value).is_integer() else round(value, 6)
            elif isinstance(spec, PickChoice):
                out[trainee][var] = rng.choice(spec.values)
    return out
