"""Printable HTML: one handout per trainee (credentials, connection lines, instructions); the
trainer's summary is export.py's.

Instructions are Markdown; a small subset is rendered (paragraphs, `- ` lists, `code`, fenced
blocks, **bold**): enough for exercises, with everything escaped first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartzone.classroom.roster import Trainee
from smartzone.classroom.variables import render
from smartzone.definitions.course import Course
from smartzone.endpoints.client_lines import mbpoll, mosquitto_pub, mosquitto_sub, paho_connect
from smartzone.endpoints.mqtt.topics import Topics

STYLE = (
    "body{font-family:sans-serif;max-width:48em;margin:2em auto;line-height:1.4}"
    "pre{background:#f4f4f4;padding:.6em;white-space:pre-wrap;word-break:break-all}"
    "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em}"
    ".step{page-break-inside:avoid}@media print{body{margin:0}}"
)


@dataclass
class Endpoints:
    """Where trainees connect (the class's real, bound addresses)."""

    city: str
    host: str
    mqtt_port: int | None
    modbus: dict[str, tuple[int, int]] = field(default_factory=dict)  # device -> (gateway port, unit id)
    modbus_tls: Path | None = None  # Modbus/TCP Security: the certificate folder (endpoints/modbus/certs.py)


def _tls_files(t: Trainee, folder: Path) -> list[tuple[str, str]]:
    """The three files a trainee saves to speak Modbus/TCP Security: the CA, its certificate and key."""
    files = [("ca.pem", folder / "ca.pem"), (f"{t.user}.pem", folder / "users" / f"{t.user}.pem")]
    files.append((f"{t.user}-key.pem", folder / "users" / f"{t.user}-key.pem"))
    return [(f"save as {name}", path.read_text(encoding="ascii")) for name, path in files]


def _tls_client(t: Trainee, host: str, port: int, unit: int) -> str:
    return (
        "import ssl\n"
        "from pymodbus.client import ModbusTlsClient\n"
        "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n"
        "ctx.load_verify_locations('ca.pem')\n"
        f"ctx.load_cert_chain('{t.user}.pem', '{t.user}-key.pem')\n"
        "ctx.check_hostname = False  # pymodbus's sync TLS client sends no server name\n"
        f"c = ModbusTlsClient('{host}', port={port}, sslctx=ctx)\n"
        "c.connect()\n"
        f"print(c.read_input_registers(0, count=10, device_id={unit}).registers)"
    )


def markdown(text: str) -> str:
    """A small, safe Markdown subset to HTML."""
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []

    def inline(s: str) -> str:
        s = html.escape(s)
        s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
        return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", s)

    def flush() -> None:
        if para:
            out.append(f"<p>{inline(' '.join(para))}</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            flush()
            block = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                block.append(lines[i])
                i += 1
            out.append(f"<pre>{html.escape(chr(10).join(block))}</pre>")
        elif line.lstrip().startswith("- "):
            if para:
                flush()
            items.append(line.lstrip()[2:])
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    return "\n".join(out)


def answer_topic(city: str, user: str) -> str:
    return Topics(city).answer(user)


def connection_lines(t: Trainee, ep: Endpoints, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, command) lines a trainee can paste."""
    lines: list[tuple[str, str]] = []
    if ep.mqtt_port is not None:
        host, port, user, password = ep.host, ep.mqtt_port, t.user, t.password
        tenants = Topics(ep.city).tenants()
        lines.append(("subscribe", mosquitto_sub(host, port, tenants, user, password, client_id=f"{user}-sub")))
        example = '{"step": "STEP-ID", "value": "YOUR ANSWER"}'
        answer = answer_topic(ep.city, user)
        lines.append(("answer", mosquitto_pub(host, port, answer, example, user, password, client_id=f"{user}-pub")))
        lines.append(("paho (Python)", paho_connect(host, port, user, password, client_id=f"{user}-app")))
    devices = [
        (dev, *ep.modbus[dev])
        for var, dev in values.items()
        if isinstance(dev, str) and dev in ep.modbus and not var.endswith(("_type", "_tenant", "_name"))
    ]
    if ep.modbus_tls is not None and devices:  # mbpoll speaks no TLS: pymodbus with the trainee's certificate
        lines += _tls_files(t, ep.modbus_tls)
        lines += [(f"Modbus/TCP Security ({d}), pymodbus", _tls_client(t, ep.host, p, u)) for d, p, u in devices]
        return lines
    for dev, port, unit in devices:
        lines.append((f"Modbus ({dev})", mbpoll(ep.host, port, unit)))
    return lines


def trainee_handout(course: Course, t: Trainee, ep: Endpoints, values: Mapping[str, Any]) -> str:
    e = html.escape
    rows = [
        ("name", t.name),
        ("user", t.user),
        ("password", t.password),
        ("MQTT broker", f"{ep.host}:{ep.mqtt_port}" if ep.mqtt_port is not None else "(no MQTT in this class)"),
        ("client id", f"{t.user} or {t.user}-anything"),
        ("city", ep.city),
        ("answers", f'publish JSON {{"step": STEP-ID, "value": ...}} on {answer_topic(ep.city, t.user)}'),
    ]
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(course.title)}: {e(t.name)}</title>"
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{e(course.title)}</h1>",
        "<table>" + "".join(f"<tr><th>{e(k)}</th><td><code>{e(v)}</code></td></tr>" for k, v in rows) + "</table>",
        "<h2>Connecting</h2>",
    ]
    parts += [f"<p>{e(label)}:</p><pre>{e(cmd)}</pre>" for label, cmd in connection_lines(t, ep, values)]
    for lesson in course.lessons:
        parts.append(f"<h2>{e(lesson.title)}</h2>")
        if lesson.intro:
            parts.append(markdown(render(lesson.intro, values)))
        for step in lesson.steps:
            limit = f" (within {step.time_limit / 60:g} min)" if step.time_limit else ""
            parts.append(
                f"<div class='step'><h3>{e(step.title)} <small>step <code>{e(step.id)}</code>, "
                f"{step.points} point(s){e(limit)}</small></h3>{markdown(render(step.instructions, values))}</div>"
            )
    parts.append("</body></html>\n")
    return "\n".join(parts)
