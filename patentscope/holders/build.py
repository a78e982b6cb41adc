"""(Re)build the holder tables from the warehouse's ``parties`` table.

:func:`refresh` is what the analysis step calls: it reads the holder roles of ``parties``
(applicant, original and current assignee; inventors only as evidence that a holder is a
person), normalizes and clusters the names, applies the lineage file and the user's
overrides, and replaces ``holder_names``, ``holder_entities``, ``holder_groups``,
``holder_match_evidence`` and ``holder_build`` in one transaction. Running it twice on the
same data gives the same rows (only ``holder_build.built_at`` changes).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ..errors import WarehouseError
from ..warehouse.toolkit import replace_tables, tables
from .cluster import Clustering, Link, cluster
from .lineage import Lineage, builtin_lineage_path, load_lineage
from .normalize import HolderName, inventor_keys, normalize_name, split_holders, tokenize
from .overrides import Overrides, find_overrides, load_overrides

HOLDER_ROLES = ("applicant", "original_assignee", "current_assignee")
LINEAGE_ENV = "PATENTSCOPE_HOLDER_LINEAGE"
TABLES = ("holder_chain", "holder_names", "holder_entities", "holder_groups", "holder_match_evidence", "holder_build")


@dataclass
class BuildStats:
    n_party_rows: int = 0
    n_names: int = 0
    n_parts: int = 0
    n_entities: int = 0
    n_unresolved: int = 0
    n_with_lineage: int = 0
    merges_by_rule: dict[str, int] = field(default_factory=dict)
    overrides_file: str | None = None
    n_overrides: int = 0
    lineage_files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    families: str = ""

    def summary(self) -> str:
        rules = ", ".join(f"{k} {v}" for k, v in sorted(self.merges_by_rule.items())) or "none"
        return (f"{self.n_names} holder names as written ({self.n_parts} distinct holder parts, {self.n_party_rows} party rows) "
                f"-> {self.n_entities} holders, {self.n_unresolved} unresolved; {self.n_with_lineage} holders linked to "
                f"the lineage file; merges by rule: {rules}; overrides: {self.n_overrides}"
                + (f" from {self.overrides_file}" if self.overrides_file else ""))


# ----------------------------------------------------------------------------------------------
# the pure part: names -> rows


@dataclass
class HolderModel:
    names: pl.DataFrame
    entities: pl.DataFrame
    groups: pl.DataFrame
    evidence: pl.DataFrame
    stats: BuildStats
    clustering: Clustering
    parts: dict[str, HolderName]


def _matches(name: str, parts: dict[str, HolderName]) -> list[str]:
    if name in parts:
        return [name]
    key = normalize_name(name).key
    return [p for p, h in parts.items() if key and h.key == key]


def _apply_kind_overrides(parts: dict[str, HolderName], ov: Overrides, warnings: list[str]) -> None:
    for name, kind, reason in ov.set_kind:
        hits = _matches(name, parts)
        if not hits:
            warnings.append(f"set_kind: no name matches {name!r}")
        for p in hits:
            h = parts[p]
            ev = f"override set_kind{': ' + reason if reason else ''}"
            if kind == "unresolved":
                parts[p] = dataclasses.replace(h, kind="unresolved", key=None, reason=ev, kind_evidence=ev)
            else:
                parts[p] = _promote(h, kind, ev) if not h.resolved else dataclasses.replace(
                    h, kind=kind, kind_evidence=ev,
                    key=" ".join(sorted(h.tokens)) if kind == "person" else " ".join(h.tokens))
    merged = {n for names, _ in ov.merge for n in names}
    for p, h in list(parts.items()):
        if p in merged and not h.resolved:
            promoted = _promote(h, "organisation", "override merge")
            if promoted.resolved:
                parts[p] = promoted
            else:
                warnings.append(f"merge: {p!r} has no letters to match on; left unresolved")


def _promote(h: HolderName, kind: str, evidence: str) -> HolderName:
    toks = tuple(tokenize(h.clean_name or h.as_written))
    if not toks:
        return h
    key = " ".join(sorted(toks)) if kind == "person" else " ".join(toks)
    return dataclasses.replace(h, kind=kind, kind_evidence=evidence, key=key, normalized=" ".join(toks), tokens=toks,
                               reason=None)


def _display(members: list[str], parts: dict[str, HolderName], weights: dict[str, int], rep_key: str) -> str:
    cands: Counter[str] = Counter()
    for m in members:
        if parts[m].key == rep_key:
            cands[parts[m].clean_name or m] += weights.get(m, 1)
    return max(sorted(cands), key=lambda c: (any(ch.islower() for ch in c), cands[c], -len(c)))


def _entity_country(members: list[str], parts: dict[str, HolderName], weights: dict[str, int]) -> tuple[str | None, str | None]:
    votes: Counter[str] = Counter()
    for m in members:
        if parts[m].country:
            votes[parts[m].country or ""] += weights.get(m, 1)
    if not votes:
        return None, None
    ranked = votes.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None, "names show different countries: " + ", ".join(f"{c} ({n})" for c, n in ranked)
    c, n = ranked[0]
    others = f"; also {', '.join(f'{k} ({v})' for k, v in ranked[1:])}" if len(ranked) > 1 else ""
    return c, f"{n} party row(s) show {c}{others}"


def _group_rows(eid: str, holder_name: str, country: str | None, lkey: str | None, lineage: Lineage,
                group_ov: list[Any]) -> list[dict[str, Any]]:
    if lkey is None and not group_ov:
        return [{"entity_id": eid, "seq": 1, "valid_from": None, "valid_to": None, "holder_at_date": holder_name,
                 "group_id": eid, "group_name": holder_name, "group_country": country, "confirmed": True,
                 "lineage_path": None}]
    points = {dt.date.min}
    if lkey is not None:
        points.update(lineage.breakpoints())
    for g in group_ov:
        points.update(d for d in (g.valid_from, g.valid_to) if d)
    own = lineage.canon(lkey) if lkey else None
    values = []
    for day in sorted(points):
        if lkey is not None:
            at = lineage.at(lkey, day)
            hname = holder_name if at.holder_key == own else at.holder_name
            gname = at.group_name
            gid, gcountry = at.group_id, at.country or (country if at.group_key == own else None)
            confirmed, path = at.confirmed, " -> ".join(at.path) or None
        else:
            hname, gid, gname, gcountry, confirmed, path = holder_name, eid, holder_name, country, True, None
        for g in group_ov:
            if (g.valid_from is None or g.valid_from <= day) and (g.valid_to is None or day < g.valid_to):
                gid, gname = "O:" + (normalize_name(g.group).key or g.group), g.group
                gcountry, confirmed = None, True
                path = f"override set_group ({g.reason})" if g.reason else "override set_group"
        values.append((day, (hname, gid, gname, gcountry, confirmed, path)))
    rows: list[dict[str, Any]] = []
    for day, v in values:
        if rows and rows[-1]["_v"] == v:
            continue
        if rows:
            rows[-1]["valid_to"] = day
        rows.append({"_v": v, "valid_from": None if day == dt.date.min else day, "valid_to": None})
    out = []
    for i, r in enumerate(rows, start=1):
        hname, gid, gname, gcountry, confirmed, path = r["_v"]
        out.append({"entity_id": eid, "seq": i, "valid_from": r["valid_from"], "valid_to": r["valid_to"],
                    "holder_at_date": hname, "group_id": gid, "group_name": gname, "group_country": gcountry,
                    "confirmed": confirmed, "lineage_path": path})
    return out


def build_model(party_rows: list[tuple[str, str, str, str | None]], inventor_rows: list[tuple[str, str]],
                lineage: Lineage, overrides: Overrides) -> HolderModel:
    """Pure: (pub_key, role, name_as_written, country) rows of holder roles and (pub_key, inventor)
    rows -> the holder tables as frames."""
    stats = BuildStats(n_party_rows=len(party_rows))
    warnings = stats.warnings
    inv_by_pub: dict[str, list[str]] = defaultdict(list)
    for pub, inv in inventor_rows:
        inv_by_pub[pub].append(inv)
    rows_by_name: dict[str, int] = Counter()
    pubs_by_name: dict[str, set[str]] = defaultdict(set)
    country_by_name: dict[str, Counter[str]] = defaultdict(Counter)
    for pub, _role, name, pcountry in party_rows:
        rows_by_name[name] += 1
        pubs_by_name[name].add(pub)
        if pcountry:
            country_by_name[name][pcountry] += 1
    split: dict[str, list[str]] = {n: split_holders(n) for n in sorted(rows_by_name)}
    part_pubs: dict[str, set[str]] = defaultdict(set)
    part_hint: dict[str, str | None] = {}
    weights: Counter[str] = Counter()
    for n, ps in split.items():
        for p in ps:
            part_pubs[p] |= pubs_by_name[n]
            weights[p] += rows_by_name[n]
            if len(ps) == 1 and country_by_name[n] and part_hint.get(p) is None:
                part_hint[p] = country_by_name[n].most_common(1)[0][0]
    parts: dict[str, HolderName] = {}
    for p in sorted(part_pubs):
        invs = inventor_keys(i for pub in sorted(part_pubs[p]) for i in inv_by_pub.get(pub, []))
        parts[p] = normalize_name(p, inventors=invs, country_hint=part_hint.get(p))
    _apply_kind_overrides(parts, overrides, warnings)

    links = [Link(names, "override:merge", f"override merge{': ' + r if r else ''}") for names, r in overrides.merge]
    links += [Link((ln.subject, ln.object), "alias", ln.describe()) for ln in lineage.lines if ln.relation == "alias"]
    cl = cluster(parts.values(), weights=dict(weights), links=links, splits=overrides.split)
    warnings += cl.warnings

    # entities
    renames: dict[str, tuple[str, str]] = {}
    for name, new_name, reason in overrides.rename:
        hits = {cl.entity_of[p] for p in _matches(name, parts) if cl.entity_of.get(p)}
        if not hits:
            warnings.append(f"rename: no holder matches {name!r}")
        for eid in hits:
            if eid:
                renames[eid] = (new_name, reason)
    countries: dict[str, tuple[str, str]] = {}
    for name, c, reason in overrides.set_country:
        hits = {cl.entity_of[p] for p in _matches(name, parts) if cl.entity_of.get(p)}
        if not hits:
            warnings.append(f"set_country: no holder matches {name!r}")
        for eid in hits:
            if eid:
                countries[eid] = (c, f"override set_country{': ' + reason if reason else ''}")
    group_ov: dict[str, list[Any]] = defaultdict(list)
    for g in overrides.set_group:
        hits = {cl.entity_of[p] for p in _matches(g.name, parts) if cl.entity_of.get(p)}
        if not hits:
            warnings.append(f"set_group: no holder matches {g.name!r}")
        for eid in hits:
            if eid:
                group_ov[eid].append(g)

    ent_rows, group_rows = [], []
    for eid in sorted(cl.members):
        ms = cl.members[eid]
        rep = cl.representative[eid]
        rep_h = parts[rep]
        name = renames[eid][0] if eid in renames else _display(ms, parts, weights, rep_h.key or "")
        known = sorted({lineage.canon(parts[m].key or "") for m in ms if lineage.knows(parts[m].key or "")},
                       key=lambda k: (-sum(weights[m] for m in ms if lineage.canon(parts[m].key or "") == k), k))
        lkey = lineage.canon(rep_h.key or "") if lineage.knows(rep_h.key or "") else (known[0] if known else None)
        if len(known) > 1:
            warnings.append(f"holder {name!r} links to several lineage names ({', '.join(known)}); using {lkey}")
        country: str | None
        cev: str | None
        if eid in countries:
            country, cev = countries[eid]
        else:
            country, cev = _entity_country(ms, parts, weights)
            if country is None and lkey and (lc := lineage.country_of(lkey)):
                country, cev = lc, "lineage file country line" + (f" ({cev})" if cev else "")
        ent_rows.append({"entity_id": eid, "holder_name": name, "kind": rep_h.kind,
                         "normalized_name": rep_h.normalized or rep_h.key or "", "country": country,
                         "country_evidence": cev, "n_names": len(ms), "n_party_rows": sum(weights[m] for m in ms),
                         "lineage_key": lkey})
        group_rows += _group_rows(eid, name, country, lkey, lineage, group_ov.get(eid, []))
    stats.n_with_lineage = sum(1 for r in ent_rows if r["lineage_key"])

    # names
    name_rows = []
    for n, ps in split.items():
        for seq, p in enumerate(ps, start=1):
            h = parts[p]
            part_eid = cl.entity_of.get(p)
            e = cl.joined_by.get(p)
            score: float | None
            to: str | None
            why: str | None
            if part_eid is None:
                rule, score, to, why = "unresolved", None, None, h.reason
            elif e is None:
                rule, score, to = "representative", None, None
                why = f"first name of its holder ({len(cl.members[part_eid])} name(s))"
            else:
                rule, score, to, why = e.rule, e.score, e.a, e.reason
            name_rows.append({
                "name_as_written": n, "part_seq": seq, "n_parts": len(ps), "part_as_written": p,
                "clean_name": h.clean_name, "normalized_name": h.normalized, "legal_form": h.legal_form,
                "location": h.location, "country_as_written": h.country, "country_evidence": h.country_evidence,
                "kind": h.kind, "kind_evidence": h.kind_evidence, "unresolved_reason": h.reason, "entity_id": part_eid,
                "match_rule": rule, "match_score": score, "matched_to": to, "match_evidence": why,
                "n_party_rows": rows_by_name[n]})
    ev_rows = [{"name_a": e.a, "name_b": e.b, "normalized_a": parts[e.a].key if e.a in parts else None,
                "normalized_b": parts[e.b].key if e.b in parts else None, "rule": e.rule, "score": e.score,
                "accepted": e.accepted, "reason": e.reason} for e in cl.edges]
    merges: Counter[str] = Counter(e.rule for e in cl.joined_by.values() if e is not None)
    stats.merges_by_rule = dict(merges)
    stats.n_names = len(split)
    stats.n_parts = len(parts)
    stats.n_entities = len(cl.members)
    stats.n_unresolved = sum(1 for h in parts.values() if not h.resolved)
    stats.n_overrides = overrides.count
    stats.overrides_file = overrides.path

    names_df = pl.DataFrame(name_rows, schema=_NAME_SCHEMA)
    ent_df = pl.DataFrame(ent_rows, schema=_ENTITY_SCHEMA)
    grp_df = pl.DataFrame(group_rows, schema=_GROUP_SCHEMA)
    ev_df = pl.DataFrame(ev_rows, schema=_EVIDENCE_SCHEMA)
    return HolderModel(names_df, ent_df, grp_df, ev_df, stats, cl, parts)


_NAME_SCHEMA = {"name_as_written": pl.Utf8, "part_seq": pl.Int32, "n_parts": pl.Int32, "part_as_written": pl.Utf8,
                "clean_name": pl.Utf8, "normalized_name": pl.Utf8, "legal_form": pl.Utf8, "location": pl.Utf8,
                "country_as_written": pl.Utf8, "country_evidence": pl.Utf8, "kind": pl.Utf8, "kind_evidence": pl.Utf8,
                "unresolved_reason": pl.Utf8, "entity_id": pl.Utf8, "match_rule": pl.Utf8, "match_score": pl.Float64,
                "matched_to": pl.Utf8, "match_evidence": pl.Utf8, "n_party_rows": pl.Int32}
_ENTITY_SCHEMA = {"entity_id": pl.Utf8, "holder_name": pl.Utf8, "kind": pl.Utf8, "normalized_name": pl.Utf8,
                  "country": pl.Utf8, "country_evidence": pl.Utf8, "n_names": pl.Int32, "n_party_rows": pl.Int32,
                  "lineage_key": pl.Utf8}
_GROUP_SCHEMA = {"entity_id": pl.Utf8, "seq": pl.Int32, "valid_from": pl.Date, "valid_to": pl.Date,
                 "holder_at_date": pl.Utf8, "group_id": pl.Utf8, "group_name": pl.Utf8, "group_country": pl.Utf8,
                 "confirmed": pl.Boolean, "lineage_path": pl.Utf8}
_EVIDENCE_SCHEMA = {"name_a": pl.Utf8, "name_b": pl.Utf8, "normalized_a": pl.Utf8, "normalized_b": pl.Utf8,
                    "rule": pl.Utf8, "score": pl.Float64, "accepted": pl.Boolean, "reason": pl.Utf8}


# ----------------------------------------------------------------------------------------------
# the warehouse part


def _warehouse_path(con: duckdb.DuckDBPyConnection) -> Path | None:
    try:
        rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    except duckdb.Error:
        return None
    return Path(rows[0][0]) if rows and rows[0][0] else None


def _require_tables(con: duckdb.DuckDBPyConnection) -> None:
    have = tables(con)
    missing = [t for t in ("parties", *TABLES) if t not in have]
    if missing:
        raise WarehouseError(
            f"the warehouse has no {', '.join(missing)} table(s) (migrations 0004_holders or 0015_families not applied); "
            "run `patentscope migrate` first")


def resolve_inputs(con: duckdb.DuckDBPyConnection | None, overrides_path: Path | None = None,
                   lineage_path: Path | None = None) -> tuple[Lineage, Overrides, list[str]]:
    """Load the lineage (built-in + user file) and the overrides that apply."""
    wh = _warehouse_path(con) if con is not None else None
    lp = lineage_path or (Path(os.environ[LINEAGE_ENV]) if os.environ.get(LINEAGE_ENV) else None)
    lineage = load_lineage(lp)
    files = [str(builtin_lineage_path())] + ([str(lp)] if lp else [])
    overrides = load_overrides(find_overrides(overrides_path, wh))
    return lineage, overrides, files


def refresh(con: duckdb.DuckDBPyConnection, *, overrides_path: Path | None = None,
            lineage_path: Path | None = None, family_mode: str | None = None) -> BuildStats:
    """Rebuild the holder tables from ``parties`` inside ``con`` (writable, migrated), in one
    transaction; idempotent. Returns what was built.

    Overrides: ``overrides_path``, else ``$PATENTSCOPE_HOLDER_OVERRIDES``, else
    ``holder_overrides.toml`` beside the warehouse file. Lineage: the built-in file plus
    ``lineage_path`` or ``$PATENTSCOPE_HOLDER_LINEAGE``.
    """
    _require_tables(con)
    from .families import refresh as refresh_families

    # the input files are read (and refused) before anything is written
    lineage, overrides, files = resolve_inputs(con, overrides_path, lineage_path)
    # families first: publications.family_id is what expiry, concentration, centrality and
    # royalty read, and analyze runs this step before them
    stats_families = refresh_families(con, family_mode)
    shown = con.execute(
        "SELECT pub_key, role, name_as_written, country FROM parties WHERE role IN ('applicant', 'original_assignee', "
        "'current_assignee') ORDER BY pub_key, role, source, seq").fetchall()
    events = ownership_events(con)
    parties = shown + [(pk, "recorded_assignee", n, cc) for pk, evs in sorted(events.items()) for e in evs if e["moves_ownership"]
                for n, cc in zip(e["assignees"], e["assignee_countries"] or [None] * len(e["assignees"]), strict=False)]
    inventors = con.execute("SELECT pub_key, name_as_written FROM parties WHERE role = 'inventor' ORDER BY pub_key, seq").fetchall()
    model = build_model(parties, inventors, lineage, overrides)
    stats = model.stats
    stats.lineage_files = files
    stats.families = stats_families.summary()
    lineage_sha = hashlib.sha256(b"".join(Path(f).read_bytes() for f in files)).hexdigest()
    build = pl.DataFrame([{
        "built_at": dt.datetime.now(dt.UTC).replace(tzinfo=None), "n_party_rows": stats.n_party_rows,
        "n_names": stats.n_names, "n_parts": stats.n_parts, "n_entities": stats.n_entities,
        "n_unresolved": stats.n_unresolved, "lineage_files": "; ".join(files), "lineage_sha256": lineage_sha,
        "overrides_file": overrides.path, "overrides_sha256": overrides.sha256, "n_overrides": overrides.count,
        "warnings": stats.warnings}],
        schema={"built_at": pl.Datetime("us"), "n_party_rows": pl.Int32, "n_names": pl.Int32, "n_parts": pl.Int32,
                "n_entities": pl.Int32, "n_unresolved": pl.Int32, "lineage_files": pl.Utf8, "lineage_sha256": pl.Utf8,
                "overrides_file": pl.Utf8, "overrides_sha256": pl.Utf8, "n_overrides": pl.Int32,
                "warnings": pl.List(pl.Utf8)})
    chain = _chain(con, shown, model, lineage, events)
    frames = {"holder_chain": chain, "holder_names": model.names, "holder_entities": model.entities, "holder_groups": model.groups,
              "holder_match_evidence": model.evidence, "holder_build": build}
    _write(con, frames)
    return stats


def ownership_events(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict[str, Any]]]:
    """pub_key -> its recorded ownership events (migration 0019), matched to the warehouse's
    publications by pub_key or, for an event that names only an application, by application
    number; one event per reel/frame (the assignment file's row before the ODP's)."""
    if "ownership_events" not in tables(con):
        return {}
    cur = con.execute("""
        WITH matched AS (
            SELECT p.pub_key AS key, e.* FROM ownership_events e JOIN publications p ON p.pub_key = e.pub_key
            UNION ALL
            SELECT p.pub_key, e.* FROM ownership_events e
            JOIN publications p ON p.application_number = e.application_number AND p.country = 'US'
        )
        SELECT DISTINCT ON (key, reel_frame) * FROM matched
        ORDER BY key, reel_frame, source = 'odp', source""")
    cols = [d[0] for d in cur.description or []]
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in cur.fetchall():
        row = dict(zip(cols, r, strict=True))
        row["pub_key"] = row.pop("key")
        out[row["pub_key"]].append(row)
    return dict(out)


def _chain(con: duckdb.DuckDBPyConnection, shown: list[tuple[Any, ...]], model: HolderModel, lineage: Lineage,
           events: dict[str, list[dict[str, Any]]] | None = None) -> pl.DataFrame:
    """Ownership links per publication (holders/ownership.py), from the holder-role parties as
    ``refresh`` read them ((pub_key, role, name_as_written, country) in pub_key, role, source, seq
    order: one read of the table, not two), reassignment lines and recorded assignments."""
    from .ownership import build_chain

    reassign = dict(con.execute("SELECT pub_key, string_agg(value, '; ') FROM field_values "
                                "WHERE field = 'reassignments_as_shown' GROUP BY pub_key").fetchall())
    first = dict(con.execute("SELECT pub_key, coalesce(filing_date, priority_date, publication_date, grant_date) "
                             "FROM publications").fetchall())
    name_entities: dict[str, set[str]] = defaultdict(set)
    for n, e in model.names.select("name_as_written", "entity_id").drop_nulls().iter_rows():
        name_entities[n].add(e)
    ent_lkey = dict(model.entities.select("entity_id", "lineage_key").iter_rows())
    now = dict(model.groups.filter(pl.col("valid_to").is_null()).select("entity_id", "group_id").iter_rows())
    return build_chain(shown, reassign, first, name_entities, ent_lkey, lineage, now, events)


def _write(con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame]) -> None:
    # one transaction for every holder table (it joins the caller's when there is one)
    replace_tables(con, frames, what="rebuilding the holder tables")
    # a COMMIT after a failed statement rolls back silently: check the rows are there
    n = con.execute("SELECT count(*) FROM holder_names").fetchall()[0][0]
    if n != frames["holder_names"].height:
        raise WarehouseError(f"holder tables were not saved ({n} rows of {frames['holder_names'].height}); try again")
