"""The HTML report: one self-contained file (inline CSS, inline SVG charts, a small inline
script for sorting and filtering tables; no request leaves the page at view time).

``build_context`` reads the warehouse read-only into plain data; ``render`` turns it into HTML
with Jinja2 autoescaping, so every piece of patent text is escaped; links are emitted only for
http(s) URLs; the page's Content-Security-Policy allows no network access and only the one
inline script that carries this render's nonce.

Sections: summary, holders, technology segments, basic patents, expiry timeline, royalty
burden, records, methodology and provenance. A section whose data is absent says so.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import duckdb
import jinja2

from .. import __version__
from ..landscape import Landscape
from ..links import canonical_links, check_link
from ..numfmt import money
from ..record import anchor
from ..warehouse.connection import frame, reader
from ..warehouse.connection import tables as _tables
from . import charts

SAMPLE_CAVEAT = (
    "This warehouse holds the embedded sample: 147 real NdFeB patents transcribed by hand from "
    "public web pages. It is a sample for trying patentscope, not a landscape: the counts below "
    "describe these pages, not the NdFeB industry."
)
MAX_RECORDS = 1000      # rows of the records table; the rest is one `patentscope export` away
TOP_GROUPS = 8


def _safe_url(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    return url if urlparse(url).scheme in ("http", "https") else None


def public_page(pub_number: str, source_url: str | None = None) -> str | None:
    """The publication's canonical public page (Google Patents, built from the number): never
    the transcribed page, which may be a proxy or a mirror (that one is provenance, see
    :func:`source_link`)."""
    links = canonical_links(pub_number)
    if links:
        return links[0].url
    compact = pub_number.replace("-", "")
    return f"https://patents.google.com/patent/{quote(compact)}/en" if compact else None


def source_link(source_url: str | None) -> dict[str, Any] | None:
    """The transcribed page as provenance: a link only when its host is an office or a known
    patent service; otherwise its host as text with the warning (never a link to a proxy)."""
    safe = _safe_url(source_url)
    if not safe:
        return None
    cls, warning = check_link(safe)
    return {"url": safe if warning is None else None, "host": urlparse(safe).hostname or "", "class": cls, "warning": warning}


def record_link_set(pub_number: str, source_url: str | None, application_number: str | None) -> dict[str, Any]:
    """Canonical links of a report record: its public page, the office's page, the source."""
    links = canonical_links(pub_number, application_number=application_number)
    office = next((ln for ln in links if ln.kind == "register"), None)
    return {"url": links[0].url if links else public_page(pub_number),
            "office": {"label": office.label, "url": office.url} if office else None,
            "source": source_link(source_url)}


def local_time(value: Any) -> str:
    """A timestamp for people: the local time with its zone, to the minute (no microseconds).
    Naive timestamps in the warehouse are UTC (warehouse.save.now)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, dt.datetime):
        return "" if value is None else str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    loc = value.astimezone()
    off = loc.utcoffset() or dt.timedelta(0)
    if off == dt.timedelta(0):
        return loc.strftime("%Y-%m-%d %H:%M UTC")
    mins = abs(int(off.total_seconds())) // 60
    offs = f"UTC{'+' if off >= dt.timedelta(0) else '-'}{mins // 60:02d}:{mins % 60:02d}"
    zone = loc.strftime("%Z")
    name = zone if zone and zone[0] not in "+-" else ""
    return f"{loc:%Y-%m-%d %H:%M} " + (f"{name} ({offs})" if name else offs)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return frame(con, sql, params).to_dicts()


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0] or 0)


def build_context(warehouse: Path, landscape: Landscape, *, today: dt.date | None = None) -> dict[str, Any]:
    today = today or dt.date.today()
    with reader(warehouse) as con:
        have = _tables(con)
        ctx: dict[str, Any] = {
            "title": "patentscope report", "version": __version__, "warehouse": str(warehouse),
            "generated_at": local_time(dt.datetime.now(dt.UTC)), "today": today.isoformat(),
            "landscape": landscape.as_dict() | {"description": landscape.description},
        }
        ctx["counts"] = _rows(con, """
            SELECT count(*) AS publications, count(*) FILTER (WHERE in_landscape) AS in_landscape,
                   count(DISTINCT family_id) FILTER (WHERE in_landscape) AS families,
                   count(DISTINCT country) FILTER (WHERE in_landscape) AS offices,
                   count(*) FILTER (WHERE NOT in_landscape) AS neighbours
            FROM publications""")[0]
        ctx["sources"] = _rows(con, """
            SELECT p.source, count(*) AS publications,
                   (SELECT max(finished_at) FROM ingest_runs r WHERE r.source = p.source AND r.status IN ('ok', 'partial')) AS last_run
            FROM publications p GROUP BY p.source ORDER BY p.source""")
        ctx["analyzed_at"] = con.execute("SELECT max(finished_at) FROM ingest_runs WHERE source = 'analyze' "
                                         "AND status IN ('ok', 'partial')").fetchall()[0][0]
        ctx["runs"] = _rows(con, """SELECT run_id, source, status, started_at, finished_at, rows_read, rows_rejected
                                   FROM ingest_runs ORDER BY run_id DESC LIMIT 12""")
        # value is NOT NULL: two values differ exactly when min <> max (count(DISTINCT) took 1.5x as long)
        ctx["disagreements"] = _count(con, "SELECT count(*) FROM (SELECT pub_key, field FROM field_values GROUP BY ALL "
                                           "HAVING min(value) <> max(value))")
        ctx["quarantined"] = _count(con, "SELECT count(*) FROM quarantine")
        ctx["only_sample"] = [s["source"] for s in ctx["sources"]] == ["sample"]
        srcs = {s["source"] for s in ctx["sources"]}
        ctx["caveat"] = SAMPLE_CAVEAT if ctx["only_sample"] else (
            "This warehouse holds SYNTHETIC records (generated for tests and benchmarks): nothing in this report "
            "describes real patents." if "synthetic" in srcs else None)
        ctx["sites"] = _rows(con, """SELECT regexp_extract(source_url, '^https?://([^/]+)', 1) AS site, count(*) AS n
                                    FROM publications WHERE source_url IS NOT NULL GROUP BY ALL ORDER BY n DESC, site LIMIT 30""")
        ctx["holders"] = _holders_section(con, have, today)
        ctx["segments"] = _segments_section(con, have)
        ctx["basic"] = _basic_section(con, have, today)
        ctx["expiry"] = _expiry_section(con, have, today)
        ctx["royalty"] = _royalty_section(con, have, today)
        from .findings_section import findings_context  # the opening findings (templates/_findings.html.j2)

        ctx["findings_section"] = findings_context(con, today)
        ctx["records"], ctx["records_total"] = _records(con, have)
        in_table = {r["anchor"] for r in ctx["records"]}
        for r in ctx["basic"].get("rows", []):
            r["in_records"] = r["anchor"] in in_table
        ctx["findings"] = _findings(ctx)
    return ctx


def _holders_section(con: duckdb.DuckDBPyConnection, have: set[str], today: dt.date) -> dict[str, Any]:
    out: dict[str, Any] = {"available": False}
    if "concentration_stats" not in have or not _count(con, "SELECT count(*) FROM concentration_stats"):
        out["as_written"] = _rows(con, """
            SELECT * FROM (SELECT coalesce(holder_as_written, '(holder not shown)') AS holder, count(*) AS publications,
                                  count(DISTINCT family_id) AS families, list_sort(list_distinct(list(country))) AS offices
                           FROM publication_brief WHERE in_landscape GROUP BY ALL)
            ORDER BY holder = '(holder not shown)', publications DESC, holder LIMIT 40""")
        return out
    out["available"] = True
    year = today.year
    out["year"] = year
    out["top"] = _rows(con, """
        WITH live AS (
            SELECT DISTINCT holder_group, families_in_force FROM in_force_stock
            WHERE jurisdiction = 'ALL' AND year = $y AND holder_group <> '(no holder shown)')
        SELECT holder_group, families_in_force, families_in_force / sum(families_in_force) OVER () AS share_of_counts
        FROM live ORDER BY families_in_force DESC, holder_group LIMIT 15""", {"y": year})
    series = _rows(con, """SELECT year, hhi, cr4, n_families FROM concentration_stats
                           WHERE scope_type = 'all' AND period_type = 'in_force_stock' AND weighting = 'families'
                             AND hhi IS NOT NULL ORDER BY year""")
    out["hhi_chart"] = charts.line_chart(
        {"HHI (in-force families)": [(r["year"], r["hhi"]) for r in series]}, title="Holder concentration of in-force families, HHI",
        y_label="HHI (0-10,000)", bands=[(1800, 10000, "above 1,800 (merger-guideline analogy)")], y_max=10000,
        markers=[(today.year, "today")])
    out["cr4_chart"] = charts.line_chart(
        {"CR4": [(r["year"], r["cr4"]) for r in series]}, title="Share of the four largest holder groups (CR4)",
        y_label="share", y_max=1.0, percent=True, markers=[(today.year, "today")])
    out["by_country"] = _rows(con, """SELECT scope_value AS country, n_families, n_holders, hhi, cr4, label
                                      FROM concentration_stats WHERE scope_type = 'holder_country' AND period_type = 'in_force_stock'
                                        AND weighting = 'families' AND year = $y ORDER BY n_families DESC""", {"y": year})
    out["by_segment"] = _rows(con, """SELECT scope_value AS segment, n_families, n_holders, hhi, cr4, label
                                      FROM concentration_stats WHERE scope_type = 'segment' AND period_type = 'in_force_stock'
                                        AND weighting = 'families' AND year = $y ORDER BY n_families DESC""", {"y": year})
    return out


def _segments_section(con: duckdb.DuckDBPyConnection, have: set[str]) -> dict[str, Any]:
    if "publication_segments" not in have or not _count(con, "SELECT count(*) FROM publication_segments"):
        return {"available": False}
    rows = _rows(con, """
        WITH fam AS (SELECT s.segment, p.family_id, min(least(p.priority_date, p.filing_date, p.publication_date, p.grant_date)) AS d
                     FROM publication_segments s JOIN publications p USING (pub_key)
                     WHERE s.segment <> 'unclassified' GROUP BY ALL)
        SELECT segment, year(d) AS year, count(*) AS families FROM fam WHERE d IS NOT NULL GROUP BY ALL ORDER BY year""")
    series: dict[str, list[tuple[float, float]]] = {}
    if rows:
        y0, y1 = min(r["year"] for r in rows), max(r["year"] for r in rows)
        counts: dict[tuple[str, int], int] = {(r["segment"], r["year"]): r["families"] for r in rows}
        for seg in sorted({r["segment"] for r in rows}):  # years with no new family count as 0
            series[seg] = [(y, counts.get((seg, y), 0)) for y in range(y0, y1 + 1)]
    by_segment = _rows(con, """
        SELECT segment, count(DISTINCT pub_key) AS publications,
               count(*) FILTER (WHERE decided_by = 'cpc') AS by_cpc, count(*) FILTER (WHERE decided_by = 'keyword') AS by_keyword,
               count(*) FILTER (WHERE decided_by = 'classifier') AS by_classifier
        FROM publication_segments GROUP BY segment ORDER BY publications DESC""")
    evals = _rows(con, "SELECT segment, positives, precision, recall, used, note FROM segment_classifier_eval ORDER BY segment") \
        if "segment_classifier_eval" in have else []
    return {"available": True, "chart": charts.small_multiples(series, title="New families per year by technology segment",
                                                              y_label="families per year, by each family's earliest date"),
            "by_segment": by_segment, "evals": evals}


def _basic_section(con: duckdb.DuckDBPyConnection, have: set[str], today: dt.date) -> dict[str, Any]:
    if "family_centrality" not in have or not _count(con, "SELECT count(*) FROM family_centrality"):
        return {"available": False}
    expiry_join = "expiry_results" in have
    rows = _rows(con, f"""
        WITH top AS (
            SELECT family_id, forward_citations, pagerank, pagerank_rescaled, hits_authority, on_main_path, family_date
            FROM family_centrality WHERE in_warehouse ORDER BY pagerank_rescaled DESC NULLS LAST, pagerank DESC, family_id LIMIT 20
        ), member AS (
            SELECT p.family_id, min(p.pub_key) AS pub_key, arg_min(p.pub_number, p.pub_key) AS pub_number, arg_min(p.title, p.pub_key) AS title,
                   arg_min(p.source_url, p.pub_key) AS source_url
            FROM publications p JOIN top USING (family_id) GROUP BY p.family_id
        ), holder AS (
            SELECT p.family_id, string_agg(DISTINCT h.group_label, '; ') AS holder_group
            FROM publications p JOIN publication_holder_groups h USING (pub_key) JOIN top USING (family_id)
            WHERE (h.valid_from IS NULL OR h.valid_from <= $d) AND (h.valid_to IS NULL OR $d < h.valid_to)
            GROUP BY p.family_id
        ) {''', ex AS (
            SELECT p.family_id, max(e.expiry_date) AS expiry_date,
                   CASE WHEN bool_or(e.status = 'in force') THEN 'in force' ELSE min(e.status) END AS status
            FROM publications p JOIN expiry_results e ON e.pub_key = p.pub_key JOIN top ON top.family_id = p.family_id
            WHERE e.jurisdiction = e.office GROUP BY p.family_id
        )''' if expiry_join else ''}
        SELECT top.*, member.pub_key, member.pub_number, member.title, member.source_url, holder.holder_group
               {', ex.status, ex.expiry_date' if expiry_join else ', NULL AS status, NULL AS expiry_date'}
        FROM top JOIN member USING (family_id) LEFT JOIN holder USING (family_id)
        {'LEFT JOIN ex USING (family_id)' if expiry_join else ''}
        ORDER BY pagerank_rescaled DESC NULLS LAST, pagerank DESC, family_id""", {"d": today})
    for r in rows:
        r["url"] = public_page(r["pub_number"] or "")
        r["anchor"] = anchor(r.pop("pub_key"))
        r.pop("source_url")
    ids = [r["family_id"] for r in rows]
    edges = [(a, b) for a, b in con.execute(
        "SELECT DISTINCT citing_family_id, cited_family_id FROM citation_links WHERE citing_family_id IN (SELECT unnest($i)) "
        "AND cited_family_id IN (SELECT unnest($i)) AND citing_family_id <> cited_family_id", {"i": ids}).fetchall()]
    nodes = [{"id": r["family_id"], "label": f"{r['pub_number']} {r['holder_group'] or ''}".strip(),
              "year": r["family_date"].year if isinstance(r["family_date"], dt.date) else None} for r in rows]
    # ties are ties: the top family is named only when no other family has the same score
    n_top = _count(con, """SELECT count(*) FROM family_centrality WHERE in_warehouse AND pagerank_rescaled =
                           (SELECT max(pagerank_rescaled) FROM family_centrality WHERE in_warehouse)""")
    return {"available": True, "rows": rows, "n_edges": len(edges), "n_tied_top": n_top,
            "figure": charts.citation_core(nodes, edges, title="Citation core: the top families by rescaled PageRank and the citations among them")}


def _expiry_section(con: duckdb.DuckDBPyConnection, have: set[str], today: dt.date) -> dict[str, Any]:
    if "in_force_stock" not in have or not _count(con, "SELECT count(*) FROM in_force_stock"):
        return {"available": False}
    groups = [r[0] for r in con.execute("""
        SELECT holder_group FROM in_force_stock WHERE jurisdiction = 'ALL' AND holder_group <> '(no holder shown)'
        GROUP BY holder_group ORDER BY max(families_in_force) DESC, holder_group LIMIT $n""", {"n": TOP_GROUPS}).fetchall()]
    rows = _rows(con, """SELECT holder_group, year, families_in_force, projected FROM in_force_stock
                         WHERE jurisdiction = 'ALL' AND holder_group IN (SELECT unnest($g)) ORDER BY year""", {"g": groups})
    series: dict[str, list[tuple[float, float]]] = {}
    if rows:
        y0, y1 = min(r["year"] for r in rows), max(r["year"] for r in rows)
        counts = {(r["holder_group"], r["year"]): r["families_in_force"] for r in rows}
        for g in groups:  # a year with no family in force is 0, not a gap
            series[g] = [(y, counts.get((g, y), 0)) for y in range(y0, y1 + 1)]
    cliffs = _rows(con, "SELECT holder_group, families_in_force, cliff_date, cliff_year, last_expiry FROM holder_cliffs "
                        "WHERE holder_group <> '(no holder shown)' ORDER BY families_in_force DESC, holder_group LIMIT 20") \
        if "holder_cliffs" in have else []
    markers = [(today.year, "today")] + [(c["cliff_year"], f"cliff: {c['holder_group'][:18]}") for c in cliffs[:3] if c["cliff_year"]]
    status = _rows(con, "SELECT status, count(*) AS publications FROM expiry_results WHERE jurisdiction = office GROUP BY ALL ORDER BY publications DESC") \
        if "expiry_results" in have else []
    sd = con.execute("SELECT max(status_date) FROM expiry_results").fetchall()[0][0] if "expiry_results" in have else None
    return {"available": True, "chart": charts.line_chart(series, title="Families in force per holder group (past and projected)",
                                                         y_label="families in force", markers=markers, integer=True),
            "cliffs": cliffs, "status": status, "status_date": sd}


def _royalty_section(con: duckdb.DuckDBPyConnection, have: set[str], today: dt.date) -> dict[str, Any]:
    if "royalty_results" not in have or not _count(con, "SELECT count(*) FROM royalty_results"):
        return {"available": False}
    scenarios = []
    for (name,) in con.execute("SELECT DISTINCT scenario FROM royalty_results ORDER BY scenario").fetchall():
        res = _rows(con, """SELECT variant, exporter, year, burden_p5, burden_p50, burden_p95, sales_at_risk_p50, sales_value
                            FROM royalty_results WHERE scenario = $s AND market = 'ALL' ORDER BY variant, exporter, year""", {"s": name})
        chart_list = []
        for ex in sorted({r["exporter"] for r in res}):
            part = [r for r in res if r["exporter"] == ex and r["variant"] == "base"]
            chart_list.append(charts.band_chart([r["year"] for r in part], [r["burden_p5"] for r in part],
                                                [r["burden_p50"] for r in part], [r["burden_p95"] for r in part],
                                                title=f"{ex}: royalty burden on export sales (median, P5-P95), base rates",
                                                y_label="burden", markers=[(today.year, "today")]))
        snap_year = min(max(r["year"] for r in res), today.year)
        per_market = _rows(con, """SELECT variant, exporter, market, year, currency, sales_value, royalties_p50, burden_p5, burden_p50, burden_p95,
                                          sales_at_risk_p50, n_blocking, n_licensed, n_unlicensed, n_refused
                                   FROM royalty_results WHERE scenario = $s AND year = $y ORDER BY variant, exporter, market""",
                           {"s": name, "y": snap_year})
        thresholds = _rows(con, "SELECT variant, exporter, threshold, first_year_below FROM royalty_thresholds WHERE scenario = $s ORDER BY variant, exporter", {"s": name}) \
            if "royalty_thresholds" in have else []
        inverse = _rows(con, "SELECT exporter, year, target_burden, required_avg_rate, avg_blocking_licensors, licensors_at_benchmark "
                             "FROM royalty_inverse WHERE scenario = $s AND year = $y ORDER BY exporter", {"s": name, "y": snap_year}) \
            if "royalty_inverse" in have else []
        sens = _rows(con, "SELECT exporter, quantity, low_value, high_value, burden_at_low, burden_at_high, swing FROM royalty_sensitivity "
                          "WHERE scenario = $s ORDER BY exporter, swing DESC", {"s": name}) if "royalty_sensitivity" in have else []
        meta = _rows(con, "SELECT path, sha256, run_at, text, samples, seed FROM royalty_scenarios WHERE scenario = $s", {"s": name}) \
            if "royalty_scenarios" in have else []
        scenarios.append({"name": name, "charts": chart_list, "per_market": per_market, "year": snap_year,
                          "thresholds": thresholds, "inverse": inverse, "sensitivity": sens, "meta": meta[0] if meta else None})
    return {"available": True, "scenarios": scenarios}


def _records(con: duckdb.DuckDBPyConnection, have: set[str]) -> tuple[list[dict[str, Any]], int]:
    total = _count(con, "SELECT count(*) FROM publications WHERE in_landscape")
    status = "expiry_results" in have
    # a name that an aggregator showed as assignee but that is an inventor is no holder (docs/holders.md)
    flags = "publication_holder_flags" in have
    rows = _rows(con, f"""
        SELECT o.pub_key, o.pub_number, o.country, o.title, o.holder_as_written, o.current_holder_as_written, o.earliest_date,
               o.landscape_reason, o.status_as_shown, o.source_url, p.application_number
               {', e.status AS computed_status, e.expiry_date' if status else ''}
               {', f.holder_flag' if flags else ', NULL AS holder_flag'}
        FROM publication_brief o JOIN publications p ON p.pub_key = o.pub_key
        {'LEFT JOIN expiry_results e ON e.pub_key = o.pub_key AND e.jurisdiction = e.office' if status else ''}
        {'LEFT JOIN (SELECT pub_key, min(flag) AS holder_flag FROM publication_holder_flags GROUP BY pub_key) f ON f.pub_key = o.pub_key' if flags else ''}
        WHERE o.in_landscape
        ORDER BY o.earliest_date DESC NULLS LAST, o.pub_key LIMIT {MAX_RECORDS}""")
    for r in rows:
        r |= record_link_set(r["pub_number"] or "", r.pop("source_url"), r.pop("application_number"))
        r["anchor"] = anchor(r["pub_key"])
        r["show"] = f"patentscope show {(r['pub_number'] or r['pub_key']).replace('-', '')}"
    return rows, total


def _findings(ctx: dict[str, Any]) -> list[str]:
    out = []
    c = ctx["counts"]
    out.append(f"{c['in_landscape']} publications in {c['families']} families from {c['offices']} offices are in the landscape.")
    h = ctx["holders"]
    if h.get("available") and h.get("top"):
        top = h["top"][0]
        out.append(f"Largest holder group by families in force at the end of {h['year']}: {top['holder_group']} "
                   f"({top['families_in_force']} families).")
    e = ctx["expiry"]
    if e.get("available") and e.get("cliffs"):
        cl = e["cliffs"][0]
        if cl.get("cliff_year"):
            out.append(f"{cl['holder_group']}: half of its {cl['families_in_force']} in-force families expire by {cl['cliff_year']}.")
    b = ctx["basic"]
    if b.get("available") and b.get("rows"):
        r = b["rows"][0]
        if b.get("n_tied_top", 1) <= 1:
            out.append(f"Most central family by age-rescaled PageRank: {r['pub_number']} ({r['holder_group'] or 'holder not shown'}).")
        else:
            out.append(f"No single most central family: {b['n_tied_top']} families tie for the top age-rescaled PageRank "
                       "(see `patentscope centrality`, which ranks ties as ties).")
    return out


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("patentscope", "report/templates"),
        autoescape=True,  # every value is HTML-escaped unless it is Markup built by charts.py
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v, d=1: "" if v is None else f"{100 * float(v):.{d}f}%"
    env.filters["num"] = lambda v, d=0: "" if v is None else f"{float(v):,.{d}f}"
    env.filters["ts"] = local_time
    env.filters["money"] = lambda v, cur=None: "" if v is None else money(v, cur)
    return env


def render(context: dict[str, Any]) -> str:
    return _env().get_template("report.html.j2").render(**context, nonce=secrets.token_urlsafe(16))


def render_record_page(record: dict[str, Any]) -> str:
    """One publication's record (``patentscope show --html``) as a self-contained page."""
    from ..record import anchor

    return _env().get_template("record.html.j2").render(r=record | {"anchor": anchor(record["pub_key"])})


def write_report(warehouse: Path, landscape: Landscape, out: Path) -> Path:
    html = render(build_context(warehouse, landscape))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".part")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
