"""The trainees of a class: names, users, passwords; the roster CSV; their users in the scenario.

Each trainee gets an app user (the course's grants) and a password; MQTT client ids must be the
user name or start with `{user}-` (docs/api.md), so every trainee has a private prefix. The
roster is written once to the class folder and read back on a restart, so passwords survive.
"""

from __future__ import annotations

import csv
import re
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from smartzone.definitions.course import Course
from smartzone.definitions.scenario import Scenario, User
from smartzone.errors import UsageError

MAX_TRAINEES = 200
ROSTER = "roster.csv"
FIELDS = ("name", "user", "password", "handout")
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Trainee:
    name: str  # as the trainer wrote it
    user: str  # MQTT user, also the client-id prefix
    password: str

    @property
    def handout(self) -> str:
        return f"handout-{self.user}.html"


def _password() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(12))


def slug(name: str) -> str:
    """A user name from a person's name: lowercase [a-z0-9-]."""
    text = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    return text[:40] or "trainee"


def numbered(count: int) -> list[Trainee]:
    if not 1 <= count <= MAX_TRAINEES:
        raise UsageError(f"--trainees must be from 1 to {MAX_TRAINEES}, got {count}")
    return [Trainee(f"Trainee {i:02d}", f"trainee-{i:02d}", _password()) for i in range(1, count + 1)]


def read_roster(path: Path) -> list[Trainee]:
    """A roster CSV with a `name` column (and optional `user`, `password`); one clear line on a mistake."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            rows = [(reader.line_num, row) for row in reader]  # the file's line (blank lines are skipped)
    except OSError as exc:
        raise UsageError(f"--roster: cannot read {path}: {exc.strerror}") from None
    out: list[Trainee] = []
    seen: set[str] = set()
    for line, row in rows:
        name = (row.get("name") or "").strip()
        if not name:
            raise UsageError(f"{path}:{line}: field 'name' is empty (the header needs a 'name' column)")
        user = (row.get("user") or "").strip() or slug(name)
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", user):
            raise UsageError(f"{path}:{line}: field 'user': {user!r} must be lowercase letters, digits and '-'")
        if user in seen:
            raise UsageError(f"{path}:{line}: field 'user': {user!r} is used twice (add a 'user' column)")
        seen.add(user)
        password = (row.get("password") or "").strip() or _password()
        if len(password) < 4:
            raise UsageError(f"{path}:{line}: field 'password': at least 4 characters")
        out.append(Trainee(name, user, password))
    if not out:
        raise UsageError(f"{path}: no trainees (one row per trainee under a 'name' header)")
    if len(out) > MAX_TRAINEES:
        raise UsageError(f"{path}: {len(out)} trainees; at most {MAX_TRAINEES}")
    return out


def write_roster(path: Path, trainees: list[Trainee]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        for t in trainees:
            w.writerow((t.name, t.user, t.password, t.handout))


def with_trainees(scenario: Scenario, course: Course, trainees: list[Trainee]) -> Scenario:
    """A copy of `scenario` whose users include the trainees (role app, the course's grants)."""
    taken = {u.name for u in scenario.users}
    clash = [t.user for t in trainees if t.user in taken]
    if clash:
        raise UsageError(f"trainee user {clash[0]!r} is already a user of scenario {scenario.city}; rename it")
    tenants = {t.id for t in scenario.tenants}
    for tenant in [*course.grants.read, *course.grants.command]:
        if tenant not in tenants:
            raise UsageError(f"course {course.id}: grants name tenant {tenant!r}, not in scenario {scenario.city}")
    users = [User(name=t.user, password=t.password, role="app", grants=course.grants) for t in trainees]
    return scenario.model_copy(update={"users": [*scenario.users, *users]})
