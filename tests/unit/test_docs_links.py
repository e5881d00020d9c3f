"""README.md and docs/ are read in the repository alone: every link in them leads to a file of the repository (and,
with a `#fragment`, to a heading of that file, as GitHub spells its anchors), none leads outside, and every page
of docs/ can be reached from README."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[(?:[^\]`]|`[^`]*`)*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def _prose(text: str) -> str:
    """The page without its code blocks, whose brackets and parentheses are code, not links."""
    return FENCE.sub("", text)


def links(page: Path) -> list[str]:
    return [match.group(1) for match in LINK.finditer(_prose(page.read_text()))]


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped (hyphens and underscores kept), spaces to
    hyphens."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in _prose(page.read_text()).splitlines():
        heading = re.match(r"^#{1,6} (.+)$", line)
        if heading:
            slug = anchor(heading.group(1))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def test_anchor_spelling_follows_github() -> None:
    assert anchor("`sam local` with Docker") == "sam-local-with-docker"
    assert anchor("Try it (`make run`)") == "try-it-make-run"
    assert anchor("The layer's dependencies") == "the-layers-dependencies"
    assert anchor("Attempts, outcomes, re-sending") == "attempts-outcomes-re-sending"


def test_links_are_found_outside_code_only(tmp_path: Path) -> None:
    page = tmp_path / "probe.md"
    page.write_text('See [`a`](a.md) and [b](b.md#c).\n\n```sh\ncurl "${H[@]}" $API(x)\n[x](nowhere.md)\n```\n')
    assert links(page) == ["a.md", "b.md#c"]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_link_resolves_inside_the_repository(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            broken.append(f"{target}: leads outside the repository")
            continue
        path_part, _, fragment = target.partition("#")
        resolved = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not resolved.is_relative_to(ROOT):
            broken.append(f"{target}: leads outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
        elif fragment and (resolved.suffix != ".md" or fragment not in anchors(resolved)):
            broken.append(f"{target}: no heading #{fragment} in {resolved.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_every_docs_page_is_linked_from_readme() -> None:
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in links(ROOT / "README.md")}
    unlinked = [page.name for page in PAGES[1:] if page.resolve() not in linked]
    assert not unlinked, f"README links none of: {', '.join(unlinked)}"
