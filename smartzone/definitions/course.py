"""Schema of a course file (courses/*.yaml): a scenario, per-trainee variables, lessons, steps, checks.

A course is data, validated like a scenario (strict: unknown keys are errors, every problem
names file, line and field). Checks are declarative: each names what SmartZone must observe
of a trainee (smartzone/classroom/checks.py evaluates them). Strings in steps and checks are
templates: `{device}`, `{city}`, `{user}` ... are filled per trainee (classroom/variables.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from smartzone.definitions.base import Duration, Id, Name, Strict
from smartzone.definitions.errors import DefinitionError
from smartzone.definitions.loader import load_model, problem_at
from smartzone.definitions.scenario import Grants
from smartzone.definitions.trouble import Trouble


class PickDevice(Strict):
    """A device of the scenario, different for each trainee while there are enough of them."""

    kind: Literal["device"]
    type: Id
    tenant: Id | None = Field(None, description="only devices of this tenant (default: any tenant)")


class PickNumber(Strict):
    """A number drawn in [min, max] on a grid of `step`."""

    kind: Literal["number"]
    min: float
    max: float
    step: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> PickNumber:
        if self.max < self.min:
            raise ValueError("'max' must not be below 'min'")
        return self


class PickGateway(Strict):
    """A gateway (a backhaul hop of kind gateway) of the scenario, different for each trainee while there are
    enough of them."""

    kind: Literal["gateway"]


class PickChoice(Strict):
    """One of a list of values; a value may be a template of other variables (`"{meter_a}"`)."""

    kind: Literal["choice"]
    values: list[str | float] = Field(min_length=1)


Variable = Annotated[PickDevice | PickNumber | PickChoice | PickGateway, Field(discriminator="kind")]


class Connected(Strict):
    """The trainee connected to the broker with its own user."""

    kind: Literal["connected"]


class Subscribed(Strict):
    """The trainee subscribed (granted) to a filter that matches `matches` and is no wider than `within`."""

    kind: Literal["subscribed"]
    matches: str = Field(description="a topic the filter must match (template)")
    within: str | None = Field(None, description="a filter that must contain the trainee's filter (template)")


class Received(Strict):
    """At least `count` messages on topics matching `topic` were delivered to the trainee."""

    kind: Literal["received"]
    topic: str = Field(description="a topic or filter (template)")
    count: int = Field(1, ge=1, le=10000)


class Commanded(Strict):
    """The trainee published a command to `device` and got an ack that says `ok` (or error `code`)."""

    kind: Literal["command"]
    device: str = Field(description="device id (template)")
    action: str | None = None
    ok: bool = True
    code: str | None = Field(None, description="the ack's error code when ok is false, e.g. invalid_params")


class ModbusUsed(Strict):
    """A Modbus client read (or wrote) registers of a device's unit (Modbus has no users: the device is
    the trainee's own, drawn from a variable; see classroom/observer.py for what is attributed)."""

    kind: Literal["modbus"]
    device: str = Field(description="device id (template)")
    table: Literal["input", "holding", "coils", "discrete"] = "input"
    address: int | str = Field(0, description="first register: a number or a template such as '{register}'")
    count: int = Field(1, ge=1, le=125)
    write: bool = False
    exception: int | None = Field(
        None, ge=1, le=255, description="the request must have been answered with this exception code instead"
    )


class Reading(Strict):
    """The trainee submitted, for this step, a number within `tolerance` of a device's live signal (a value
    read and decoded from a register or a message; a wrong decoding does not come close)."""

    kind: Literal["reading"]
    device: str = Field(description="device id (template)")
    signal: str = Field(description="signal name (template)")
    tolerance: float = Field(0.5, ge=0)


class Rate(Strict):
    """What the trainee causes stays under a rate: the messages the broker delivered to it (`deliveries`), or
    its Modbus requests to a device's unit (`modbus`), over the last `window` wall seconds; at least
    `min_count` of them, so a trainee that stopped everything does not pass."""

    kind: Literal["rate"]
    of: Literal["deliveries", "modbus"]
    device: str | None = Field(None, description="for `modbus`: the device id (template)")
    max_per_s: float = Field(gt=0, le=100000)
    window: Duration = Field(10.0, gt=0, le=3600, description="wall time looked back on")
    min_count: int = Field(1, ge=0, le=100000)

    @model_validator(mode="after")
    def _device_for_modbus(self) -> Rate:
        if self.of == "modbus" and not self.device:
            raise ValueError("a modbus rate needs 'device'")
        return self


class StateIs(Strict):
    """A device's signal or state variable satisfies a comparison now (the runtime's live state)."""

    kind: Literal["state"]
    device: str = Field(description="device id (template)")
    name: str = Field(description="signal or state variable")
    op: Literal["eq", "ne", "lt", "le", "gt", "ge"] = "eq"
    value: str | float | bool = Field(description="a value or a template such as '{target}'")
    tolerance: float = Field(0.0, ge=0)


class Answered(Strict):
    """The trainee submitted an answer equal to `equals` (numbers within `tolerance`)."""

    kind: Literal["answer"]
    equals: str | float = Field(description="the expected value or a template")
    tolerance: float = Field(0.0, ge=0)


class Certified(Strict):
    """The class certifies the trainee's copy of a sample app (classroom/certified.py) when the trainee answers
    the step, and the step is done when one run passed: `smartzone certify` on the class's scenario."""

    kind: Literal["certified"]
    sample: str = Field(description="the sample app, relative to the course file; each trainee gets a copy")
    user: str = Field("demo-app", description="the scenario user certification runs the app as")
    duration: Duration = Field(300.0, gt=0, le=86400, description="simulated time of each certification")
    speed: float = Field(60.0, gt=0, le=1000)


Check = Annotated[
    Connected | Subscribed | Received | Commanded | ModbusUsed | StateIs | Answered | Reading | Rate | Certified,
    Field(discriminator="kind"),
]


class Step(Strict):
    """One exercise: instructions (Markdown template), hints, an optional time limit and its checks."""

    id: Id
    title: str
    instructions: str = Field(description="Markdown; {variables} are filled per trainee")
    hints: list[str] = Field(default_factory=list)
    time_limit: Duration | None = Field(None, gt=0, description="wall time from the class start; later = no points")
    points: int = Field(1, ge=0, le=100)
    trouble: list[Trouble] = Field(
        default_factory=list, description="injected when the trainee reaches the step, removed when it is done"
    )
    checks: list[Check] = Field(min_length=1)


class Lesson(Strict):
    id: Id
    title: str
    intro: str = ""
    steps: list[Step] = Field(min_length=1)


class Course(Strict):
    """A learning course run on one scenario."""

    schema_version: Literal[1]
    id: Id
    title: str
    scenario: str = Field(description="shipped scenario name or file")
    seed: int = Field(1, ge=0, le=2**63 - 1, description="draws the trainees' variables")
    speed: float = Field(
        1.0, gt=0, le=1000, description="simulated seconds per wall second of the class (`--speed` overrides it)"
    )
    grants: Grants = Field(default_factory=Grants, description="what each trainee's app user may read and command")
    variables: dict[Name, Variable] = Field(default_factory=dict)
    lessons: list[Lesson] = Field(min_length=1)

    def steps(self) -> list[tuple[Lesson, Step]]:
        return [(lesson, step) for lesson in self.lessons for step in lesson.steps]


def resolve_course(name: str) -> Path:
    """A path, or the name of a shipped course ('mqtt-basics')."""
    from smartzone.definitions.catalog import builtin_dir

    path = Path(name)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in name:
        return path
    return builtin_dir("courses") / f"{name}.yaml"


def load_course(path: Path | str) -> Course:
    """Load and check one course file; DefinitionError names file, line and field."""
    course, doc = load_model(path, Course)
    seen: dict[str, tuple[Any, ...]] = {}
    problems = []
    for i, lesson in enumerate(course.lessons):
        for j, step in enumerate(lesson.steps):
            where = ("lessons", i, "steps", j, "id")
            if step.id in seen:
                problems.append(problem_at(doc, where, f"duplicate step id '{step.id}'"))
            seen[step.id] = where
            for k, check in enumerate(step.checks):
                if isinstance(check, Certified) and not (Path(path).parent / check.sample).is_file():
                    at = ("lessons", i, "steps", j, "checks", k, "sample")
                    problems.append(problem_at(doc, at, f"no file {check.sample!r} next to the course"))
    problems += _template_problems(course, doc)
    if problems:
        raise DefinitionError(problems)
    return course


COMMON_NAMES = ("city", "user", "host", "mqtt_port", "answer_topic", "gateways")
_TEMPLATE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def template_names(course: Course) -> set[str]:
    """The names a template of this course may use: the common ones and the course's variables."""
    names = set(COMMON_NAMES)
    for var, spec in course.variables.items():
        names.add(var)
        if isinstance(spec, PickDevice):
            names |= {f"{var}_type", f"{var}_tenant", f"{var}_name"}
    return names


def _template_problems(course: Course, doc: Any) -> list[Any]:
    """A `{name}` that no variable provides is a typo: name it where it is."""
    known = template_names(course)
    out = []
    for i, lesson in enumerate(course.lessons):
        texts: list[tuple[tuple[Any, ...], str]] = [(("lessons", i, "intro"), lesson.intro)]
        for j, step in enumerate(lesson.steps):
            at = ("lessons", i, "steps", j)
            texts.append(((*at, "instructions"), step.instructions))
            for part in ("checks", "trouble"):
                for k, item in enumerate(getattr(step, part)):
                    for key, value in item.model_dump().items():
                        if isinstance(value, str):
                            texts.append(((*at, part, k, key), value))
        if i == 0:
            for var, spec in course.variables.items():
                if isinstance(spec, PickChoice):
                    texts += [
                        (("variables", var, "values", k), v) for k, v in enumerate(spec.values) if isinstance(v, str)
                    ]
        for where, text in texts:
            unknown = sorted({m.group(1) for m in _TEMPLATE.finditer(text)} - known)
            if unknown:
                out.append(problem_at(doc, where, f"unknown template name(s) {unknown}; known: {sorted(known)}"))
    return out
