"""Every relative link in the docs resolves: files that exist, #anchors that name a heading.

Covers docs/*.md and README.md (markdown links and images), and the places where the code
sends a user to the docs: certification texts and templates (`docs/api.md`, optionally with
`#anchor` or followed by a quoted section title, as SZ-APP-02's hint does).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([*ROOT.glob("docs/*.md"), ROOT / "README.md"])
GUIDANCE = sorted(p for p in (ROOT / "smartzone" / "certify").rglob("*") if p.suffix in (".py", ".html", ".txt", ".md"))
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
DOC_MENTION = re.compile(r"docs/([\w.-]+\.md)(#[\w-]+)?(?:,\s*\\?\"([^\"\\]+)\\?\")?")
FENCE = re.compile(r"^\s*(```|~~~)")


def headings(path: Path) -> list[str]:
    """The headings of a markdown file outside code blocks."""
    out, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (m := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)):
            out.append(m.group(1))
    return out


def slugs(path: Path) -> set[str]:
    """GitHub's anchors for a file's headings (lowercase, punctuation dropped, spaces to
    hyphens, -1, -2 ... for repeats)."""
    seen: dict[str, int] = {}
    out = set()
    for title in headings(path):
        text = re.sub(r"[`*_]|<[^>]+>", "", title).strip().lower()
        slug = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def links(page: Path) -> list[str]:
    text, fenced, kept = page.read_text(encoding="utf-8"), False, []
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            kept.append(line)
    return LINK.findall("\n".join(kept))


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_relative_links_and_anchors_resolve(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...
            continue
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in slugs(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_docs_the_certification_guidance_points_at_exist() -> None:
    broken, mentions = [], 0
    for source in GUIDANCE:
        for name, anchor, title in DOC_MENTION.findall(source.read_text(encoding="utf-8")):
            mentions += 1
            dest = ROOT / "docs" / name
            if not dest.exists():
                broken.append(f"{source.name}: docs/{name}")
                continue
            if anchor and anchor[1:] not in slugs(dest):
                broken.append(f"{source.name}: docs/{name}{anchor}")
            if title and title not in headings(dest):
                broken.append(f'{source.name}: docs/{name}, "{title}"')
    assert mentions > 0
    assert not broken, broken


def test_the_slugs_follow_github() -> None:
    page = ROOT / "docs" / "api.md"
    assert {"environment-variables-for-apps", "actuators-state-telemetry-and-acks-agree"} <= slugs(page)
