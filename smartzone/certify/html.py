"""report.html: one self-contained page (no scripts, no external files) from report.json's document."""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
h1{margin-bottom:.2em} .sub{color:#555}
.badge{display:inline-block;padding:.1em .6em;border-radius:.3em;font-weight:600;color:#fff}
.pass{background:#2e7d32}.warn{background:#b26a00}.fail{background:#c62828}.na{background:#777}
table{border-collapse:collapse;width:100%;margin:1em 0}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;
text-align:left;vertical-align:top} .rule{border:1px solid #ddd;border-radius:.4em;padding:.6em 1em;margin:.8em 0}
.guide{background:#f4f7fb;padding:.4em .6em;border-left:3px solid #5b8bd6} code{font-size:95%}
.tl td{font-size:12.5px} .kind{color:#555}
"""


def _badge(verdict: str) -> str:
    cls = {"pass": "pass", "warn": "warn", "fail": "fail"}.get(verdict, "na")
    return f'<span class="badge {cls}">{escape(verdict)}</span>'


def _publishes(pubs: dict[str, Any]) -> list[str]:
    """Every publish in exactly one row (report.json has all rows; the page shows the first 200)."""
    kinds = ", ".join(f"{escape(k)}: {n}" for k, n in pubs["by_kind"].items() if n)
    out = [
        f"<h2>Publishes</h2><p>{pubs['total']} publishes ({kinds or 'none'}); by QoS "
        f"{escape(str(pubs['by_qos']))}, {pubs['retained']} retained.</p>"
    ]
    if pubs["rows"]:
        out.append(
            "<table><tr><th>#</th><th>topic</th><th>kind</th><th>QoS</th><th>retain</th><th>count</th>"
            "<th>bytes</th><th>wall s</th></tr>"
        )
        for r in pubs["rows"][:200]:
            out.append(
                f"<tr><td>{r['connection']}</td><td>{escape(r['topic'])}</td><td>{escape(r['kind'])}</td>"
                f"<td>{r['qos']}</td><td>{int(r['retain'])}</td><td>{r['count']}</td><td>{r['bytes']}</td>"
                f"<td>{r['first_wall']:.2f}-{r['last_wall']:.2f}</td></tr>"
            )
        out.append("</table>")
        if len(pubs["rows"]) > 200:
            out.append(f"<p class=sub>{len(pubs['rows']) - 200} more rows in report.json.</p>")
    return out


def rules_section(doc: dict[str, Any], passes: str) -> list[str]:
    """The tally, the summary table and one block per rule (shared by certify and conform)."""
    s = doc["summary"]
    out = [
        f"<p>{s['pass']} passed, {s['warn']} warnings, {s['fail']} failed, {s['not applicable']} not applicable. "
        f"{escape(passes)}</p>",
        "<h2>Summary</h2><table><tr><th>Rule</th><th>Level</th><th>Verdict</th><th>Finding</th></tr>",
    ]
    for r in doc["rules"]:
        out.append(
            f"<tr><td><a href='#{escape(r['id'])}'>{escape(r['id'])}</a> {escape(r['title'])}</td>"
            f"<td>{r['level']}</td><td>{_badge(r['verdict'])}</td><td>{escape(r['summary'])}</td></tr>"
        )
    out.append("</table><h2>Rules</h2>")
    for r in doc["rules"]:
        counts = ", ".join(f"{escape(str(k))}: {escape(str(v))}" for k, v in r["counts"].items())
        out.append(
            f"<div class=rule id='{escape(r['id'])}'><h3>{escape(r['id'])} {escape(r['title'])} "
            f"{_badge(r['verdict'])} <small>{r['level']}</small></h3><p>{escape(r['summary'])}</p>"
        )
        if counts:
            out.append(f"<p class=sub>Evidence: {counts}</p>")
        if r["examples"]:
            out.append("<table><tr><th>wall s</th><th>simulated</th><th>what</th></tr>")
            for e in r["examples"]:
                out.append(f"<tr><td>{e['wall']:.2f}</td><td>{escape(e['sim'])}</td><td>{escape(e['text'])}</td></tr>")
            out.append("</table>")
        if r["verdict"] in ("fail", "warn"):
            out.append(f"<p class=guide><b>How to fix:</b> {escape(r['guidance'])}</p>")
        out.append("</div>")
    return out


def page_head(title: str) -> str:
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(title)}</title><style>{STYLE}</style><body>"
    )


def render(doc: dict[str, Any]) -> str:
    run = doc["run"]
    out = [
        page_head(f"SmartZone certification: {run['app']}"),
        f"<h1>Certification {_badge(doc['result'])}</h1>",
        f"<p class=sub>App <code>{escape(run['app'])}</code> as user <b>{escape(run['user'])}</b> on "
        f"{escape(run['city'])} ({escape(run['scenario'])}), broker {escape(run['broker'])}, speed x{run['speed']:g}, "
        f"seed {run['seed']}; {run['wall_seconds']} s wall = {run['sim_seconds']} s simulated "
        f"from {escape(run['sim_start'])}"
        + (f"; profile {escape(run['profile'])}" if run.get("profile") else "")
        + "</p>",
        *rules_section(doc, "The app passes when no MUST rule fails."),
    ]
    out.append(
        "<h2>Connections</h2><table><tr><th>#</th><th>client id</th><th>user</th><th>opened</th>"
        "<th>closed</th><th>subscriptions</th><th>publishes</th></tr>"
    )
    for c in doc["connections"][:200]:
        subs = ", ".join(s["filter"] + ("" if s["allowed"] else " (denied)") for s in c["subscriptions"][:8])
        closed = f"{c['closed']['wall']:.2f}" if c["closed"] else "-"
        opened = f"{c['opened']['wall']:.2f}" + (f" refused: {c['refused']}" if c["refused"] else "")
        out.append(
            f"<tr><td>{c['connection']}</td><td>{escape(c['client_id'])}</td><td>{escape(str(c['user']))}</td>"
            f"<td>{escape(opened)}</td><td>{closed}</td><td>{escape(subs)}</td><td>{c['publishes']}</td></tr>"
        )
    out.append("</table>")
    out.extend(_publishes(doc["publishes"]))
    for m in doc["modbus_clients"]:
        out.append(
            f"<p>Modbus client {escape(m['connection'])}: {m['requests']} requests, functions "
            f"{escape(str(m['functions']))}, units {escape(str(m['units'][:20]))}, exceptions "
            f"{escape(str(m['exceptions']))}</p>"
        )
    out.append("<h2>Probes</h2><table><tr><th>probe</th><th>wall s</th><th>simulated</th><th>what</th></tr>")
    for p in doc["probes"]:
        out.append(
            f"<tr><td>{escape(p['name'])}</td><td>{p['start']['wall']:.2f}-{p['end']['wall']:.2f}</td>"
            f"<td>{escape(p['start']['sim'])}</td><td>{escape(p['detail'])}</td></tr>"
        )
    out.append(
        "</table><h2>Timeline</h2><table class=tl><tr><th>wall s</th><th>simulated</th><th>kind</th><th>event</th></tr>"
    )
    for t in doc["timeline"]:
        out.append(
            f"<tr><td>{t['wall']:.2f}</td><td>{escape(t['sim'])}</td><td class=kind>{escape(t['kind'])}</td>"
            f"<td>{escape(t['text'])}</td></tr>"
        )
    out.append("</table>")
    if doc.get("notes"):
        out.append("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in doc["notes"]) + "</ul>")
    if doc.get("app_output_tail"):
        out.append(f"<h2>App output (tail)</h2><pre>{escape(doc['app_output_tail'])}</pre>")
    out.append("</body></html>\n")
    return "\n".join(out)
