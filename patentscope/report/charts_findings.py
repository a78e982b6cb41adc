"""Charts of the report's opening findings, each with its data as CSV (a data: link the reader
can download): the rate variants' burden bands on one axis, in-force families by holder country
over time, and the cliff timeline. Reuses report/charts.py's line chart (read-only)."""

from __future__ import annotations

import csv
import io
import urllib.parse
from typing import Any

import duckdb
from markupsafe import Markup

from .charts import line_chart


def csv_link(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A data: URI holding ``rows`` as CSV (UTF-8), for a download link next to a chart."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c) for c in columns})
    return "data:text/csv;charset=utf-8," + urllib.parse.quote(buf.getvalue())


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def rate_variant_bands(con: duckdb.DuckDBPyConnection, have: set[str]) -> dict[str, Any]:
    """P5/P50/P95 burden on export sales per rate variant, one axis, for each exporter."""
    if "royalty_results" not in have:
        return {"chart": Markup('<p class="empty">No royalty results: run <code>patentscope royalty</code>.</p>'), "csv": None}
    rows = _rows(con, """SELECT scenario, exporter, variant, year, burden_p5, burden_p50, burden_p95, infeasible
                         FROM royalty_results WHERE market = 'ALL' ORDER BY scenario, exporter, variant, year""")
    series: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        for q in ("p5", "p50", "p95"):
            series.setdefault(f"{r['exporter']} {r['variant']} {q.upper()}", []).append((float(r["year"]), float(r[f"burden_{q}"])))
    chart = line_chart(series, title="Burden on export sales by rate variant (P5 / P50 / P95)", y_label="share of sales",
                       percent=True, bands=[(1.0, max([1.0, *[p[1] for s in series.values() for p in s]]), "infeasible (> 100%)")])
    return {"chart": chart, "csv": csv_link(rows, ["scenario", "exporter", "variant", "year", "burden_p5", "burden_p50",
                                                   "burden_p95", "infeasible"])}


def families_by_country(con: duckdb.DuckDBPyConnection, have: set[str]) -> dict[str, Any]:
    """In-force families per holder country and year (concentration_stats, scope holder_country)."""
    if "concentration_stats" not in have:
        return {"chart": Markup('<p class="empty">Not analyzed: run <code>patentscope analyze</code>.</p>'), "csv": None}
    rows = _rows(con, """SELECT scope_value AS holder_country, year, n_families, n_unattributed, n_status_unknown
                         FROM concentration_stats WHERE scope_type = 'holder_country' AND period_type = 'in_force_stock'
                           AND weighting = 'families' ORDER BY holder_country, year""")
    series: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        series.setdefault(str(r["holder_country"]), []).append((float(r["year"]), float(r["n_families"] or 0)))
    chart = line_chart(series, title="In-force families by holder country", y_label="families")
    return {"chart": chart, "csv": csv_link(rows, ["holder_country", "year", "n_families", "n_unattributed", "n_status_unknown"])}


def cliff_timeline(con: duckdb.DuckDBPyConnection, have: set[str]) -> dict[str, Any]:
    """All in-force families per year (in_force_stock, jurisdiction ALL) with each large holder
    group's cliff year marked."""
    if "in_force_stock" not in have:
        return {"chart": Markup('<p class="empty">Not analyzed: run <code>patentscope analyze</code>.</p>'), "csv": None}
    rows = _rows(con, """SELECT year, sum(families_in_force)::BIGINT AS families_in_force, bool_or(projected) AS projected
                         FROM in_force_stock WHERE jurisdiction = 'ALL' GROUP BY year ORDER BY year""")
    cliffs = _rows(con, """SELECT holder_group, families_in_force, cliff_year FROM holder_cliffs
                           WHERE cliff_year IS NOT NULL AND holder_group <> '(no holder shown)'
                           ORDER BY families_in_force DESC, holder_group LIMIT 5""") if "holder_cliffs" in have else []
    chart = line_chart({"families in force (sum over holder groups)": [(float(r["year"]), float(r["families_in_force"])) for r in rows]},
                       title="Cliff timeline: in-force families and the holder groups' cliff years", y_label="families",
                       markers=[(float(c["cliff_year"]), str(c["holder_group"])) for c in cliffs])
    return {"chart": chart, "csv": csv_link(rows, ["year", "families_in_force", "projected"]),
            "cliffs_csv": csv_link(cliffs, ["holder_group", "families_in_force", "cliff_year"])}
