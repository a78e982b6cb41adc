"""EPO OPS XML -> canonical rows (pure: bytes in, Batch out, no network, no database).

What is read, from which OPS responses (OPS 3.2, namespaces ``http://www.epo.org/exchange`` and
``http://ops.epo.org``):

- ``published-data/search`` (``ops:biblio-search``): total count, range, and per hit the docdb
  country/number/kind and the DOCDB ``family-id``.
- ``published-data/.../biblio`` and ``full-cycle`` (``exchange-documents``): per document the
  docdb and epodoc numbers, kind and dates, titles and abstracts per language, the application
  reference, priority claims, applicants and inventors in both ``epodoc`` and ``original``
  form, IPCR and CPC (``patent-classification`` with section/class/subclass/main-group/subgroup),
  references cited with category (X/Y/A...), cited phase and cited-by, and ``family-id``.
- ``family/publication/...`` (``ops:patent-family``): the INPADOC family members, each with its
  own DOCDB ``family-id``, application reference and priority claims.
- ``legal/publication/...`` (``ops:patent-family legal="true"``): INPADOC legal events
  (``ops:legal`` with code, description, influence and the ``L001EP``... fields).

XML is parsed with defusedxml: a DTD, entity declarations (billion laughs) or external
entities are refused with a clear error, never expanded or fetched. A well-formed document
with missing optional parts never raises; a document missing what identifies it (no
publication number) is reported as a rejected row.

Mapping decisions (documented in docs/ingest-world.md):

- ``pub_key``/``pub_number`` from the docdb country, number and kind. DOCDB writes US pre-grant
  publications with 10 digits (``US 2006142694 A1``); they are widened to the 11-digit form
  every other source uses (``US-20060142694``) so the same document joins across sources.
- ``family_id`` is the DOCDB simple family id OPS gives (``family_id_source = 'docdb'``); INPADOC
  (extended) family membership is kept as ``field_values`` rows ``inpadoc_family_member``: the
  queried publication lists every member, each member names the queried publication (linear in
  the family's size), and every member becomes a publication row with its own DOCDB family id.
- Parties: ``name_as_written`` is the ``original`` form (as the office printed it, trailing
  commas removed), ``country`` comes from the ``epodoc`` form's ``[CC]`` suffix; both lists are
  kept whole in ``field_values`` (``applicant``/``applicant_original``, ``inventor``/
  ``inventor_original``). OPS has no "assignee": applicants get role ``applicant``; on a granted
  EP document (kind B*) the applicants are the proprietors at grant, so they are also written as
  ``original_assignee``.
- Legal events: ``event_code`` is the INPADOC code (``PG25``) or, for ``REG`` events, ``REG/``
  plus the national code (``REG/MM4A``); ``jurisdiction`` is the referenced country (``L501``),
  else the country prefix of the description (``GB: ...``), else ``L001``; ``event_date`` is the
  effective date (``L525``) when given, else the gazette date (``L007``); ``effect`` follows
  :func:`legal_effect`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from xml.etree.ElementTree import Element

from ..errors import RowError
from ..landscape import Landscape
from . import safexml
from .batch import Batch, Row
from .classifications import extract_symbols, normalize_symbol
from .dates import parse_date
from .numbers import PubNumber, is_grant_kind, kind_rank, parse_pub_number

SOURCE = "ops"
NS_EXCHANGE = "http://www.epo.org/exchange"
NS_OPS = "http://ops.epo.org"
FAMILY_NOTE = "DOCDB simple family id given by EPO OPS (family-id attribute)"


# ------------------------------------------------------------------------------------------------
# safe parsing


def parse_xml(data: bytes, name: str) -> Element:
    """Parse OPS XML safely (normalize/safexml.py); raises RowError(file=name) for refused or malformed input."""
    return safexml.parse(data, name, what="an OPS response")[0]


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _children(el: Element | None, name: str) -> list[Element]:
    return [c for c in el if _local(c.tag) == name] if el is not None else []


def _child(el: Element | None, name: str) -> Element | None:
    for c in el if el is not None else ():
        if _local(c.tag) == name:
            return c
    return None


def _path(el: Element | None, *names: str) -> Element | None:
    for n in names:
        el = _child(el, n)
    return el


def _iter(el: Element | None, name: str) -> list[Element]:
    return [c for c in el.iter() if _local(c.tag) == name] if el is not None else []


def _text(el: Element | None) -> str:
    return re.sub(r"\s+", " ", "".join(el.itertext())).strip() if el is not None else ""


def _date(text: str | None) -> dt.date | None:
    return parse_date(text) if text else None


# ------------------------------------------------------------------------------------------------
# numbers


def canonical_number(country: str, number: str, kind: str | None) -> str:
    """A docdb number in the warehouse's canonical form (US pre-grant widened to 11 digits)."""
    num = re.sub(r"[\s.,/-]", "", number or "").upper()
    if country == "US":
        if re.fullmatch(r"20\d{8}", num):       # DOCDB US 2006142694 A1 = US 2006/0142694 A1
            num = num[:4] + "0" + num[4:]
        elif num.isdigit() and len(num) < 11:
            num = num.lstrip("0") or "0"
    return num


@dataclass(frozen=True)
class DocNumber:
    """A document as OPS identifies it (docdb country/number/kind, with its date where given)."""

    country: str
    number: str          # as OPS wrote it
    kind: str | None
    date: dt.date | None = None

    @property
    def docdb(self) -> str:
        return f"{self.country}.{self.number}.{self.kind}" if self.kind else f"{self.country}.{self.number}"

    @property
    def joined(self) -> str:
        return f"{self.country}{self.number}{self.kind or ''}"

    @property
    def pub(self) -> PubNumber:
        return PubNumber(self.country, canonical_number(self.country, self.number, self.kind), self.kind, self.joined)

    @property
    def pub_key(self) -> str:
        return self.pub.pub_key


def _doc_ids(parent: Element | None) -> dict[str, Element]:
    """document-id children by type (first of each type)."""
    out: dict[str, Element] = {}
    for d in _children(parent, "document-id"):
        out.setdefault(d.get("document-id-type") or "unknown", d)
    return out


def _docdb(parent: Element | None) -> DocNumber | None:
    d = _doc_ids(parent).get("docdb")
    if d is None:
        return None
    cc, num = _text(_child(d, "country")).upper(), _text(_child(d, "doc-number"))
    if not cc or not num:
        return None
    return DocNumber(cc, num, _text(_child(d, "kind")) or None, _date(_text(_child(d, "date"))))


def _epodoc(parent: Element | None) -> tuple[str | None, dt.date | None]:
    d = _doc_ids(parent).get("epodoc")
    if d is None:
        return None, None
    return _text(_child(d, "doc-number")) or None, _date(_text(_child(d, "date")))


def _original(parent: Element | None) -> str | None:
    d = _doc_ids(parent).get("original")
    return _text(_child(d, "doc-number")) or None if d is not None else None


# ------------------------------------------------------------------------------------------------
# parsed structures


@dataclass
class SearchHit:
    doc: DocNumber
    family_id: str | None


@dataclass
class SearchPage:
    query: str
    total: int
    begin: int
    end: int
    hits: list[SearchHit]


@dataclass
class Party:
    seq: int
    name: str
    country: str | None


@dataclass
class PriorityClaim:
    seq: int
    kind_attr: str | None        # national / international / regional
    country: str | None
    number: str | None
    kind: str | None             # docdb kind (P = US provisional)
    date: dt.date | None
    as_written: str
    active: bool | None = None


@dataclass
class CitedRef:
    seq: int
    doc: DocNumber | None        # patcit with a docdb or epodoc number
    epodoc: str | None
    npl_text: str | None
    categories: list[str]
    phase: str | None
    cited_by: str | None

    @property
    def as_written(self) -> str:
        if self.doc is not None:
            return self.doc.joined
        return self.epodoc or self.npl_text or ""


@dataclass
class BiblioDoc:
    doc: DocNumber
    family_id: str | None
    status: str | None
    titles: dict[str, str]
    abstracts: dict[str, str]
    application: DocNumber | None
    application_epodoc: str | None
    application_date: dt.date | None
    priority_claims: list[PriorityClaim]
    applicants_epodoc: list[Party]
    applicants_original: list[Party]
    inventors_epodoc: list[Party]
    inventors_original: list[Party]
    cpc: list[tuple[str, str]]                   # (symbol, as written)
    ipc: list[tuple[str, str, str | None]]       # (symbol, as written, version)
    citations: list[CitedRef]
    source_name: str = ""

    def title(self, lang: str = "en") -> str | None:
        return self.titles.get(lang) or (next(iter(self.titles.values())) if self.titles else None)


@dataclass
class LegalEvent:
    code: str
    description: str
    influence: str
    gazette_date: dt.date | None
    effective_date: dt.date | None
    jurisdiction: str
    national_code: str | None
    national_description: str | None
    free_text: str | None
    fields: dict[str, str]

    @property
    def event_code(self) -> str:
        return f"{self.code}/{self.national_code}" if self.code == "REG" and self.national_code else self.code

    @property
    def event_date(self) -> dt.date | None:
        return self.effective_date or self.gazette_date

    @property
    def effect(self) -> str:
        return legal_effect(self.code, self.description, self.national_description, self.free_text)

    def describe(self) -> str:
        parts = [self.description]
        if self.national_description:
            parts.append(self.national_description)
        if self.free_text:
            parts.append(self.free_text)
        for key, label in (("520", "fee year"), ("518", "paid"), ("509", "owner"), ("507", "states")):
            if self.fields.get(key):
                parts.append(f"{label} {self.fields[key]}")
        if self.effective_date and self.gazette_date and self.effective_date != self.gazette_date:
            parts.append(f"gazette {self.gazette_date.isoformat()}")
        return " | ".join(p for p in parts if p)


@dataclass
class FamilyMember:
    doc: DocNumber
    family_id: str | None
    application: DocNumber | None
    priority_claims: list[PriorityClaim]
    legal_events: list[LegalEvent]


@dataclass
class FamilyResponse:
    queried: DocNumber | None
    legal: bool
    total: int | None
    members: list[FamilyMember]


@dataclass
class ParsedOps:
    """One OPS response, classified and parsed."""

    name: str
    kind: str                                    # search / biblio / family / legal / fault / other
    search: SearchPage | None = None
    documents: list[BiblioDoc] = field(default_factory=list)
    family: FamilyResponse | None = None
    fault: tuple[str, str] | None = None
    rejected: list[RowError] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# element parsers


def _parties(parties: Element | None, group: str, item: str) -> tuple[list[Party], list[Party]]:
    epodoc: list[Party] = []
    original: list[Party] = []
    for el in _children(_child(parties, group), item):
        raw = _text(_path(el, f"{item}-name", "name")) or _text(el)
        if not raw:
            continue
        try:
            seq = int(el.get("sequence") or 0)
        except ValueError:
            seq = 0
        fmt = el.get("data-format") or ("epodoc" if re.search(r"\[[A-Z]{2}\]\s*$", raw) else "original")
        m = re.search(r"\s*\[([A-Z]{2})\]\s*$", raw)
        if fmt == "epodoc":
            epodoc.append(Party(seq or len(epodoc) + 1, raw[: m.start()].strip() if m else raw, m.group(1) if m else None))
        else:
            original.append(Party(seq or len(original) + 1, raw.strip().rstrip(",").strip(), None))
    return epodoc, original


def _priority_claims(elements: Iterable[Element]) -> list[PriorityClaim]:
    out = []
    for i, pc in enumerate(elements, start=1):
        docdb = _docdb(pc)
        epo_num, epo_date = _epodoc(pc)
        orig = _original(pc)
        country = docdb.country if docdb else (epo_num[:2] if epo_num and epo_num[:2].isalpha() else None)
        number = docdb.number if docdb else (orig or (epo_num[2:] if epo_num else None))
        kind = docdb.kind if docdb else (epo_num[-1] if epo_num and epo_num[-1].isalpha() and epo_num[-2:-1].isdigit() else None)
        date = (docdb.date if docdb else None) or epo_date
        written = docdb.joined if docdb else (epo_num or orig or "")
        if not written:
            continue
        active_text = _text(_child(pc, "priority-active-indicator")).upper()
        try:
            seq = int(pc.get("sequence") or i)
        except ValueError:
            seq = i
        out.append(PriorityClaim(
            seq=seq, kind_attr=pc.get("kind"), country=country, number=number, kind=kind, date=date,
            as_written=f"{written} {date.isoformat()}" if date else written,
            active=None if not active_text else active_text == "YES",
        ))
    return out


def _cpc(bib: Element | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for pc in _iter(_child(bib, "patent-classifications"), "patent-classification"):
        scheme_el = _child(pc, "classification-scheme")
        scheme = (scheme_el.get("scheme") or "") if scheme_el is not None else ""
        if not scheme.upper().startswith("CPC"):
            continue
        parts = [_text(_child(pc, n)) for n in ("section", "class", "subclass", "main-group", "subgroup")]
        if not all(parts):
            continue
        written = f"{parts[0]}{parts[1]}{parts[2]} {parts[3]}/{parts[4]}"
        sym = normalize_symbol(written)
        if sym and all(sym != s for s, _ in out):
            out.append((sym, written))
    return out


def _ipc(bib: Element | None) -> list[tuple[str, str, str | None]]:
    out: list[tuple[str, str, str | None]] = []
    for el in _iter(_child(bib, "classifications-ipcr"), "classification-ipcr"):
        text_el = _child(el, "text")
        raw = re.sub(r"\s+", " ", "".join(text_el.itertext()) if text_el is not None else "").strip()
        syms = extract_symbols(raw)
        if not syms:
            continue
        v = re.search(r"\b((?:19|20)\d{2})(\d{2})\d{2}[A-Z]", raw.replace(" ", ""))
        version = f"{v.group(1)}.{v.group(2)}" if v else None
        if all(syms[0] != s for s, _, _ in out):
            out.append((syms[0], raw, version))
    if not out:  # older documents: classification-ipc/text only
        for el in _children(_child(bib, "classification-ipc"), "text"):
            sym = normalize_symbol(_text(el))
            if sym and all(sym != s for s, _, _ in out):
                out.append((sym, _text(el), None))
    return out


def _citations(bib: Element | None) -> list[CitedRef]:
    out: list[CitedRef] = []
    for i, cit in enumerate(_children(_child(bib, "references-cited"), "citation"), start=1):
        cats: list[str] = []
        for c in _children(cit, "category"):
            for t in re.split(r"[,\s]+", _text(c)):
                if t and t not in cats:
                    cats.append(t)
        patcit, nplcit = _child(cit, "patcit"), _child(cit, "nplcit")
        doc = _docdb(patcit) if patcit is not None else None
        epo = _epodoc(patcit)[0] if patcit is not None else None
        if doc is None and epo:
            pn = parse_pub_number(epo)
            doc = DocNumber(pn.country, pn.number, None, _epodoc(patcit)[1]) if pn else None
        npl = _text(_child(nplcit, "text")) or _text(nplcit) if nplcit is not None else None
        if doc is None and not epo and not npl:
            continue
        try:
            seq = int(cit.get("sequence") or i)
        except ValueError:
            seq = i
        out.append(CitedRef(seq, doc, epo, npl or None, cats, cit.get("cited-phase"), cit.get("cited-by")))
    return out


def _langs(els: list[Element]) -> dict[str, str]:
    out: dict[str, str] = {}
    for el in els:
        t = _text(el)
        if t:
            out.setdefault((el.get("lang") or "xx").lower(), t)
    return out


def parse_exchange_document(ed: Element, name: str) -> BiblioDoc:
    """One ``exchange-document`` -> BiblioDoc; raises RowError when it has no publication number."""
    bib = _child(ed, "bibliographic-data")
    pubref = _child(bib, "publication-reference")
    doc = _docdb(pubref)
    if doc is None and ed.get("country") and ed.get("doc-number"):
        epo_date = _epodoc(pubref)[1]
        doc = DocNumber(ed.get("country", "").upper(), ed.get("doc-number", ""), ed.get("kind") or None, epo_date)
    if doc is None:
        raise RowError(name, 1, "exchange-document without a publication number (no docdb document-id, no country/doc-number)",
                       "exchange-document")
    if doc.date is None:
        doc = DocNumber(doc.country, doc.number, doc.kind, _epodoc(pubref)[1])
    appref = _child(bib, "application-reference")
    app = _docdb(appref)
    app_epo, app_epo_date = _epodoc(appref)
    parties = _child(bib, "parties")
    ae, ao = _parties(parties, "applicants", "applicant")
    ie, io = _parties(parties, "inventors", "inventor")
    return BiblioDoc(
        doc=doc, family_id=(ed.get("family-id") or "").strip() or None, status=ed.get("status"),
        titles=_langs(_children(bib, "invention-title")),
        abstracts=_langs(_children(ed, "abstract")),
        application=app, application_epodoc=app_epo,
        application_date=(app.date if app else None) or app_epo_date,
        priority_claims=_priority_claims(_children(_child(bib, "priority-claims"), "priority-claim")),
        applicants_epodoc=ae, applicants_original=ao, inventors_epodoc=ie, inventors_original=io,
        cpc=_cpc(bib), ipc=_ipc(bib), citations=_citations(bib), source_name=name,
    )


def _legal_event(el: Element, member_country: str) -> LegalEvent:
    fields: dict[str, str] = {}
    nat_desc = None
    for sub in el.iter():
        m = re.fullmatch(r"L(\d{3})[A-Z]{2}", _local(sub.tag))
        if not m:
            continue
        key = m.group(1)
        txt = (sub.text or "").strip()
        if txt and key not in fields:
            fields[key] = txt
        if key == "502" and sub.get("descData"):
            nat_desc = sub.get("descData", "").strip() or None
    code = (el.get("code") or fields.get("008") or "").strip()
    desc = (el.get("desc") or "").strip()
    pre = re.match(r"^([A-Z]{2}):", desc)
    jurisdiction = fields.get("501") or (pre.group(1) if pre else None) or fields.get("001") or member_country
    return LegalEvent(
        code=code, description=desc, influence=(el.get("infl") or "").strip(),
        gazette_date=_date(fields.get("007")), effective_date=_date(fields.get("525")),
        jurisdiction=jurisdiction.strip().upper(), national_code=fields.get("502"), national_description=nat_desc,
        free_text=fields.get("510"), fields=fields,
    )


def _family(pf: Element, name: str, rejected: list[RowError]) -> tuple[FamilyResponse, list[BiblioDoc]]:
    total = pf.get("total-result-count")
    members: list[FamilyMember] = []
    docs: list[BiblioDoc] = []
    for fm in _children(pf, "family-member"):
        doc = _docdb(_child(fm, "publication-reference"))
        if doc is None:
            rejected.append(RowError(name, 1, "family member without a docdb publication number", "family-member"))
            continue
        members.append(FamilyMember(
            doc=doc, family_id=(fm.get("family-id") or "").strip() or None,
            application=_docdb(_child(fm, "application-reference")),
            priority_claims=_priority_claims(_children(fm, "priority-claim")),
            legal_events=[_legal_event(e, doc.country) for e in _children(fm, "legal")],
        ))
        for ed in _iter(fm, "exchange-document"):  # family with the biblio constituent
            try:
                docs.append(parse_exchange_document(ed, name))
            except RowError as e:
                rejected.append(e)
    return FamilyResponse(
        queried=_docdb(_child(pf, "publication-reference")),
        legal=(pf.get("legal") or "").lower() == "true",
        total=int(total) if total and total.isdigit() else None,
        members=members,
    ), docs


def _search(bs: Element) -> SearchPage:
    rng = _child(bs, "range")

    def num(v: str | None, default: int) -> int:
        return int(v) if v and v.isdigit() else default

    hits = []
    for pr in _iter(_child(bs, "search-result"), "publication-reference"):
        doc = _docdb(pr)
        if doc is not None:
            hits.append(SearchHit(doc, (pr.get("family-id") or "").strip() or None))
    return SearchPage(query=_text(_child(bs, "query")), total=num(bs.get("total-result-count"), len(hits)),
                      begin=num(rng.get("begin") if rng is not None else None, 1),
                      end=num(rng.get("end") if rng is not None else None, len(hits)), hits=hits)


def parse_document(data: bytes, name: str) -> ParsedOps:
    """Classify and parse one OPS response. Raises RowError only when the XML itself is refused
    or malformed; missing optional parts give empty values."""
    root = parse_xml(data, name)
    if _local(root.tag) in ("fault", "error"):
        return ParsedOps(name, "fault", fault=(_text(_child(root, "code")), _text(_child(root, "message"))))
    out = ParsedOps(name, "other")
    bs = _child(root, "biblio-search")
    if bs is not None:
        out.kind, out.search = "search", _search(bs)
    pf = _child(root, "patent-family")
    if pf is not None:
        out.family, docs = _family(pf, name, out.rejected)
        out.kind = "legal" if out.family.legal else "family"
        out.documents.extend(docs)
    if bs is not None or pf is None:
        for ed in _iter(root, "exchange-document"):
            try:
                out.documents.append(parse_exchange_document(ed, name))
            except RowError as e:
                out.rejected.append(e)
        if out.documents and out.kind == "other":
            out.kind = "biblio"
    return out


# ------------------------------------------------------------------------------------------------
# legal-event effects


_FEE_PAID = re.compile(r"\b(ANNUAL|RENEWAL|MAINTENANCE)\s+FEES?\s+PAID\b")
_NONPAY = re.compile(r"NON-?PAYMENT|NOT\s+PAID")
# A granted petition about a maintenance fee (e.g. USPTO PMFG "PETITION RELATED TO MAINTENANCE FEES
# GRANTED") accepts a late payment: a revival after a fee lapse (35 USC 41(c)); any other granted
# petition and post-grant proceedings (POST-GRANT REVIEW, 35 USC 321) are not grants of the patent.
_FEE_PETITION = re.compile(r"PETITION.*(MAINTENANCE|FEE).*GRANTED|PETITION.*GRANTED.*(MAINTENANCE|FEE)")
_NOT_GRANT = re.compile(r"PETITION|POST[\s-]*GRANT|INTENTION\s+TO\s+GRANT|LICEN[CS]E")
_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("reinstatement", re.compile(r"REINSTAT|RE-ESTABLISH|RESTITUTIO|RESTORATION|REVIVED")),
    ("revocation", re.compile(r"REVOK|REVOCATION|INVALIDAT|NULLITY|DECLARED\s+VOID")),
    ("withdrawal", re.compile(r"WITHDRAWN|WITHDRAWAL")),
    ("expiry", re.compile(r"\bEXPIR(Y|ED|ATION)\b(?!\s+DATE)")),
    ("lapse", re.compile(r"LAPSE|CEASED|NON-?PAYMENT|TRANSLATION\s+NOT\s+FILED|NOT\s+IN\s+FORCE")),
    ("grant", re.compile(r"(?<!POST)\bGRANT(ED)?\b")),
]


def legal_effect(code: str, description: str, national_description: str | None = None, free_text: str | None = None) -> str:
    """Map an INPADOC legal event onto the warehouse ``effect`` vocabulary.

    Read from the event's own words (its description, the national code's description and
    the free text), first rule that matches wins: renewal/annual/maintenance fee paid ->
    ``fee_paid``; reinstated/re-established -> ``reinstatement``; revoked/invalidated ->
    ``revocation``; withdrawn -> ``withdrawal``; expired/expiry/expiration -> ``expiry``;
    lapsed/ceased/non-payment/translation not filed -> ``lapse`` (e.g. PG25, GBPC, BERE, REG MM4A);
    a granted petition about a maintenance fee -> ``reinstatement`` (a revival, 35 USC 41(c));
    granted (not "intention to grant", not post-grant proceedings such as "POST-GRANT REVIEW",
    not other granted petitions or licences) -> ``grant``; anything else -> ``other``.
    For STAA (status) events only the status text counts, not the generic description.
    """
    words = [national_description or "", free_text or ""]
    if code.strip().upper() != "STAA":
        words.insert(0, description or "")
    text = " ".join(words).upper()
    if _FEE_PAID.search(text) and not _NONPAY.search(text):
        return "fee_paid"
    if _FEE_PETITION.search(text):
        return "reinstatement"
    for name, rx in _RULES:
        if rx.search(text):
            if name == "grant" and _NOT_GRANT.search(text):
                continue
            return name
    return "other"


# ------------------------------------------------------------------------------------------------
# rows


def espacenet_url(doc: DocNumber) -> str:
    return f"https://worldwide.espacenet.com/patent/search?q=pn%3D{quote(doc.joined)}"


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def _claim_type(pc: PriorityClaim, pub_country: str) -> str | None:
    if pc.kind == "P" and pc.country == "US":
        return "provisional"
    if (pc.kind_attr or "").lower() == "international" or pc.country == "WO" or (pc.number or "").upper().startswith("PCT"):
        return "pct"
    if pc.country:
        return "domestic" if pc.country == pub_country else "foreign"
    return None


def _priority_rows(pub_key: str, country: str, claims: list[PriorityClaim]) -> list[Row]:
    rows: list[Row] = []
    seen: set[int] = set()
    for pc in claims:
        seq = pc.seq if pc.seq > 0 else 1
        while seq in seen:
            seq += 1
        seen.add(seq)
        rows.append({"pub_key": pub_key, "seq": seq, "claim_as_written": pc.as_written, "priority_country": pc.country,
                     "priority_number": pc.number, "priority_date": pc.date, "claim_type": _claim_type(pc, country),
                     "source": SOURCE})
    return rows


def _fv(pub_key: str, fld: str, value: Any, record: str, url: str | None, chosen: bool) -> Row | None:
    if value is None or value == "" or value == []:
        return None
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return {"pub_key": pub_key, "field": fld, "value": text, "source": SOURCE, "source_record": record,
            "source_url": url, "chosen": chosen}


def _merge_docs(a: BiblioDoc, b: BiblioDoc) -> BiblioDoc:
    """Two responses about the same document (e.g. an abstract and a biblio): fill a's gaps from b."""
    out = BiblioDoc(**{k: getattr(a, k) for k in a.__dataclass_fields__})
    for k in a.__dataclass_fields__:
        va, vb = getattr(a, k), getattr(b, k)
        if isinstance(va, dict):
            setattr(out, k, {**vb, **va})
        elif not va and vb:
            setattr(out, k, vb)
    if a.doc.date is None and b.doc.date is not None:
        out.doc = b.doc
    return out


class _Builder:
    def __init__(self, landscape: Landscape):
        self.landscape = landscape
        self.batch = Batch(source=SOURCE)
        self.full: dict[str, list[BiblioDoc]] = defaultdict(list)
        self.minimal: dict[str, list[tuple[DocNumber, FamilyMember | None, str | None]]] = defaultdict(list)
        self.inpadoc: dict[str, list[DocNumber]] = defaultdict(list)
        self._inpadoc_seen: dict[str, set[str]] = {}
        self.legal: dict[str, list[LegalEvent]] = defaultdict(list)

    # -- collecting ------------------------------------------------------------------------

    def _link(self, key: str, docs: list[DocNumber]) -> None:
        """``key``'s INPADOC family links to ``docs`` (not itself, each DOCDB number once)."""
        seen = self._inpadoc_seen.setdefault(key, {x.docdb for x in self.inpadoc[key]})
        for d in docs:
            if d.pub_key != key and d.docdb not in seen:
                seen.add(d.docdb)
                self.inpadoc[key].append(d)

    def add(self, parsed: ParsedOps, legal_keys: set[str] | None) -> None:
        self.batch.rejected.extend(parsed.rejected)
        for d in parsed.documents:
            if d.status and re.search(r"not\s*found|invalid|error", d.status, re.I):
                self.minimal[d.doc.pub_key].append((d.doc, None, d.family_id))
                continue
            docs = self.full[d.doc.pub_key]
            same = next((i for i, x in enumerate(docs) if x.doc.docdb == d.doc.docdb), None)
            if same is None:
                docs.append(d)
            else:
                docs[same] = _merge_docs(docs[same], d)
        if parsed.search is not None:
            for h in parsed.search.hits:
                self.minimal[h.doc.pub_key].append((h.doc, None, h.family_id))
        fam = parsed.family
        if fam is None:
            return
        if not fam.legal:
            queried = fam.queried.pub_key if fam.queried else None
            for m in fam.members:
                self.minimal[m.doc.pub_key].append((m.doc, m, m.family_id))
            if queried and fam.queried is not None:
                # the fetched publication lists every member of its INPADOC family, and each member
                # names the fetched publication: linear in the family's size (a member-to-member list
                # would be n^2 rows; the family is the join of these links)
                self._link(queried, [m.doc for m in fam.members])
                for m in fam.members:
                    if m.doc.pub_key != queried:
                        self._link(m.doc.pub_key, [fam.queried])
            return
        queried_key = fam.queried.pub_key if fam.queried else None
        for m in fam.members:
            key = m.doc.pub_key
            if queried_key and key != queried_key:
                continue
            if legal_keys is not None and key not in legal_keys:
                continue
            self.minimal[key].append((m.doc, m, m.family_id))
            self.legal[key].extend(m.legal_events)

    # -- building --------------------------------------------------------------------------

    def _classify_and_land(self, row: Row, symbols: list[str], text: str) -> None:
        reason = self.landscape.match(symbols, text)
        row["in_landscape"] = reason is not None
        row["landscape_reason"] = reason

    def _full(self, pub_key: str, docs: list[BiblioDoc]) -> None:
        b = self.batch
        docs = sorted(docs, key=lambda d: (kind_rank(d.doc.kind), d.doc.date or dt.date.max))
        best = docs[-1]
        kinds = sorted({d.doc.kind for d in docs if d.doc.kind}, key=kind_rank)
        url = espacenet_url(best.doc)

        def pick(get: Any) -> tuple[Any, BiblioDoc | None]:
            for d in reversed(docs):
                v = get(d)
                if v:
                    return v, d
            return None, None

        title, title_doc = pick(lambda d: d.titles.get("en"))
        if title is None:
            title, title_doc = pick(lambda d: d.title())
        abstract, _ = pick(lambda d: d.abstracts.get("en") or (next(iter(d.abstracts.values())) if d.abstracts else None))
        app_doc = next((d for d in reversed(docs) if d.application is not None or d.application_epodoc), None)
        pc_doc = next((d for d in reversed(docs) if d.priority_claims), None)
        dates = [d.doc.date for d in docs if d.doc.date]
        grant_dates = [d.doc.date for d in docs if d.doc.date and is_grant_kind(d.doc.country, d.doc.kind)]
        family_id = next((d.family_id for d in reversed(docs) if d.family_id), None)
        app_number = None
        if app_doc is not None:
            app_number = f"{app_doc.application.country}{app_doc.application.number}" if app_doc.application \
                else app_doc.application_epodoc
        row: Row = {
            "pub_key": pub_key, "pub_number": f"{pub_key}-{kinds[-1]}" if kinds else pub_key,
            "number_as_received": best.doc.joined, "country": best.doc.country, "doc_number": best.doc.pub.number,
            "kind": kinds[-1] if kinds else None, "kinds_seen": kinds,
            "is_grant": any(is_grant_kind(best.doc.country, k) for k in kinds) if kinds else None,
            "title": title, "abstract": abstract, "application_number": app_number,
            "priority_date": min((c.date for c in pc_doc.priority_claims if c.date), default=None) if pc_doc else None,
            "filing_date": app_doc.application_date if app_doc else None,
            "publication_date": min(dates) if dates else None, "grant_date": min(grant_dates) if grant_dates else None,
            "family_id": family_id or f"PUB:{pub_key}", "family_id_source": "docdb" if family_id else "publication",
            "status_as_shown": None, "expiry_as_shown": None, "relevance": None,
            "source": SOURCE, "source_url": url,
        }
        # classifications: union over the documents, best document first
        pos = {"CPC": 0, "IPC": 0}
        seen: set[tuple[str, str]] = set()
        symbols: list[str] = []
        for d in reversed(docs):
            for sym, written in d.cpc:
                if ("CPC", sym) not in seen:
                    seen.add(("CPC", sym))
                    pos["CPC"] += 1
                    symbols.append(sym)
                    b.classifications.append({"pub_key": pub_key, "scheme": "CPC", "symbol": sym, "symbol_as_written": written,
                                              "position": pos["CPC"], "version": None, "source": SOURCE})
            for sym, written, version in d.ipc:
                if ("IPC", sym) not in seen:
                    seen.add(("IPC", sym))
                    pos["IPC"] += 1
                    symbols.append(sym)
                    b.classifications.append({"pub_key": pub_key, "scheme": "IPC", "symbol": sym, "symbol_as_written": written,
                                              "position": pos["IPC"], "version": version, "source": SOURCE})
        self._classify_and_land(row, symbols, f"{title or ''} {abstract or ''}")
        b.publications.append(row)
        # parties: the most advanced document that lists them
        party_docs: set[str] = set()
        for role_src, ep_attr, or_attr in (("applicant", "applicants_epodoc", "applicants_original"),
                                           ("inventor", "inventors_epodoc", "inventors_original")):
            src = next((d for d in reversed(docs) if getattr(d, ep_attr) or getattr(d, or_attr)), None)
            if src is None:
                continue
            party_docs.add(f"{role_src}:{src.doc.docdb}")
            ep: dict[int, Party] = {p.seq: p for p in getattr(src, ep_attr)}
            orig: dict[int, Party] = {p.seq: p for p in getattr(src, or_attr)}
            roles = [role_src]
            if role_src == "applicant" and src.doc.country == "EP" and (src.doc.kind or "").startswith("B"):
                roles.append("original_assignee")  # applicants of a granted EP = proprietors at grant
            for role in roles:
                for n, seq in enumerate(sorted(set(ep) | set(orig)), start=1):
                    o, e = orig.get(seq), ep.get(seq)
                    who = o or e
                    name = who.name if who is not None else ""
                    if not name:
                        continue
                    b.parties.append({"pub_key": pub_key, "role": role, "seq": n, "name_as_written": name,
                                      "country": e.country if e else None, "source": SOURCE,
                                      "source_field": f"{src.doc.joined}:{role_src}/{'original' if o else 'epodoc'}"})
        # citations: union over the documents; one row per cited reference
        cites: dict[str, Row] = {}
        for d in reversed(docs):
            for c in d.citations:
                key = c.as_written
                if not key:
                    continue
                rtype = "patent" if (c.doc or c.epodoc) else "npl"
                if c.phase:
                    rtype += f" ({c.phase})"
                if key in cites:
                    row_c = cites[key]
                    cats = [x for x in (row_c["category"] or "").split(",") if x]
                    row_c["category"] = ",".join(cats + [x for x in c.categories if x not in cats]) or None
                    continue
                cites[key] = {
                    "citing_pub_key": pub_key, "cited_as_written": key,
                    "cited_pub_key": c.doc.pub_key if c.doc else None,
                    "cited_year": c.doc.date.year if c.doc and c.doc.date else None,
                    "category": ",".join(c.categories) or None, "reference_type": rtype,
                    "cited_by": c.cited_by if c.cited_by and c.cited_by != "unknown" else None,
                    "source": SOURCE, "source_url": url,
                }
        b.citations.extend(cites.values())
        if pc_doc is not None:
            b.priority_claims.extend(_priority_rows(pub_key, best.doc.country, pc_doc.priority_claims))
        # every document's values, with the one the row carries marked
        for d in docs:
            rec, u = d.doc.joined, espacenet_url(d.doc)
            values: list[tuple[str, Any, bool]] = [
                ("ops_biblio", d.doc.docdb, d is best), ("kind", d.doc.kind, d is best),
                ("publication_date", d.doc.date, d.doc.date == row["publication_date"]),
                ("family_id", d.family_id, d is best),
                ("application_number_epodoc", d.application_epodoc, d is app_doc),
                ("applicant", " | ".join(f"{p.name} [{p.country}]" if p.country else p.name for p in d.applicants_epodoc),
                 f"applicant:{d.doc.docdb}" in party_docs),
                ("applicant_original", " | ".join(p.name for p in d.applicants_original), f"applicant:{d.doc.docdb}" in party_docs),
                ("inventor", " | ".join(f"{p.name} [{p.country}]" if p.country else p.name for p in d.inventors_epodoc),
                 f"inventor:{d.doc.docdb}" in party_docs),
                ("inventor_original", " | ".join(p.name for p in d.inventors_original), f"inventor:{d.doc.docdb}" in party_docs),
            ]
            for lang, t in sorted(d.titles.items()):
                values.append(("title" if lang == "en" else f"title_{lang}", t, d is title_doc and t == title))
            for fld, val, chosen in values:
                if (r := _fv(pub_key, fld, val, rec, u, chosen)) is not None:
                    b.field_values.append(r)
        for m in self.inpadoc.get(pub_key, []):
            if (r := _fv(pub_key, "inpadoc_family_member", m.pub.pub_number, m.joined, espacenet_url(m), False)) is not None:
                b.field_values.append(r)

    def _minimal(self, pub_key: str, entries: list[tuple[DocNumber, FamilyMember | None, str | None]]) -> None:
        b = self.batch
        docs: dict[str, DocNumber] = {}
        for doc, _m, _f in entries:
            prev = docs.get(doc.docdb)
            if prev is None or (prev.date is None and doc.date is not None):
                docs[doc.docdb] = doc
        ordered = sorted(docs.values(), key=lambda d: (kind_rank(d.kind), d.date or dt.date.max))
        best = ordered[-1]
        kinds = sorted({d.kind for d in ordered if d.kind}, key=kind_rank)
        members = [m for _d, m, _f in entries if m is not None]
        family_id = next((f for _d, _m, f in entries if f), None)
        app = next((m.application for m in members if m.application is not None), None)
        claims = next((m.priority_claims for m in members if m.priority_claims), [])
        dates = [d.date for d in ordered if d.date]
        grant_dates = [d.date for d in ordered if d.date and is_grant_kind(d.country, d.kind)]
        b.publications.append({
            "pub_key": pub_key, "pub_number": f"{pub_key}-{kinds[-1]}" if kinds else pub_key,
            "number_as_received": best.joined, "country": best.country, "doc_number": best.pub.number,
            "kind": kinds[-1] if kinds else None, "kinds_seen": kinds,
            "is_grant": any(is_grant_kind(best.country, k) for k in kinds) if kinds else None,
            "title": None, "abstract": None,
            "application_number": f"{app.country}{app.number}" if app else None,
            "priority_date": min((c.date for c in claims if c.date), default=None),
            "filing_date": app.date if app else None,
            "publication_date": min(dates) if dates else None, "grant_date": min(grant_dates) if grant_dates else None,
            "family_id": family_id or f"PUB:{pub_key}", "family_id_source": "docdb" if family_id else "publication",
            "status_as_shown": None, "expiry_as_shown": None, "in_landscape": False, "landscape_reason": None,
            "relevance": None, "source": SOURCE, "source_url": espacenet_url(best),
        })
        b.priority_claims.extend(_priority_rows(pub_key, best.country, claims))
        for d in ordered:
            if (r := _fv(pub_key, "kind", d.kind, d.joined, espacenet_url(d), d is best)) is not None:
                b.field_values.append(r)

    def _legal_rows(self, pub_key: str) -> None:
        rows: dict[tuple[str, dt.date, str], Row] = {}
        for ev in self.legal.get(pub_key, []):
            date = ev.event_date
            if date is None or not ev.code:
                continue
            key = (ev.jurisdiction, date, ev.event_code)
            desc = ev.describe()
            if key in rows:
                if desc and desc not in (rows[key]["description"] or ""):
                    rows[key]["description"] = f"{rows[key]['description']} || {desc}"
                continue
            rows[key] = {"pub_key": pub_key, "jurisdiction": ev.jurisdiction, "event_date": date,
                         "event_code": ev.event_code, "description": desc or None, "effect": ev.effect,
                         "source": SOURCE}
        self.batch.legal_events.extend(rows.values())

    def build(self) -> Batch:
        for key, docs in sorted(self.full.items()):
            self._full(key, docs)
        for key, entries in sorted(self.minimal.items()):
            if key not in self.full:
                self._minimal(key, entries)
        for key in sorted(self.legal):
            self._legal_rows(key)
        fams = sorted({p["family_id"] for p in self.batch.publications if p["family_id_source"] == "docdb"})
        self.batch.families = [{"family_id": f, "id_source": "docdb", "source": SOURCE, "note": FAMILY_NOTE} for f in fams]
        self.batch.rows_read = (sum(len(v) for v in self.full.values()) + sum(len(v) for v in self.minimal.values())
                                + sum(len(v) for v in self.legal.values()))
        return self.batch


def build_batch(parsed: Iterable[ParsedOps], landscape: Landscape, *, legal_keys: set[str] | None = None) -> Batch:
    """Parsed OPS responses -> one Batch.

    Publications with bibliographic data get full rows (parties, CPC/IPC, citations, priority
    claims, field values); search hits and family members without bibliographic data get
    minimal rows (number, kind, dates, application, priority claims, DOCDB family id). Legal
    events are attached to the publication their legal response was asked about; with
    ``legal_keys`` only to those publications.
    """
    builder = _Builder(landscape)
    for p in parsed:
        builder.add(p, legal_keys)
    return builder.build()


def minimal_keys(batch: Batch) -> set[str]:
    """Publications of a batch that carry only minimal rows (no bibliographic data)."""
    full = {r["pub_key"] for r in batch.field_values if r["field"] == "ops_biblio"}
    return {p["pub_key"] for p in batch.publications} - full


def without(batch: Batch, keys: set[str]) -> Batch:
    """A copy of ``batch`` with every row of the publications ``keys`` removed."""
    if not keys:
        return batch
    out = Batch(source=batch.source, rejected=list(batch.rejected), rows_read=batch.rows_read)
    for name, key_col in (("publications", "pub_key"), ("field_values", "pub_key"), ("parties", "pub_key"),
                          ("classifications", "pub_key"), ("citations", "citing_pub_key"),
                          ("priority_claims", "pub_key"), ("legal_events", "pub_key"),
                          ("related_publications", "pub_key"), ("term_inputs", "pub_key")):
        setattr(out, name, [r for r in batch.table(name) if r[key_col] not in keys])
    kept = {p["family_id"] for p in out.publications}
    out.families = [f for f in batch.families if f["family_id"] in kept]
    return out
