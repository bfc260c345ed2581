"""Rules, outcomes and verdicts: the vocabulary shared by the rule modules and the reports.

A rule looks at Observations and returns an Outcome: `ok`, `bad` (the rule is broken),
`minor` (worth a warning whatever the level) or `na` (nothing to judge). Its level turns
the outcome into a verdict: bad + MUST = fail, bad + SHOULD = warn, minor = warn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from smartzone.certify.profile import Budget, Thresholds
from smartzone.certify.records import Observations, Stamp

Level = Literal["MUST", "SHOULD"]
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Example:
    at: Stamp
    text: str

    def record(self) -> dict[str, Any]:
        return {"wall": self.at.wall, "sim": self.at.sim, "text": self.text}


@dataclass(frozen=True)
class Outcome:
    status: Literal["ok", "bad", "minor", "na"]
    summary: str
    counts: dict[str, float] = field(default_factory=dict)
    examples: tuple[Example, ...] = ()


def outcome(
    status: str, summary: str, counts: Mapping[str, float] | None = None, examples: Iterable[Example] = ()
) -> Outcome:
    """An Outcome with at most MAX_EXAMPLES examples (status: ok | bad | minor | na)."""
    if status not in ("ok", "bad", "minor", "na"):
        raise ValueError(f"unknown outcome status {status!r}")
    return Outcome(status, summary, dict(counts or {}), tuple(list(examples)[:MAX_EXAMPLES]))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Context:
    """What rules may know besides the observations."""

    thresholds: Thresholds
    uses: frozenset[str] = frozenset()  # devices the profile says the app uses
    outage: tuple[float, float] | None = None  # wall window of the broker-restart outage
    budget: Budget = field(default_factory=Budget)  # the platform cost allowed (SZ-COST-01)


Check = Callable[[Observations, Context], Outcome]


@dataclass(frozen=True)
class Rule:
    id: str
    level: Level
    title: str
    guidance: str
    check: Check


@dataclass(frozen=True)
class Verdict:
    id: str
    level: Level
    title: str
    verdict: str
    summary: str
    guidance: str
    counts: dict[str, float]
    examples: tuple[Example, ...]

    @property
    def failed(self) -> bool:
        return self.verdict == "fail"

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "level": self.level,
            "title": self.title,
            "verdict": self.verdict,
            "summary": self.summary,
            "guidance": self.guidance,
            "counts": dict(self.counts),
            "examples": [e.record() for e in self.examples],
        }


class Described(Protocol):
    """What a verdict needs of its rule (a certify Rule, or a conform rule: smartzone/conform/rules.py)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def guidance(self) -> str: ...


def judge(rule: Described, level: Level, out: Outcome) -> Verdict:
    if out.status == "na":
        verdict = "not applicable"
    elif out.status == "ok":
        verdict = "pass"
    elif out.status == "minor":
        verdict = "warn"
    else:
        verdict = "fail" if level == "MUST" else "warn"
    return Verdict(rule.id, level, rule.title, verdict, out.summary, rule.guidance, out.counts, out.examples)


def max_in_window(times: list[float], window: float) -> tuple[int, float]:
    """Largest number of events within any `window` seconds, and where that window starts."""
    times = sorted(times)
    best, start, j = 0, 0.0, 0
    for i, t in enumerate(times):
        while t - times[j] > window:
            j += 1
        if i - j + 1 > best:
            best, start = i - j + 1, times[j]
    return best, start
