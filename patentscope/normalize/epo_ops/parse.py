"""EPO OPS XML -> parsed structures (safe parsing, numbers, the dataclasses, element parsers)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from ...errors import RowError
from .. import safexml
from ..classifications import extract_symbols, normalize_symbol
from ..dates import parse_date
from ..numbers import PubNumber, parse_pub_number
from .legal import legal_effect

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
