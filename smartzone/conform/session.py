"""Conformance of one device-type file: load it, run its trial, judge every rule, write the reports.

The reports are certify's: the same verdicts (pass / warn / fail / not applicable), the
same report.json layout for the rules, junit.xml and a report.html built from the same
sections (smartzone/certify/report.py and html.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from smartzone.certify.html import _badge, page_head, rules_section
from smartzone.certify.report import junit_suite
from smartzone.certify.verdicts import Verdict, judge
from smartzone.conform.rules import RULES, Subject
from smartzone.conform.trial import DAY, run_trial
from smartzone.definitions.catalog import Catalog
from smartzone.definitions.device_type import DeviceType


@dataclass(frozen=True)
class ConformResult:
    dt: DeviceType
    verdicts: list[Verdict]
    paths: dict[str, Path]

    @property
    def passed(self) -> bool:
        return not any(v.failed for v in self.verdicts)


def load_target(path: Path) -> tuple[DeviceType, Catalog]:
    """The device type of *path* in the built-in catalog (it may replace a built-in type of its id).

    Raises DefinitionError (file, line, field) when the file is not a valid device type."""
    catalog = Catalog.builtin()
    dt = catalog.add_file(path, override=True)
    return dt, catalog


def judge_type(dt: DeviceType, catalog: Catalog, file: str) -> list[Verdict]:
    subject = Subject(dt, file, run_trial(dt, catalog))
    return [judge(rule, rule.level, rule.check(subject)) for rule in RULES]


def document(dt: DeviceType, file: str, verdicts: list[Verdict], **target: Any) -> dict[str, Any]:
    """report.json: the verdicts, and what was checked (`target`: the trial's or the observation's facts)."""
    tally = {v: sum(1 for x in verdicts if x.verdict == v) for v in ("pass", "warn", "fail", "not applicable")}
    rules = []
    for v in verdicts:
        rec = v.record()
        rec["examples"] = [{"wall": 0.0, "sim": f"+{e.at.sim:.0f} s", "text": e.text} for e in v.examples]
        rules.append(rec)
    return {
        "result": "fail" if any(v.failed for v in verdicts) else "pass",
        "summary": tally,
        "target": {
            "file": file,
            "type": dt.type,
            "name": dt.name,
            "ngsi_type": dt.ngsi_type,
            **(target or {"trial_seconds": DAY}),
            "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "rules": rules,
    }


def render(doc: dict[str, Any]) -> str:
    t = doc["target"]
    if "device" in t:
        what = (
            f"Bridged device <b>{escape(t['device'])}</b> of type <b>{escape(t['type'])}</b> ({escape(t['name'])}) "
            f"in the scenario <code>{escape(t['file'])}</code>, observed for {t['observed_seconds']:g} s of wall "
            "clock: what it really sent through its mapping. Examples give the simulated time from the start."
        )
    else:
        what = (
            f"Device type <b>{escape(t['type'])}</b> ({escape(t['name'])}) from <code>{escape(t['file'])}</code>, "
            f"NGSI-LD type {escape(t['ngsi_type'])}; one device run for a simulated day "
            f"({t['trial_seconds']:g} s) in a headless city. Examples give the simulated time from the start."
        )
    out = [
        page_head(f"SmartZone conformance: {t.get('device', t['type'])}"),
        f"<h1>Conformance {_badge(doc['result'])}</h1>",
        f"<p class=sub>{what}</p>",
        *rules_section(doc, "The device conforms when no MUST rule fails."),
        "</body></html>\n",
    ]
    return "\n".join(out)


def write_reports(report: Path, doc: dict[str, Any], name: str, verdicts: list[Verdict]) -> dict[str, Path]:
    """report.json, junit.xml and report.html of one conformance check in `report`."""
    report.mkdir(parents=True, exist_ok=True)
    paths = {"json": report / "report.json", "junit": report / "junit.xml", "html": report / "report.html"}
    paths["json"].write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    props = {k: str(v) for k, v in doc["target"].items() if k in ("type", "file", "device")}
    paths["junit"].write_bytes(junit_suite(f"smartzone conform {name}", "conform", props, verdicts))
    paths["html"].write_text(render(doc), encoding="utf-8")
    return paths


def conform(path: Path, report: Path) -> ConformResult:
    dt, catalog = load_target(path)
    verdicts = judge_type(dt, catalog, str(path))
    paths = write_reports(report, document(dt, str(path), verdicts), dt.type, verdicts)
    return ConformResult(dt, verdicts, paths)
