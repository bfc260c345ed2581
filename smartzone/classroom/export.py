"""A class's results: results.csv, results.json and summary.html, at the end of a class and on demand.

`smartzone class start` writes them when the class ends; `smartzone class export DIR` and the
GUI board's Export button write them from DIR/progress.json at any moment (the class may be
running: progress.json is replaced atomically, so it is always whole). Per trainee: the score,
and per step done / attempts / time / hints; for the class: the averages; the course title and
the date of the export.
"""

from __future__ import annotations

import csv
import html
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smartzone.classroom.progress import COURSE_COPY, Progress, load_progress
from smartzone.classroom.roster import ROSTER, read_roster
from smartzone.definitions.course import load_course
from smartzone.errors import UsageError

FILES = ("results.csv", "results.json", "summary.html")
STYLE = (
    "body{font-family:sans-serif;margin:2em;line-height:1.4}"
    "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;text-align:left}"
    "td.done{background:#d1fae5}td.tried{background:#fef3c7}tfoot td,tfoot th{font-weight:600}"
)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def results(progress: Progress, title: str, names: Mapping[str, str], now: float | None = None) -> dict[str, Any]:
    """The results as one document: per trainee and step, plus the class averages."""
    now = time.time() if now is None else now
    trainees: list[dict[str, Any]] = []
    for user in progress.trainees:
        done, score = progress.total(user)
        steps = {}
        for step in progress.steps:
            c = progress.cell(user, step)
            steps[step] = {
                "done": c.done,
                "attempts": c.attempts,
                "time_s": c.time,
                "score": c.score,
                "late": c.late,
                "hints": c.hints,
            }
        trainees.append({"user": user, "name": names.get(user, user), "done": done, "score": score, "steps": steps})
    per_step = {}
    for step in progress.steps:
        cells = [progress.cell(u, step) for u in progress.trainees]
        per_step[step] = {
            "done": _mean([float(c.done) for c in cells]),  # the share of the class that did it
            "attempts": _mean([float(c.attempts) for c in cells]),
            "time_s": _mean([c.time for c in cells if c.done and c.time is not None]),
            "hints": _mean([float(c.hints) for c in cells]),
        }
    return {
        "course": progress.course,
        "title": title,
        "date": time.strftime("%Y-%m-%d %H:%M", time.localtime(now)),
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(progress.started)),
        "steps": progress.steps,
        "points": progress.points,
        "max_score": sum(progress.points.get(s, 0) for s in progress.steps),
        "trainees": trainees,
        "averages": {
            "score": _mean([float(t["score"]) for t in trainees]),
            "done": _mean([float(t["done"]) for t in trainees]),
            "steps": per_step,
        },
    }


def summary_html(doc: Mapping[str, Any]) -> str:
    """A printable page: one row per trainee, one column per step, the class averages below."""
    e = html.escape
    steps = doc["steps"]
    head = "".join(f"<th>{e(s)}</th>" for s in steps)
    rows = []
    for t in doc["trainees"]:
        cells = []
        for s in steps:
            c = t["steps"][s]
            state = "done" if c["done"] else ("tried" if c["attempts"] else "")
            when = f" {c['time_s']:.0f} s" if c["done"] and c["time_s"] is not None else ""
            late = " (late)" if c["late"] else ""
            small = f"<small>{c['attempts']} attempts, {c['hints']} hints</small>"
            cells.append(f"<td class='{state}'>{state}{when}{late}<br>{small}</td>")
        rows.append(
            f"<tr><th>{e(t['name'])}<br><small>{e(t['user'])}</small></th>{''.join(cells)}"
            f"<td>{t['done']}/{len(steps)}</td><td>{t['score']}/{doc['max_score']}</td></tr>"
        )
    avg = doc["averages"]
    foot = []
    for s in steps:
        a = avg["steps"][s]
        share = 0.0 if a["done"] is None else a["done"]
        when = "" if a["time_s"] is None else f", {a['time_s']:.0f} s"
        foot.append(f"<td>{share:.0%} done{when}<br><small>{a['attempts']} attempts, {a['hints']} hints</small></td>")
    title = e(doc["title"])
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}: results</title>"
        f"<style>{STYLE}</style></head><body><h1>{title}: results</h1>"
        f"<p>Course <code>{e(doc['course'])}</code>, class started {e(doc['started'])}, "
        f"results of {e(doc['date'])}; {len(doc['trainees'])} trainees.</p>"
        f"<table><thead><tr><th>trainee</th>{head}<th>done</th><th>score</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody><tfoot><tr><th>class average</th>{''.join(foot)}"
        f"<td>{avg['done']}</td><td>{avg['score']}</td></tr></tfoot></table></body></html>\n"
    )


def export(folder: Path, progress: Progress, title: str, names: Mapping[str, str]) -> list[Path]:
    """Write the three result files into `folder`; returns their paths."""
    doc = results(progress, title, names)
    paths = [folder / name for name in FILES]
    paths[1].write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    with paths[0].open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["user", "name", "step", "done", "attempts", "time_s", "score", "late", "hints"])
        for user in progress.trainees:
            for step in progress.steps:
                c = progress.cell(user, step)
                name = names.get(user, user)
                w.writerow([user, name, step, c.done, c.attempts, c.time, c.score, c.late, c.hints])
    paths[2].write_text(summary_html(doc), encoding="utf-8")
    return paths


def export_folder(folder: Path) -> list[Path]:
    """Export the class in `folder` from its saved progress (running or not); one line if there is none."""
    progress = load_progress(folder)
    if progress is None:
        raise UsageError(f"{folder}: no class here (no progress.json; start one with `smartzone class start`)")
    names = {t.user: t.name for t in read_roster(folder / ROSTER)} if (folder / ROSTER).exists() else {}
    title = load_course(folder / COURSE_COPY).title if (folder / COURSE_COPY).exists() else progress.course
    try:
        return export(folder, progress, title, names)
    except OSError as exc:
        raise UsageError(f"{folder}: cannot write the results: {exc.strerror}") from None
