"""The interoperability score: the Paho client_test behaviours x backends, from a real test run.

Runs tests/endpoints/mqtt/test_interop.py (embedded, mosquitto via SmartZone, bare mosquitto;
all real brokers on 127.0.0.1), reads pytest's JUnit XML and prints a Markdown table: pass,
known gap (a strict expected failure, with its reason) or FAIL per behaviour and backend.
With --write the table replaces the block between the markers in docs/brokers.md.

    python bench/interop_score.py [--write]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = "tests/endpoints/mqtt/test_interop.py"
DOC = ROOT / "docs" / "brokers.md"
BEGIN, END = "<!-- interop-score:begin -->", "<!-- interop-score:end -->"
BACKENDS = ("embedded", "mosquitto", "bare-mosquitto")
HEADERS = ("SmartZone embedded (amqtt)", "SmartZone mosquitto", "bare mosquitto 2.0 (reference)")


def run_tests() -> dict[tuple[str, str], tuple[str, str]]:
    """{(behaviour, backend): (outcome, reason)} from one pytest run of the interop tests."""
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "interop.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TESTS, f"--junitxml={xml}"]
        subprocess.run(cmd, cwd=ROOT, timeout=900, check=False)
        if not xml.exists():
            raise SystemExit("interop_score: pytest wrote no report")
        return parse(ET.parse(xml).getroot())


def parse(root: ET.Element) -> dict[tuple[str, str], tuple[str, str]]:
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for case in root.iter("testcase"):
        m = re.fullmatch(r"test_(\w+)\[([\w-]+)\]", case.get("name", ""))
        if m is None:
            continue
        skipped = case.find("skipped")
        failed = case.find("failure") if case.find("failure") is not None else case.find("error")
        if skipped is not None and skipped.get("type") == "pytest.xfail":
            outcome, reason = "known gap", skipped.get("message", "")
        elif skipped is not None:
            outcome, reason = "skipped", skipped.get("message", "")
        elif failed is not None:
            outcome, reason = "FAIL", (failed.get("message") or "")[:80]
        else:
            outcome, reason = "pass", ""
        out[(m.group(1).replace("_", " "), m.group(2))] = (outcome, reason)
    return out


def table(results: dict[tuple[str, str], tuple[str, str]]) -> str:
    """The Markdown table, then one numbered note per known gap."""
    behaviours = list(dict.fromkeys(b for b, _ in results))
    notes: list[str] = []
    lines = ["| behaviour | " + " | ".join(HEADERS) + " |", "|---|" + "---|" * len(BACKENDS)]
    for behaviour in behaviours:
        cells = []
        for backend in BACKENDS:
            outcome, reason = results.get((behaviour, backend), ("not run", ""))
            if outcome == "known gap":
                reason = reason.removeprefix("reason: ")
                if reason not in notes:
                    notes.append(reason)
                outcome = f"known gap ({notes.index(reason) + 1})"
            cells.append(outcome)
        lines.append(f"| {behaviour} | " + " | ".join(cells) + " |")
    lines += ["", *(f"- ({i}) {n}" for i, n in enumerate(notes, 1))]
    return "\n".join(lines)


def write(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"interop_score: {DOC} has no {BEGIN} ... {END} block")
    head, rest = doc.split(BEGIN, 1)
    DOC.write_text(head + BEGIN + "\n" + text + "\n" + END + rest.split(END, 1)[1], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"replace the table in {DOC.relative_to(ROOT)}")
    args = parser.parse_args()
    text = table(run_tests())
    print(text)
    if args.write:
        write(text)


if __name__ == "__main__":
    main()
