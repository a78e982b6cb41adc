"""The embedded-sample format: NdFeB patent records transcribed from public web pages.

Files (see ``patentscope/data/sample/PROVENANCE.md``):

- ``ndfeb_records*.csv``: one row per (patent, page) observation, 52 columns; the same patent
  may be observed on several pages;
- ``ndfeb_citations*.csv``: backward citations a page listed explicitly;
- ``licensing_facts.tsv`` and ``showa_denko_patent_notice.tsv``: dated licensing statements and
  a holder's own list of its patents.

What this module does, purely (no database):

1. reads each file, reporting every malformed row as a :class:`RowError` with file, line and
   column, and keeps going with the good rows;
2. parses what the pages printed: raw dates (``Aug 11, 2014``, ``25.11.1999``, ``20030204``),
   concatenated CPC strings (``C22C 38/005C22C 38/002H01F 1/0577``), IPC with versions, party
   names with their country suffix, priority claims in a dozen layouts, cited references;
3. merges the observations of one patent into one publication: per field, the value of the
   page ranked first in ``data/source_precedence.toml`` is chosen, and every page's value is
   kept in ``field_values`` with its page and a ``chosen`` flag. No value is invented: a field
   no page showed stays empty.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..errors import InputError, RowError
from ..landscape import Landscape
from .batch import Batch, Row
from .classifications import extract_ipc_with_versions, extract_symbols
from .csvrows import iter_records
from .dates import parse_date, parse_iso
from .numbers import (
    is_grant_kind,
    kind_rank,
    normalize_application_number,
    parse_cited_reference,
    parse_pub_number,
)

SOURCE = "sample"

RECORD_COLUMNS = [
    "record_id", "patent_key", "publication_number", "country", "doc_number", "kind", "title",
    "title_other_lang", "assignee_as_written", "assignee_field_label", "original_assignee",
    "current_assignee", "applicant", "filed_by", "reassignments_as_shown", "inventors",
    "application_number", "pct_data", "filing_date", "filing_date_raw", "priority_date",
    "priority_date_raw", "priority_claims", "publication_date", "publication_date_raw",
    "grant_date", "grant_date_raw", "grant_date_source", "expiry_as_shown", "pta_as_shown",
    "status_as_shown", "ipc_as_shown", "cpc_as_shown", "cpc_list", "uspc_as_shown", "num_claims",
    "cited_by_count", "references_count", "cites_patents_as_shown", "cites_npl_as_shown",
    "family_id", "other_versions", "related_as_shown", "litigation_as_shown",
    "designated_states", "abstract", "ndfeb_relevance", "source_site", "source_url",
    "source_url2", "query_ids", "notes",
]
CITATION_COLUMNS = ["citing_publication_number", "cited_reference_as_shown", "reference_type", "source_url"]
FACT_COLUMNS = ["fact_id", "subject", "statement_as_reported", "date_of_statement", "source_url", "source_type"]
DECLARED_COLUMNS = ["holder", "office", "patent_number", "source_url", "source_statement"]

DATE_FIELDS = ("priority_date", "filing_date", "publication_date", "grant_date")
RELEVANCE = ("explicit", "probable", "related")

# How a page's assignee label maps to a party role.
_LABEL_ROLE = [
    (re.compile(r"applicant|申请人|出願人", re.I), "applicant"),
    (re.compile(r"owner per press release", re.I), "current_assignee"),
    (re.compile(r"assignee|assigned to|proprietor|特許権者|patentee|justia", re.I), "original_assignee"),
]


@dataclass
class Observation:
    """One parsed row of a records file: one page's view of one patent."""

    file: str
    line: int
    record_id: str
    pub: Any  # PubNumber
    site: str
    url: str | None
    values: dict[str, Any]  # field -> parsed value (only fields the page showed)
    parties: dict[str, list[tuple[str, str | None, str | None]]]  # role -> [(name, country, label)]
    cpc: list[str]
    ipc: list[tuple[str, str | None]]
    cited: list[str]
    priority_claims: list[str]
    other_versions: list[str]
    related: str | None
    raw: dict[str, str]


# --------------------------------------------------------------------------------------------
# reading


def _rows(path: Path | str, text: str, delimiter: str, required: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (first line number, row) for each record of a CSV/TSV text; header is line 1."""
    name = str(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{name}: the file is empty; expected a header with {', '.join(required[:4])}, ...") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"{name}:1: header lacks column(s) {', '.join(missing)}; is this the right file?")
    yield from iter_records(name, reader, header)


def read_text(path: Path | str) -> str:
    # one safe reader for every CSV/TSV input (no links out of the folder, no FIFOs, encodings)
    from .csvrows import read_input_text

    return read_input_text(path)


def _site_of(row: dict[str, str]) -> str:
    site = row.get("source_site", "").strip()
    if site:
        return site
    url = row.get("source_url", "").strip()
    return urlparse(url).hostname or "" if url else ""


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split("|") if v.strip()] if value else []


_PARENS = re.compile(r"\(([^()]*)\)\s*$")
US_STATES = {
    "AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL", "IN", "KS", "KY",
    "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ", "NM", "NV", "NY", "OH",
    "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA", "WI", "WV", "WY",
}
# two-letter codes that are both a US state and an ISO 3166 country: "(Anderson, IN)" is not decidable
STATE_OR_COUNTRY = {"AL", "AR", "AZ", "CA", "CO", "DE", "GA", "ID", "IL", "IN", "KY", "LA", "MA", "MD", "ME", "MN",
                    "MO", "MS", "MT", "NC", "NE", "PA", "SC", "SD", "TN", "VA"}


def party_country(text: str) -> str | None:
    """The party's country from a trailing parenthesis as pages print it: "(JP)", "(Osaka, JP)",
    "(DETROIT, MI, US)"; a US state alone gives US; a code that is both a state and a country
    ("(Anderson, IN)") gives None rather than a guess."""
    m = _PARENS.search(text)
    if not m:
        return None
    parts = [p.strip() for p in m.group(1).split(",")]
    last = parts[-1]
    if not re.fullmatch(r"[A-Z]{2}", last):
        return None
    if len(parts) >= 3 or len(parts) == 1:
        return last if len(parts) >= 3 or last not in US_STATES or last in STATE_OR_COUNTRY else None
    if last in STATE_OR_COUNTRY:
        return None
    return "US" if last in US_STATES else last


def _party(text: str) -> tuple[str, str | None]:
    return text.strip(), party_country(text)


def _split_holders(value: str) -> list[str]:
    """Assignee-type fields list co-holders with '|' or '; ' (Google Patents); repeats dropped.
    (Inventor fields are split on '|' only: "Croat; John J." is one name.)"""
    out: list[str] = []
    for part in _split(value):
        for name in (n.strip() for n in part.split("; ")):
            if name and name not in out:
                out.append(name)
    return out


def parse_record(file: str, line: int, row: dict[str, str]) -> Observation:
    """Validate and parse one records row; raises RowError naming the column."""

    def err(col: str | None, reason: str) -> RowError:
        return RowError(file, line, reason, col)

    if "__error__" in row:
        raise err(None, row["__error__"])
    rid = row["record_id"].strip()
    if not rid:
        raise err("record_id", "empty record_id")
    pub = parse_pub_number(row["publication_number"])
    if pub is None:
        raise err("publication_number", f"not a publication number: {row['publication_number']!r}")
    if row["country"].strip() and row["country"].strip() != pub.country:
        raise err("country", f"{row['country']!r} disagrees with publication_number {row['publication_number']!r}")
    if row["kind"].strip() and pub.kind and row["kind"].strip() != pub.kind:
        raise err("kind", f"{row['kind']!r} disagrees with publication_number {row['publication_number']!r}")
    kind = pub.kind or (row["kind"].strip() or None)
    if kind != pub.kind:
        pub = type(pub)(pub.country, pub.number, kind, pub.as_received)

    values: dict[str, Any] = {}
    for f in DATE_FIELDS:
        iso_text, raw = row[f].strip(), row[f + "_raw"].strip()
        try:
            iso = parse_iso(iso_text)
        except ValueError as e:
            raise err(f, str(e)) from None
        from_raw = parse_date(raw) if raw else None
        if iso and from_raw and iso != from_raw:
            raise err(f, f"{iso} disagrees with {f}_raw {raw!r} (read as {from_raw})")
        if raw and iso is None and from_raw is None and not re.search(r"truncated|\.\.\.|…", raw):
            raise err(f + "_raw", f"cannot read the date {raw!r}")
        if iso or from_raw:
            values[f] = iso or from_raw
        if raw:
            values[f + "_raw"] = raw
    for f in ("num_claims", "cited_by_count", "references_count"):
        v = row[f].strip()
        if v and not v.isdigit():
            raise err(f, f"expected a whole number, got {v!r}")
        if v:
            values[f] = v
    rel = row["ndfeb_relevance"].strip()
    if rel and not rel.startswith(RELEVANCE):
        raise err("ndfeb_relevance", f"expected one of {', '.join(RELEVANCE)}, got {rel!r}")
    if rel:
        values["relevance"] = rel.split(" ")[0]
        if rel != values["relevance"]:
            values["relevance_note"] = rel
    url = row["source_url"].strip()
    for col in ("source_url", "source_url2"):
        u = row[col].strip()
        if u and urlparse(u).scheme not in ("http", "https"):
            raise err(col, f"not an http(s) URL: {u!r}")
    cpc = extract_symbols(row["cpc_as_shown"])
    listed = _split(row["cpc_list"])
    if listed and set(listed) != set(cpc):
        raise err("cpc_list", f"{sorted(set(listed) ^ set(cpc))} differ from what cpc_as_shown reads as")
    if not cpc and listed:
        cpc = listed
    for f in ("title", "abstract", "status_as_shown", "expiry_as_shown", "pta_as_shown",
              "title_other_lang", "uspc_as_shown", "designated_states", "litigation_as_shown",
              "reassignments_as_shown", "pct_data", "grant_date_source", "cites_npl_as_shown"):
        v = row[f].strip()
        if v:
            values[f] = v
    if row["application_number"].strip():
        values["application_number_as_written"] = row["application_number"].strip()
        values["application_number"] = normalize_application_number(row["application_number"])
    fam = row["family_id"].strip()
    if fam:
        values["family_id_as_written"] = fam
        if fam.isdigit():
            values["docdb_family_id"] = fam

    parties: dict[str, list[tuple[str, str | None, str | None]]] = defaultdict(list)
    label = row["assignee_field_label"].strip()
    if row["assignee_as_written"].strip():
        role = next((r for rx, r in _LABEL_ROLE if rx.search(label)), "original_assignee")
        for name in _split_holders(row["assignee_as_written"]):
            parties[role].append((*_party(name), label or "assignee_as_written"))
    for col, role in (("original_assignee", "original_assignee"), ("current_assignee", "current_assignee"),
                      ("applicant", "applicant"), ("filed_by", "applicant")):
        for name in _split_holders(row[col]):
            if all(name != p[0] for p in parties[role]):
                parties[role].append((*_party(name), col))
    for name in _split(row["inventors"]):
        parties["inventor"].append((*_party(name), "inventors"))

    return Observation(
        file=file, line=line, record_id=rid, pub=pub, site=_site_of(row), url=url or None,
        values=values, parties=dict(parties), cpc=cpc,
        ipc=extract_ipc_with_versions(row["ipc_as_shown"]),
        cited=_split(row["cites_patents_as_shown"]), priority_claims=_split(row["priority_claims"]),
        other_versions=_split(row["other_versions"]), related=row["related_as_shown"].strip() or None,
        raw=row,
    )


# --------------------------------------------------------------------------------------------
# priority claims as pages print them


_PC_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # 25.11.1998 JP 33354598
    (re.compile(r"^(?P<date>\d{2}\.\d{2}\.\d{4})\s+(?P<cc>[A-Z]{2})\s+(?P<num>.+)$"), "dmy cc num"),
    # 2002028207 20020205 JP
    (re.compile(r"^(?P<num>\S+)\s+(?P<date>\d{8})\s+(?P<cc>[A-Z]{2})$"), "num ymd cc"),
    # Aug 19, 1987 [JP] 62-205944
    (re.compile(r"^(?P<date>[A-Za-z]{3,9}\.? \d{1,2},? \d{4})\s+\[(?P<cc>[A-Z]{2})\]\s+(?P<num>\S+)$"), "mdy [cc] num"),
    # 2021-049196 (JP), filed on Mar. 23, 2021
    (re.compile(r"^(?P<num>\S+)\s+\((?P<cc>[A-Z]{2})\),?\s+filed on\s+(?P<date>.+)$"), "num (cc) filed on"),
    # 202210609436.5 (CN) 2022-05-31
    (re.compile(r"^(?P<num>\S+)\s+\((?P<cc>[A-Z]{2})\)\s+(?P<date>\d{4}-\d{2}-\d{2})$"), "num (cc) iso"),
    # 09.05.1983 US 492629 is covered by the first; JP1284293A (JPH03146608A): application only
    (re.compile(r"^(?P<cc>[A-Z]{2})(?P<num>[0-9A-Z.]+?)[A-Z]?\s*\((?P<pub>[A-Z]{2}[A-Z0-9]+)\)$"), "appl (pub)"),
    # Japanese Patent Application No. 2006-344781, filed Dec. 21, 2006
    (re.compile(r"^Japanese Patent Application No\.\s*(?P<num>\S+?),?\s+filed (?:on )?(?P<date>.+)$", re.I), "jp prose"),
    (re.compile(r"^Patent Application No\.\s*(?P<num>\S+)\s+filed in Japan on\s+(?P<date>.+)$", re.I), "jp prose 2"),
    # U.S. provisional application Ser. No. 62/231,760 filed Jul. 15, 2015
    (re.compile(r"^U\.S\. provisional application Ser\. No\.\s*(?P<num>\S+)\s+filed\s+(?P<date>.+)$", re.I), "us provisional"),
    # Priority claimed from US13/367,427 (US20120285583A1)
    (re.compile(r"^Priority claimed from (?P<cc>[A-Z]{2})(?P<num>\S+)(?:\s+\((?P<pub>[A-Z0-9]+)\))?$"), "claimed from"),
]


def parse_priority_claim(text: str) -> dict[str, Any]:
    """One priority claim as printed -> country, number, date and type where readable."""
    t = re.sub(r"\s+", " ", text.strip())
    out: dict[str, Any] = {"priority_country": None, "priority_number": None, "priority_date": None, "claim_type": None}
    for rx, name in _PC_PATTERNS:
        m = rx.match(t)
        if not m:
            continue
        g = m.groupdict()
        cc = g.get("cc") or ("JP" if name.startswith("jp") else "US" if name == "us provisional" else None)
        out["priority_country"] = cc
        out["priority_number"] = g.get("num")
        d = g.get("date")
        out["priority_date"] = parse_date(d) if d else None
        if name == "us provisional":
            out["claim_type"] = "provisional"
        elif name == "claimed from" and cc == "US":
            out["claim_type"] = "domestic"
        else:
            out["claim_type"] = "foreign"
        return out
    return out


# --------------------------------------------------------------------------------------------
# source precedence


@dataclass(frozen=True)
class Precedence:
    ranks: dict[str, int]

    @classmethod
    def load(cls, path: str | Path | None = None) -> Precedence:
        if path is None:
            text = resources.files("patentscope").joinpath("data/source_precedence.toml").read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        doc = tomllib.loads(text)
        ranks: dict[str, int] = {}
        for entry in doc.get("site", []):
            for site in entry["match"]:
                ranks[site] = int(entry["rank"])
        return cls(ranks)

    def rank(self, site: str) -> int:
        if site in self.ranks:
            return self.ranks[site]
        for known, r in self.ranks.items():
            if site.endswith("." + known):
                return r
        return 100


# --------------------------------------------------------------------------------------------
# merging observations into publications

MERGED_FIELDS = (
    "title", "abstract", "application_number", "priority_date", "filing_date", "publication_date",
    "grant_date", "status_as_shown", "expiry_as_shown", "relevance", "docdb_family_id",
)


def _as_text(v: Any) -> str:
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def _us_grant_without_kind(country: str, number: str, grant_date: Any) -> bool:
    """A US number in a patent series (1-8 digits, D, PP, RE; not an 11-digit pre-grant publication)
    shown with a grant date is a granted patent even when no page showed its kind code (issue 14)."""
    return country == "US" and bool(grant_date) and re.fullmatch(r"(\d{1,8}|D\d+|PP\d+|RE\d+)", number or "") is not None


def merge(observations: list[Observation], landscape: Landscape, precedence: Precedence) -> Batch:
    """Merge observations of the same patent (same country + number) into publication rows."""
    batch = Batch(source=SOURCE)
    groups: dict[str, list[Observation]] = defaultdict(list)
    for ob in observations:
        groups[ob.pub.pub_key].append(ob)
    for pub_key, obs in groups.items():
        # stable: precedence rank, then file order
        obs = sorted(obs, key=lambda o: (precedence.rank(o.site), o.file, o.line))
        best = obs[0]
        kinds = sorted({o.pub.kind for o in obs if o.pub.kind}, key=kind_rank)
        kind = kinds[-1] if kinds else None
        pub = best.pub
        row: Row = {
            "pub_key": pub_key,
            "pub_number": f"{pub_key}-{kind}" if kind else pub_key,
            "number_as_received": next((o.pub.as_received for o in obs if o.pub.kind == kind), best.pub.as_received),
            "country": pub.country,
            "doc_number": pub.number,
            "kind": kind,
            "kinds_seen": kinds,
            "is_grant": any(is_grant_kind(pub.country, k) for k in kinds) if kinds else None,
            "source": SOURCE,
            "source_url": best.url,
        }
        # every field: all pages' values kept, the highest-ranked page's value chosen
        fields = sorted({f for o in obs for f in o.values})
        for f in fields:
            chosen_done = False
            for o in obs:
                if f not in o.values:
                    continue
                is_chosen = not chosen_done
                chosen_done = True
                batch.field_values.append({
                    "pub_key": pub_key, "field": f, "value": _as_text(o.values[f]), "source": SOURCE,
                    "source_record": o.record_id, "source_url": o.url, "chosen": is_chosen,
                })
                if is_chosen and f in MERGED_FIELDS:
                    row[f] = o.values[f]
        for o in obs:  # the kind each page showed is provenance too
            if o.pub.kind:
                batch.field_values.append({
                    "pub_key": pub_key, "field": "kind", "value": o.pub.kind, "source": SOURCE,
                    "source_record": o.record_id, "source_url": o.url, "chosen": o.pub.kind == kind,
                })
        for f in MERGED_FIELDS:
            row.setdefault(f, None)
        if row["is_grant"] is None and _us_grant_without_kind(pub.country, pub.number, row.get("grant_date")):
            row["is_grant"] = True
        fam = row.pop("docdb_family_id")
        row["family_id"] = fam if fam else f"PUB:{pub_key}"
        row["family_id_source"] = "docdb" if fam else "publication"
        # parties: per role, the list of the highest-ranked page that shows that role
        roles = {r for o in obs for r in o.parties}
        for role in sorted(roles):
            src = next(o for o in obs if role in o.parties)
            for seq, (name, cc, label) in enumerate(src.parties[role], start=1):
                batch.parties.append({
                    "pub_key": pub_key, "role": role, "seq": seq, "name_as_written": name,
                    "country": cc, "source": SOURCE, "source_field": f"{src.record_id}:{label}",
                })
            for o in obs:
                if role in o.parties:
                    batch.field_values.append({
                        "pub_key": pub_key, "field": role, "value": " | ".join(n for n, _, _ in o.parties[role]),
                        "source": SOURCE, "source_record": o.record_id, "source_url": o.url, "chosen": o is src,
                    })
        # classifications: union over pages, in first-seen order
        seen: set[tuple[str, str]] = set()
        pos = {"CPC": 0, "IPC": 0}
        symbols: list[str] = []
        for o in obs:
            for sym in o.cpc:
                if ("CPC", sym) not in seen:
                    seen.add(("CPC", sym))
                    pos["CPC"] += 1
                    symbols.append(sym)
                    batch.classifications.append({"pub_key": pub_key, "scheme": "CPC", "symbol": sym,
                                                  "symbol_as_written": None, "position": pos["CPC"],
                                                  "version": None, "source": SOURCE})
            for sym, ver in o.ipc:
                if ("IPC", sym) not in seen:
                    seen.add(("IPC", sym))
                    pos["IPC"] += 1
                    symbols.append(sym)
                    batch.classifications.append({"pub_key": pub_key, "scheme": "IPC", "symbol": sym,
                                                  "symbol_as_written": None, "position": pos["IPC"],
                                                  "version": ver, "source": SOURCE})
        # landscape membership: the definition first, the curator's relevance flag second
        text = " ".join(str(o.values.get(k, "")) for o in obs for k in ("title", "abstract"))
        reason = landscape.match(symbols, text)
        if reason is None and row["relevance"] in ("explicit", "probable"):
            reason = f"curated:{row['relevance']}"
        row["in_landscape"] = reason is not None
        row["landscape_reason"] = reason
        batch.publications.append(row)
        # cited references printed in the record itself
        for o in obs:
            for ref in o.cited:
                _add_citation(batch, pub_key, ref, "", o.url)
        # priority claims of the highest-ranked page that shows any
        src_pc = next((o for o in obs if o.priority_claims), None)
        if src_pc:
            for seq, claim in enumerate(src_pc.priority_claims, start=1):
                batch.priority_claims.append({"pub_key": pub_key, "seq": seq, "claim_as_written": claim,
                                              "source": SOURCE, **parse_priority_claim(claim)})
        rel_seen: set[tuple[str, str]] = set()
        for o in obs:
            for other in o.other_versions:
                pn = parse_pub_number(other)
                if (other, "other_version") not in rel_seen:
                    rel_seen.add((other, "other_version"))
                    batch.related_publications.append({"pub_key": pub_key, "related_as_written": other,
                                                       "related_pub_key": pn.pub_key if pn else None,
                                                       "relation": "other_version", "source": SOURCE})
            if o.related and (o.related, "related_as_shown") not in rel_seen:
                rel_seen.add((o.related, "related_as_shown"))
                batch.related_publications.append({"pub_key": pub_key, "related_as_written": o.related,
                                                   "related_pub_key": None, "relation": "related_as_shown",
                                                   "source": SOURCE})
    fams = {p["family_id"] for p in batch.publications if p["family_id_source"] == "docdb"}
    batch.families = [{"family_id": f, "id_source": "docdb", "source": SOURCE,
                       "note": "family ID as printed on Google Patents / uspto.report pages"} for f in sorted(fams)]
    return batch


def _add_citation(batch: Batch, citing: str, ref: str, reference_type: str, url: str | None) -> None:
    key = (citing, ref)
    if any((c["citing_pub_key"], c["cited_as_written"]) == key for c in batch.citations):
        # same reference from a second list: keep the more specific type
        for c in batch.citations:
            if (c["citing_pub_key"], c["cited_as_written"]) == key and reference_type and not c["reference_type"]:
                c["reference_type"] = reference_type
        return
    pn, year = parse_cited_reference(ref, reference_type or _guess_type(ref))
    batch.citations.append({
        "citing_pub_key": citing, "cited_as_written": ref, "cited_pub_key": pn.pub_key if pn else None,
        "cited_year": year, "category": None, "reference_type": reference_type or None, "cited_by": None,
        "source": SOURCE, "source_url": url,
    })


def _guess_type(ref: str) -> str:
    """For references printed inside a record (no type column): US lines start with the number."""
    return "us patent" if re.match(r"^\d{7}\s", ref) else ""


# --------------------------------------------------------------------------------------------
# the whole sample folder


def load_folder(folder: Path, landscape: Landscape, precedence: Precedence | None = None) -> Batch:
    """Read every file of the sample format in ``folder`` into one Batch (pure)."""
    precedence = precedence or Precedence.load()
    observations: list[Observation] = []
    rejected: list[RowError] = []
    rows_read = 0
    seen_ids: dict[str, str] = {}
    record_files = sorted(folder.glob("ndfeb_records*.csv"))
    if not record_files:
        raise InputError(f"{folder}: no ndfeb_records*.csv files; is this a sample-format folder?")
    for path in record_files:
        for line, row in _rows(path.name, read_text(path), ",", RECORD_COLUMNS):
            rows_read += 1
            try:
                ob = parse_record(path.name, line, row)
                if ob.record_id in seen_ids:
                    raise RowError(path.name, line, f"record_id {ob.record_id} already used at {seen_ids[ob.record_id]}", "record_id")
                seen_ids[ob.record_id] = f"{path.name}:{line}"
                observations.append(ob)
            except RowError as e:
                rejected.append(e)
    batch = merge(observations, landscape, precedence)
    known = {p["pub_key"] for p in batch.publications}
    for path in sorted(folder.glob("ndfeb_citations*.csv")):
        for line, row in _rows(path.name, read_text(path), ",", CITATION_COLUMNS):
            rows_read += 1
            if "__error__" in row:
                rejected.append(RowError(path.name, line, row["__error__"]))
                continue
            citing = parse_pub_number(row["citing_publication_number"])
            if citing is None or citing.pub_key not in known:
                rejected.append(RowError(path.name, line, f"citing publication {row['citing_publication_number']!r} is not among the records", "citing_publication_number"))
                continue
            ref = row["cited_reference_as_shown"].strip()
            if not ref:
                rejected.append(RowError(path.name, line, "empty cited reference", "cited_reference_as_shown"))
                continue
            _add_citation(batch, citing.pub_key, ref, row["reference_type"].strip(), row["source_url"].strip() or None)
    facts = folder / "licensing_facts.tsv"
    if facts.exists():
        for line, row in _rows(facts.name, read_text(facts), "\t", FACT_COLUMNS):
            rows_read += 1
            if "__error__" in row or not row["fact_id"].strip() or not row["statement_as_reported"].strip():
                rejected.append(RowError(facts.name, line, row.get("__error__", "fact_id and statement_as_reported are required")))
                continue
            batch.licensing_facts.append({
                "fact_id": row["fact_id"].strip(), "subject": row["subject"].strip(),
                "statement": row["statement_as_reported"].strip(), "date_of_statement": row["date_of_statement"].strip() or None,
                "source_url": row["source_url"].strip() or None, "source_type": row["source_type"].strip() or None,
            })
    declared = folder / "showa_denko_patent_notice.tsv"
    if declared.exists():
        statement = None
        for line, row in _rows(declared.name, read_text(declared), "\t", DECLARED_COLUMNS):
            rows_read += 1
            if "__error__" in row:
                rejected.append(RowError(declared.name, line, row["__error__"]))
                continue
            pn = parse_pub_number(row["patent_number"])
            if pn is None:
                rejected.append(RowError(declared.name, line, f"not a patent number: {row['patent_number']!r}", "patent_number"))
                continue
            statement = row["source_statement"].strip() or statement  # the notice states it once
            batch.holder_declared_patents.append({
                "holder": row["holder"].strip(), "office": row["office"].strip(),
                "number_as_written": row["patent_number"].strip(), "pub_key": pn.pub_key,
                "source_url": row["source_url"].strip() or None, "source_statement": statement,
            })
    batch.rejected = rejected
    batch.rows_read = rows_read
    return batch
