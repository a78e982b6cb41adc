"""Patent families built from priority claims and application links.

Where a source gives a DOCDB family id (EPO OPS; later BigQuery's ``family_id``), that id is the
family. Where none is given, the publication's family is built here from what the records show:

* every publication is a node; so is every application it names — its own application number
  and every priority it claims (Paris Convention Art. 4; 35 U.S.C. 119 foreign priority,
  35 U.S.C. 119(e) provisionals and 35 U.S.C. 120/121 parent, continuation and divisional
  applications);
* the **extended family** (default; the INPADOC sense, EPO "Patent families" help page, see
  docs/sources.md) is a connected component of publications linked through any shared
  application or priority, or through a shared DOCDB id;
* the **simple family** (option ``--mode simple``; the DOCDB sense) groups publications whose
  sets of claimed priorities (plus, for a publication that claims none, its own application) are
  identical.

Reconciliation with DOCDB ids: a publication with a DOCDB id keeps it. A publication without one
takes the DOCDB id of a publication in its constructed family with the same priority set, else
the single DOCDB id its constructed family contains; when the constructed family spans several
DOCDB families, it keeps the constructed id and the disagreement is listed in
``family_reconciliation``.

The result is written into ``publications.family_id`` / ``family_id_source`` (the column every
downstream step reads: expiry in-force stock, concentration, centrality's family graph, royalty
weights and the report), with the id a source gave kept in ``publication_families``.

Application numbers are reduced to a comparable key ``CC:YEAR:SERIAL`` (JP and CN, whose numbers
carry a year), ``US:SERIES/SERIAL`` (US) or ``CC:DIGITS``. JP numbers appear in four spellings in
the sample: Gregorian ``2008-284566`` / ``JP2008284566A``; imperial era ``63-68954`` (Showa 63 =
1988) / ``JP63068954A``; EPO's ``203549/85`` and ``34164693`` (serial then two-digit year).
A number that cannot be read to a key links nothing (it is counted as ``n_unread_claims``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections import defaultdict
from collections.abc import Iterable

import duckdb
import polars as pl

MODES = ("extended", "simple")
SOURCES_GIVEN = ("docdb", "inpadoc")
SOURCE_BY_MODE = {"extended": "priority_extended", "simple": "priority_simple"}
ALL_SOURCES = ("docdb", "inpadoc", "publication", "priority_extended", "priority_simple")
SHOWA0, HEISEI0, REIWA0 = 1925, 1988, 2018

# application-number patterns, compiled once (application_key runs once per publication and claim)
_JP_PREFIX = re.compile(r"^JP")
_KIND_SUFFIX = re.compile(r"[A-Z]\d?$")
_JP_GREGORIAN = re.compile(r"(\d{4})-(\d{1,6})")
_JP_ERA = re.compile(r"(\d{1,2})-(\d{1,6})")
_JP_EPO = re.compile(r"(\d{1,6})/(\d{2})")
_NON_DIGITS = re.compile(r"\D")
_PCT = re.compile(r"^PCT/([A-Z]{2})(\d{2,4})/(\d+)")
_CC_PREFIX = re.compile(r"^([A-Z]{2})(?=[\d-])")
_US_SERIES = re.compile(r"^(\d{2})/([\d,]{5,9})")
_EIGHT_DIGITS = re.compile(r"\d{8}")
_CHECK_DIGIT = re.compile(r"[.][\dX]$")


def _era_year(era: int, date: dt.date | None) -> int | None:
    """Gregorian year of a JP imperial-era year number, checked against the date when known."""
    candidates = [y for y in (SHOWA0 + era, HEISEI0 + era, REIWA0 + era) if 1926 <= y <= 2100]
    if date is not None:
        return date.year if date.year in candidates else None
    if 20 <= era <= 64:
        return SHOWA0 + era
    if 1 <= era <= 11:
        return HEISEI0 + era
    return None


def _jp_key(number: str, date: dt.date | None) -> str | None:
    s = number.upper().strip()
    s = _JP_PREFIX.sub("", s)
    s = _KIND_SUFFIX.sub("", s)  # kind code A, B2
    m = _JP_GREGORIAN.fullmatch(s)
    if m:
        return f"JP:{int(m[1])}:{int(m[2])}"
    m = _JP_ERA.fullmatch(s)  # era year - serial
    if m:
        y = _era_year(int(m[1]), date)
        return f"JP:{y}:{int(m[2])}" if y else None
    m = _JP_EPO.fullmatch(s)  # EPO: serial / two-digit year
    if m:
        yy = int(m[2])
        y = date.year if date and date.year % 100 == yy else (1900 + yy if yy > 30 else 2000 + yy)
        return f"JP:{y}:{int(m[1])}"
    d = _NON_DIGITS.sub("", s)
    if not d or len(d) < 5:
        return None
    if len(d) == 10 and d[:2] in ("19", "20"):
        return f"JP:{int(d[:4])}:{int(d[4:])}"
    if date is not None:
        if d.startswith(str(date.year)) and len(d) > 4:
            return f"JP:{date.year}:{int(d[4:])}"
        if len(d) == 8 and int(d[-2:]) == date.year % 100:
            return f"JP:{date.year}:{int(d[:-2])}"
        if len(d) in (7, 8) and _era_year(int(d[:-6]), date):
            return f"JP:{date.year}:{int(d[-6:])}"
        return None
    if len(d) in (7, 8):
        era = int(d[:-6])
        y = _era_year(era, None)
        if y:
            return f"JP:{y}:{int(d[-6:])}"
        if len(d) == 8:  # EPO style serial + yy inside a Google-style number ("JP18343995A")
            yy = int(d[-2:])
            return f"JP:{1900 + yy if yy > 30 else 2000 + yy}:{int(d[:-2])}"
    return None


@functools.lru_cache(maxsize=1 << 18)
def application_key(country: str | None, number: str | None, date: dt.date | None = None) -> str | None:
    """A comparable key for an application number as written, or None when it cannot be read.
    Pure, and cached: a family's members repeat the same priority numbers, so each distinct
    (country, number, date) is read once."""
    if not number or not str(number).strip():
        return None
    s = str(number).strip().upper()
    cc = (country or "").upper().strip()
    m = _PCT.match(s.replace(" ", ""))
    if m:
        yr = int(m[2]) if len(m[2]) == 4 else (1900 + int(m[2]) if int(m[2]) > 70 else 2000 + int(m[2]))
        return f"WO:{m[1]}:{yr}:{int(m[3])}"
    m = _CC_PREFIX.match(s)
    if m and (not cc or m[1] == cc):
        cc = m[1]
    if not cc:
        return None
    if cc == "JP":
        return _jp_key(s, date)
    body = s
    if s.startswith(cc):  # "US-", "EP 1234567": the country and one separator
        body = s[len(cc):]
        if body[:1] == "-" or body[:1].isspace():
            body = body[1:]
    if cc == "US":
        m = _US_SERIES.match(body)
        if m:
            return f"US:{int(m[1])}/{int(m[2].replace(',', ''))}"
        if _EIGHT_DIGITS.fullmatch(body):  # ODP writes series code + serial as 8 digits
            return f"US:{int(body[:2])}/{int(body[2:])}"
        return None  # a bare serial without its series code is ambiguous across series
    d = _NON_DIGITS.sub("", _CHECK_DIGIT.sub("", body))
    if cc == "CN":
        if len(d) >= 12:
            return f"CN:{d[:4]}:{int(d[4:12])}"
        return f"CN:{int(d)}" if len(d) >= 8 else None
    if cc == "EP":
        return f"EP:{int(d[:8])}" if len(d) >= 8 else None
    return f"{cc}:{int(d)}" if len(d) >= 5 else None


@dataclasses.dataclass
class FamilyStats:
    mode: str = "extended"
    n_publications: int = 0
    n_given_ids: int = 0
    n_families_before: int = 0
    n_families_after: int = 0
    n_joined_by_priority: int = 0
    n_conflicts: int = 0
    n_unread_claims: int = 0

    def summary(self) -> str:
        return (f"{self.n_publications} publications: {self.n_families_before} families as given "
                f"({self.n_given_ids} with a DOCDB/INPADOC id) -> {self.n_families_after} {self.mode} families; "
                f"{self.n_joined_by_priority} publications joined through priorities or application links; "
                f"{self.n_unread_claims} priority claims unreadable; {self.n_conflicts} DOCDB conflicts")


class _DSU:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


_FAMILY_COLUMNS = ("pub_key", "given_family_id", "given_source", "constructed_family_id", "family_id",
                   "family_id_source", "n_members", "priority_keys", "application_key", "evidence")


def build_families(pubs: Iterable[tuple[str, str | None, str | None, dt.date | None, str, str]],
                   claims: Iterable[tuple[str, str | None, str | None, dt.date | None, str]],
                   mode: str = "extended", links: Iterable[tuple[str, str]] = ()
                   ) -> tuple[pl.DataFrame, pl.DataFrame, FamilyStats]:
    """Pure: families from rows.

    ``pubs``: (pub_key, country, application_number, filing_date, family_id, family_id_source) —
    the id and source as given (a constructed id from an earlier run counts as none).
    ``claims``: (pub_key, priority_country, priority_number, priority_date, claim_as_written).
    ``links``: (application number, application number) pairs of US continuity (parent and
    continuation, CIP, divisional or provisional: 35 U.S.C. 119(e), 120, 121), from ODP's
    continuity data; they join extended families only.
    Returns (one row per publication, reconciliation conflicts, stats).
    """
    if mode not in MODES:
        raise ValueError(f"family mode {mode!r}: choose {' or '.join(MODES)}")
    st = FamilyStats(mode=mode)
    prows = list(pubs)
    given: dict[str, str] = {}
    given_src: dict[str, str] = {}
    own: dict[str, str] = {}
    for pk, cc, appno, fdate, fid, src in prows:
        if src in SOURCES_GIVEN:
            given[pk] = fid
            given_src[pk] = src
        k = application_key(cc, appno, fdate)
        if k:
            own[pk] = k
    prio: dict[str, set[str]] = defaultdict(set)
    known = {r[0] for r in prows}
    for pk, cc, num, pdate, as_written in claims:
        if pk not in known:
            continue
        k = application_key(cc, num, pdate) or application_key(cc, as_written, pdate)
        if k:
            prio[pk].add(k)
        else:
            st.n_unread_claims += 1
    st.n_publications = len(prows)
    st.n_given_ids = len(given)
    st.n_families_before = len({given.get(r[0], "PUB:" + r[0]) for r in prows})

    dsu = _DSU()
    if mode == "extended":
        for pk, *_ in prows:
            dsu.find("P|" + pk)
            for k in prio.get(pk, set()) | ({own[pk]} if pk in own else set()):
                dsu.union("P|" + pk, "A|" + k)
            if pk in given:
                dsu.union("P|" + pk, "D|" + given[pk])
        for a, b in links:
            ka, kb = application_key("US", a), application_key("US", b)
            if ka and kb:
                dsu.union("A|" + ka, "A|" + kb)
    else:
        for pk, *_ in prows:
            ps = prio.get(pk) or ({own[pk]} if pk in own else set())
            dsu.find("P|" + pk)
            if ps:
                dsu.union("P|" + pk, "S|" + "+".join(sorted(ps)))
    comp_members: dict[str, list[str]] = defaultdict(list)
    for pk, *_ in prows:
        comp_members[dsu.find("P|" + pk)].append(pk)

    cols: tuple[list[object], ...] = tuple([] for _ in _FAMILY_COLUMNS)  # built column-wise (no dict per row)
    conflicts = []
    src_const = SOURCE_BY_MODE[mode]
    for members in comp_members.values():
        members.sort()
        constructed = (("EXT:" if mode == "extended" else "SIM:") + members[0]) if len(members) > 1 else "PUB:" + members[0]
        docdb_ids = sorted({given[m] for m in members if m in given})
        if len(docdb_ids) > 1 and mode == "extended":
            conflicts.append({"constructed_family_id": constructed, "docdb_family_ids": docdb_ids,
                              "members": members,
                              "note": "one extended family spans several DOCDB simple families (expected when "
                                      "priorities are partly shared); publications without an id keep the constructed one"})
        via = sorted(set().union(*[prio.get(m, set()) for m in members]) | {own[m] for m in members if m in own})
        for m in members:
            if m in given:
                fid, fsrc, ev = given[m], given_src[m], "DOCDB id as given"
            elif len(members) == 1:
                fid, fsrc, ev = constructed, "publication", "no DOCDB id and no shared priority or application link"
            else:
                same = sorted(given[o] for o in members if o in given and prio.get(o) == prio.get(m) and prio.get(m))
                if same:
                    fid, ev = same[0], "DOCDB id of a member with the same priorities"
                elif len(docdb_ids) == 1:
                    fid, ev = docdb_ids[0], "the one DOCDB id in its constructed family"
                else:
                    fid, ev = constructed, f"{mode} family of {len(members)} publications"
                fsrc = src_const
                st.n_joined_by_priority += 1
                ev += "; linked through " + ", ".join(via[:8]) + (" ..." if len(via) > 8 else "")
            for col, v in zip(cols, (m, given.get(m), given_src.get(m), constructed, fid, fsrc, len(members),
                                     sorted(prio.get(m, set())), own.get(m), ev), strict=True):
                col.append(v)
    df = pl.DataFrame(dict(zip(_FAMILY_COLUMNS, cols, strict=True)), schema={"pub_key": pl.Utf8, "given_family_id": pl.Utf8, "given_source": pl.Utf8,
                                    "constructed_family_id": pl.Utf8, "family_id": pl.Utf8,
                                    "family_id_source": pl.Utf8, "n_members": pl.Int32,
                                    "priority_keys": pl.List(pl.Utf8), "application_key": pl.Utf8,
                                    "evidence": pl.Utf8})
    cf = pl.DataFrame(conflicts, schema={"constructed_family_id": pl.Utf8, "docdb_family_ids": pl.List(pl.Utf8),
                                         "members": pl.List(pl.Utf8), "note": pl.Utf8})
    st.n_conflicts = cf.height
    st.n_families_after = df["family_id"].n_unique() if df.height else 0
    return df, cf, st


def last_mode(con: duckdb.DuckDBPyConnection) -> str:
    """The mode of the last family build (``extended`` when none)."""
    try:
        r = con.execute("SELECT mode FROM family_build ORDER BY built_at DESC LIMIT 1").fetchone()
    except duckdb.CatalogException:
        return "extended"
    return str(r[0]) if r else "extended"


def refresh(con: duckdb.DuckDBPyConnection, mode: str | None = None) -> FamilyStats:
    """Rebuild families and write them into ``publications.family_id`` (inside the caller's
    transaction when there is one). ``mode`` None reuses the last build's mode."""
    from ..warehouse.connection import tables, transaction
    from ..warehouse.toolkit import replace_tables

    if "publication_families" not in tables(con):
        from ..errors import WarehouseError

        raise WarehouseError("the warehouse lacks table publication_families (migration 0015_families); "
                             "run `patentscope migrate`")
    mode = mode or last_mode(con)
    # a publication whose id a source gave (docdb, inpadoc) keeps it; one this module wrote is rebuilt
    pubs = [(pk, cc, a, fd, fid if src in SOURCES_GIVEN else "PUB:" + pk, src if src in SOURCES_GIVEN else "publication")
            for pk, cc, a, fd, fid, src in con.execute(
                "SELECT pub_key, country, application_number, filing_date, family_id, family_id_source "
                "FROM publications ORDER BY pub_key").fetchall()]
    claims = con.execute("SELECT pub_key, priority_country, priority_number, priority_date, claim_as_written "
                         "FROM priority_claims ORDER BY pub_key, source, seq").fetchall()
    links: list[tuple[str, str]] = []
    if "us_continuity" in tables(con):
        links = [(str(a), str(b)) for a, b in con.execute(
            "SELECT DISTINCT child_application_number, parent_application_number FROM us_continuity").fetchall()]
    df, cf, st = build_families(pubs, claims, mode, links)
    build = pl.DataFrame([{"built_at": dt.datetime.now(dt.UTC).replace(tzinfo=None), "mode": mode,
                           "n_publications": st.n_publications, "n_given_ids": st.n_given_ids,
                           "n_families_before": st.n_families_before, "n_families_after": st.n_families_after,
                           "n_joined": st.n_joined_by_priority, "n_conflicts": st.n_conflicts,
                           "n_unread_claims": st.n_unread_claims}])
    with transaction(con):
        replace_tables(con, {"publication_families": df, "family_reconciliation": cf, "family_build": build},
                       what="storing the family build")
        con.execute("UPDATE publications SET family_id = f.family_id, family_id_source = f.family_id_source "
                    "FROM publication_families f WHERE f.pub_key = publications.pub_key "
                    "AND (publications.family_id <> f.family_id OR publications.family_id_source <> f.family_id_source)"
                    ).fetchall()
    return st
