"""Parsed OPS structures -> canonical rows (a Batch) for the save path."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from ...landscape import Landscape
from ..batch import Batch, Row
from ..numbers import is_grant_kind, kind_rank
from .parse import (
    FAMILY_NOTE,
    SOURCE,
    BiblioDoc,
    DocNumber,
    FamilyMember,
    LegalEvent,
    ParsedOps,
    Party,
    PriorityClaim,
)


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
