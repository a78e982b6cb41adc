"""The row-by-row family build the vectorised one in patentscope/holders/families.py replaced
(union-find over Python dicts, one loop per publication): kept as the independent reference
the tests compare the vectorised build with, on the real sample and on SYNTHETIC random cases."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import polars as pl

from patentscope.holders.families import MODES, SOURCE_BY_MODE, SOURCES_GIVEN, FamilyStats, application_key


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


def reference_build_families(pubs: Iterable[tuple], claims: Iterable[tuple], mode: str = "extended",
                             links: Iterable[tuple[str, str]] = ()) -> tuple[pl.DataFrame, pl.DataFrame, FamilyStats]:
    """The arguments and results of patentscope.holders.families.build_families, row by row."""
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


