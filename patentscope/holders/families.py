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
from collections.abc import Callable, Iterable

import duckdb
import numpy as np
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


_FAMILY_SCHEMA = pl.Schema({
    "pub_key": pl.String(), "given_family_id": pl.String(), "given_source": pl.String(),
    "constructed_family_id": pl.String(), "family_id": pl.String(), "family_id_source": pl.String(),
    "n_members": pl.Int32(), "priority_keys": pl.List(pl.String()), "application_key": pl.String(),
    "evidence": pl.String()})
_CONFLICT_SCHEMA = pl.Schema({"constructed_family_id": pl.String(), "docdb_family_ids": pl.List(pl.String()),
                              "members": pl.List(pl.String()), "note": pl.String()})
PUB_SCHEMA = pl.Schema({"pub_key": pl.Utf8, "country": pl.Utf8, "application_number": pl.Utf8,
                        "filing_date": pl.Date, "family_id": pl.Utf8, "family_id_source": pl.Utf8})
CLAIM_SCHEMA = pl.Schema({"pub_key": pl.Utf8, "priority_country": pl.Utf8, "priority_number": pl.Utf8,
                          "priority_date": pl.Date, "claim_as_written": pl.Utf8})
_CONFLICT_NOTE = ("one extended family spans several DOCDB simple families (expected when priorities are partly "
                  "shared); publications without an id keep the constructed one")


def build_families(pubs: Iterable[tuple[str, str | None, str | None, dt.date | None, str, str]],
                   claims: Iterable[tuple[str, str | None, str | None, dt.date | None, str]],
                   mode: str = "extended", links: Iterable[tuple[str, str]] = ()
                   ) -> tuple[pl.DataFrame, pl.DataFrame, FamilyStats]:
    """Pure: families from rows (the tuple form of :func:`build_family_frames`).

    ``pubs``: (pub_key, country, application_number, filing_date, family_id, family_id_source) —
    the id and source as given (a constructed id from an earlier run counts as none).
    ``claims``: (pub_key, priority_country, priority_number, priority_date, claim_as_written).
    ``links``: (application number, application number) pairs of US continuity (parent and
    continuation, CIP, divisional or provisional: 35 U.S.C. 119(e), 120, 121), from ODP's
    continuity data; they join extended families only.
    Returns (one row per publication, reconciliation conflicts, stats).
    """
    return build_family_frames(pl.DataFrame(list(pubs), schema=PUB_SCHEMA, orient="row"),
                               pl.DataFrame(list(claims), schema=CLAIM_SCHEMA, orient="row"), mode,
                               pl.DataFrame(list(links), schema={"a": pl.Utf8, "b": pl.Utf8}, orient="row"))


# A US application number in one of the two forms PatentsView and ODP print ("09/006830",
# "09006830"): series code and serial. For these :func:`application_key` returns
# "US:<series>/<serial>" (the 8-digit form and the "NN/NNNNNN" branch of its US case); the
# polars expression below gives that key without a Python call per number, and every other
# number still goes through application_key (tests/test_holders_families.py checks both agree).
_US_SERIAL = r"^([0-9]{2})/?([0-9]{6})$"  # ASCII digits: other Unicode digits go to application_key


def _us_serial_key(country: pl.Expr, number: pl.Expr) -> pl.Expr:
    """application_key(country, number) where ``country`` is "US" and ``number`` is a series code
    and a six-digit serial, with or without the slash; null elsewhere (left to application_key)."""
    parts = number.str.extract_groups(_US_SERIAL)
    serial = pl.lit("US:") + parts.struct[0].cast(pl.Int64).cast(pl.Utf8) + "/" \
        + parts.struct[1].cast(pl.Int64).cast(pl.Utf8)
    return pl.when(country == "US").then(serial)


def _keyed(frame: pl.DataFrame, cols: list[str], out: str,
           read: Callable[..., str | None] = application_key, fast: pl.Expr | None = None) -> pl.DataFrame:
    """``frame`` with ``out`` = ``read(*cols)`` (default :func:`application_key`), called once per
    distinct value of ``cols`` that ``fast`` (an expression giving the same key, or null where it
    cannot tell) leaves null: the one reader of application numbers stays in Python, and the
    common US forms skip it (1M SYNTHETIC distinct numbers: ~2.5 s of Python calls)."""
    distinct = frame.select(cols).unique().with_columns(
        (fast if fast is not None else pl.lit(None, dtype=pl.Utf8)).alias(out))
    rest = distinct.filter(pl.col(out).is_null())
    keys = [read(*row) for row in rest.select(cols).iter_rows()]
    distinct = pl.concat([distinct.filter(pl.col(out).is_not_null()),
                          rest.with_columns(pl.Series(out, keys, dtype=pl.Utf8))])
    return frame.join(distinct, on=cols, how="left", nulls_equal=True, maintain_order="left")


def _claim_key(cc: str | None, number: str | None, date: dt.date | None, as_written: str | None) -> str | None:
    """A priority claim's key: from its number, else from the claim as written."""
    return application_key(cc, number, date) or application_key(cc, as_written, date)


def _us_key(number: str | None) -> str | None:
    return application_key("US", number)


def build_family_frames(pubs: pl.DataFrame, claims: pl.DataFrame, mode: str = "extended",
                        links: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame, FamilyStats]:
    """Families from frames (columns of ``PUB_SCHEMA``, ``CLAIM_SCHEMA``; ``links``: a, b), as
    :func:`build_families` describes. Vectorised: application numbers are read once per distinct
    value, families are the connected components of the publication/application graph
    (``scipy.sparse.csgraph.connected_components``), and every per-member rule is a polars
    expression over the component's members. Rows come grouped by family, families in the
    order of their first member in ``pubs``, members by pub_key."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if mode not in MODES:
        raise ValueError(f"family mode {mode!r}: choose {' or '.join(MODES)}")
    st = FamilyStats(mode=mode)
    given_ids = list(SOURCES_GIVEN)
    p = pubs.select(list(PUB_SCHEMA)).cast(PUB_SCHEMA).with_row_index("node").with_columns(
        given_family_id=pl.when(pl.col("family_id_source").is_in(given_ids)).then(pl.col("family_id")),
        given_source=pl.when(pl.col("family_id_source").is_in(given_ids)).then(pl.col("family_id_source")),
    )
    p = _keyed(p, ["country", "application_number", "filing_date"], "application_key",
               fast=_us_serial_key(pl.col("country"), pl.col("application_number")))
    c = claims.select(list(CLAIM_SCHEMA)).cast(CLAIM_SCHEMA).join(p.select("pub_key"), on="pub_key", how="semi")
    c = _keyed(c, ["priority_country", "priority_number", "priority_date", "claim_as_written"], "key", _claim_key,
               fast=_us_serial_key(pl.col("priority_country"), pl.col("priority_number")))
    st.n_unread_claims = int(c["key"].null_count())
    prio = (c.filter(pl.col("key").is_not_null()).group_by("pub_key")
            .agg(priority_keys=pl.col("key").unique().sort()))
    p = p.join(prio, on="pub_key", how="left", maintain_order="left")
    n = p.height
    st.n_publications = n
    st.n_given_ids = int(p["given_family_id"].is_not_null().sum())
    st.n_families_before = int(p.select(pl.coalesce("given_family_id", "PUB:" + pl.col("pub_key")).n_unique()).item()) if n else 0

    # the graph: publications are nodes 0..n-1, every other endpoint (an application key, a
    # DOCDB id, a simple family's priority set) a node after them
    node = pl.col("node").cast(pl.Int64)
    if mode == "extended":
        ends = [p.select(node, other=pl.col("priority_keys")).explode("other")
                .select("node", other="A|" + pl.col("other")).drop_nulls(),
                p.select(node, other="A|" + pl.col("application_key")).drop_nulls(),
                p.select(node, other="D|" + pl.col("given_family_id")).drop_nulls()]
        pub_edges = pl.concat(ends)
        lk = links if links is not None else pl.DataFrame(schema={"a": pl.Utf8, "b": pl.Utf8})
        lk = lk.select(pl.col(lk.columns[0]).cast(pl.Utf8).alias("a"), pl.col(lk.columns[1]).cast(pl.Utf8).alias("b"))
        lk = _keyed(_keyed(lk, ["a"], "ka", _us_key, fast=_us_serial_key(pl.lit("US"), pl.col("a"))),
                    ["b"], "kb", _us_key, fast=_us_serial_key(pl.lit("US"), pl.col("b")))
        link_edges = lk.select(u="A|" + pl.col("ka"), v="A|" + pl.col("kb")).drop_nulls()
    else:
        sig = pl.when(pl.col("priority_keys").list.len() > 0).then(pl.col("priority_keys").list.join("+")) \
            .otherwise(pl.col("application_key"))
        pub_edges = p.select(node, other="S|" + sig).drop_nulls()
        link_edges = pl.DataFrame(schema={"u": pl.Utf8, "v": pl.Utf8})
    names = pl.concat([pub_edges["other"], link_edges["u"].alias("other"), link_edges["v"].alias("other")]).unique(
        maintain_order=True)
    ids = pl.DataFrame({"name": names, "id": pl.int_range(n, n + names.len(), dtype=pl.Int64, eager=True)})
    src = pub_edges.join(ids, left_on="other", right_on="name", maintain_order="left")
    lnk = link_edges.join(ids, left_on="u", right_on="name").join(ids, left_on="v", right_on="name", suffix="_v")
    rows = np.concatenate([src["node"].to_numpy(), lnk["id"].to_numpy()]).astype(np.int64)
    cols = np.concatenate([src["id"].to_numpy(), lnk["id_v"].to_numpy()]).astype(np.int64)
    size = n + names.len()
    graph = coo_matrix((np.ones(rows.shape[0], dtype=np.int8), (rows, cols)), shape=(size, size)).tocsr()
    _, label = connected_components(graph, directed=False)
    p = p.with_columns(comp=pl.Series(label[:n], dtype=pl.Int64))

    # per family: members, their DOCDB ids and the keys that link them
    fam = p.group_by("comp").agg(
        first=pl.col("node").min(),
        members=pl.col("pub_key").sort(),
        n_members=pl.len().cast(pl.Int32),
        docdb_ids=pl.col("given_family_id").drop_nulls().unique().sort(),
        via=pl.col("priority_keys").explode().append(pl.col("application_key")).drop_nulls().unique().sort(),
    ).with_columns(
        constructed_family_id=pl.when(pl.col("n_members") > 1)
        .then(pl.lit("EXT:" if mode == "extended" else "SIM:") + pl.col("members").list.first())
        .otherwise("PUB:" + pl.col("members").list.first()),
    )
    # a member without an id takes the smallest DOCDB id of a member with the same priority set
    p = p.with_columns(_sig=pl.when(pl.col("priority_keys").list.len() > 0).then(pl.col("priority_keys").list.join("\x1f")))
    same = (p.filter(pl.col("given_family_id").is_not_null() & pl.col("_sig").is_not_null())
            .group_by("comp", "_sig").agg(_same=pl.col("given_family_id").min()))
    p = p.join(same, on=["comp", "_sig"], how="left", nulls_equal=False, maintain_order="left")
    p = p.join(fam.select("comp", "first", "n_members", "docdb_ids", "via", "constructed_family_id"), on="comp",
               maintain_order="left")
    given = pl.col("given_family_id").is_not_null()
    single = pl.col("n_members") == 1
    one_id = pl.col("docdb_ids").list.len() == 1
    via = pl.col("via")
    linked = ("; linked through " + via.list.slice(0, 8).list.join(", ")
              + pl.when(via.list.len() > 8).then(pl.lit(" ...")).otherwise(pl.lit("")))
    out = p.with_columns(
        family_id=pl.when(given).then("given_family_id").when(single).then("constructed_family_id")
        .when(pl.col("_same").is_not_null()).then("_same").when(one_id).then(pl.col("docdb_ids").list.first())
        .otherwise("constructed_family_id"),
        family_id_source=pl.when(given).then("given_source").when(single).then(pl.lit("publication"))
        .otherwise(pl.lit(SOURCE_BY_MODE[mode])),
        evidence=pl.when(given).then(pl.lit("DOCDB id as given"))
        .when(single).then(pl.lit("no DOCDB id and no shared priority or application link"))
        .otherwise(pl.when(pl.col("_same").is_not_null()).then(pl.lit("DOCDB id of a member with the same priorities"))
                   .when(one_id).then(pl.lit("the one DOCDB id in its constructed family"))
                   .otherwise(pl.format("{} family of {} publications", pl.lit(mode), pl.col("n_members")))
                   + linked),
        priority_keys=pl.col("priority_keys").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
    ).sort("first", "pub_key").select(list(_FAMILY_SCHEMA)).cast(_FAMILY_SCHEMA)
    st.n_joined_by_priority = int(p.filter(~given & ~single).height)
    if mode == "extended":
        cf = (fam.filter(pl.col("docdb_ids").list.len() > 1).sort("first")
              .select("constructed_family_id", docdb_family_ids="docdb_ids", members="members",
                      note=pl.lit(_CONFLICT_NOTE)).cast(_CONFLICT_SCHEMA))
    else:
        cf = pl.DataFrame(schema=_CONFLICT_SCHEMA)
    st.n_conflicts = cf.height
    st.n_families_after = out["family_id"].n_unique() if out.height else 0
    return out, cf, st


def last_mode(con: duckdb.DuckDBPyConnection) -> str:
    """The mode of the last family build (``extended`` when none)."""
    try:
        rows = con.execute("SELECT mode FROM family_build ORDER BY built_at DESC LIMIT 1").fetchall()
    except duckdb.CatalogException:
        return "extended"
    return str(rows[0][0]) if rows else "extended"


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
    # a publication whose id a source gave (docdb, inpadoc) keeps it; one this module wrote is
    # rebuilt (build_family_frames reads an id only with a given source)
    pubs = con.sql("SELECT pub_key, country, application_number, filing_date, family_id, family_id_source "
                   "FROM publications ORDER BY pub_key").pl()
    claims = con.sql("SELECT pub_key, priority_country, priority_number, priority_date, claim_as_written "
                     "FROM priority_claims ORDER BY pub_key, source, seq").pl()
    links = None
    if "us_continuity" in tables(con):
        links = con.sql("SELECT DISTINCT child_application_number::VARCHAR AS a, parent_application_number::VARCHAR AS b "
                        "FROM us_continuity").pl()
    df, cf, st = build_family_frames(pubs, claims, mode, links)
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
