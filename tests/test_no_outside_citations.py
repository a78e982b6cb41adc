"""The product cites only what its users have: statutes, official pages and documents shipped in
this repository (docs/background.md, docs/uspto-odp-notes.md, docs/sources.md ...), never the
team's research notes outside it (DOMAIN.md, USPTO-ODP.md, CONVENTIONS.md, the ../shared folder).

Every text file under patentscope/, docs/ and queries/, and README.md, is scanned; a hit names
the file, the line and the text, so the citation can be replaced by the fact's public source.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("patentscope", "docs", "queries", "README.md")
TEXT_SUFFIXES = {".py", ".md", ".toml", ".csv", ".tsv", ".sql", ".json", ".txt", ".html", ".j2",
                 ".jinja", ".css", ".js", ".yaml", ".yml", ".cfg", ".ini"}

# A path into the shared folder ("shared/...", "../shared", "/shared/") or a team note by name.
# "shared" as a word ("shared by every rate variant") is fine: only the path forms are refused.
OUTSIDE = re.compile(
    r"DOMAIN\.md|USPTO-ODP\.md|CONVENTIONS\.md"
    r"|\.\./shared\b"
    r"|(?<![\w.-])shared/",
)


def outside_citations(text: str) -> list[tuple[int, str]]:
    """(line number, matched text) of every citation of something users do not have."""
    hits = []
    for number, line in enumerate(text.splitlines(), start=1):
        hits.extend((number, m.group(0)) for m in OUTSIDE.finditer(line))
    return hits


def scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        root = REPO / name
        if root.is_file():
            files.append(root)
            continue
        files.extend(p for p in sorted(root.rglob("*"))
                     if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES and "__pycache__" not in p.parts)
    return files


@pytest.mark.parametrize("text, expected", [
    ("Sources: ../shared/DOMAIN.md section 4", ["../shared", "DOMAIN.md"]),
    ("source = \"shared/DOMAIN.md s.2\"", ["DOMAIN.md", "shared/"]),
    ("quirks (USPTO-ODP.md section 7)", ["USPTO-ODP.md"]),
    ("copied from shared/data/real/ndfeb-web-records/", ["shared/"]),
    ("see ../shared for the notes", ["../shared"]),
    ("habits from CONVENTIONS.md", ["CONVENTIONS.md"]),
    ("drawn once per sample (shared by all rows)", []),
    ("the machine was shared with other work", []),
    ("docs/background.md §2.2; docs/uspto-odp-notes.md §8", []),
    ("https://example.org/unshared/page and not-shared/x", []),
])
def test_the_matcher_finds_path_citations_and_spares_the_word(text, expected):
    assert sorted(m for _, m in outside_citations(text)) == sorted(expected)


def test_the_scan_covers_the_shipped_files():
    files = {p.relative_to(REPO).as_posix() for p in scanned_files()}
    for must in ("README.md", "docs/background.md", "docs/uspto-odp-notes.md",
                 "patentscope/data/holders/lineage.csv", "patentscope/data/royalty/licences.toml",
                 "patentscope/data/royalty/example_scenario.toml", "patentscope/data/landscape.toml",
                 "patentscope/sources/uspto_odp.py", "patentscope/normalize/maintfee.py"):
        assert must in files
    assert any(f.startswith("queries/") and f.endswith(".sql") for f in files)


def test_no_shipped_file_cites_the_team_notes():
    found = []
    for path in scanned_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found.extend(f"{path.relative_to(REPO).as_posix()}:{line}: {hit}" for line, hit in outside_citations(text))
    assert not found, ("cite the fact's public source or docs/background.md / docs/uspto-odp-notes.md "
                       "instead of:\n" + "\n".join(found))


def test_the_background_documents_use_their_section_numbers():
    """Data files cite 'docs/background.md §N'; every such section must exist in the document."""
    headings = {}
    for doc in ("background.md", "uspto-odp-notes.md"):
        text = (REPO / "docs" / doc).read_text(encoding="utf-8")
        headings[doc] = set(re.findall(r"^#{2,3} §(\d+(?:\.\d+)?) ", text, flags=re.M))
    missing = []
    for path in scanned_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for doc, section in re.findall(r"docs/(background\.md|uspto-odp-notes\.md) §(\d+(?:\.\d+)?)", text):
            if section not in headings[doc]:
                missing.append(f"{path.relative_to(REPO).as_posix()}: docs/{doc} §{section}")
    assert not missing, "cited sections that do not exist:\n" + "\n".join(missing)
