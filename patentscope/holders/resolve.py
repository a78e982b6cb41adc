"""Resolve one holder name: normalized name, holder, holder group at a date, country, evidence.

With a warehouse whose holder tables are built, the name is looked up there (exactly as
written, else by the same rules the build uses against the holders it knows); without one, the
name is resolved on its own against the lineage file and the overrides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from ..warehouse.connection import tables
from .cluster import verify
from .lineage import Lineage
from .normalize import HolderName, normalize_name, split_holders
from .overrides import Overrides


@dataclass
class Resolution:
    name_as_written: str
    part: str
    normalized_name: str | None
    kind: str
    kind_evidence: str
    legal_form: str | None
    location: str | None
    unresolved_reason: str | None
    date: str
    holder: str | None = None
    entity_id: str | None = None
    holder_at_date: str | None = None
    holder_group: str | None = None
    group_id: str | None = None
    country: str | None = None
    country_evidence: str | None = None
    group_country: str | None = None
    lineage_confirmed: bool | None = None
    lineage_path: str | None = None
    match_evidence: str | None = None
    source: str = "name only"          # 'warehouse' or 'name only'
    # the holder's ownership links (holder_chain): publication, interval, date basis, source, flag
    chain_links: list[dict[str, Any]] = field(default_factory=list)
    n_chain_links: int = 0


    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tables_built(con: duckdb.DuckDBPyConnection) -> bool:
    have = tables(con)
    if not {"holder_names", "holder_groups", "holder_entities"} <= have:
        return False
    return bool(con.execute("SELECT count(*) FROM holder_entities").fetchall()[0][0])


def _group_at(con: duckdb.DuckDBPyConnection, eid: str, day: dt.date) -> tuple[Any, ...] | None:
    rows = con.execute(
        "SELECT holder_at_date, group_name, group_id, group_country, confirmed, lineage_path FROM holder_groups "
        "WHERE entity_id = $e AND (valid_from IS NULL OR valid_from <= $d) AND (valid_to IS NULL OR $d < valid_to)",
        {"e": eid, "d": day}).fetchall()
    return rows[0] if rows else None


CHAIN_LINKS_SHOWN = 20


def _chain_links(con: duckdb.DuckDBPyConnection, eid: str) -> tuple[list[dict[str, Any]], int]:
    """(the first links of the holder ``eid`` in holder_chain, how many it has): recorded
    assignments and flagged links first, each with its publication, interval and source."""
    have = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'holder_chain'").fetchall()}
    if not {"source", "flag", "counted"} <= have:
        return [], 0
    cur = con.execute(
        "SELECT *, count(*) OVER () AS n FROM (SELECT DISTINCT c.pub_key, c.name_as_written, c.role, c.valid_from, "
        "c.valid_to, c.date_basis, c.source, c.flag, c.counted FROM holder_chain c "
        "JOIN holder_names n ON n.name_as_written = c.name_as_written WHERE n.entity_id = $e) "
        "ORDER BY source = 'record', flag IS NULL, pub_key, valid_from NULLS FIRST "
        f"LIMIT {CHAIN_LINKS_SHOWN}", {"e": eid})
    cols = [d[0] for d in cur.description or []]
    rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    n = int(rows[0].pop("n")) if rows else 0
    for r in rows[1:]:
        r.pop("n")
    for r in rows:
        for k in ("valid_from", "valid_to"):
            r[k] = r[k].isoformat() if r[k] else None
    return rows, n


def _find_entity(con: duckdb.DuckDBPyConnection, part: str, h: HolderName) -> tuple[str | None, str]:
    rows = con.execute("SELECT entity_id, match_rule, matched_to, match_evidence FROM holder_names "
                       "WHERE part_as_written = $p LIMIT 1", {"p": part}).fetchall()
    if rows:
        eid, rule, to, why = rows[0]
        if eid is None:
            return None, f"in the warehouse, unresolved: {why}"
        joined = f"{rule}" + (f" with {to!r}" if to else "") + (f" ({why})" if why else "")
        return eid, f"in the warehouse as written; joined by {joined}"
    if not h.resolved or not h.key:
        return None, "not in the warehouse"
    rows = con.execute("SELECT DISTINCT entity_id, part_as_written FROM holder_names WHERE normalized_name = $k "
                       "AND entity_id IS NOT NULL ORDER BY 1 LIMIT 1", {"k": h.normalized}).fetchall()
    if rows:
        return rows[0][0], f"same-normalized-name as {rows[0][1]!r} in the warehouse"
    if h.kind != "organisation":
        return None, "not in the warehouse (persons are matched on identical names only)"
    first = h.tokens[0] if h.tokens else ""
    cands = con.execute(
        "SELECT DISTINCT entity_id, part_as_written FROM holder_names WHERE entity_id IS NOT NULL AND kind = 'organisation' "
        "AND (split_part(normalized_name, ' ', 1) = $f OR replace(normalized_name, ' ', '') = $c) ORDER BY 1, 2",
        {"f": first, "c": h.compact}).fetchall()
    for eid, other in cands:
        o = normalize_name(other)
        if not o.resolved:
            continue
        ok, rule, reason = verify(h, o, 1.0)
        if ok:
            return eid, f"{rule} with {other!r} in the warehouse ({reason})"
    return None, "not in the warehouse and no rule joins it to a holder there"


def resolve(name: str, day: dt.date, *, lineage: Lineage, overrides: Overrides | None = None,
            con: duckdb.DuckDBPyConnection | None = None) -> list[Resolution]:
    """One :class:`Resolution` per holder the field lists (usually one)."""
    out = []
    for part in split_holders(name):
        h = normalize_name(part)
        r = Resolution(name, part, h.normalized, h.kind, h.kind_evidence, h.legal_form, h.location, h.reason,
                       day.isoformat(), country=h.country, country_evidence=h.country_evidence)
        if con is not None and _tables_built(con):
            r.source = "warehouse"
            eid, why = _find_entity(con, part, h)
            r.match_evidence = why
            if eid is not None:
                ent = con.execute("SELECT holder_name, country, country_evidence FROM holder_entities WHERE entity_id = $e",
                                  {"e": eid}).fetchall()
                g = _group_at(con, eid, day)
                r.entity_id = eid
                if ent:
                    r.holder = ent[0][0]
                    r.country = ent[0][1] or r.country
                    r.country_evidence = ent[0][2] or r.country_evidence
                if g:
                    r.holder_at_date, r.holder_group, r.group_id, r.group_country, r.lineage_confirmed, r.lineage_path = g
                if "holder_chain" in tables(con):
                    r.chain_links, r.n_chain_links = _chain_links(con, eid)
                out.append(r)
                continue
        if not h.resolved or not h.key:
            r.match_evidence = r.match_evidence or f"unresolved: {h.reason}"
            out.append(r)
            continue
        # on its own: the name, its lineage, the overrides
        r.holder = h.clean_name
        r.entity_id = ("P:" if h.kind == "person" else "H:") + h.key
        r.match_evidence = r.match_evidence or "resolved on its own (no holder table)"
        if overrides is not None:
            for n, to, _ in overrides.rename:
                if n == part or normalize_name(n).key == h.key:
                    r.holder = to
            for n, c, _ in overrides.set_country:
                if n == part or normalize_name(n).key == h.key:
                    r.country, r.country_evidence = c, "override set_country"
        if lineage.knows(h.key):
            at = lineage.at(h.key, day)
            r.holder_at_date = r.holder if at.holder_key == lineage.canon(h.key) else at.holder_name
            r.holder_group, r.group_id, r.group_country = at.group_name, at.group_id, at.country
            r.lineage_confirmed, r.lineage_path = at.confirmed, " -> ".join(at.path) or None
            if r.country is None and at.country:
                r.country, r.country_evidence = lineage.country_of(h.key), "lineage file country line"
        else:
            r.holder_at_date, r.holder_group, r.group_id = r.holder, r.holder, r.entity_id
            r.group_country, r.lineage_confirmed = r.country, True
        if overrides is not None:
            for g2 in overrides.set_group:
                if (g2.name == part or normalize_name(g2.name).key == h.key) and \
                        (g2.valid_from is None or g2.valid_from <= day) and (g2.valid_to is None or day < g2.valid_to):
                    r.holder_group, r.group_id = g2.group, "O:" + (normalize_name(g2.group).key or g2.group)
                    r.lineage_path = "override set_group"
        out.append(r)
    return out
