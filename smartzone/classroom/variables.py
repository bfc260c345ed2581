"""Per-trainee variables drawn from the course seed, and templates that use them.

A device variable gives every trainee a different device while there are enough candidates:
the candidates are shuffled once per course seed and dealt in roster order, so the same roster
gets the same tasks again. Device variables of the same type and tenant share one deck, so a
trainee's `{meter_a}` and `{meter_b}` are never another trainee's devices either (while there
are enough). Gateway variables are dealt the same way from the scenario's gateways. Numbers and
choices are drawn per trainee name; a choice may name other variables (`"{meter_b}"`), filled
after the draw. Templates replace `{name}` for known names only, so JSON examples in
instructions (`{"id": ...}`) need no escaping.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from smartzone.core.device import DeviceInfo
from smartzone.definitions.course import Course, PickChoice, PickDevice, PickGateway, PickNumber
from smartzone.errors import UsageError

_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def render(text: str, values: Mapping[str, Any]) -> str:
    """`text` with every `{name}` of `values` filled in; other braces are left as written."""

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        return str(values[name]) if name in values else m.group(0)

    return _FIELD.sub(fill, text)


def device_candidates(pick: PickDevice, devices: Mapping[str, DeviceInfo]) -> list[str]:
    return sorted(d for d, info in devices.items() if info.type == pick.type and pick.tenant in (None, info.tenant))


def _deal(decks: dict[Any, list[str]], course: Course, seed: int, key: Any, var: str, cards: list[str]) -> list[str]:
    """The shuffled deck of `key` (made on its first variable, so a lone variable deals as it always did)."""
    if key not in decks:
        random.Random(f"{seed}:{course.id}:{var}").shuffle(cards)
        decks[key] = cards
    return decks[key]


def draw(
    course: Course,
    seed: int,
    trainees: list[str],
    devices: Mapping[str, DeviceInfo],
    gateways: Sequence[str] = (),
) -> dict[str, dict[str, Any]]:
    """{trainee: {variable: value, ...}}; a device variable also gives NAME_type, NAME_tenant, NAME_name."""
    out: dict[str, dict[str, Any]] = {t: {} for t in trainees}
    decks: dict[Any, list[str]] = {}
    per_deck = Counter(_deck_key(spec) for spec in course.variables.values())
    used: Counter[Any] = Counter()  # variables of each deck dealt so far
    for var, spec in course.variables.items():
        if isinstance(spec, (PickDevice, PickGateway)):
            key = _deck_key(spec)
            if isinstance(spec, PickDevice):
                cards = device_candidates(spec, devices)
                where = f" of tenant {spec.tenant}" if spec.tenant else ""
                missing = f"the scenario has no {spec.type}{where}"
            else:
                cards, missing = sorted(gateways), "the scenario declares no gateway (networks: backhauls)"
            if not cards:
                raise UsageError(f"course {course.id}: variable '{var}': {missing}")
            deck = _deal(decks, course, seed, key, var, cards)
            k, j = per_deck[key], used[key]
            used[key] += 1
            for i, trainee in enumerate(trainees):
                card = deck[(i * k + j) % len(deck)]
                out[trainee][var] = card
                if isinstance(spec, PickDevice):
                    info = devices[card]
                    out[trainee].update(
                        {f"{var}_type": info.type, f"{var}_tenant": info.tenant, f"{var}_name": info.name}
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
    for values in out.values():  # a choice of other variables: fill it once they are all drawn
        for var, spec in course.variables.items():
            if isinstance(spec, PickChoice) and isinstance(values[var], str):
                values[var] = render(values[var], values)
    return out


def _deck_key(spec: Any) -> Any:
    if isinstance(spec, PickDevice):
        return ("device", spec.type, spec.tenant)
    if isinstance(spec, PickGateway):
        return ("gateway",)
    return None
