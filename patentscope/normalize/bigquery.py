"""The result tables of the BigQuery landscape script -> canonical rows (pure: rows in, Batch out).

Input: the rows of ``ps_publications``, ``ps_citations`` and ``ps_families`` (see
:mod:`patentscope.sources.bigquery_sql`), as dicts, whether they came from the client as
Arrow, from an exported Parquet file or from newline-delimited JSON (where BigQuery writes
INT64 as strings). Mapping decisions (docs/ingest-world.md, "BigQuery"):

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
from collections.abc import Iterable, Iterator
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
    kinds = sorted({d.pn.kind for d in docs if d.pn.kind}, key=kind_rank)
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
