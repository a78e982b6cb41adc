"""USPTO Open Data Portal (ODP) Patent File Wrapper payloads -> canonical rows (pure).

Parses every response shape recorded in 2024 (beta host), 2025 (beta host with the production
shape) and 2026 (api.uspto.gov), tolerating the drift docs/uspto-odp-notes.md §5 lists:

- envelope: ``patentFileWrapperDataBag`` (2025-26), ``patentBag`` (2024 beta), ``patentdata``
  (search/download), or a bare record;
- metadata nested in ``applicationMetaData`` (2025-26) or flat on the record (2024);
- continuity in ``parentContinuityBag``/``childContinuityBag`` or inside ``continuityBag``, the
  description key ``claimParentageTypeCodeDescription(Text)``, the other filing date as
  ``parent/childApplicationFilingDate`` or ``filingDate``;
- transactions as ``eventDataBag`` {eventCode, eventDate} or ``transactionContentBag``
  {caseActionCode, recordedDate};
- PTA numbers as int or float (``15.0``), history code ``ptaPTECode``/``ptaPteCode``;
- CPC strings compact (``H01M10/54``) or padded (``H01M  50/46``): normalised with
  :func:`patentscope.normalize.classifications.normalize_symbol`;
- PCT numbers ``PCT/US15/27322``, ``PCTUS1527322`` or ``PCTUS2015027322`` (kept as written);
- error bodies: ``{"code": "404"|404, "message", "detailedMessage"}``, ``{"error", "errorDetails"}``,
  ``{"message": "Too Many Requests"}``, ``{"message": "Missing Authentication Token"}``.

Term inputs follow docs/uspto-odp-notes.md §8 (35 USC 154(a)(2), (a)(3)): the earliest US filing
date is the record's own filing date or the earliest ancestor reached through CON, CIP, DIV or
NST links (an NST parent is the PCT application, whose international filing date counts); PRO
links (35 USC 119(e)) and foreign priority do not count, and ``effectiveFilingDate`` is never
used. PTA is
``adjustmentTotalQuantity``; the identity ``total = max(0, A + B + C - overlap - applicant)`` is
checked and reported, not enforced.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..landscape import Landscape
from .assignments import Assignment, Property, event_rows, odp_assignments
from .batch import Batch, Row
from .classifications import normalize_symbol
from .maintfee import effect_of
from .numbers import normalize_application_number, parse_pub_number

SOURCE = "odp"
TERM_TYPES = frozenset({"CON", "CIP", "DIV", "NST"})
APPLICATION_TYPES = {"UTL": "utility", "DES": "design", "PLT": "plant", "REI": "reissue"}
LAPSE_STATUS = 250  # "Patent Expired Due to NonPayment of Maintenance Fees Under 37 CFR 1.362"


# --------------------------------------------------------------------------------------------
# small tolerant readers


def _get(d: dict[str, Any] | None, *names: str) -> Any:
    """The first present, non-None value among ``names`` (drifting key names)."""
    if not isinstance(d, dict):
        return None
    for n in names:
        v = d.get(n)
        if v is not None:
            return v
    return None


def parse_date(v: Any) -> dt.date | None:
    """'2021-01-05', '2023-10-03T09:18:25.000-0400', '2026-05-02T13:00:02' -> date."""
    if not isinstance(v, str) or len(v) < 10:
        return None
    try:
        return dt.date.fromisoformat(v[:10])
    except ValueError:
        return None


def as_int(v: Any) -> int | None:
    """PTA and status numbers: int (2024/2026), float 15.0 (2025) or numeric text."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(round(v))
    if isinstance(v, str) and re.fullmatch(r"\s*-?\d+(\.0+)?\s*", v):
        return int(float(v))
    return None


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


# --------------------------------------------------------------------------------------------
# payload kinds


@dataclass(frozen=True)
class PayloadInfo:
    kind: str                       # applications | products | status_codes | documents | no_hits | error | unknown
    records: list[dict[str, Any]]   # application records, products, status codes or documents
    count: int | None = None        # the payload's own 'count' (total hits of a search)
    error_code: int | None = None
    message: str | None = None


def error_info(body: Any) -> tuple[int | None, str | None]:
    """Code and message of an ODP error body, in any of its spellings."""
    if not isinstance(body, dict):
        return None, None
    code = as_int(_get(body, "code", "status", "statusCode"))
    msg = _get(body, "detailedMessage", "errorDetails", "message", "error")
    if isinstance(msg, (dict, list)):
        msg = str(msg)
    if isinstance(body.get("error"), str) and isinstance(body.get("errorDetails"), str):
        msg = f"{body['error']}: {body['errorDetails']}"
    return code, _text(msg)


def is_no_hits(status: int | None, body: Any) -> bool:
    """ODP answers an empty search with 404 (``code`` "404" or 404, or ``error``/``errorDetails``)."""
    if status not in (None, 404) or not isinstance(body, dict):
        return False
    code, msg = error_info(body)
    if code == 404 or (status == 404 and (msg or "").lower().startswith(("not found", "no matching"))):
        return True
    return bool(status == 404 and re.search(r"no matching records|not found", str(body), re.I))


def classify_payload(body: Any, status: int | None = None) -> PayloadInfo:
    """What a saved or received payload holds."""
    if isinstance(body, list):
        return PayloadInfo("applications", [r for r in body if isinstance(r, dict)])
    if not isinstance(body, dict):
        return PayloadInfo("unknown", [])
    count = as_int(body.get("count"))
    for key in ("patentFileWrapperDataBag", "patentBag", "patentdata"):
        if isinstance(body.get(key), list):
            return PayloadInfo("applications", [r for r in body[key] if isinstance(r, dict)], count)
    if isinstance(body.get("bulkDataProductBag"), list):
        return PayloadInfo("products", body["bulkDataProductBag"], count)
    if isinstance(body.get("statusCodeBag"), list):
        return PayloadInfo("status_codes", body["statusCodeBag"], count)
    if isinstance(body.get("documentBag"), list):
        return PayloadInfo("documents", body["documentBag"], count)
    if is_no_hits(status, body):
        code, msg = error_info(body)
        return PayloadInfo("no_hits", [], 0, 404, msg)
    code, msg = error_info(body)
    if msg is not None and not _looks_like_record(body):
        return PayloadInfo("error", [], None, code if code is not None else status, msg)
    if _looks_like_record(body):
        return PayloadInfo("applications", [body], 1)
    return PayloadInfo("unknown", [], count)


_URL_NUMBER = re.compile(r"applications[_/](PCT[-_/A-Z0-9]+?|\d{8})(?:[_/.]|$)")


def number_from_request(text: str) -> str | None:
    """The application number in a request URL or a recording's file name
    (``.../applications/16123456/adjustment``, ``..._patent_applications_16123456_adjustment.json``)."""
    m = _URL_NUMBER.search(text)
    if not m or m.group(1).startswith("PCT"):
        return None
    return m.group(1)


def _looks_like_record(d: dict[str, Any]) -> bool:
    return "applicationNumberText" in d or "applicationMetaData" in d


# --------------------------------------------------------------------------------------------
# application records


@dataclass(frozen=True)
class ContinuityLink:
    direction: str              # 'parent' (this application claims the parent) or 'child'
    child: str
    parent: str
    code: str
    text: str | None
    other_filing_date: dt.date | None
    other_patent_number: str | None
    other_status_code: int | None

    @property
    def counts_for_term(self) -> bool:
        return self.code in TERM_TYPES


@dataclass(frozen=True)
class Pta:
    a: int | None
    b: int | None
    c: int | None
    overlap: int | None
    applicant: int | None
    total: int | None
    non_overlapping: int | None
    ip_office_day_delay: int | None

    @property
    def identity_holds(self) -> bool | None:
        if None in (self.a, self.b, self.c, self.overlap, self.applicant, self.total):
            return None
        assert self.a is not None and self.b is not None and self.c is not None
        assert self.overlap is not None and self.applicant is not None
        return self.total == max(0, self.a + self.b + self.c - self.overlap - self.applicant)

    def note(self) -> str:
        parts = [f"A {self.a}", f"B {self.b}", f"C {self.c}", f"overlap {self.overlap}", f"applicant {self.applicant}",
                 f"total {self.total}"]
        s = "PTA " + ", ".join(parts)
        ok = self.identity_holds
        if ok is None:
            return s + "; identity not checkable (a component is missing)"
        if ok:
            return s + "; total = max(0, A+B+C-overlap-applicant)"
        assert None not in (self.a, self.b, self.c, self.overlap, self.applicant)
        expect = max(0, (self.a or 0) + (self.b or 0) + (self.c or 0) - (self.overlap or 0) - (self.applicant or 0))
        return s + f"; identity FAILS: A+B+C-overlap-applicant gives {expect}, adjustmentTotalQuantity {self.total} is used"


@dataclass(frozen=True)
class Event:
    date: dt.date | None
    code: str
    description: str | None

    @property
    def effect(self) -> str:
        return effect_of(self.code)


@dataclass
class Application:
    application_number: str
    patent_number: str | None = None
    filing_date: dt.date | None = None
    grant_date: dt.date | None = None
    type_code: str | None = None
    status_code: int | None = None
    status_text: str | None = None
    status_date: dt.date | None = None
    title: str | None = None
    cpc_as_written: list[str] = field(default_factory=list)
    applicants: list[tuple[str, str | None]] = field(default_factory=list)
    inventors: list[tuple[str, str | None]] = field(default_factory=list)
    earliest_publication_number: str | None = None
    earliest_publication_date: dt.date | None = None
    pct_publication_number: str | None = None
    continuity: list[ContinuityLink] = field(default_factory=list)
    pta: Pta | None = None
    events: list[Event] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    foreign_priority: list[tuple[str | None, str | None, dt.date | None]] = field(default_factory=list)
    last_ingestion: str | None = None
    parts: set[str] = field(default_factory=set)

    @property
    def cpc(self) -> list[str]:
        out: list[str] = []
        for s in self.cpc_as_written:
            sym = normalize_symbol(s)
            if sym and sym not in out:
                out.append(sym)
        return out

    @property
    def application_type(self) -> str | None:
        if self.type_code is None:
            return None
        return APPLICATION_TYPES.get(self.type_code.upper(), self.type_code)

    def own_pub_key(self) -> tuple[str | None, str | None, bool | None]:
        """(pub_key, kind, is_grant) from the numbers the record shows: the patent, else the
        pre-grant publication, else the PCT publication; (None, None, None) when none is shown."""
        if self.patent_number:
            num = re.sub(r"[\s,]", "", self.patent_number).upper()
            num = num.lstrip("0") if num.isdigit() else num
            if re.fullmatch(r"\d+|(D|RE|PP|H|T|X)\d+", num):
                return f"US-{num}", None, True
        for text in (self.earliest_publication_number, self.pct_publication_number):
            if text:
                pn = parse_pub_number(re.sub(r"[\s\-/]", "", text))
                if pn is not None:
                    return pn.pub_key, pn.kind, False if pn.kind else None
        return None, None, None


def _party_country(p: dict[str, Any]) -> str | None:
    cc = _get(p, "countryCode")
    if cc is None:
        addrs = _get(p, "correspondenceAddressBag") or []
        if addrs and isinstance(addrs[0], dict):
            cc = _get(addrs[0], "countryCode")
    return _text(cc)


def _links(rec: dict[str, Any]) -> list[ContinuityLink]:
    bag = rec.get("continuityBag") if isinstance(rec.get("continuityBag"), dict) else rec
    out: list[ContinuityLink] = []
    for direction, key in (("parent", "parentContinuityBag"), ("child", "childContinuityBag")):
        for r in _get(bag, key) or []:
            if not isinstance(r, dict):
                continue
            child = _text(r.get("childApplicationNumberText"))
            parent = _text(r.get("parentApplicationNumberText"))
            code = _text(r.get("claimParentageTypeCode"))
            if not (child and parent and code):
                continue
            other = "parent" if direction == "parent" else "child"
            out.append(ContinuityLink(
                direction, child, parent, code.upper(),
                _text(_get(r, "claimParentageTypeCodeDescriptionText", "claimParentageTypeCodeDescription")),
                parse_date(_get(r, f"{other}ApplicationFilingDate", "filingDate")),
                _text(_get(r, f"{other}PatentNumber", "patentNumber")),
                as_int(_get(r, f"{other}ApplicationStatusCode", "applicationStatusCode")),
            ))
    return out


def _pta(rec: dict[str, Any]) -> Pta | None:
    p = rec.get("patentTermAdjustmentData")
    if not isinstance(p, dict) or not p:
        return None
    return Pta(
        as_int(p.get("aDelayQuantity")), as_int(p.get("bDelayQuantity")), as_int(p.get("cDelayQuantity")),
        as_int(p.get("overlappingDayQuantity")), as_int(p.get("applicantDayDelayQuantity")),
        as_int(p.get("adjustmentTotalQuantity")),
        as_int(_get(p, "nonOverlappingDayDelayQuantity", "nonOverlappingDayQuantity")),
        as_int(p.get("ipOfficeDayDelayQuantity")),
    )


def _events(rec: dict[str, Any]) -> list[Event]:
    out = []
    for e in _get(rec, "eventDataBag", "transactionContentBag") or []:
        if not isinstance(e, dict):
            continue
        code = _text(_get(e, "eventCode", "caseActionCode"))
        if code:
            out.append(Event(parse_date(_get(e, "eventDate", "recordedDate")), code,
                             _text(_get(e, "eventDescriptionText", "caseActionDescriptionText"))))
    return out


def parse_application(rec: dict[str, Any], number: str | None = None) -> Application | None:
    """One record of any recorded shape -> Application (None without an application number).

    2024 beta single-section payloads (transactions, adjustment, assignment) carry no
    ``applicationNumberText``; ``number`` (e.g. taken from the request URL) supplies it.
    """
    meta = rec.get("applicationMetaData") if isinstance(rec.get("applicationMetaData"), dict) else None
    m: dict[str, Any] = meta if meta is not None else rec  # 2024 beta: metadata flat on the record
    appno = _text(_get(rec, "applicationNumberText")) or _text(_get(m, "applicationNumberText"))
    if not appno:
        # the record's own number: the end of its parent chain, the parent of its child links
        links = _links(rec)
        ups = [lk for lk in links if lk.direction == "parent"]
        own = ({lk.child for lk in ups} - {lk.parent for lk in ups}) | {lk.parent for lk in links if lk.direction == "child"}
        appno = number or (own.pop() if len(own) == 1 else None)
    if not appno:
        return None
    app = Application(appno)
    has_meta = meta is not None or any(k in rec for k in ("filingDate", "inventionTitle", "applicationStatusCode"))
    if has_meta:
        app.parts.add("metadata")
        app.patent_number = _text(m.get("patentNumber"))
        app.filing_date = parse_date(m.get("filingDate"))
        app.grant_date = parse_date(m.get("grantDate"))
        app.type_code = _text(m.get("applicationTypeCode"))
        if app.type_code == "?":
            app.type_code = None
        app.status_code = as_int(m.get("applicationStatusCode"))
        app.status_text = _text(m.get("applicationStatusDescriptionText"))
        app.status_date = parse_date(m.get("applicationStatusDate"))
        app.title = _text(m.get("inventionTitle"))
        app.cpc_as_written = [c for c in (m.get("cpcClassificationBag") or []) if isinstance(c, str)]
        app.applicants = [(n, _party_country(p)) for p in m.get("applicantBag") or [] if isinstance(p, dict)
                          for n in [_text(_get(p, "applicantNameText", "applicantName"))] if n]
        if not app.applicants and _text(m.get("firstApplicantName")):
            app.applicants = [(str(_text(m.get("firstApplicantName"))), None)]
        app.inventors = [(n, _party_country(p)) for p in m.get("inventorBag") or [] if isinstance(p, dict)
                         for n in [_text(_get(p, "inventorNameText")) or _text(" ".join(
                             x for x in (p.get("firstName"), p.get("middleName"), p.get("lastName")) if x))] if n]
        app.earliest_publication_number = _text(m.get("earliestPublicationNumber"))
        app.earliest_publication_date = parse_date(m.get("earliestPublicationDate"))
        app.pct_publication_number = _text(m.get("pctPublicationNumber"))
    links = _links(rec)
    if links or any(k in rec for k in ("parentContinuityBag", "childContinuityBag", "continuityBag")):
        app.parts.add("continuity")
    app.continuity = links
    app.pta = _pta(rec)
    if app.pta is not None:
        app.parts.add("pta")
    if any(k in rec for k in ("eventDataBag", "transactionContentBag")):
        app.parts.add("events")
    app.events = _events(rec)
    if "assignmentBag" in rec:
        app.parts.add("assignments")
    app.assignments = odp_assignments(rec)
    fp = rec.get("foreignPriorityBag")
    if isinstance(fp, list):
        app.parts.add("foreign_priority")
        app.foreign_priority = [(_text(_get(x, "ipOfficeName", "countryName")), _text(x.get("applicationNumberText")),
                                 parse_date(x.get("filingDate"))) for x in fp if isinstance(x, dict)]
    app.last_ingestion = _text(rec.get("lastIngestionDateTime"))
    return app


def merge_applications(apps: Iterable[Application]) -> dict[str, Application]:
    """Combine per-endpoint payloads of one application (meta-data, continuity, adjustment,
    transactions, assignment...) into one record; for each part the first payload that carried
    it wins, so pass full records before partial ones when both exist."""
    out: dict[str, Application] = {}
    for a in apps:
        cur = out.get(a.application_number)
        if cur is None:
            out[a.application_number] = a
            continue
        if "metadata" in a.parts and "metadata" not in cur.parts:
            for f in ("patent_number", "filing_date", "grant_date", "type_code", "status_code", "status_text", "status_date",
                      "title", "cpc_as_written", "applicants", "inventors", "earliest_publication_number",
                      "earliest_publication_date", "pct_publication_number"):
                setattr(cur, f, getattr(a, f))
        if "continuity" in a.parts and "continuity" not in cur.parts:
            cur.continuity = a.continuity
        if "pta" in a.parts and "pta" not in cur.parts:
            cur.pta = a.pta
        if "events" in a.parts and "events" not in cur.parts:
            cur.events = a.events
        if "assignments" in a.parts and "assignments" not in cur.parts:
            cur.assignments = a.assignments
        if "foreign_priority" in a.parts and "foreign_priority" not in cur.parts:
            cur.foreign_priority = a.foreign_priority
        cur.last_ingestion = max(filter(None, (cur.last_ingestion, a.last_ingestion)), default=None)
        cur.parts |= a.parts
    return out


# --------------------------------------------------------------------------------------------
# term inputs


@dataclass(frozen=True)
class EarliestFiling:
    date: dt.date | None
    via: str | None                     # application number the date belongs to
    international_filing_date: dt.date | None
    note: str
    connected: bool                     # every counted ancestor is reachable from the record through counted links


def earliest_us_filing(app: Application) -> EarliestFiling:
    """The earliest US filing date for the 20-year term (docs/uspto-odp-notes.md §8)."""
    parents: dict[str, list[ContinuityLink]] = {}
    for link in app.continuity:
        if link.direction == "parent":
            parents.setdefault(link.child, []).append(link)
    # walk child -> parent through counted links only
    reach: dict[str, dt.date | None] = {app.application_number: app.filing_date}
    pct: dict[str, dt.date | None] = {}
    stack = [app.application_number]
    while stack:
        node = stack.pop()
        for link in parents.get(node, []):
            if not link.counts_for_term or link.parent in reach:
                continue
            reach[link.parent] = link.other_filing_date
            if link.code == "NST":
                pct[link.parent] = link.other_filing_date
            stack.append(link.parent)
    counted = [link for link in app.continuity if link.direction == "parent" and link.counts_for_term]
    unreached = sorted({link.parent for link in counted if link.parent not in reach})
    dated = [(d, n) for n, d in reach.items() if d is not None]
    excluded = sorted({link.code for link in app.continuity if link.direction == "parent" and not link.counts_for_term})
    if not dated:
        return EarliestFiling(None, None, None, "no filing date in the payloads", not unreached)
    date, via = min(dated)
    ifd = min((d for d in pct.values() if d is not None), default=None)
    n_links = len(reach) - 1
    note = (f"continuity: {n_links} counted ancestor(s) (CON/CIP/DIV/NST); earliest {date.isoformat()} via {via}"
            if n_links else f"no counted parent; own filing date {date.isoformat()}")
    if excluded:
        note += f"; not counted: {', '.join(excluded)}"
    if unreached:
        note += f"; chain not connected to {', '.join(unreached)}"
    if "continuity" not in app.parts:
        note += "; continuity not in the payloads (own filing date only)"
    return EarliestFiling(date, via, ifd, note, not unreached)


# --------------------------------------------------------------------------------------------
# rows


@dataclass
class UsRows:
    """Rows of the application-keyed tables (migration 0007_us)."""
    applications: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    continuity: list[Row] = field(default_factory=list)
    ownership: list[Row] = field(default_factory=list)   # ownership_events (migration 0019)

    def application_numbers(self) -> list[str]:
        return sorted({r["application_number"] for r in self.applications})


def to_rows(
    apps: Iterable[Application],
    landscape: Landscape,
    *,
    keys: dict[str, str] | None = None,
    run_id: int | None = None,
) -> tuple[Batch, UsRows]:
    """Publication-keyed rows (Batch) and application-keyed rows (UsRows) for the applications.

    ``keys`` maps application numbers to pub_keys found elsewhere (e.g. the warehouse's bulk
    rows); it is used only when the record itself shows no patent or publication number.
    """
    batch = Batch(source=SOURCE)
    us = UsRows()
    seen_pubs: set[str] = set()
    for app in sorted(apps, key=lambda a: a.application_number):
        batch.rows_read += 1
        if not app.parts:
            continue  # a search hit projected to its number only: no facts to store
        pub_key, kind, is_grant = app.own_pub_key()
        if pub_key is None and keys and app.application_number in keys:
            pub_key, kind, is_grant = keys[app.application_number], None, None
        ef = earliest_us_filing(app)
        td_events = [e for e in app.events if e.effect == "terminal_disclaimer"]
        pta = app.pta
        us.applications.append({
            "application_number": app.application_number, "source": SOURCE, "pub_key": pub_key,
            "patent_number": app.patent_number, "application_type": app.application_type,
            "filing_date": app.filing_date, "grant_date": app.grant_date, "status_code": app.status_code,
            "status_text": app.status_text, "status_date": app.status_date,
            "earliest_us_filing_date": ef.date, "earliest_via": ef.via, "international_filing_date": ef.international_filing_date,
            "continuity_links": sum(1 for link in app.continuity if link.direction == "parent") if "continuity" in app.parts else None,
            "continuity_note": ef.note,
            "pta_days": pta.total if pta else None, "pta_a_days": pta.a if pta else None, "pta_b_days": pta.b if pta else None,
            "pta_c_days": pta.c if pta else None, "pta_overlap_days": pta.overlap if pta else None,
            "pta_applicant_days": pta.applicant if pta else None, "pta_note": pta.note() if pta else None,
            "terminal_disclaimer": True if td_events else None, "last_ingestion": app.last_ingestion,
            "parts": sorted(app.parts), "updated_run_id": run_id,
        })
        for i, e in enumerate(app.events, start=1):
            us.events.append({"application_number": app.application_number, "source": SOURCE, "seq": i,
                              "event_date": e.date, "event_code": e.code, "description": e.description, "effect": e.effect})
        if "assignments" in app.parts:
            prop = Property(app.application_number, app.patent_number, app.earliest_publication_number)
            seen_rf: set[str] = set()
            for i, a in enumerate(app.assignments, start=1):
                if a.reel_frame in seen_rf:
                    continue
                seen_rf.add(a.reel_frame or f"#{i}")
                for r in event_rows(a, source=SOURCE, source_record=f"{app.application_number}:assignmentBag[{i}]",
                                    properties=[prop]):
                    r["pub_key"], r["reel_frame"] = pub_key, r["reel_frame"] or f"#{i}"
                    us.ownership.append(r)
        seen_links: set[tuple[str, str, str, str]] = set()
        for link in app.continuity:
            k = (link.direction, link.child, link.parent, link.code)
            if k in seen_links:
                continue
            seen_links.add(k)
            us.continuity.append({
                "application_number": app.application_number, "source": SOURCE, "direction": link.direction,
                "child_application_number": link.child, "parent_application_number": link.parent,
                "relation_code": link.code, "relation_text": link.text, "other_filing_date": link.other_filing_date,
                "other_patent_number": link.other_patent_number, "other_status_code": link.other_status_code,
                "counts_for_term": link.counts_for_term,
            })
        if pub_key is None or pub_key in seen_pubs:
            continue
        seen_pubs.add(pub_key)
        _publication_rows(batch, app, pub_key, kind, is_grant, ef, landscape)
    return batch, us


def _publication_rows(batch: Batch, app: Application, pub_key: str, kind: str | None, is_grant: bool | None,
                      ef: EarliestFiling, landscape: Landscape) -> None:
    country, number = pub_key.split("-", 1)
    symbols = app.cpc
    reason = landscape.match(symbols, app.title) if "metadata" in app.parts else None
    as_received = app.patent_number if is_grant else (app.earliest_publication_number or app.pct_publication_number)
    batch.publications.append({
        "pub_key": pub_key, "pub_number": f"{pub_key}-{kind}" if kind else pub_key,
        "number_as_received": as_received or pub_key, "country": country, "doc_number": number, "kind": kind,
        "kinds_seen": [kind] if kind else None, "is_grant": is_grant, "title": app.title,
        "application_number": normalize_application_number(app.application_number),
        "filing_date": app.filing_date, "grant_date": app.grant_date if is_grant else None,
        "publication_date": app.earliest_publication_date if is_grant is False and country == "US" else None,
        "family_id": f"PUB:{pub_key}", "family_id_source": "publication", "status_as_shown": app.status_text,
        "in_landscape": reason is not None, "landscape_reason": reason, "source": SOURCE,
    })
    rec = app.application_number
    for field_name, value in (("odp_status", app.status_text), ("odp_status_code", app.status_code),
                              ("odp_last_ingestion", app.last_ingestion)):
        if value is not None:
            batch.field_values.append({"pub_key": pub_key, "field": field_name, "value": str(value), "source": SOURCE,
                                       "source_record": rec, "source_url": None, "chosen": True})
    if app.pta is not None and app.pta.total is not None:
        batch.field_values.append({"pub_key": pub_key, "field": "pta_as_shown", "value": f"{app.pta.total} days",
                                   "source": SOURCE, "source_record": rec, "source_url": None, "chosen": True})
    for role, people in (("applicant", app.applicants), ("inventor", app.inventors)):
        for seq, (name, cc) in enumerate(people, start=1):
            batch.parties.append({"pub_key": pub_key, "role": role, "seq": seq, "name_as_written": name, "country": cc,
                                  "source": SOURCE, "source_field": f"{rec}:{role}Bag"})
    owners = [a for a in app.assignments if a.transfers_ownership and a.assignees]
    if owners:
        latest = max(owners, key=lambda a: (a.effective[0] or dt.date.min, a.recorded or dt.date.min, a.reel_frame or ""))
        for seq, (name, cc) in enumerate(latest.assignees, start=1):
            batch.parties.append({"pub_key": pub_key, "role": "current_assignee", "seq": seq, "name_as_written": name,
                                  "country": cc, "source": SOURCE,
                                  "source_field": f"{rec}:assignment {latest.reel_frame} recorded {latest.recorded}"})
    for i, a in enumerate(app.assignments, start=1):
        value = (f"recorded {a.recorded} reel/frame {a.reel_frame}: {a.conveyance}: "
                 f"{'; '.join(a.assignors)} -> {'; '.join(n for n, _ in a.assignees)}")
        batch.field_values.append({"pub_key": pub_key, "field": "assignment", "value": value, "source": SOURCE,
                                   "source_record": f"{rec}#{i}", "source_url": None, "chosen": True})
    seen_sym: set[str] = set()
    for raw in app.cpc_as_written:
        sym = normalize_symbol(raw)
        if sym and sym not in seen_sym:
            seen_sym.add(sym)
            batch.classifications.append({"pub_key": pub_key, "scheme": "CPC", "symbol": sym, "symbol_as_written": raw,
                                          "position": len(seen_sym), "version": None, "source": SOURCE})
    seen_ev: set[tuple[dt.date, str]] = set()
    for e in app.events:
        if e.effect == "other" or e.date is None or (e.date, e.code) in seen_ev:
            continue
        seen_ev.add((e.date, e.code))
        batch.legal_events.append({"pub_key": pub_key, "jurisdiction": "US", "event_date": e.date, "event_code": e.code,
                                   "description": e.description, "effect": e.effect, "source": SOURCE})
    if app.status_code == LAPSE_STATUS and app.status_date is not None and is_grant:
        batch.legal_events.append({"pub_key": pub_key, "jurisdiction": "US", "event_date": app.status_date,
                                   "event_code": f"status:{LAPSE_STATUS}", "description": app.status_text,
                                   "effect": "lapse", "source": SOURCE})
    for link in app.continuity:
        if link.direction != "parent" or link.child != app.application_number:
            continue
        other = f" (US {link.other_patent_number})" if link.other_patent_number else ""
        filed = f", filed {link.other_filing_date}" if link.other_filing_date else ""
        text = f"{link.text or link.code} {link.parent}{other}{filed}"
        rel_key = f"US-{link.other_patent_number.lstrip('0')}" if link.other_patent_number and link.other_patent_number.isdigit() else None
        batch.related_publications.append({"pub_key": pub_key, "related_as_written": text, "related_pub_key": rel_key,
                                           "relation": "related_as_shown", "source": SOURCE})
    if country != "US":
        return  # a PCT record keyed to its WO publication: the US term inputs belong to the national stages
    td = [e for e in app.events if e.effect == "terminal_disclaimer"]
    notes = [ef.note]
    if app.pta is not None:
        notes.append(app.pta.note())
    if td:
        notes.append("terminal disclaimer transaction(s): " + ", ".join(f"{e.code} {e.date}" for e in td))
    batch.term_inputs.append({
        "pub_key": pub_key, "source": SOURCE, "application_type": app.application_type,
        "earliest_us_filing_date": ef.date,
        "international_filing_date": ef.international_filing_date,
        "pta_days": app.pta.total if app.pta else None, "pte_days": None,
        "terminal_disclaimer": True if td else None, "disclaimer_expiry_date": None,
        "note": "; ".join(notes),
    })
