"""Certification reports: report.json (machines), junit.xml (CI), report.html (people).

junit.xml has one testcase per rule: a MUST failure is a <failure>, a warning is a
property plus a line in <system-out>, "not applicable" is <skipped>. Timestamps: `wall`
is seconds since certification started; `sim` is the simulated time (ISO 8601 UTC).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from smartzone.certify.accounting import account
from smartzone.certify.records import Observations, Stamp
from smartzone.certify.verdicts import Verdict

TIMELINE_MAX = 400


@dataclass(frozen=True)
class RunInfo:
    scenario: str
    city: str
    user: str
    app: str
    backend: str
    speed: float
    seed: int
    start: datetime  # simulated time 0
    passed: bool
    profile: str | None = None


def iso(start: datetime, sim: float) -> str:
    return (start + timedelta(seconds=sim)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _stamp(info: RunInfo, at: Stamp) -> dict[str, Any]:
    return {"wall": at.wall, "sim": iso(info.start, at.sim)}


def timeline(info: RunInfo, obs: Observations) -> list[dict[str, Any]]:
    """The run's notable moments, in wall-clock order (capped at TIMELINE_MAX)."""
    items: list[tuple[Stamp, str, str]] = []
    for c in obs.connects:
        items.append(
            (
                c.at,
                "connect",
                f"CONNECT {c.client_id!r} as {c.user!r}" + (f": refused ({c.refused})" if c.refused else ""),
            )
        )
    for number, at in obs.closes:
        items.append((at, "disconnect", f"connection {number} closed"))
    for s in obs.subscribes:
        items.append((s.at, "subscribe", f"SUBSCRIBE {s.filter} QoS {s.qos}" + ("" if s.allowed else " (denied)")))
    for p in obs.publishes:
        items.append(
            (
                p.at,
                "publish",
                f"PUBLISH {p.topic} QoS {p.qos}" + (" retain" if p.retain else "") + ("" if p.allowed else " (denied)"),
            )
        )
    for a in obs.acks:
        if not a.ok:
            items.append((a.at, "ack", f"cmd/ack error {a.code} for {a.device}"))
    for m in obs.modbus:
        if m.exception is not None:
            items.append((m.at, "modbus", f"Modbus {m.gateway} unit {m.unit} fc {m.function}: exception {m.exception}"))
    for probe in obs.probes:
        items.append((probe.start, "probe", f"probe {probe.name} starts: {probe.detail}"))
        items.append((probe.end, "probe", f"probe {probe.name} ends"))
    if obs.app_exit_at is not None:
        items.append((obs.app_exit_at, "app", f"app exited with code {obs.app_exit}"))
    items.sort(key=lambda i: i[0].wall)
    return [{**_stamp(info, at), "kind": kind, "text": text} for at, kind, text in _thin(items)]


def _thin(items: list[tuple[Stamp, str, str]]) -> list[tuple[Stamp, str, str]]:
    """At most TIMELINE_MAX lines: every probe and app line, the rest evenly; a closing line
    says how many of each kind were left out (they are all counted elsewhere in the report:
    publishes in `publishes`, the others in `observed` and `connections`)."""
    if len(items) <= TIMELINE_MAX:
        return items
    keep = [i for i in items if i[1] in ("probe", "app")]
    rest = [i for i in items if i[1] not in ("probe", "app")]
    room = TIMELINE_MAX - len(keep) - 1
    step = len(rest) / room
    shown = [rest[int(k * step)] for k in range(room)]
    left_out = Counter(i[1] for i in rest) - Counter(i[1] for i in shown)
    text = "timeline thinned: not shown " + ", ".join(f"{n} {k}" for k, n in sorted(left_out.items()))
    text += " (every publish is listed in the report's publishes section)"
    return [*sorted(keep + shown, key=lambda i: i[0].wall), (items[-1][0], "note", text)]


def connections(info: RunInfo, obs: Observations) -> list[dict[str, Any]]:
    """Per MQTT connection the app opened (or tried): who, when, and what it did on it."""
    closed = dict(obs.closes)
    out = []
    for c in obs.connects:
        subs = [s for s in obs.subscribes if s.conn == c.conn]
        pubs = [p for p in obs.publishes if p.conn == c.conn]
        out.append(
            {
                "connection": c.conn,
                "client_id": c.client_id,
                "user": c.user,
                "mqtt_level": c.level,
                "clean_session": c.clean,
                "refused": c.refused,
                "opened": _stamp(info, c.at),
                "closed": _stamp(info, closed[c.conn]) if c.conn in closed else None,
                "subscriptions": [{"filter": s.filter, "qos": s.qos, "allowed": s.allowed} for s in subs[:50]],
                "publishes": len(pubs),
                "publishes_denied": sum(not p.allowed for p in pubs),
                "publishes_retained": sum(p.retain for p in pubs),
                "publishes_by_qos": {str(q): sum(p.qos == q for p in pubs) for q in (0, 1, 2)},
            }
        )
    return out


def modbus_clients(obs: Observations) -> list[dict[str, Any]]:
    """Per Modbus client connection: requests by function code and exceptions caused."""
    by_conn: dict[str, list[Any]] = {}
    for m in obs.modbus:
        by_conn.setdefault(m.conn, []).append(m)
    return [
        {
            "connection": conn,
            "requests": len(recs),
            "functions": {str(fc): sum(r.function == fc for r in recs) for fc in sorted({r.function for r in recs})},
            "units": sorted({r.unit for r in recs}),
            "exceptions": {
                str(e): sum(r.exception == e for r in recs)
                for e in sorted({r.exception for r in recs if r.exception is not None})
            },
        }
        for conn, recs in by_conn.items()
    ]


def document(info: RunInfo, obs: Observations, verdicts: list[Verdict]) -> dict[str, Any]:
    tally = {v: sum(1 for x in verdicts if x.verdict == v) for v in ("pass", "warn", "fail", "not applicable")}
    rules = []
    for v in verdicts:
        rec = v.record()
        rec["examples"] = [{**_stamp(info, e.at), "text": e.text} for e in v.examples]
        rules.append(rec)
    return {
        "result": "pass" if info.passed else "fail",
        "summary": tally,
        "run": {
            "scenario": info.scenario,
            "city": info.city,
            "user": info.user,
            "app": info.app,
            "broker": info.backend,
            "speed": info.speed,
            "seed": info.seed,
            "profile": info.profile,
            "sim_start": iso(info.start, 0),
            "wall_seconds": round(obs.wall_duration, 2),
            "sim_seconds": round(obs.sim_duration, 1),
        },
        "observed": {
            "connects": len(obs.connects),
            "subscribes": len(obs.subscribes),
            "publishes": len(obs.publishes),
            "messages_delivered": obs.total_delivered,
            "acks": len(obs.acks),
            "modbus_requests": len(obs.modbus),
            "commands": len(obs.commands),
        },
        "publishes": account(obs),
        "broker_denied": obs.broker_denied,
        "connections": connections(info, obs),
        "modbus_clients": modbus_clients(obs),
        "probes": [
            {
                "name": p.name,
                "start": _stamp(info, p.start),
                "end": _stamp(info, p.end),
                "detail": p.detail,
                "targets": list(p.targets),
            }
            for p in obs.probes
        ],
        "rules": rules,
        "notes": obs.notes,
        "timeline": timeline(info, obs),
        "app_output_tail": obs.app_output[-4000:],
    }


def junit(info: RunInfo, verdicts: list[Verdict]) -> bytes:
    props = {"city": info.city, "user": info.user, "broker": info.backend, "seed": str(info.seed)}
    return junit_suite(f"smartzone certify {info.app}", "certify", props, verdicts)


def junit_suite(name: str, prefix: str, properties: dict[str, str], verdicts: list[Verdict]) -> bytes:
    """A JUnit testsuite with one testcase per verdict (shared by certify and conform)."""
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(verdicts)),
        failures=str(sum(v.failed for v in verdicts)),
        skipped=str(sum(v.verdict == "not applicable" for v in verdicts)),
        errors="0",
    )
    props = ET.SubElement(suite, "properties")
    for k, val in properties.items():
        ET.SubElement(props, "property", name=k, value=val)
    for v in verdicts:
        case = ET.SubElement(suite, "testcase", classname=f"{prefix}.{v.level}", name=f"{v.id} {v.title}")
        cprops = ET.SubElement(case, "properties")
        ET.SubElement(cprops, "property", name="verdict", value=v.verdict)
        ET.SubElement(cprops, "property", name="level", value=v.level)
        detail = "\n".join(
            [v.summary, *(f"  at {e.at.wall:.2f} s: {e.text}" for e in v.examples), f"How to fix: {v.guidance}"]
        )
        if v.verdict == "fail":
            ET.SubElement(case, "failure", message=v.summary, type=v.level).text = detail
        elif v.verdict == "not applicable":
            ET.SubElement(case, "skipped", message=v.summary)
        elif v.verdict == "warn":
            ET.SubElement(cprops, "property", name="warning", value=v.summary)
        ET.SubElement(case, "system-out").text = f"{v.verdict.upper()}: {detail}"
    ET.indent(suite)
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)


def write_reports(directory: Path, info: RunInfo, obs: Observations, verdicts: list[Verdict]) -> dict[str, Path]:
    from smartzone.certify.html import render  # the page template lives apart

    directory.mkdir(parents=True, exist_ok=True)
    doc = document(info, obs, verdicts)
    paths = {"json": directory / "report.json", "junit": directory / "junit.xml", "html": directory / "report.html"}
    paths["json"].write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    paths["junit"].write_bytes(junit(info, verdicts))
    paths["html"].write_text(render(doc), encoding="utf-8")
    return paths
