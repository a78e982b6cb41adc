"""Royalty model: the warehouse: portfolio in, results out (see the package docstring and docs/royalty.md)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import polars as pl

from ...warehouse.connection import register, tables, transaction
from ..expiry.warehouse import designations_frame
from .engine import blocking, inverse, sensitivity, simulate, threshold_year, variants
from .portfolio import expand_ep
from .scenario import Scenario


def portfolio_from_warehouse(con: duckdb.DuckDBPyConnection, weights: str = "families") -> pl.DataFrame:
    """The blocking portfolio from the derived tables: one row per family x jurisdiction x
    segment x holder-group interval, in force from the grant to the expected expiry (expiry
    engine), held by the group valid in that interval (lineage), in the segments of the
    publication. Rows without a known in-force interval are left out (they cannot be counted
    as blocking). ``weight``: 1 / number of co-holders, times the family's PageRank when
    ``weights == 'centrality'``."""
    from ...errors import PatentscopeError

    have = tables(con)
    need = {"expiry_results", "publication_holder_groups", "publication_segments"}
    if not need <= have or not con.execute("SELECT count(*) FROM expiry_results").fetchall()[0][0]:
        raise PatentscopeError(analysis_missing_message(con, have))
    cent = "family_centrality" in have and weights == "centrality"
    df = con.sql(f"""
        WITH h AS (
            SELECT pub_key, group_id, group_label, valid_from, valid_to,
                   count(*) OVER (PARTITION BY pub_key, valid_from, valid_to) AS n_holders
            FROM publication_holder_groups
        )
        SELECT p.family_id, h.group_id AS holder_group, h.group_label, e.jurisdiction, s.segment,
               greatest(e.in_force_from, coalesce(h.valid_from, e.in_force_from)) AS in_force_from,
               least(e.expiry_date, coalesce(h.valid_to, e.expiry_date)) AS in_force_to,
               (1.0 / h.n_holders) {'* coalesce(c.pagerank, 0)' if cent else ''} AS weight,
               e.expiry_is_upper_bound, e.pub_key AS _pub_key
        FROM expiry_results e
        JOIN publications p USING (pub_key)
        JOIN h USING (pub_key)
        JOIN publication_segments s USING (pub_key)
        {'LEFT JOIN family_centrality c ON c.family_id = p.family_id' if cent else ''}
        WHERE p.in_landscape AND e.in_force_from IS NOT NULL AND e.expiry_date IS NOT NULL
          AND s.segment <> 'unclassified'
    """).pl()
    # the states each EP grant designates: a scenario's ep_validated_in market it does not designate gets no copy
    fv = con.sql("SELECT pub_key, field, value FROM field_values WHERE field = 'designated_states'").pl() \
        if "field_values" in have else pl.DataFrame(schema={"pub_key": pl.String, "field": pl.String, "value": pl.String})
    df = df.join(designations_frame(fv).rename({"pub_key": "_pub_key"}), on="_pub_key", how="left").with_columns(
        designated=pl.when(pl.col("jurisdiction") == "EP").then(pl.col("designated"))).drop("_pub_key")
    return df.filter(pl.col("in_force_from") < pl.col("in_force_to"))


def analysis_missing_message(con: duckdb.DuckDBPyConnection, have: set[str]) -> str:
    """Why there is nothing to model: "run analyze" only when analyze has not run; an analyzed
    warehouse without landscape publications is said to be empty."""
    analyzed = "ingest_runs" in have and bool(con.execute(
        "SELECT count(*) FROM ingest_runs WHERE source = 'analyze' AND status IN ('ok', 'partial')").fetchall()[0][0])
    n_pubs = con.execute("SELECT count(*) FROM publications WHERE in_landscape").fetchall()[0][0] \
        if "publications" in have else 0
    if analyzed and not n_pubs:
        return ("the warehouse is empty: it holds no landscape publications, so no patent blocks anything; "
                "load some first (`patentscope demo`, `patentscope ingest-us`, `patentscope ingest-world`)")
    if analyzed:
        return ("analyze has run but found no publication with a known in-force interval, so no patent blocks "
                "anything; see `patentscope expiry` for why statuses are unknown")
    if not n_pubs:
        return ("the warehouse is empty: it holds no landscape publications; load some first "
                "(`patentscope demo`, `patentscope ingest-us`, `patentscope ingest-world`)")
    return "the warehouse has no analysis results yet; run `patentscope analyze` first"


def resolve_groups(sc: Scenario, con: duckdb.DuckDBPyConnection) -> tuple[Scenario, dict[str, str], list[str]]:
    """Map the holder groups a scenario names (licensors, refusing holders, exporters' own
    groups) onto the warehouse's stable group ids, by any name the group or its holders have
    had (normalized). Returns the rewritten scenario, id -> label, and warnings for names that
    match no group in the warehouse (harmless: such a group blocks nothing)."""
    from ...holders.normalize import normalize_name

    rows = con.execute("""
        SELECT DISTINCT group_id, group_label, n FROM (
            SELECT group_id, group_label, unnest([group_id, group_name, group_label, holder, name_as_written]) AS n
            FROM publication_holder_groups)
        WHERE n IS NOT NULL""").fetchall()
    by_key: dict[str, str] = {}
    labels: dict[str, str] = {}
    for gid, label, n in rows:
        labels[gid] = label
        key = normalize_name(n).key or n.upper()
        by_key.setdefault(key, gid)
        by_key.setdefault(n.upper(), gid)
    warnings: list[str] = []

    def find(name: str | None, where: str) -> str | None:
        if name is None or name == "*":
            return name
        if name in labels:
            return name
        gid = by_key.get(name.upper()) or by_key.get(normalize_name(name).key or "")
        if gid is None:
            warnings.append(f"{where}: holder group {name!r} matches no holder in the warehouse (it blocks nothing here)")
            return name
        return gid

    lic = {k: replace(v, licensor_group=find(v.licensor_group, f"licence {k}") or v.licensor_group) for k, v in sc.licences.items()}
    refusals = tuple(replace(r, holder_group=find(r.holder_group, "refusal") or r.holder_group) for r in sc.refusals)
    comp = tuple(replace(c, holder_group=find(c.holder_group, "compulsory") or c.holder_group) for c in sc.compulsory)
    exporters = tuple(replace(e, holder_group=find(e.holder_group, f"exporter {e.id}")) for e in sc.exporters)
    by_group = {find(g, "rates.unlicensed_by_group") or g: r for g, r in sc.unlicensed_by_group.items()}
    return replace(sc, licences=lic, refusals=refusals, compulsory=comp, exporters=exporters,
                   unlicensed_by_group=by_group), labels, warnings


def run_scenario(con: duckdb.DuckDBPyConnection, sc: Scenario, *, store: bool = True) -> dict[str, pl.DataFrame]:
    """Run every variant of a scenario against the warehouse and (optionally) store the results,
    replacing the rows of this scenario name, in one transaction."""
    sc, labels, warnings = resolve_groups(sc, con)
    pf = expand_ep(portfolio_from_warehouse(con, sc.weights), sc.ep_validated_in)
    results, details, thresholds = [], [], []
    currency = {e.id: e.currency for e in sc.exporters}
    rows = blocking(sc, pf)  # the blocking structure: shared by every variant, the sensitivity and the inverse
    for name, v in variants(sc):
        res, det = simulate(v, None, rows=rows)
        results.append(res.with_columns(pl.lit(name).alias("variant")))
        details.append(det.with_columns(pl.lit(name).alias("variant")))
        thresholds.append(threshold_year(res, sc.threshold).with_columns(pl.lit(name).alias("variant")))
    res_all = pl.concat(results).with_columns(
        pl.lit(sc.name).alias("scenario"),
        pl.col("exporter").replace_strict(currency, default="USD").alias("currency"))
    det_all = pl.concat(details).with_columns(
        pl.lit(sc.name).alias("scenario"),
        pl.col("holder_group").replace_strict(labels, default=pl.col("holder_group")).alias("holder_group"))
    thr_all = pl.concat(thresholds).with_columns(pl.lit(sc.name).alias("scenario"))
    sens = sensitivity(sc, None, rows=rows).with_columns(pl.lit(sc.name).alias("scenario"))
    inv = inverse(sc, None, rows=rows).with_columns(pl.lit(sc.name).alias("scenario"))
    out = {"royalty_results": res_all, "royalty_detail": det_all, "royalty_thresholds": thr_all,
           "royalty_sensitivity": sens, "royalty_inverse": inv,
           "warnings": pl.DataFrame({"warning": warnings}, schema={"warning": pl.Utf8}),
           "portfolio": pf}
    if store:
        import hashlib

        text = Path(sc.path).read_text(encoding="utf-8") if Path(sc.path).exists() else ""
        lic_text = None
        try:
            import tomllib as _t
            lf = _t.loads(text).get("licences_file")
            if lf:
                lic_text = (Path(sc.path).parent / lf).read_text(encoding="utf-8")
        except (OSError, ValueError):
            lic_text = None
        with transaction(con):
            con.execute("DELETE FROM royalty_scenarios WHERE scenario = $s", {"s": sc.name}).fetchall()
            con.execute("INSERT INTO royalty_scenarios VALUES ($s, $p, $h, now()::TIMESTAMP, $t, $l, $n, $seed)",
                        {"s": sc.name, "p": sc.path, "h": hashlib.sha256(text.encode()).hexdigest(), "t": text,
                         "l": lic_text, "n": sc.samples, "seed": sc.seed}).fetchall()
            for table in ("royalty_results", "royalty_detail", "royalty_thresholds", "royalty_sensitivity", "royalty_inverse"):
                frame = out[table]
                con.execute(f"DELETE FROM {table} WHERE scenario = $s", {"s": sc.name}).fetchall()
                if frame.height:
                    register(con, "_roy", frame)
                    try:
                        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _roy").fetchall()
                    finally:
                        con.unregister("_roy")
    return out
