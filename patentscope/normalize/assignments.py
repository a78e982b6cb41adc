"""USPTO patent assignment records -> dated ownership events (pure).

Two shapes carry the same USPTO assignment recordation data (35 U.S.C. 261; 37 CFR 3.11 and
3.31, the cover sheet naming the parties, the conveyance and the execution date):

- the Patent Assignment Search service's XML (a Solr ``<response>``; one ``<doc>`` per recorded
  assignment, with the properties it covers as parallel arrays ``applNum`` / ``patNum`` /
  ``publNum``, assignors with their execution dates ``patAssignorName`` / ``patAssignorExDate``,
  assignees ``patAssigneeName`` / ``patAssigneeCountryName``, ``recordedDate``, ``reelNo`` /
  ``frameNo``, ``conveyanceText``): :func:`parse_assignment_xml`;
- the ``assignmentBag`` of an ODP Patent File Wrapper record (``assignorBag`` with
  ``executionDate``, ``assigneeBag`` with ``assigneeAddress.ictCountryCode``,
  ``assignmentRecordedDate``, ``reelAndFrameNumber``, ``conveyanceText``): :func:`odp_assignments`.

Each becomes :class:`Assignment`; :func:`event_rows` gives one ``ownership_events`` row per
property (migration 0019). The XML is parsed without DTDs or entities (normalize/safexml.py):
a document declaring one (XXE, billion laughs) is refused with the file named; a ``<doc>``
that names no reel/frame or no property is rejected with its file and line.

What the conveyance does to ownership (:func:`classify_conveyance`, docs/holders.md):

=============  =====================================================  =================
class          conveyance text (USPTO wording)                         moves ownership
=============  =====================================================  =================
transfer       ASSIGNMENT OF ASSIGNORS INTEREST, NUNC PRO TUNC          yes (35 U.S.C. 261;
               ASSIGNMENT                                               37 CFR 3.1 "assignment")
lineage        MERGER, CHANGE OF NAME, ENTITY / CERTIFICATE OF          yes: the same rights
               CONVERSION                                               under the successor
                                                                        (MPEP 314)
security       SECURITY INTEREST / AGREEMENT, LIEN                     no (MPEP 313)
release        RELEASE ..., TERMINATION AND RELEASE OF ... SECURITY    no (MPEP 313)
license        LICENSE, CONFIRMATORY LICENSE, GOVERNMENT INTEREST       no (MPEP 301, 313)
correction     CORRECTIVE ASSIGNMENT TO CORRECT ...                     no: it corrects an
                                                                        earlier recording
other          anything else (court order, change of address, ...)      no, flagged
=============  =====================================================  =================

The date of an event is the latest assignor execution date (the day the last assignor signed,
from when the assignee holds every conveyed interest; ``date_basis = 'executed'``), else the
recorded date (``'recorded (no execution date)'``). A nunc pro tunc assignment is effective
as of a date stated in the document itself, which neither shape carries: its execution date is
used and the note says so.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from ..errors import RowError
from . import safexml
from .batch import Row
from .countries import COUNTRY_NAMES, ISO_CODES
from .numbers import normalize_application_number

MOVES_OWNERSHIP = frozenset({"transfer", "lineage"})
_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("correction", re.compile(r"\bCORRECTIVE\b|\bTO CORRECT\b"),
     "corrects an earlier recording (the earlier recording dates the transfer)"),
    ("release", re.compile(r"\bRELEASE\b|\bTERMINATION\b|\bSATISFACTION\b|\bDISCHARGE\b"),
     "release of a security interest: ownership does not change (MPEP 313)"),
    ("security", re.compile(r"\bSECURITY\b|\bLIEN\b|\bCOLLATERAL\b|\bMORTGAGE\b|\bPLEDGE\b"),
     "security interest: the debtor keeps ownership (MPEP 313)"),
    ("license", re.compile(r"\bLICEN[CS]E\b|\bGOVERNMENT INTEREST\b"),
     "licence: rights less than the whole interest, the owner keeps title (MPEP 301, 313)"),
    ("lineage", re.compile(r"\bMERGER\b|\bCHANGE OF NAME\b|\bNAME CHANGE\b|\bCONVERSION\b|\bAMALGAMATION\b"),
     "merger / change of name: the same rights under the successor (MPEP 314)"),
    ("transfer", re.compile(r"\bASSIGNMENT\b|\bASSIGNOR'?S'? INTEREST\b|\bASSIGNS\b"),
     "assignment of the assignors' interest (35 U.S.C. 261; 37 CFR 3.1)"),
)
_NULL = frozenset({"", "NULL", "NONE"})


@dataclass(frozen=True)
class Conveyance:
    kind: str
    moves_ownership: bool
    rule: str


def classify_conveyance(text: str | None) -> Conveyance:
    """The class of a USPTO conveyance text (table in the module docstring)."""
    t = re.sub(r"\s+", " ", (text or "").upper())
    for kind, pattern, rule in _RULES:
        if pattern.search(t):
            return Conveyance(kind, kind in MOVES_OWNERSHIP, rule)
    return Conveyance("other", False, "conveyance not recognised: not taken as a change of owner")


@dataclass(frozen=True)
class Property:
    """One patent or application an assignment covers."""
    application_number: str | None
    patent_number: str | None = None
    publication_number: str | None = None

    @property
    def pub_key(self) -> str | None:
        """The warehouse key: the patent when granted, else the pre-grant publication."""
        if self.patent_number:
            return f"US-{self.patent_number}"
        if self.publication_number:
            return f"US-{self.publication_number}"
        return None


@dataclass(frozen=True)
class Assignment:
    recorded: dt.date | None
    reel_frame: str | None
    conveyance: str | None
    assignors: tuple[str, ...]
    assignees: tuple[tuple[str, str | None], ...]          # (name, country code or name as given)
    execution_dates: tuple[dt.date | None, ...] = ()       # per assignor
    properties: tuple[Property, ...] = ()
    line: int | None = None                                  # XML: the <doc>'s line

    @property
    def kind(self) -> Conveyance:
        return classify_conveyance(self.conveyance)

    @property
    def transfers_ownership(self) -> bool:
        """True for a transfer or a lineage step (merger, change of name)."""
        return self.kind.moves_ownership

    @property
    def execution_date(self) -> dt.date | None:
        days = [d for d in self.execution_dates if d]
        return max(days) if days else None

    @property
    def first_execution_date(self) -> dt.date | None:
        days = [d for d in self.execution_dates if d]
        return min(days) if days else None

    @property
    def effective(self) -> tuple[dt.date | None, str]:
        """(date the event takes effect, date_basis)."""
        if self.execution_date:
            return self.execution_date, "executed"
        if self.recorded:
            return self.recorded, "recorded (no execution date)"
        return None, "undated"


def _date(v: Any) -> dt.date | None:
    """'2021-06-30T04:00:00Z' / '2016-04-19' -> date; the service's '0001-01-01' and 'NULL' -> None."""
    if not isinstance(v, str) or len(v) < 10:
        return None
    try:
        d = dt.date.fromisoformat(v[:10])
    except ValueError:
        return None
    return None if d.year < 1790 else d


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = re.sub(r"\s+", " ", str(v)).strip()
    return None if s.upper() in _NULL else s


def country_code(v: str | None) -> str | None:
    """An ISO code as given, the code of a country name the holders module knows, else the text."""
    t = _text(v)
    if t is None:
        return None
    up = t.upper()
    if up in ISO_CODES:
        return up
    return COUNTRY_NAMES.get(re.sub(r"[^A-Z ]+", " ", up).strip().replace("  ", " "), t)


def reel_frame(v: str | None) -> str | None:
    """'38323/190', '038323/0190' -> '038323/0190' (the USPTO's zero-padded reel/frame)."""
    t = _text(v)
    if t is None:
        return None
    parts = [x.strip() for x in t.split("/")]
    if len(parts) == 2 and all(x.isdigit() for x in parts):
        return f"{int(parts[0]):06d}/{int(parts[1]):04d}"
    return t


def _digits(v: str | None) -> str | None:
    t = _text(v)
    if t is None:
        return None
    d = re.sub(r"[\s,/-]", "", t).upper()
    return d.lstrip("0") if d.isdigit() else d or None


# --------------------------------------------------------------------------------------------
# USPTO Patent Assignment Search XML


def _fields(doc: Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in doc:
        name = c.get("name")
        if name:
            out[name] = [x.text for x in c] if c.tag == "arr" else c.text
    return out


def _arr(f: dict[str, Any], name: str) -> list[Any]:
    v = f.get(name)
    return v if isinstance(v, list) else ([] if v is None else [v])


def parse_assignment_xml(data: bytes, name: str) -> tuple[list[Assignment], list[RowError]]:
    """(assignments, rejected docs) of one Assignment Search response.

    Raises RowError for the whole file when it is refused (a DTD or entity declaration) or not
    well formed, or is not an assignment ``<response>``."""
    root, lines = safexml.parse(data, name, what="a USPTO assignment search response", with_lines=True)
    result = root.find("result") if root.tag == "response" else None
    if result is None:
        raise RowError(name, lines.get(id(root), 1),
                       f"not a USPTO assignment search response (root <{root.tag}>, no <result>)")
    out: list[Assignment] = []
    bad: list[RowError] = []
    for doc in result.findall("doc"):
        line = lines.get(id(doc), 0)
        f = _fields(doc)
        reel, frame = _text(f.get("reelNo")), _text(f.get("frameNo"))
        if not (reel and frame and reel.isdigit() and frame.isdigit()):
            bad.append(RowError(name, line, f"assignment <doc> without a numeric reelNo/frameNo (id {f.get('id')!r})"))
            continue
        appls, pats, pubs = _arr(f, "applNum"), _arr(f, "patNum"), _arr(f, "publNum")
        n = max(len(appls), len(pats), len(pubs))
        if not n or (len(appls) not in (0, n) or len(pats) not in (0, n) or len(pubs) not in (0, n)):
            bad.append(RowError(name, line, f"assignment {reel}/{frame}: no property, or applNum/patNum/publNum "
                                            f"of different lengths ({len(appls)}/{len(pats)}/{len(pubs)})"))
            continue
        props = []
        for i in range(n):
            appl = _digits(appls[i]) if appls else None
            prop = Property(normalize_application_number(appl) if appl else None,
                            _digits(pats[i]) if pats else None, _digits(pubs[i]) if pubs else None)
            if prop.application_number or prop.pub_key:
                props.append(prop)
        names = [t for t in (_text(x) for x in _arr(f, "patAssignorName")) if t]
        ex = [_date(x) for x in _arr(f, "patAssignorExDate")]
        ee = [_text(x) for x in _arr(f, "patAssigneeName")]
        cc = _arr(f, "patAssigneeCountryName")
        assignees = tuple((nm, country_code(cc[i]) if i < len(cc) else None) for i, nm in enumerate(ee) if nm)
        if not props or not assignees:
            bad.append(RowError(name, line, f"assignment {reel}/{frame}: no readable property or no assignee"))
            continue
        out.append(Assignment(
            _date(f.get("recordedDate")), f"{int(reel):06d}/{int(frame):04d}", _text(f.get("conveyanceText")),
            tuple(names), assignees, tuple(ex[: len(names)]) if len(ex) >= len(names) else tuple(ex),
            tuple(props), line))
    return out, bad


# --------------------------------------------------------------------------------------------
# ODP Patent File Wrapper assignmentBag


def odp_assignments(rec: dict[str, Any]) -> list[Assignment]:
    """The ``assignmentBag`` of one ODP record (2024 beta, 2025 and 2026 shapes)."""
    out = []
    for a in rec.get("assignmentBag") or []:
        if not isinstance(a, dict):
            continue
        names: list[str] = []
        ex: list[dt.date | None] = []
        for x in a.get("assignorBag") or []:
            if isinstance(x, dict) and (nm := _text(x.get("assignorName"))):
                names.append(nm)
                ex.append(_date(x.get("executionDate")))
        assignees = []
        for x in a.get("assigneeBag") or []:
            if not isinstance(x, dict):
                continue
            nm = _text(x.get("assigneeNameText") or x.get("assigneeName"))
            addr: dict[str, Any] = x["assigneeAddress"] if isinstance(x.get("assigneeAddress"), dict) else {}
            cc = addr.get("ictCountryCode") or addr.get("countryCode") or addr.get("countryName")
            if nm:
                assignees.append((nm, country_code(cc)))
        reel = reel_frame(a.get("reelAndFrameNumber") or a.get("reelNumber/frameNumber"))
        if reel is None and a.get("reelNumber") is not None:
            reel = reel_frame(f"{a.get('reelNumber')}/{a.get('frameNumber')}")
        recorded = _date(a.get("assignmentRecordedDate") or a.get("assignmentReceivedDate"))
        out.append(Assignment(recorded, reel, _text(a.get("conveyanceText")), tuple(names), tuple(assignees), tuple(ex)))
    return out


# --------------------------------------------------------------------------------------------
# rows


def event_rows(a: Assignment, *, source: str, source_record: str,
               properties: Iterable[Property] | None = None) -> list[Row]:
    """One ``ownership_events`` row per property of ``a`` (``properties`` overrides a's own,
    e.g. the ODP record the bag came from)."""
    c = a.kind
    day, basis = a.effective
    note = c.rule
    if a.conveyance and "NUNC PRO TUNC" in a.conveyance.upper():
        note += "; nunc pro tunc: effective as of a date stated in the document, not in the record (execution date used)"
    rows = []
    for p in properties if properties is not None else a.properties:
        rows.append({
            "source": source, "application_number": p.application_number or "", "reel_frame": a.reel_frame or "",
            "pub_key": p.pub_key, "patent_number": p.patent_number, "publication_number": p.publication_number,
            "conveyance": a.conveyance, "conveyance_class": c.kind, "moves_ownership": c.moves_ownership,
            "assignors": list(a.assignors), "assignees": [n for n, _ in a.assignees],
            "assignee_countries": [cc for _, cc in a.assignees],
            "execution_date": a.execution_date, "first_execution_date": a.first_execution_date,
            "recorded_date": a.recorded, "effective_date": day, "date_basis": basis,
            "note": note, "source_record": source_record,
        })
    return rows
