"""One publication's whole record, as a record page on Google Patents or Lens shows it.

:func:`build_record` reads the warehouse (read-only, bound parameters, only this
publication's rows) and returns a plain dict: bibliographic fields with every value's source
and the disagreements between sources, holders over time with the corporate lineage chain,
family members, CPC codes with the segment, citations both ways with the other end's status,
the expiry interval with its calculation log and evidence, licensing and litigation facts that
name it, and links to its canonical public pages (the transcribed page kept as "source").
Used by ``patentscope show`` (text, ``--json``, ``--html``) and the report's record anchors.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import duckdb

from .links import check_link, record_links
from .warehouse.connection import tables as _tables

LITIGATION_WORDS = re.compile(r"\b(IPR|inter partes|litigation|lawsuit|su(?:ed|it)|settle|infring|court|ITC|invalid)", re.I)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def number_pattern(doc_number: str) -> str | None:
    """A regular expression that finds a publication's number as people write it in prose:
    ``4770723``, ``4,770,723``, ``4.770.723``, ``US 4 770 723`` (digits may be separated)."""
    digits = re.sub(r"\D", "", doc_number)
    if len(digits) < 5:
        return None
    # RE2 (DuckDB's regexp engine) has no look-around: bound the number by a non-digit or an end
    return r"(^|[^0-9])" + r"[,. ]?".join(digits) + r"([^0-9]|$)"


def _fields(con: duckdb.DuckDBPyConnection, key: str) -> list[dict[str, Any]]:
    rows = _rows(con, "SELECT field, value, source, source_record, source_url, chosen FROM field_values "
                      "WHERE pub_key = $k ORDER BY field, chosen DESC, source, source_record", {"k": key})
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        f = out.setdefault(r["field"], {"field": r["field"], "value": None, "values": [], "disagreement": False})
        if r["chosen"] and f["value"] is None:
            f["value"] = r["value"]
        f["values"].append({k: r[k] for k in ("value", "source", "source_record", "source_url", "chosen")})
    for f in out.values():
        distinct = {(v["value"] or "").strip() for v in f["values"]}
        f["disagreement"] = len(distinct) > 1
        if f["value"] is None and f["values"]:
            f["value"] = f["values"][0]["value"]
    return list(out.values())


def _lineage(parts: list[str]) -> list[dict[str, Any]]:
    """The lineage chain of every holder name on the record (holders.lineage)."""
    from .holders.lineage import builtin_lineage, load_lineage
    from .holders.normalize import normalize_name

    extra = os.environ.get("PATENTSCOPE_HOLDER_LINEAGE")
    lineage = load_lineage(Path(extra)) if extra else builtin_lineage()
    today = dt.date.today()
    out = []
    for part in dict.fromkeys(parts):
        h = normalize_name(part)
        if not h.key or not lineage.knows(h.key):
            out.append({"name": part, "names": [], "steps": [], "note": "no lineage fact names this holder"})
            continue
        days = sorted({*lineage.breakpoints(), today})
        steps: list[str] = []
        for day in days:
            for s in lineage.at(h.key, day).path:
                if s not in steps:
                    steps.append(s)
        now = lineage.at(h.key, today)
        entry: dict[str, Any] = {"name": part, "names": [lineage.display.get(k, k) for k in lineage.chain(h.key)],
                                 "steps": steps, "group_today": now.group_name, "confirmed_today": now.confirmed}
        out.append(entry)
    return out


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = $t AND column_name = $c",
                            {"t": table, "c": column}).fetchall()[0][0])


def ownership_events_of(con: duckdb.DuckDBPyConnection, key: str) -> list[dict[str, Any]]:
    """The recorded assignments of one publication (ownership_events, migration 0019), by pub_key
    or by its application number, each with its class and source ([] before migration 0019)."""
    if "ownership_events" not in _tables(con):
        return []
    return _rows(con, """
        SELECT DISTINCT ON (e.reel_frame, e.source) e.reel_frame, e.conveyance, e.conveyance_class, e.moves_ownership,
               e.assignors, e.assignees, e.assignee_countries, e.execution_date, e.recorded_date, e.effective_date,
               e.date_basis, e.note, e.source, e.source_record
        FROM ownership_events e
        LEFT JOIN publications p ON p.pub_key = $k
        WHERE e.pub_key = $k OR (e.application_number <> '' AND e.application_number = p.application_number)
        ORDER BY e.reel_frame, e.source""", {"k": key})


def build_record(con: duckdb.DuckDBPyConnection, key: str) -> dict[str, Any]:
    """The whole record of the publication ``key`` (a pub_key such as ``US-4770723``)."""
    have = _tables(con)
    k = {"k": key}
    pub = _rows(con, "SELECT * FROM publications WHERE pub_key = $k", k)
    if not pub:
        raise KeyError(key)
    p = pub[0]
    rec: dict[str, Any] = {"pub_key": key, "pub_number": p["pub_number"], "title": p["title"], "publication": p}
    rec["analyzed_at"] = con.execute("SELECT max(finished_at) FROM ingest_runs WHERE source = 'analyze' "
                                     "AND status IN ('ok', 'partial')").fetchall()[0][0] if "ingest_runs" in have else None
    rec["fields"] = _fields(con, key)
    rec["disagreements"] = [f["field"] for f in rec["fields"] if f["disagreement"]]
    rec["parties"] = _rows(con, "SELECT role, seq, name_as_written, country, source FROM parties WHERE pub_key = $k "
                                "ORDER BY role, seq", k)
    holders: list[dict[str, Any]] = []
    if "publication_holder_groups" in have:
        holders = _rows(con, "SELECT holder_role, part_as_written, holder, group_name, group_country, valid_from, valid_to, "
                             "lineage_confirmed FROM publication_holder_groups WHERE pub_key = $k "
                             "ORDER BY holder_role, part_as_written, valid_from NULLS FIRST", k)
    rec["holders"] = holders
    rec["holder_chain"] = _rows(con, "SELECT seq, name_as_written, role, valid_from, valid_to, date_basis, evidence, source, "
                                     "flag, counted FROM holder_chain WHERE pub_key = $k ORDER BY seq", k) \
        if "holder_chain" in have and _has_column(con, "holder_chain", "counted") else []
    rec["ownership_events"] = ownership_events_of(con, key)
    names = [h["part_as_written"] for h in holders] or [r["name_as_written"] for r in rec["parties"]
                                                        if r["role"] in ("original_assignee", "current_assignee", "applicant")]
    rec["lineage"] = _lineage([n for n in names if n])
    fam = p.get("family_id")
    rec["family"] = {
        "family_id": fam, "family_id_source": p.get("family_id_source"),
        "members": _rows(con, "SELECT pub_number, country, kind, publication_date, grant_date, title FROM publications "
                              "WHERE family_id = $f AND pub_key <> $k ORDER BY publication_date NULLS LAST, pub_key",
                         {"f": fam, "k": key}) if fam else [],
        "related": _rows(con, "SELECT related_as_written, related_pub_key, relation, source FROM related_publications "
                              "WHERE pub_key = $k ORDER BY relation, related_as_written", k),
        "priority_claims": _rows(con, "SELECT seq, claim_as_written, priority_country, priority_number, priority_date, claim_type "
                                      "FROM priority_claims WHERE pub_key = $k ORDER BY seq", k),
    }
    rec["classifications"] = _rows(con, "SELECT scheme, symbol, symbol_as_written, position, source FROM classifications "
                                        "WHERE pub_key = $k ORDER BY scheme, position NULLS LAST, symbol", k)
    rec["segments"] = _rows(con, "SELECT segment, decided_by, evidence, probability FROM publication_segments WHERE pub_key = $k "
                                 "ORDER BY probability DESC NULLS LAST, segment", k) if "publication_segments" in have else []
    status = "(SELECT status FROM expiry_results e WHERE e.pub_key = {col} ORDER BY e.jurisdiction LIMIT 1)" \
        if "expiry_results" in have else "NULL"
    rec["citations"] = {
        "cites": _rows(con, f"SELECT c.cited_as_written, c.cited_pub_key, p.pub_number AS cited_pub_number, c.cited_year, "
                            f"c.category, c.cited_by, c.source, {status.format(col='c.cited_pub_key')} AS status, "
                            "p.pub_key IS NOT NULL AS in_warehouse FROM citations c LEFT JOIN publications p "
                            "ON p.pub_key = c.cited_pub_key WHERE c.citing_pub_key = $k ORDER BY c.cited_as_written", k),
        "cited_by": _rows(con, f"SELECT c.citing_pub_key, p.pub_number AS citing_pub_number, p.title, c.category, c.source, "
                               f"{status.format(col='c.citing_pub_key')} AS status FROM citations c "
                               "JOIN publications p ON p.pub_key = c.citing_pub_key WHERE c.cited_pub_key = $k "
                               "ORDER BY p.publication_date NULLS LAST, c.citing_pub_key", k),
    }
    rec["expiry"] = _rows(con, "SELECT * EXCLUDE (pub_key) FROM expiry_results WHERE pub_key = $k ORDER BY jurisdiction", k) \
        if "expiry_results" in have else []
    rec["legal_events"] = _rows(con, "SELECT jurisdiction, event_date, event_code, description, effect, source FROM legal_events "
                                     "WHERE pub_key = $k ORDER BY event_date NULLS LAST", k)
    pattern = number_pattern(str(p.get("doc_number") or key.split("-", 1)[-1]))
    facts = _rows(con, "SELECT fact_id, subject, statement, date_of_statement, source_url, source_type FROM licensing_facts "
                       "WHERE regexp_matches(subject || ' ' || statement, $pat) ORDER BY fact_id",
                  {"pat": pattern}) if pattern and "licensing_facts" in have else []
    for f in facts:
        f["kind"] = "litigation" if LITIGATION_WORDS.search(f"{f['subject']} {f['statement']}") else "licence"
        f["source_host_class"], f["source_warning"] = check_link(f["source_url"])
    rec["facts"] = facts
    rec["litigation_as_shown"] = [v for f in rec["fields"] if f["field"].startswith("litigation") for v in f["values"]]
    rec["links"] = record_links(str(p["pub_number"]), p.get("source_url"), p.get("application_number"))
    return rec


def anchor(pub_key: str) -> str:
    """The HTML id of a record in the report and in ``show --html`` (``rec-US-4770723``)."""
    return "rec-" + re.sub(r"[^A-Za-z0-9_-]", "-", pub_key)
