"""The result tables of the BigQuery landscape script -> canonical rows, twice over.

:func:`normalize_staged` (what ``ingest bigquery`` runs): DuckDB SQL over the result tables
staged on the warehouse connection, writing TEMP tables shaped like the warehouse's for
:func:`patentscope.warehouse.save.save_frames`; Python runs only once per distinct number of an
uncommon form, kind code and CPC code, and for a rejected row's message. :func:`normalize`: the
same mapping stated row by row (dicts in, Batch out, pure), kept as the definition the SQL is
held to (tests/test_bigquery_frames.py lands the same exports through both and compares the
warehouses).

Input: the rows of ``ps_publications``, ``ps_citations`` and ``ps_families`` (see
:mod:`patentscope.sources.bigquery_sql`), whether they came from the client as Arrow, from an
exported Parquet file or from newline-delimited JSON (where BigQuery writes INT64 as strings).
Mapping decisions (docs/ingest-world.md, "BigQuery"):

- numbers: ``US-4770723-A`` -> pub_key ``US-4770723``, kind ``A``; the documents of one
  number (``EP-1005050-A2`` and ``EP-1005050-B1``) are one publication whose ``pub_number``
  carries the most advanced kind; a 10-digit US pre-grant number (``US-2006142694-A1``, the
  DOCDB form) is widened to the 11 digits every other source uses (``US-20060142694``).
- dates: INT64 ``yyyymmdd``, 0 = unknown -> NULL; a value that is not a date quarantines the row.
- ``family_id``: the DOCDB simple family id (``family_id_source = 'docdb'``); none (NULL,
  empty or ``-1``) -> ``PUB:<pub_key>``.
- parties: ``assignee_harmonized`` (name, country) as ``applicant``, and on granted documents
  also as ``original_assignee`` (the assignee on the face of the grant), from the most advanced
  document that lists them; ``inventor_harmonized`` as ``inventor``.
- ``in_landscape``: the script's judgement (it saw the whole table); the reason string is the
  landscape's own (:meth:`Landscape.match` over the CPC codes and the members' text), or
  ``bigquery:<rule>`` where the two disagree (e.g. a keyword in a non-English text).
- citations: one row per (citing publication, cited number or NPL text), category as given,
  ``reference_type`` ``patent``/``npl`` with Google's citation type in brackets.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import RowError
from ..landscape import Landscape
from .batch import Batch, Row
from .classifications import normalize_symbol
from .numbers import PubNumber, is_grant_kind, kind_rank, parse_pub_number

SOURCE = "bigquery"
FAMILY_NOTE = "DOCDB simple family id from patents-public-data.patents.publications (family_id)"

REQUIRED = {
    "publications": ("publication_number", "country_code", "kind_code", "family_id", "publication_date"),
    "citations": ("citing_publication_number", "cited_publication_number"),
    "families": ("family_id", "members"),
}


@dataclass
class Located:
    """One input row with where it came from (file and 1-based line or row number)."""

    row: dict[str, Any]
    file: str
    line: int


@dataclass
class Normalized:
    batch: Batch
    family_details: list[Row] = field(default_factory=list)   # rows of bigquery_families
    max_publication_date: dt.date | None = None


_NUM_CACHE: dict[str, PubNumber | None] = {}


def canonical(publication_number: str | None) -> PubNumber | None:
    """``US-4770723-A`` -> PubNumber(US, 4770723, A); None when it is not a publication number."""
    if not publication_number:
        return None
    hit = _NUM_CACHE.get(publication_number, False)
    if hit is not False:
        return hit  # type: ignore[return-value]
    parts = publication_number.strip().upper().split("-")
    out: PubNumber | None = None
    if len(parts) in (2, 3) and re.fullmatch(r"[A-Z]{2}", parts[0]) and parts[1]:
        cc, num, kind = parts[0], parts[1], parts[2] if len(parts) == 3 and parts[2] else None
        if cc == "US" and re.fullmatch(r"20\d{8}", num):
            num = num[:4] + "0" + num[4:]          # DOCDB 10-digit pre-grant form -> 11 digits
        pn = parse_pub_number(f"{cc}{num}{kind or ''}")
        if pn is not None and pn.kind == kind:
            out = PubNumber(pn.country, pn.number, kind, publication_number)
    if len(_NUM_CACHE) < 2_000_000:
        _NUM_CACHE[publication_number] = out
    return out


def ymd(value: Any) -> dt.date | None:
    """INT64 ``yyyymmdd`` (or its JSON string) -> date; 0/NULL -> None; ValueError otherwise."""
    if value is None or value == "" or value == 0 or value == "0":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a yyyymmdd date")
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a yyyymmdd date") from None
    try:
        return dt.date(n // 10000, n // 100 % 100, n % 100)
    except ValueError:
        raise ValueError(f"{value!r} is not a yyyymmdd date") from None


def _family(value: Any) -> str | None:
    s = str(value).strip() if value is not None else ""
    return s if s and s != "-1" else None


def _list(row: dict[str, Any], key: str) -> list[Any]:
    v = row.get(key)
    if v is None:
        return []
    if not isinstance(v, list):
        raise ValueError(f"{key} must be a list (a REPEATED field), not {type(v).__name__}")
    return v


def _bool(v: Any) -> bool:
    return v is True or (isinstance(v, str) and v.lower() == "true")


def google_url(pn: PubNumber) -> str:
    return f"https://patents.google.com/patent/{pn.country}{pn.number}{pn.kind or ''}/en"


@dataclass
class _Doc:
    pn: PubNumber
    row: dict[str, Any]
    pub_date: dt.date | None
    filing_date: dt.date | None
    priority_date: dt.date | None
    grant_date: dt.date | None
    where: Located


def _read_doc(loc: Located) -> _Doc:
    r = loc.row
    pn = canonical(r.get("publication_number"))
    if pn is None:
        raise RowError(loc.file, loc.line, f"publication_number {r.get('publication_number')!r} is not a number like "
                                           "'US-4770723-A'", "publication_number")
    dates: dict[str, dt.date | None] = {}
    for k in ("publication_date", "filing_date", "priority_date", "grant_date"):
        try:
            dates[k] = ymd(r.get(k))
        except ValueError as e:
            raise RowError(loc.file, loc.line, str(e), k) from None
    for k in ("cpc", "assignee_harmonized", "inventor_harmonized", "priority_claim"):
        try:
            _list(r, k)
        except ValueError as e:
            raise RowError(loc.file, loc.line, str(e), k) from None
    return _Doc(pn, r, dates["publication_date"], dates["filing_date"], dates["priority_date"], dates["grant_date"], loc)


def _claim_type(country: str | None, pub_country: str) -> str | None:
    if country == "WO":
        return "pct"
    if country:
        return "domestic" if country == pub_country else "foreign"
    return None


def _fv(pub_key: str, fld: str, value: Any, record: str, url: str, chosen: bool) -> Row | None:
    if value is None or value == "":
        return None
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return {"pub_key": pub_key, "field": fld, "value": text, "source": SOURCE, "source_record": record,
            "source_url": url, "chosen": chosen}


def _publication(batch: Batch, key: str, docs: list[_Doc], landscape: Landscape) -> None:
    docs = sorted(docs, key=lambda d: (kind_rank(d.pn.kind), d.pub_date or dt.date.max))
    best = docs[-1]
    kinds = sorted({d.pn.kind for d in docs if d.pn.kind}, key=lambda k: (kind_rank(k), k))  # ties: by code
    url = google_url(best.pn)
    title = next((d.row.get("title") for d in reversed(docs) if d.row.get("title")), None)
    abstract = next((d.row.get("abstract") for d in reversed(docs) if d.row.get("abstract")), None)
    family_id = next((f for d in reversed(docs) if (f := _family(d.row.get("family_id")))), None)
    pub_dates = [d.pub_date for d in docs if d.pub_date]
    grant_dates = [d.grant_date for d in docs if d.grant_date] or \
        [d.pub_date for d in docs if d.pub_date and is_grant_kind(d.pn.country, d.pn.kind)]
    symbols: list[str] = []
    pos = 0
    for d in reversed(docs):
        cpcs = sorted(_list(d.row, "cpc"), key=lambda c: not _bool((c or {}).get("first")))
        for c in cpcs:
            written = (c or {}).get("code") or ""
            sym = normalize_symbol(written)
            if sym is None or sym in symbols:
                continue
            symbols.append(sym)
            pos += 1
            batch.classifications.append({"pub_key": key, "scheme": "CPC", "symbol": sym, "symbol_as_written": written,
                                          "position": pos, "version": None, "source": SOURCE})
    in_land = any(_bool(d.row.get("in_landscape")) for d in docs)
    reason = None
    if in_land:
        reason = landscape.match(symbols, f"{title or ''} {abstract or ''}")
        if reason is None:
            rules = [r for r in ("core", "strong", "context") if any(_bool(d.row.get(f"match_{r}")) for d in docs)]
            reason = "bigquery:" + "+".join(rules or ["member"])
    batch.publications.append({
        "pub_key": key, "pub_number": f"{key}-{kinds[-1]}" if kinds else key,
        "number_as_received": best.pn.as_received, "country": best.pn.country, "doc_number": best.pn.number,
        "kind": kinds[-1] if kinds else None, "kinds_seen": kinds,
        "is_grant": any(bool(is_grant_kind(best.pn.country, k)) for k in kinds) if kinds else None,
        "title": title, "abstract": abstract,
        "application_number": next((d.row.get("application_number") for d in reversed(docs) if d.row.get("application_number")), None),
        "priority_date": min((d.priority_date for d in docs if d.priority_date), default=None),
        "filing_date": next((d.filing_date for d in reversed(docs) if d.filing_date), None),
        "publication_date": min(pub_dates) if pub_dates else None,
        "grant_date": min(grant_dates) if grant_dates else None,
        "family_id": family_id or f"PUB:{key}", "family_id_source": "docdb" if family_id else "publication",
        "status_as_shown": None, "expiry_as_shown": None, "in_landscape": in_land, "landscape_reason": reason,
        "relevance": None, "source": SOURCE, "source_url": url,
    })
    # parties: the most advanced document that lists them
    src = next((d for d in reversed(docs) if _list(d.row, "assignee_harmonized")), None)
    if src is not None:
        roles = ["applicant"] + (["original_assignee"] if is_grant_kind(src.pn.country, src.pn.kind) else [])
        names = [a for a in _list(src.row, "assignee_harmonized") if a and (a.get("name") or "").strip()]
        for role in roles:
            for n, a in enumerate(names, start=1):
                batch.parties.append({"pub_key": key, "role": role, "seq": n, "name_as_written": a["name"].strip(),
                                      "country": a.get("country_code") or None, "source": SOURCE,
                                      "source_field": f"{src.pn.as_received}:assignee_harmonized"})
    src = next((d for d in reversed(docs) if _list(d.row, "inventor_harmonized")), None)
    if src is not None:
        names = [a for a in _list(src.row, "inventor_harmonized") if a and (a.get("name") or "").strip()]
        for n, a in enumerate(names, start=1):
            batch.parties.append({"pub_key": key, "role": "inventor", "seq": n, "name_as_written": a["name"].strip(),
                                  "country": a.get("country_code") or None, "source": SOURCE,
                                  "source_field": f"{src.pn.as_received}:inventor_harmonized"})
    src = next((d for d in reversed(docs) if _list(d.row, "priority_claim")), None)
    if src is not None:
        for seq, pc in enumerate(_list(src.row, "priority_claim"), start=1):
            app = (pc or {}).get("application_number") or (pc or {}).get("publication_number") or ""
            try:
                date = ymd((pc or {}).get("filing_date"))
            except ValueError:
                date = None
            if not app and date is None:
                continue
            parts = app.split("-")
            country = parts[0] if parts and re.fullmatch(r"[A-Z]{2}", parts[0]) else None
            number = parts[1] if country and len(parts) > 1 else (app or None)
            batch.priority_claims.append({
                "pub_key": key, "seq": seq, "claim_as_written": f"{app} {date.isoformat()}".strip() if date else app,
                "priority_country": country, "priority_number": number, "priority_date": date,
                "claim_type": _claim_type(country, best.pn.country), "source": SOURCE})
    for d in docs:
        rec, u = d.pn.as_received, google_url(d.pn)
        for fld, val, chosen in (("bigquery_publication", d.pn.as_received, d is best), ("kind", d.pn.kind, d is best),
                                 ("publication_date", d.pub_date, d.pub_date == min(pub_dates) if pub_dates else False),
                                 ("family_id", _family(d.row.get("family_id")), d is best),
                                 ("application_number", d.row.get("application_number"), d is best)):
            if (fv := _fv(key, fld, val, rec, u, chosen)) is not None:
                batch.field_values.append(fv)


def normalize(
    publications: Iterable[Located],
    citations: Iterable[Located],
    families: Iterable[Located],
    landscape: Landscape,
) -> Normalized:
    """The three result tables -> one Batch (plus the family details and the newest date)."""
    batch = Batch(source=SOURCE)
    by_key: dict[str, list[_Doc]] = {}
    for loc in publications:
        batch.rows_read += 1
        try:
            doc = _read_doc(loc)
        except RowError as e:
            batch.rejected.append(e)
            continue
        by_key.setdefault(doc.pn.pub_key, []).append(doc)
    pub_year: dict[str, int] = {}
    newest: dt.date | None = None
    for key in sorted(by_key):
        _publication(batch, key, by_key[key], landscape)
        p = batch.publications[-1]
        if p["publication_date"]:
            pub_year[key] = p["publication_date"].year
            newest = max(newest, p["publication_date"]) if newest else p["publication_date"]
    _citations(batch, citations, set(by_key), pub_year)
    details = _families(batch, families, by_key)
    return Normalized(batch, details, newest)


def _citations(batch: Batch, rows: Iterable[Located], known: set[str], pub_year: dict[str, int]) -> None:
    out: dict[tuple[str, str], Row] = {}
    cat_cache: dict[str, list[str]] = {}
    url_cache: dict[str, str] = {}
    for loc in rows:
        batch.rows_read += 1
        r = loc.row
        citing = canonical(r.get("citing_publication_number"))
        if citing is None:
            batch.rejected.append(RowError(loc.file, loc.line, f"citing_publication_number {r.get('citing_publication_number')!r} "
                                                               "is not a number like 'US-4770723-A'", "citing_publication_number"))
            continue
        if citing.pub_key not in known:
            batch.rejected.append(RowError(loc.file, loc.line, f"citing publication {citing.as_received} is not in the "
                                                               "publications table of the same result", "citing_publication_number"))
            continue
        cited_raw = (r.get("cited_publication_number") or "").strip()
        npl = (r.get("npl_text") or "").strip()
        written = cited_raw or npl
        if not written:
            continue
        cited = canonical(cited_raw) if cited_raw else None
        typ = (r.get("type") or "").strip()
        raw_cat = r.get("category") or ""
        cats = cat_cache.get(raw_cat)
        if cats is None:
            cats = cat_cache[raw_cat] = [c for c in re.split(r"[,\s]+", raw_cat.strip()) if c]
        k = (citing.pub_key, written)
        if k in out:
            have = [c for c in (out[k]["category"] or "").split(",") if c]
            out[k]["category"] = ",".join(have + [c for c in cats if c not in have]) or None
            continue
        out[k] = {"citing_pub_key": citing.pub_key, "cited_as_written": written,
                  "cited_pub_key": cited.pub_key if cited else None,
                  "cited_year": pub_year.get(cited.pub_key) if cited else None,
                  "category": ",".join(cats) or None,
                  "reference_type": ("patent" if cited_raw else "npl") + (f" ({typ})" if typ else ""),
                  "cited_by": None, "source": SOURCE,
                  "source_url": url_cache.get(citing.pub_key) or url_cache.setdefault(citing.pub_key, google_url(citing))}
    batch.citations.extend(out.values())


def _families(batch: Batch, rows: Iterable[Located], by_key: dict[str, list[_Doc]]) -> list[Row]:
    details: dict[str, Row] = {}
    for loc in rows:
        batch.rows_read += 1
        r = loc.row
        fid = _family(r.get("family_id"))
        if fid is None:
            batch.rejected.append(RowError(loc.file, loc.line, "family row without a family_id", "family_id"))
            continue
        try:
            members = [str(m) for m in _list(r, "members")]
            offices = [str(o) for o in _list(r, "offices")]
            assignees = [str(a) for a in _list(r, "assignees_harmonized")]
            earliest = ymd(r.get("earliest_priority_date"))
        except ValueError as e:
            batch.rejected.append(RowError(loc.file, loc.line, str(e)))
            continue
        details[fid] = {"family_id": fid, "earliest_priority_date": earliest, "members": members, "offices": offices,
                        "assignees_harmonized": assignees, "in_landscape": _bool(r.get("in_landscape")),
                        "member_count": len(members)}
    fams = {p["family_id"] for p in batch.publications if p["family_id_source"] == "docdb"} | set(details)
    batch.families.extend({"family_id": f, "id_source": "docdb", "source": SOURCE, "note": FAMILY_NOTE} for f in sorted(fams))
    return [details[f] for f in sorted(details)]


def located(rows: Iterable[dict[str, Any]], file: str, start: int = 1) -> Iterator[Located]:
    for i, r in enumerate(rows, start=start):
        yield Located(r, file, i)


# ------------------------------------------------------------------------------------------------
# The same mapping as DuckDB set operations over staged tables (the route every ingest takes;
# :func:`normalize` above is the row-by-row statement of it, and tests hold the two to the same
# warehouse content). The rules that need Python (number parsing beyond the common form, kind
# ranks, grant kinds, CPC symbols) run once per distinct value, never per row.

# The staged input tables (made by patentscope.ingest.bigquery from Arrow, Parquet or JSON):
# every scalar as VARCHAR (dates as their INT64 text, booleans 'true'/'false'), plus
#   seq  BIGINT   the row's place in the reading order (files sorted, rows in order)
#   file VARCHAR, line BIGINT   where it came from
#   bad_list VARCHAR   a REPEATED field that is not a list (JSON only), else NULL
STAGED = {"publications": "bq_in_publications", "citations": "bq_in_citations", "families": "bq_in_families"}
PUB_LISTS = {
    "cpc": "STRUCT(code VARCHAR, \"first\" VARCHAR)[]",
    "assignee_harmonized": "STRUCT(name VARCHAR, country_code VARCHAR)[]",
    "inventor_harmonized": "STRUCT(name VARCHAR, country_code VARCHAR)[]",
    "priority_claim": "STRUCT(publication_number VARCHAR, application_number VARCHAR, filing_date VARCHAR)[]",
}
PUB_SCALARS = ("publication_number", "application_number", "family_id", "publication_date", "filing_date",
               "priority_date", "grant_date", "title", "abstract", "in_landscape", "match_core", "match_strong",
               "match_context")
CIT_SCALARS = ("citing_publication_number", "cited_publication_number", "npl_text", "type", "category")
FAM_LISTS = {"members": "VARCHAR[]", "offices": "VARCHAR[]", "assignees_harmonized": "VARCHAR[]"}
FAM_SCALARS = ("family_id", "earliest_priority_date", "in_landscape")

# str.strip()'s whitespace (str.isspace), for SQL: Python strips more than ASCII blanks
_WS = "[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}]"
# the common form of a Google publication number, parsed in SQL (anything else: canonical())
_FAST_NUMBER = "^([A-Z]{2})-([SHRI]?)([0-9]+)(?:-([A-Z][0-9]?)?)?$"


def _strip(x: str) -> str:
    return f"regexp_replace({x}, '^{_WS}+|{_WS}+$', '', 'g')"


@dataclass
class StagedResult:
    """The mapping's output: warehouse table -> TEMP table on the connection, the
    ``bigquery_families`` rows (TEMP table ``bqn_family_details``), the rejected rows."""

    tables: dict[str, str]
    rejected: list[RowError]
    rows_read: int
    max_publication_date: dt.date | None
    family_details: str = "bqn_family_details"


def _macros(con: Any) -> None:
    con.execute(f"""
        CREATE OR REPLACE TEMP MACRO bq_ymd(v) AS CASE WHEN TRY_CAST(v AS BIGINT) BETWEEN 10000101 AND 99991231 THEN
            TRY_CAST(printf('%04d-%02d-%02d', TRY_CAST(v AS BIGINT) // 10000, TRY_CAST(v AS BIGINT) // 100 % 100,
                            TRY_CAST(v AS BIGINT) % 100) AS DATE) END;
        CREATE OR REPLACE TEMP MACRO bq_date_bad(v) AS v IS NOT NULL AND v NOT IN ('', '0') AND bq_ymd(v) IS NULL;
        CREATE OR REPLACE TEMP MACRO bq_true(v) AS coalesce(lower(v) = 'true', false);
        CREATE OR REPLACE TEMP MACRO bq_strip(v) AS CASE WHEN v = '' OR (ord(v[1]) BETWEEN 33 AND 126 AND
            ord(v[-1]) BETWEEN 33 AND 126) THEN v ELSE {_strip('v')} END;
        CREATE OR REPLACE TEMP MACRO bq_family(v) AS CASE WHEN bq_strip(v) NOT IN ('', '-1') THEN bq_strip(v) END;
        CREATE OR REPLACE TEMP MACRO bq_url(country, number, kind) AS
            'https://patents.google.com/patent/' || country || number || coalesce(kind, '') || '/en';
    """).fetchall()


def _number_map(con: Any) -> None:
    """bqn_numbers(raw, country, number, kind, pub_key) for every distinct number of the input:
    the common form in SQL, the rest through :func:`canonical` (NULLs: not a number)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE bqn_raw_numbers AS
        SELECT DISTINCT raw FROM (
            SELECT publication_number AS raw FROM {STAGED['publications']}
            UNION ALL SELECT citing_publication_number FROM {STAGED['citations']}
            UNION ALL SELECT bq_strip(cited_publication_number) FROM {STAGED['citations']})
        WHERE raw IS NOT NULL AND raw <> '';
        CREATE OR REPLACE TEMP TABLE bqn_numbers AS
        SELECT raw, m.cc AS country,
               CASE WHEN m.cc = 'US' AND regexp_full_match(m.num, '20[0-9]{{8}}') THEN m.num[1:4] || '0' || m.num[5:]
                    WHEN m.cc = 'US' AND length(m.num) < 11 THEN coalesce(nullif(ltrim(m.num, '0'), ''), '0')
                    ELSE m.pre || m.num END AS number,
               nullif(m.kind, '') AS kind
        FROM (SELECT raw, regexp_extract(raw, '{_FAST_NUMBER}', ['cc', 'pre', 'num', 'kind']) AS m FROM bqn_raw_numbers)
        WHERE m.cc <> '' AND (m.pre = '' OR (m.pre = 'I' AND m.cc = 'TW') OR (m.pre IN ('S', 'H', 'R') AND m.cc <> 'US'))
    """).fetchall()
    rest = [r[0] for r in con.execute("SELECT raw FROM bqn_raw_numbers ANTI JOIN bqn_numbers USING (raw)").fetchall()]
    parsed = [(raw, pn.country, pn.number, pn.kind) for raw in rest if (pn := canonical(raw)) is not None]
    if parsed:
        import polars as pl

        frame = pl.DataFrame(parsed, schema=["raw", "country", "number", "kind"], orient="row")
        con.register("_bqn_parsed", frame)
        try:
            con.execute("INSERT INTO bqn_numbers SELECT raw, country, number, kind FROM _bqn_parsed").fetchall()
        finally:
            con.unregister("_bqn_parsed")
    con.execute("ALTER TABLE bqn_numbers ADD COLUMN pub_key VARCHAR").fetchall()
    con.execute("UPDATE bqn_numbers SET pub_key = country || '-' || number").fetchall()


def _value_map(con: Any, name: str, columns: str, query: str, fn: Any) -> None:
    """A TEMP table ``name`` mapping each distinct value ``query`` yields through ``fn`` (Python
    rules applied once per value)."""
    import polars as pl

    rows = [(*v, *fn(*v)) for v in con.execute(query).fetchall()]
    cols = [c.split()[0] for c in columns.split(",")]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({columns})").fetchall()
    if rows:
        con.register("_bqn_values", pl.DataFrame(rows, schema=cols, orient="row"))
        try:
            con.execute(f"INSERT INTO {name} SELECT * FROM _bqn_values").fetchall()
        finally:
            con.unregister("_bqn_values")


def normalize_staged(con: Any, landscape: Landscape, raw_row: Any,
                     lap: Callable[[str], None] = lambda _name: None) -> StagedResult:
    """Map the staged result tables (:data:`STAGED`) to warehouse rows in TEMP tables ``bqn_*``.

    ``raw_row(part, file, line)`` returns the input row as a dict (the way :func:`normalize`
    reads it): asked only for rejected rows, so their messages are the row mapping's own.
    ``lap(name)`` is called at the end of each step (``map_<table>``), for timings."""
    from ..landscape.sql import LandscapeSQL, lit, select_landscape_sql

    def q(sql: str, params: Any = None) -> Any:
        lap("map_other")
        out = con.execute(sql, params or {})
        m = re.search(r"TEMP TABLE (\w+)", sql)
        lap("map_" + (m.group(1).removeprefix("bqn_") if m else "other"))
        return out

    _macros(con)
    _number_map(con)
    lap("map_numbers")
    pub, cit, fam = STAGED["publications"], STAGED["citations"], STAGED["families"]
    # --- documents: one row per valid input row, with its number read and its dates
    q(f"""CREATE OR REPLACE TEMP TABLE bqn_doc_all AS
          SELECT p.*, n.country, n.number, n.kind, n.pub_key,
                 bq_ymd(p.publication_date) AS pub_date, bq_ymd(p.filing_date) AS fil_date,
                 bq_ymd(p.priority_date) AS pri_date, bq_ymd(p.grant_date) AS gra_date,
                 n.pub_key IS NULL OR bq_date_bad(p.publication_date) OR bq_date_bad(p.filing_date)
                   OR bq_date_bad(p.priority_date) OR bq_date_bad(p.grant_date) OR p.bad_list IS NOT NULL AS bad
          FROM {pub} p LEFT JOIN bqn_numbers n ON n.raw = p.publication_number""").fetchall()
    rejected: list[RowError] = []
    for file, line in q("SELECT file, line FROM bqn_doc_all WHERE bad ORDER BY seq").fetchall():
        try:
            _read_doc(Located(raw_row("publications", file, line), file, line))
        except RowError as e:
            rejected.append(e)
            continue
        raise RowError(file, line, "row rejected by the SQL mapping but not by the row mapping (a bug; please report)")
    _value_map(con, "bqn_kinds", "country VARCHAR, kind VARCHAR, rank INTEGER, grant_kind BOOLEAN",
               "SELECT DISTINCT country, kind FROM bqn_doc_all WHERE NOT bad AND kind IS NOT NULL",
               lambda c, k: (kind_rank(k), is_grant_kind(c, k)))
    q("""CREATE OR REPLACE TEMP TABLE bqn_doc AS
         SELECT d.* EXCLUDE (bad), coalesce(k.rank, 0) AS rank, k.grant_kind,
                row_number() OVER (PARTITION BY d.pub_key ORDER BY coalesce(k.rank, 0) DESC,
                                   coalesce(d.pub_date, DATE '9999-12-31') DESC, d.seq DESC) AS r
         FROM bqn_doc_all d LEFT JOIN bqn_kinds k USING (country, kind) WHERE NOT d.bad""").fetchall()
    q("DROP TABLE bqn_doc_all").fetchall()
    # --- classifications: the most advanced document first, its 'first' codes first, deduplicated
    _value_map(con, "bqn_symbols", "code VARCHAR, symbol VARCHAR",
               "SELECT DISTINCT coalesce(c.code, '') FROM (SELECT unnest(cpc) AS c FROM bqn_doc)",
               lambda code: (normalize_symbol(code),))
    q(f"""CREATE OR REPLACE TEMP TABLE bqn_classifications AS
          SELECT pub_key, 'CPC' AS scheme, symbol, written AS symbol_as_written,
                 CAST(row_number() OVER (PARTITION BY pub_key ORDER BY k) AS INTEGER) AS position,
                 CAST(NULL AS VARCHAR) AS version, '{SOURCE}' AS source
          FROM (SELECT pub_key, s.symbol, arg_min(coalesce(c.code, ''), [r, NOT bq_true(c."first"), i]) AS written,
                       min([r, NOT bq_true(c."first"), i]) AS k
                FROM (SELECT pub_key, r, unnest(cpc) AS c, generate_subscripts(cpc, 1) AS i FROM bqn_doc) u
                JOIN bqn_symbols s ON s.code = coalesce(u.c.code, '')
                WHERE s.symbol IS NOT NULL GROUP BY pub_key, s.symbol)""").fetchall()
    # --- publications
    q("""CREATE OR REPLACE TEMP TABLE bqn_pub0 AS
         SELECT pub_key,
                arg_min(publication_number, r) AS number_as_received, arg_min(country, r) AS country,
                arg_min(number, r) AS doc_number, arg_min(kind, r) AS best_kind,
                list_sort(list(DISTINCT {'r': rank, 'k': kind}) FILTER (WHERE kind IS NOT NULL)) AS kinds_ranked,
                bool_or(coalesce(grant_kind, false)) FILTER (WHERE kind IS NOT NULL) AS is_grant,
                arg_min(title, r) FILTER (WHERE title <> '') AS title,
                arg_min(abstract, r) FILTER (WHERE abstract <> '') AS abstract,
                arg_min(application_number, r) FILTER (WHERE application_number <> '') AS application_number,
                min(pri_date) AS priority_date, arg_min(fil_date, r) FILTER (WHERE fil_date IS NOT NULL) AS filing_date,
                min(pub_date) AS publication_date,
                coalesce(min(gra_date), min(pub_date) FILTER (WHERE grant_kind)) AS grant_date,
                arg_min(bq_family(family_id), r) FILTER (WHERE bq_family(family_id) IS NOT NULL) AS docdb_family,
                bool_or(bq_true(in_landscape)) AS in_land,
                bool_or(bq_true(match_core)) AS m_core, bool_or(bq_true(match_strong)) AS m_strong,
                bool_or(bq_true(match_context)) AS m_context
         FROM bqn_doc GROUP BY pub_key""").fetchall()
    lsql = LandscapeSQL.of(landscape)
    strong = f"regexp_extract(t.text, {lit(lsql.strong)}, 1)" if lsql.strong else "''"
    weak = f"regexp_extract(t.text, {lit(lsql.weak)}, 1)" if lsql.weak else "''"
    q(f"""CREATE OR REPLACE TEMP TABLE bqn_reason AS
          WITH m AS (SELECT pub_key AS patent_id, coalesce(title, '') || ' ' || coalesce(abstract, '') AS text
                     FROM bqn_pub0 WHERE in_land),
               s AS (SELECT DISTINCT symbol FROM bqn_classifications c SEMI JOIN m ON m.patent_id = c.pub_key),
               f AS (SELECT symbol, {lsql.core} AS is_core, {lsql.context} AS is_ctx FROM s),
               h AS (SELECT c.pub_key AS patent_id,
                            arg_min(c.symbol, c.position) FILTER (WHERE f.is_core) AS core_sym,
                            arg_min(c.symbol, c.position) FILTER (WHERE f.is_ctx) AS ctx_sym
                     FROM bqn_classifications c JOIN f USING (symbol) SEMI JOIN m ON m.patent_id = c.pub_key
                     WHERE f.is_core OR f.is_ctx GROUP BY c.pub_key),
               t AS (SELECT t.patent_id, {strong} AS strong_kw,
                            CASE WHEN h.ctx_sym IS NOT NULL THEN {weak} ELSE '' END AS weak_kw
                     FROM m t LEFT JOIN h USING (patent_id))
          {select_landscape_sql(lsql, 't', 'h')}""").fetchall()
    q(f"""CREATE OR REPLACE TEMP TABLE bqn_publications AS
          SELECT p.pub_key,
                 CASE WHEN kinds_ranked IS NULL THEN p.pub_key ELSE p.pub_key || '-' || kinds_ranked[-1].k END AS pub_number,
                 number_as_received, country, doc_number, kinds_ranked[-1].k AS kind,
                 list_transform(kinds_ranked, lambda x: x.k) AS kinds_seen, is_grant, title, abstract, application_number,
                 priority_date, filing_date, publication_date, grant_date,
                 coalesce(docdb_family, 'PUB:' || p.pub_key) AS family_id,
                 CASE WHEN docdb_family IS NOT NULL THEN 'docdb' ELSE 'publication' END AS family_id_source,
                 CAST(NULL AS VARCHAR) AS status_as_shown, CAST(NULL AS VARCHAR) AS expiry_as_shown,
                 in_land AS in_landscape,
                 CASE WHEN in_land THEN coalesce(r.reason, 'bigquery:' || coalesce(nullif(concat_ws('+',
                     CASE WHEN m_core THEN 'core' END, CASE WHEN m_strong THEN 'strong' END,
                     CASE WHEN m_context THEN 'context' END), ''), 'member')) END AS landscape_reason,
                 CAST(NULL AS VARCHAR) AS relevance, '{SOURCE}' AS source,
                 bq_url(country, doc_number, best_kind) AS source_url
          FROM bqn_pub0 p LEFT JOIN bqn_reason r ON r.patent_id = p.pub_key""").fetchall()
    # --- parties and priority claims: from the most advanced document that lists them
    party_sql = []
    for col, roles in (("assignee_harmonized", ("applicant", "original_assignee")), ("inventor_harmonized", ("inventor",))):
        for role in roles:
            grant_only = "AND coalesce(src.grant_kind, false)" if role == "original_assignee" else ""
            party_sql.append(f"""
                SELECT pub_key, '{role}' AS role,
                       CAST(row_number() OVER (PARTITION BY pub_key ORDER BY i) AS INTEGER) AS seq,
                       bq_strip(a.name) AS name_as_written, nullif(a.country_code, '') AS country, '{SOURCE}' AS source,
                       publication_number || ':{col}' AS source_field
                FROM (SELECT src.pub_key, src.publication_number, unnest(src.{col}) AS a,
                             generate_subscripts(src.{col}, 1) AS i
                      FROM (SELECT d.* FROM bqn_doc d WHERE len(d.{col}) > 0
                            QUALIFY row_number() OVER (PARTITION BY d.pub_key ORDER BY d.r) = 1) src
                      WHERE true {grant_only})
                WHERE coalesce(bq_strip(a.name), '') <> ''""")
    q("CREATE OR REPLACE TEMP TABLE bqn_parties AS " + " UNION ALL ".join(party_sql)).fetchall()
    q(f"""CREATE OR REPLACE TEMP TABLE bqn_priority_claims AS
          SELECT pub_key, CAST(i AS INTEGER) AS seq,
                 CASE WHEN d IS NOT NULL THEN bq_strip(app || ' ' || strftime(d, '%Y-%m-%d')) ELSE app END AS claim_as_written,
                 cc AS priority_country,
                 CASE WHEN cc IS NOT NULL AND len(parts) > 1 THEN parts[2] ELSE nullif(app, '') END AS priority_number,
                 d AS priority_date,
                 CASE WHEN cc = 'WO' THEN 'pct' WHEN cc IS NOT NULL THEN
                      CASE WHEN cc = country THEN 'domestic' ELSE 'foreign' END END AS claim_type,
                 '{SOURCE}' AS source
          FROM (SELECT *, CASE WHEN regexp_full_match(parts[1], '[A-Z]{{2}}') THEN parts[1] END AS cc
                FROM (SELECT *, string_split(app, '-') AS parts
                      FROM (SELECT pub_key, country, i,
                                   coalesce(nullif(pc.application_number, ''), nullif(pc.publication_number, ''), '') AS app,
                                   bq_ymd(pc.filing_date) AS d
                            FROM (SELECT src.pub_key, src.country, unnest(src.priority_claim) AS pc,
                                         generate_subscripts(src.priority_claim, 1) AS i
                                  FROM (SELECT d.* FROM bqn_doc d WHERE len(d.priority_claim) > 0
                                        QUALIFY row_number() OVER (PARTITION BY d.pub_key ORDER BY d.r) = 1) src))
                      WHERE app <> '' OR d IS NOT NULL))""").fetchall()
    # --- every value each document showed
    q(f"""CREATE OR REPLACE TEMP TABLE bqn_field_values AS
          SELECT * FROM (
              SELECT d.pub_key, f.field, f.value, '{SOURCE}' AS source, d.publication_number AS source_record,
                     bq_url(d.country, d.number, d.kind) AS source_url, f.chosen
              FROM (SELECT d.*, min(pub_date) OVER (PARTITION BY pub_key) AS first_pub FROM bqn_doc d) d,
                   LATERAL (VALUES ('bigquery_publication', d.publication_number, d.r = 1),
                                   ('kind', d.kind, d.r = 1),
                                   ('publication_date', strftime(d.pub_date, '%Y-%m-%d'), d.pub_date = d.first_pub),
                                   ('family_id', bq_family(d.family_id), d.r = 1),
                                   ('application_number', d.application_number, d.r = 1)) f(field, value, chosen))
          WHERE value IS NOT NULL AND value <> ''""").fetchall()
    # --- citations, one row per (citing publication, cited number or NPL text)
    q(f"""CREATE OR REPLACE TEMP TABLE bqn_cit_all AS
          SELECT c.seq, c.file, c.line, c.citing_publication_number, n.pub_key AS citing_key,
                 n.country AS citing_country, n.number AS citing_number, n.kind AS citing_kind,
                 coalesce(bq_strip(c.cited_publication_number), '') AS cited_raw,
                 coalesce(bq_strip(c.npl_text), '') AS npl, bq_strip(coalesce(c.type, '')) AS typ, c.category,
                 EXISTS (SELECT 1 FROM bqn_publications p WHERE p.pub_key = n.pub_key) AS known
          FROM {cit} c LEFT JOIN bqn_numbers n ON n.raw = c.citing_publication_number""").fetchall()
    for file, line in q("SELECT file, line FROM bqn_cit_all WHERE citing_key IS NULL ORDER BY seq").fetchall():
        r = raw_row("citations", file, line)
        rejected.append(RowError(file, line, f"citing_publication_number {r.get('citing_publication_number')!r} "
                                             "is not a number like 'US-4770723-A'", "citing_publication_number"))
    rejected += [RowError(f, n, f"citing publication {raw} is not in the publications table of the same result",
                          "citing_publication_number")
                 for f, n, raw in q("SELECT file, line, citing_publication_number FROM bqn_cit_all "
                                    "WHERE citing_key IS NOT NULL AND NOT known ORDER BY seq").fetchall()]
    q("""CREATE OR REPLACE TEMP TABLE bqn_cit AS
          SELECT seq, citing_key, citing_country, citing_number, citing_kind, cited_raw, typ,
                 CASE WHEN cited_raw <> '' THEN cited_raw ELSE npl END AS written,
                 list_filter(regexp_split_to_array(bq_strip(coalesce(category, '')), '[,\\s]+'), lambda x: x <> '') AS cats
          FROM bqn_cit_all WHERE known AND (cited_raw <> '' OR npl <> '')""").fetchall()
    q("DROP TABLE bqn_cit_all").fetchall()
    # one row per (citing, written): the first one read; where there are several (few), the
    # categories are the first row's in order, then each later row's that no earlier row had
    q("""CREATE OR REPLACE TEMP TABLE bqn_cit_dups AS
         SELECT citing_key, written, min(seq) AS first_seq FROM bqn_cit GROUP BY ALL HAVING count(*) > 1""").fetchall()
    q(f"""CREATE OR REPLACE TEMP TABLE bqn_citations AS
          WITH f AS (SELECT c.*, false AS dup FROM bqn_cit c ANTI JOIN bqn_cit_dups USING (citing_key, written)
                     UNION ALL
                     SELECT c.*, true AS dup FROM bqn_cit c JOIN bqn_cit_dups d
                       ON d.citing_key = c.citing_key AND d.written = c.written AND d.first_seq = c.seq),
               multi AS (
                  SELECT citing_key, written, nullif(string_agg(cat, ',' ORDER BY seq, j), '') AS category
                  FROM (SELECT citing_key, written, seq, j, cat, first_seq,
                               min(seq) OVER (PARTITION BY citing_key, written, cat) AS cat_first
                        FROM (SELECT c.citing_key, c.written, c.seq, d.first_seq, unnest(c.cats) AS cat,
                                     generate_subscripts(c.cats, 1) AS j
                              FROM bqn_cit c JOIN bqn_cit_dups d USING (citing_key, written)))
                  WHERE seq = first_seq OR seq = cat_first GROUP BY ALL),
               url AS (SELECT citing_key, arg_min({{'c': citing_country, 'n': citing_number, 'k': citing_kind}}, seq) AS u
                       FROM bqn_cit GROUP BY citing_key)
          SELECT f.citing_key AS citing_pub_key, f.written AS cited_as_written, n.pub_key AS cited_pub_key,
                 CAST(year(p.publication_date) AS INTEGER) AS cited_year,
                 CASE WHEN f.dup THEN m.category ELSE nullif(array_to_string(f.cats, ','), '') END AS category,
                 CASE WHEN f.cited_raw <> '' THEN 'patent' ELSE 'npl' END
                   || CASE WHEN f.typ <> '' THEN ' (' || f.typ || ')' ELSE '' END AS reference_type,
                 CAST(NULL AS VARCHAR) AS cited_by, '{SOURCE}' AS source, bq_url(u.u.c, u.u.n, u.u.k) AS source_url
          FROM f JOIN url u USING (citing_key)
          LEFT JOIN multi m ON f.dup AND m.citing_key = f.citing_key AND m.written = f.written
          LEFT JOIN bqn_numbers n ON f.cited_raw <> '' AND n.raw = f.cited_raw
          LEFT JOIN bqn_publications p ON p.pub_key = n.pub_key""").fetchall()
    q("DROP TABLE bqn_cit_dups").fetchall()
    q("DROP TABLE bqn_cit").fetchall()
    # --- families: the latest row of each family id
    q(f"""CREATE OR REPLACE TEMP TABLE bqn_fam_all AS
          SELECT *, bq_family(family_id) AS fid,
                 bad_list IS NOT NULL OR bq_date_bad(earliest_priority_date) AS bad FROM {fam}""").fetchall()
    for file, line, fid in q("SELECT file, line, fid FROM bqn_fam_all WHERE fid IS NULL OR bad ORDER BY seq").fetchall():
        if fid is None:
            rejected.append(RowError(file, line, "family row without a family_id", "family_id"))
            continue
        r = raw_row("families", file, line)
        try:
            for k in FAM_LISTS:
                _list(r, k)
            ymd(r.get("earliest_priority_date"))
        except ValueError as e:
            rejected.append(RowError(file, line, str(e)))
            continue
        raise RowError(file, line, "row rejected by the SQL mapping but not by the row mapping (a bug; please report)")
    q("""CREATE OR REPLACE TEMP TABLE bqn_family_details AS
         SELECT fid AS family_id, bq_ymd(earliest_priority_date) AS earliest_priority_date,
                list_transform(coalesce(members, []), lambda x: coalesce(x, 'None')) AS members,
                list_transform(coalesce(offices, []), lambda x: coalesce(x, 'None')) AS offices,
                list_transform(coalesce(assignees_harmonized, []), lambda x: coalesce(x, 'None')) AS assignees_harmonized,
                bq_true(in_landscape) AS in_landscape, CAST(len(coalesce(members, [])) AS INTEGER) AS member_count
         FROM bqn_fam_all WHERE fid IS NOT NULL AND NOT bad
         QUALIFY row_number() OVER (PARTITION BY fid ORDER BY seq DESC) = 1""").fetchall()
    q("DROP TABLE bqn_fam_all").fetchall()
    q(f"""CREATE OR REPLACE TEMP TABLE bqn_families AS
          SELECT family_id, 'docdb' AS id_source, '{SOURCE}' AS source, {lit(FAMILY_NOTE)} AS note
          FROM (SELECT family_id FROM bqn_publications WHERE family_id_source = 'docdb'
                UNION SELECT family_id FROM bqn_family_details)""").fetchall()
    read = sum(int(q(f"SELECT count(*) FROM {t}").fetchall()[0][0]) for t in STAGED.values())
    newest = q("SELECT max(publication_date) FROM bqn_publications").fetchall()[0][0]
    tables = {t: f"bqn_{t}" for t in ("publications", "field_values", "parties", "classifications", "citations",
                                      "priority_claims", "families")}
    return StagedResult(tables, rejected, read, newest)
