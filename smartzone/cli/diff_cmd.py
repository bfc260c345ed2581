"""`smartzone diff A B`: the first divergence per device between two recordings (or traces).

Exit 0 when the event streams are identical, 1 when they differ (one line per device:
simulated time, field, A's value vs B's), 2 for a file that cannot be read.
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from smartzone.cli.errors import EXIT_FAILED, EXIT_OK, UsageError
from smartzone.runtime.recording import normalised

MISSING = "(nothing)"
IGNORED = ("ts",)  # derived from t


def add_parser(sub: Any) -> None:
    p = sub.add_parser("diff", help="compare two recordings: the first divergence per device")
    p.add_argument("a", help="a recording (or a --trace file)")
    p.add_argument("b", help="another recording (or a re-simulation of the first)")
    p.set_defaults(handler=diff)


def _events(path: str) -> Iterator[dict[str, Any]]:
    """The event records of a recording (.gz) or trace, without header, inputs and end."""
    if not Path(path).is_file():
        raise UsageError(f"{path}: no such file")
    opener = gzip.open if Path(path).read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        for lineno, line in enumerate(_lines(f), start=1):
            try:
                rec = normalised(json.loads(line))  # recording versions 1 and 2 alike
            except (ValueError, KeyError, TypeError):
                raise UsageError(f"{path}: line {lineno}: not a JSON record") from None
            if rec.get("kind") not in ("recording", "manifest", "input", "end"):
                yield rec


def _lines(f: Any) -> Iterator[str]:
    try:
        for line in f:
            if line.endswith("\n"):
                yield line
    except (EOFError, OSError):  # a recording cut by a crash: compare what was flushed
        return


def _per_device(path: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for rec in _events(path):
        key = rec.get("device") or rec.get("link") or rec.get("name") or rec.get("component") or "(city)"
        out.setdefault(str(key), []).append(rec)
    return out


def first_divergence(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> tuple[float, str, Any, Any] | None:
    """(time, field, A's value, B's value) of the first difference of two event lists, or None."""
    for ra, rb in zip(a, b, strict=False):
        if ra == rb:
            continue
        for name in [*ra, *(k for k in rb if k not in ra)]:
            if name not in IGNORED and ra.get(name, MISSING) != rb.get(name, MISSING):
                va, vb = ra.get(name, MISSING), rb.get(name, MISSING)
                if isinstance(va, dict) and isinstance(vb, dict):  # name the signal, not the whole dict
                    for sub in [*va, *(k for k in vb if k not in va)]:
                        if va.get(sub, MISSING) != vb.get(sub, MISSING):
                            return min(ra["t"], rb["t"]), f"{name}.{sub}", va.get(sub, MISSING), vb.get(sub, MISSING)
                return min(ra["t"], rb["t"]), name, va, vb
    if len(a) != len(b):
        longer = a if len(a) > len(b) else b
        extra = longer[min(len(a), len(b))]
        va = extra["kind"] if longer is a else MISSING
        vb = extra["kind"] if longer is b else MISSING
        return extra["t"], "event", va, vb
    return None


def diff(args: argparse.Namespace) -> int:
    a, b = _per_device(args.a), _per_device(args.b)
    found = []
    for key in sorted(set(a) | set(b)):
        d = first_divergence(a.get(key, []), b.get(key, []))
        if d is not None:
            found.append((d[0], key, d))
    for _, key, (t, field, va, vb) in sorted(found, key=lambda x: (x[0], x[1])):
        print(f"{key}: t={t:g}s {field}: {json.dumps(va)} vs {json.dumps(vb)}")
    if not found:
        print(f"identical: {sum(len(v) for v in a.values()):,} events")
        return EXIT_OK
    print(f"{len(found)} device(s) differ")
    return EXIT_FAILED
