"""User exports from Google Patents and Lens.org (CSV) -> canonical rows (pure).

Layouts are recognised by their real headers (sources in docs/ingest-world.md and
tests/fixtures/exports/PROVENANCE.md); nothing is guessed from the file name.

- **Google Patents** "Download (CSV)" of a search result: an optional first line
  ``search URL:,https://patents.google.com/?...``, then the header ``id,title,assignee,
  inventor/author,priority date,filing/creation date,publication date,grant date,result link,
  representative figure link``. Ids look like ``US-9254383-B2``; dates are ISO; several inventors
  are joined with ``, ``. The assignee cell is kept whole: company names contain commas too.
- **Lens.org** patent export, current layout: ``Jurisdiction, Kind, Display Key, Lens ID,
  Publication Date, Publication Year, Application Number, Application Date, Priority Numbers,
  Earliest Priority Date, Title, Abstract, Applicants, Inventors, Owners, URL, Document Type, ...,
  CPC Classifications, IPCR Classifications, ..., NPL Citations, Legal Status`` (with or
  without a leading ``#`` column); multi-valued cells are joined with ``;;``.
- **Lens.org** patent export, 2015 layout: ``#,Jurisdiction,Kind,Publication Number,
  Publication Date,Publication Year,Application Number,Application Date,Priority Numbers,Title,
  Applicants,Inventors,URL,Type,...,Non-Patent Citations`` with day-first dates (``25/04/13``).

Each bad row is reported as a RowError with file, line and column and the rest still loads.
Rows of one publication number (A1 and B1 of one number, or a repeat) are merged into one
publication: values come from the most advanced kind's row and every row's values are kept in
``field_values``. Roles: Google's ``assignee`` is ``original_assignee`` on a granted document and
``applicant`` otherwise; Lens ``Applicants`` are ``applicant``, Lens ``Owners`` are
``current_assignee``. Exports carry no DOCDB family id, so ``family_id`` is ``PUB:`` + pub_key.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, RowError
from ..landscape import Landscape
from ..redact import scrub
from .batch import Batch, Row
from .classifications import normalize_symbol
from .csvrows import read_input_text, records_of_text
from .dates import parse_iso
from .numbers import PubNumber, is_grant_kind, kind_rank, normalize_application_number, parse_pub_number

SOURCE = "file"

GOOGLE_HEADER = ["id", "title", "assignee", "inventor/author", "priority date", "filing/creation date",
                 "publication date", "grant date", "result link", "representative figure link"]
GOOGLE_REQUIRED = GOOGLE_HEADER[:9]
LENS_HEADER = ["Jurisdiction", "Kind", "Display Key", "Lens ID", "Publication Date", "Publication Year",
               "Application Number", "Application Date", "Priority Numbers", "Earliest Priority Date", "Title",
               "Abstract", "Applicants", "Inventors", "Owners", "URL", "Document Type", "Has Full Text",
               "Cites Patent Count", "Cited by Patent Count", "Simple Family Size", "Simple Family Members",
               "Simple Family Member Jurisdictions", "Extended Family Size", "Extended Family Members",
               "Extended Family Member Jurisdictions", "Sequence Count", "CPC Classifications",
               "IPCR Classifications", "US Classifications", "NPL Citation Count", "NPL Resolved Citation Count",
               "NPL Resolved Lens ID(s)", "NPL Resolved External ID(s)", "NPL Citations", "Legal Status"]
LENS_REQUIRED = ["Jurisdiction", "Kind", "Display Key", "Lens ID", "Publication Date", "Title", "Applicants", "Inventors"]
LENS2015_HEADER = ["#", "Jurisdiction", "Kind", "Publication Number", "Publication Date", "Publication Year",
                   "Application Number", "Application Date", "Priority Numbers", "Title", "Applicants", "Inventors",
                   "URL", "Type", "Full Text", "Cited Count", "Simple Family Size", "Extended Family Size",
                   "Sequence Count", "CPC Classifications", "IPCR Classifications", "US Classifications",
                   "PubMed Id(s)", "DOI(s)", "Non-Patent Citations"]
LENS2015_REQUIRED = ["Jurisdiction", "Kind", "Publication Number", "Publication Date", "Title", "Applicants", "Inventors"]

FORMATS = {
    "google": "Google Patents search-result CSV (id,title,assignee,inventor/author,priority date,...)",
    "lens": "Lens.org patent export (Jurisdiction,Kind,Display Key,Lens ID,Publication Date,...)",
    "lens2015": "Lens.org patent export, 2015 layout (#,Jurisdiction,Kind,Publication Number,...)",
}


@dataclass
class ExportRow:
    """One parsed export row: one source's view of one publication document."""

    file: str
    line: int
    record_id: str
    pub: PubNumber
    url: str | None
    values: dict[str, Any]
    parties: dict[str, list[str]]
    cpc: list[str] = field(default_factory=list)
    ipc: list[str] = field(default_factory=list)
    priority_claims: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    npl: list[str] = field(default_factory=list)
    fmt: str = ""

    @property
    def source_record(self) -> str:
        return f"{self.fmt}:{self.record_id}"


# ------------------------------------------------------------------------------------------------
# reading


def detect_format(text: str) -> tuple[str, int]:
    """(format, index of the header line) from the first lines; InputError when unknown."""
    lines = text.splitlines()[:3]
    first = 0
    if lines and lines[0].lower().startswith("search url"):
        first = 1
    if len(lines) <= first:
        raise InputError("the file has no header line")
    header = next(csv.reader([lines[first]]))
    cols = [c.strip() for c in header]
    low = [c.lower() for c in cols]
    if all(c in low for c in GOOGLE_REQUIRED):
        return "google", first
    if all(c in cols for c in LENS_REQUIRED):
        return "lens", first
    if all(c in cols for c in LENS2015_REQUIRED):
        return "lens2015", first
    raise InputError(
        "the header is not one patentscope knows; expected one of: " + "; ".join(FORMATS.values())
        + (f" (found: {scrub(', '.join(c[:40] for c in cols[:6]))}{', ...' if len(cols) > 6 else ''})" if len(cols) >= 3
           else f" (found a first line with {len(cols)} column(s): is this a CSV export at all?)")
    )


def _records(name: str, text: str, header_index: int) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number of the record's first line, row) for each data record; header line first."""
    yield from records_of_text(name, text, header_index=header_index)[1]


def _split(value: str, sep: str) -> list[str]:
    return [v.strip() for v in value.split(sep) if v.strip()] if value else []


def _lens_date(text: str, *, not_after: dt.date | None, col: str, file: str, line: int) -> dt.date | None:
    """ISO, dd/mm/yyyy or dd/mm/yy (2015 Lens exports). A two-digit year takes the century that puts
    the date on or before ``not_after`` (the publication date) and within 100 years of it."""
    s = (text or "").strip()
    if not s:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
            return dt.date.fromisoformat(s)
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})", s)
        if m:
            day, month, year = int(m[1]), int(m[2]), m[3]
            if len(year) == 4:
                return dt.date(int(year), month, day)
            if not_after is None:
                raise RowError(file, line, f"two-digit year in {s!r} and no publication date to tell the century", col)
            y = not_after.year - (not_after.year - int(year)) % 100
            d = dt.date(y, month, day)
            if d > not_after:
                d = dt.date(y - 100, month, day)
            return d
    except ValueError:
        pass
    raise RowError(file, line, f"not a date: {s!r} (expected YYYY-MM-DD or DD/MM/YY)", col)


_PRIORITY_RE = re.compile(r"^(?P<cc>[A-Z]{2})\s+(?P<num>.+?)\s+(?P<kind>[A-Z]\d?)\s+(?P<date>\d{8})$")


def _priority(text: str, pub_country: str) -> dict[str, Any]:
    """Lens ``US 201161550506 P 20111024`` -> country, number, date, claim type."""
    m = _PRIORITY_RE.match(text.strip())
    if not m:
        return {"priority_country": None, "priority_number": None, "priority_date": None, "claim_type": None}
    d = m["date"]
    try:
        date: dt.date | None = dt.date(int(d[:4]), int(d[4:6]), int(d[6:]))
    except ValueError:
        date = None
    kind = m["kind"]
    if m["cc"] == "US" and kind == "P":
        claim_type = "provisional"
    elif m["cc"] == "WO" or kind == "W":
        claim_type = "pct"
    else:
        claim_type = "domestic" if m["cc"] == pub_country else "foreign"
    return {"priority_country": m["cc"], "priority_number": m["num"].replace(" ", ""), "priority_date": date,
            "claim_type": claim_type}


def _pub_from_display(display: str, jurisdiction: str, kind: str) -> PubNumber | None:
    """Lens ``US 2013/0101709 A1`` / ``US D533981 S1`` -> PubNumber, checked against Jurisdiction/Kind."""
    pn = parse_pub_number(display)
    if pn is None and jurisdiction:
        m = re.fullmatch(rf"{re.escape(jurisdiction)}\s*(.+?)\s*{re.escape(kind)}" if kind else rf"{re.escape(jurisdiction)}\s*(.+)",
                         display.strip())
        if m:
            num = re.sub(r"[\s/,.]", "", m.group(1)).upper()
            if re.fullmatch(r"[A-Z]{0,2}\d+", num):
                pn = PubNumber(jurisdiction, num, kind or None, display)
    return pn


def _row_google(file: str, line: int, row: dict[str, str]) -> ExportRow:
    r = {k.strip().lower(): (v or "").strip() for k, v in row.items()}
    pn = parse_pub_number(r["id"])
    if pn is None:
        raise RowError(file, line, f"not a patent publication number: {r['id']!r}", "id")
    values: dict[str, Any] = {}
    for col, fld in (("priority date", "priority_date"), ("filing/creation date", "filing_date"),
                     ("publication date", "publication_date"), ("grant date", "grant_date")):
        try:
            d = parse_iso(r.get(col, ""))
        except ValueError as e:
            raise RowError(file, line, str(e), col) from None
        if d:
            values[fld] = d
    if r.get("title"):
        values["title"] = r["title"]
    if r.get("representative figure link"):
        values["representative_figure_link"] = r["representative figure link"]
    role = "original_assignee" if is_grant_kind(pn.country, pn.kind) else "applicant"
    parties: dict[str, list[str]] = {}
    if r.get("assignee"):
        parties[role] = [r["assignee"]]
    if r.get("inventor/author"):
        parties["inventor"] = _split(r["inventor/author"], ",")
    url = r.get("result link") or None
    return ExportRow(file, line, r["id"], pn, url, values, parties)


def _row_lens(file: str, line: int, row: dict[str, str], layout: str) -> ExportRow:
    r = {k.strip(): (v or "").strip() for k, v in row.items()}
    display_col = "Display Key" if layout == "lens" else "Publication Number"
    juris, kind = r.get("Jurisdiction", "").upper(), r.get("Kind", "")
    pn = _pub_from_display(r.get(display_col, ""), juris, kind)
    if pn is None:
        raise RowError(file, line, f"not a patent publication number: {r.get(display_col, '')!r}", display_col)
    if juris and pn.country != juris:
        raise RowError(file, line, f"{juris!r} disagrees with {display_col} {r.get(display_col)!r}", "Jurisdiction")
    if kind and pn.kind and kind != pn.kind:
        raise RowError(file, line, f"{kind!r} disagrees with {display_col} {r.get(display_col)!r}", "Kind")
    if kind and not pn.kind:
        pn = PubNumber(pn.country, pn.number, kind, pn.as_received)
    values: dict[str, Any] = {}
    pub_date: dt.date | None = None
    if layout == "lens":
        pub_date = _lens_date(r.get("Publication Date", ""), not_after=None, col="Publication Date", file=file, line=line)
    else:
        year = r.get("Publication Year", "")
        raw = r.get("Publication Date", "")
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{2})", raw)
        if m and year.isdigit():
            try:
                pub_date = dt.date(int(year), int(m[2]), int(m[1]))
            except ValueError:
                raise RowError(file, line, f"not a date: {raw!r}", "Publication Date") from None
            if pub_date.year % 100 != int(m[3]):
                raise RowError(file, line, f"{raw!r} disagrees with Publication Year {year}", "Publication Date")
        else:
            pub_date = _lens_date(raw, not_after=None, col="Publication Date", file=file, line=line) if raw else None
    if pub_date:
        values["publication_date"] = pub_date
        if is_grant_kind(pn.country, pn.kind):
            values["grant_date"] = pub_date
    app_date = _lens_date(r.get("Application Date", ""), not_after=pub_date, col="Application Date", file=file, line=line)
    if app_date:
        values["filing_date"] = app_date
    if r.get("Earliest Priority Date"):
        pd = _lens_date(r["Earliest Priority Date"], not_after=pub_date, col="Earliest Priority Date", file=file, line=line)
        if pd:
            values["priority_date"] = pd
    for col, fld in (("Title", "title"), ("Abstract", "abstract"), ("Legal Status", "status_as_shown"),
                     ("Document Type", "document_type"), ("Type", "document_type"), ("Lens ID", "lens_id"),
                     ("Simple Family Members", "lens_simple_family"), ("Simple Family Size", "simple_family_size"),
                     ("Extended Family Size", "extended_family_size"), ("US Classifications", "uspc_as_shown"),
                     ("Cited by Patent Count", "cited_by_count"), ("Cited Count", "cited_by_count")):
        if r.get(col):
            values[fld] = r[col]
    if r.get("Application Number"):
        values["application_number_as_written"] = r["Application Number"]
        values["application_number"] = normalize_application_number(r["Application Number"])
    cpc: list[str] = []
    for sym in _split(r.get("CPC Classifications", ""), ";;"):
        s = normalize_symbol(sym)
        if s is None:
            raise RowError(file, line, f"not a CPC symbol: {sym!r}", "CPC Classifications")
        if s not in cpc:
            cpc.append(s)
    ipc: list[str] = []
    for sym in _split(r.get("IPCR Classifications", ""), ";;"):
        s = normalize_symbol(sym)
        if s is None:
            raise RowError(file, line, f"not an IPC symbol: {sym!r}", "IPCR Classifications")
        if s not in ipc:
            ipc.append(s)
    parties = {role: _split(r.get(col, ""), ";;") for col, role in
               (("Applicants", "applicant"), ("Inventors", "inventor"), ("Owners", "current_assignee"))}
    parties = {k: v for k, v in parties.items() if v}
    claims = [(c, _priority(c, pn.country)) for c in _split(r.get("Priority Numbers", ""), ";;")]
    if "priority_date" not in values:  # 2015 layout: no Earliest Priority Date column
        earliest = min((p["priority_date"] for _c, p in claims if p["priority_date"]), default=None)
        if earliest:
            values["priority_date"] = earliest
    npl = _split(r.get("NPL Citations", r.get("Non-Patent Citations", "")), ";;")
    record = r.get("Lens ID") or f"{r.get('#', '')}:{r.get(display_col, '')}"
    return ExportRow(file, line, record, pn, r.get("URL") or None, values, parties, cpc, ipc, claims, npl)


# ------------------------------------------------------------------------------------------------
# merging rows into publications

MERGED = ("title", "abstract", "application_number", "priority_date", "filing_date", "publication_date",
          "grant_date", "status_as_shown")


def _text(v: Any) -> str:
    return v.isoformat() if isinstance(v, dt.date) else str(v)


def merge_rows(rows: list[ExportRow], landscape: Landscape) -> Batch:
    """Rows of one or more export files -> one Batch (one publication per pub_key).

    A row repeating a record already seen (same record id, same publication: overlapping
    exports) is merged away; the first one counts."""
    batch = Batch(source=SOURCE)
    groups: dict[str, list[ExportRow]] = defaultdict(list)
    for r in rows:
        if all(o.source_record != r.source_record for o in groups[r.pub.pub_key]):
            groups[r.pub.pub_key].append(r)
    for pub_key in sorted(groups):
        obs = sorted(groups[pub_key], key=lambda o: (-kind_rank(o.pub.kind), o.file, o.line))
        best = obs[0]
        kinds = sorted({o.pub.kind for o in obs if o.pub.kind}, key=kind_rank)
        row: Row = {
            "pub_key": pub_key, "pub_number": f"{pub_key}-{kinds[-1]}" if kinds else pub_key,
            "number_as_received": best.pub.as_received, "country": best.pub.country, "doc_number": best.pub.number,
            "kind": kinds[-1] if kinds else None, "kinds_seen": kinds,
            "is_grant": any(is_grant_kind(best.pub.country, k) for k in kinds) if kinds else None,
            "family_id": f"PUB:{pub_key}", "family_id_source": "publication", "expiry_as_shown": None,
            "relevance": None, "source": SOURCE, "source_url": next((o.url for o in obs if o.url), None),
        }
        for f in sorted({k for o in obs for k in o.values}):
            chosen = False
            for o in obs:
                if f not in o.values:
                    continue
                is_chosen = not chosen
                chosen = True
                batch.field_values.append({"pub_key": pub_key, "field": f, "value": _text(o.values[f]), "source": SOURCE,
                                           "source_record": o.source_record, "source_url": o.url,
                                           "chosen": is_chosen})
                if is_chosen and f in MERGED:
                    row[f] = o.values[f]
        for f in MERGED:
            row.setdefault(f, None)
        for o in obs:
            if o.pub.kind:
                batch.field_values.append({"pub_key": pub_key, "field": "kind", "value": o.pub.kind, "source": SOURCE,
                                           "source_record": o.source_record, "source_url": o.url,
                                           "chosen": o is best})
        for role in sorted({k for o in obs for k in o.parties}):
            src = next(o for o in obs if role in o.parties)
            for seq, name in enumerate(src.parties[role], start=1):
                batch.parties.append({"pub_key": pub_key, "role": role, "seq": seq, "name_as_written": name,
                                      "country": None, "source": SOURCE,
                                      "source_field": f"{src.source_record}:{role}"})
            for o in obs:
                if role in o.parties:
                    batch.field_values.append({"pub_key": pub_key, "field": role, "value": " | ".join(o.parties[role]),
                                               "source": SOURCE, "source_record": o.source_record,
                                               "source_url": o.url, "chosen": o is src})
        symbols: list[str] = []
        for scheme, attr in (("CPC", "cpc"), ("IPC", "ipc")):
            pos = 0
            seen_sym: set[str] = set()
            for o in obs:
                for sym in getattr(o, attr):
                    if sym in seen_sym:
                        continue
                    seen_sym.add(sym)
                    pos += 1
                    symbols.append(sym)
                    batch.classifications.append({"pub_key": pub_key, "scheme": scheme, "symbol": sym,
                                                  "symbol_as_written": sym, "position": pos, "version": None,
                                                  "source": SOURCE})
        reason = landscape.match(symbols, f"{row.get('title') or ''} {row.get('abstract') or ''}")
        row["in_landscape"] = reason is not None
        row["landscape_reason"] = reason
        batch.publications.append(row)
        src_pc = next((o for o in obs if o.priority_claims), None)
        if src_pc is not None:
            for seq, (written, parsed) in enumerate(src_pc.priority_claims, start=1):
                batch.priority_claims.append({"pub_key": pub_key, "seq": seq, "claim_as_written": written,
                                              "source": SOURCE, **parsed})
        seen: set[str] = set()
        for o in obs:
            for ref in o.npl:
                if ref in seen:
                    continue
                seen.add(ref)
                batch.citations.append({"citing_pub_key": pub_key, "cited_as_written": ref, "cited_pub_key": None,
                                        "cited_year": None, "category": None, "reference_type": "npl", "cited_by": None,
                                        "source": SOURCE, "source_url": o.url})
    return batch


# ------------------------------------------------------------------------------------------------
# files


def parse_file(path: Path, display_name: str | None = None) -> tuple[str, list[ExportRow], list[RowError], int]:
    """(format, good rows, rejected rows, rows read) of one export file. InputError if the whole
    file cannot be read (not UTF-8, unknown header, CSV syntax error)."""
    name = display_name or path.name
    text = read_input_text(path, what="export file")
    try:
        fmt, header_index = detect_format(text)
    except InputError as e:
        raise InputError(f"{name}: {e}") from None
    good: list[ExportRow] = []
    bad: list[RowError] = []
    n = 0
    for line, row in _records(name, text, header_index):
        n += 1
        if "__error__" in row:
            bad.append(RowError(name, line, row["__error__"], row.get("__column__")))
            continue
        try:
            parsed = _row_google(name, line, row) if fmt == "google" else _row_lens(name, line, row, fmt)
        except RowError as e:
            bad.append(e)
            continue
        parsed.fmt = fmt
        good.append(parsed)
    return fmt, good, bad, n


def load_files(paths: list[Path], landscape: Landscape) -> tuple[Batch, dict[str, str]]:
    """Every export file -> one Batch, and the format recognised per file name."""
    rows: list[ExportRow] = []
    rejected: list[RowError] = []
    formats: dict[str, str] = {}
    read = 0
    names = {p: (p.name if sum(q.name == p.name for q in paths) == 1 else str(p)) for p in paths}
    for p in paths:
        fmt, good, bad, n = parse_file(p, names[p])
        formats[names[p]] = fmt
        rows.extend(good)
        rejected.extend(bad)
        read += n
    batch = merge_rows(rows, landscape)
    batch.rejected = rejected
    batch.rows_read = read
    return batch, formats
