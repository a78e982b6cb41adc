"""The HTML report: one self-contained file (inline CSS, no external requests at view time).

``build_context`` reads the warehouse (read-only) into plain data; ``render`` turns it into HTML
with Jinja2 autoescaping on, so every piece of patent text is escaped; links are emitted only
for http(s) URLs. The sections here are the first page (scope, counts by holder as written,
by year and office, the records with links to their source pages, provenance); later metric
sections plug into the same context.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jinja2

from .. import __version__
from ..landscape import Landscape
from ..warehouse.connection import frame, reader

SAMPLE_CAVEAT = (
    "This warehouse holds the embedded sample: 147 real NdFeB patents transcribed by hand from "
    "public web pages. It is a sample for trying patentscope, not a landscape: the counts below "
    "describe these pages, not the NdFeB industry."
)


def _safe_url(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    return url if urlparse(url).scheme in ("http", "https") else None


def build_context(warehouse: Path, landscape: Landscape) -> dict[str, Any]:
    with reader(warehouse) as con:
        counts = frame(con, """
            SELECT count(*) AS publications,
                   count(*) FILTER (WHERE in_landscape) AS in_landscape,
                   count(DISTINCT family_id) AS families,
                   count(DISTINCT country) AS offices
            FROM publications""").to_dicts()[0]
        sources = frame(con, """
            SELECT source, count(*) AS publications FROM publications GROUP BY source ORDER BY source""").to_dicts()
        runs = frame(con, """
            SELECT run_id, source, status, started_at, finished_at, rows_read, rows_rejected
            FROM ingest_runs ORDER BY run_id DESC LIMIT 10""").to_dicts()
        holders = frame(con, """
            SELECT * FROM (
                SELECT coalesce(holder_as_written, '(holder not shown)') AS holder,
                       count(*) AS publications, count(DISTINCT family_id) AS families,
                       list_sort(list_distinct(list(country))) AS offices
                FROM publication_overview WHERE in_landscape GROUP BY ALL)
            ORDER BY holder = '(holder not shown)', publications DESC, holder""").to_dicts()
        by_office = frame(con, """
            SELECT country AS office, count(*) AS publications FROM publication_overview
            WHERE in_landscape GROUP BY ALL ORDER BY publications DESC, office""").to_dicts()
        by_year = frame(con, """
            SELECT earliest_year AS year, country AS office, count(*) AS n
            FROM publication_overview WHERE in_landscape AND earliest_year IS NOT NULL
            GROUP BY ALL ORDER BY year, office""").to_dicts()
        undated = frame(con, """
            SELECT count(*) AS n FROM publication_overview WHERE in_landscape AND earliest_year IS NULL""").to_dicts()[0]["n"]
        records = frame(con, """
            SELECT pub_key, pub_number, country, title, holder_as_written, current_holder_as_written,
                   earliest_date, family_id, in_landscape, landscape_reason, relevance, status_as_shown,
                   source_url, n_references
            FROM publication_overview ORDER BY country, pub_key""").to_dicts()
        sites = frame(con, """
            SELECT regexp_extract(source_url, '^https?://([^/]+)', 1) AS site, count(*) AS n
            FROM publications WHERE source_url IS NOT NULL GROUP BY ALL ORDER BY n DESC, site""").to_dicts()
        disagreements = frame(con, """
            SELECT count(*) AS n FROM (SELECT pub_key, field FROM field_values GROUP BY ALL
                                      HAVING count(DISTINCT value) > 1)""").to_dicts()[0]["n"]
        quarantined = frame(con, "SELECT count(*) AS n FROM quarantine").to_dicts()[0]["n"]
    for r in records:
        r["url"] = _safe_url(r.pop("source_url"))
    offices = sorted({r["office"] for r in by_year})
    years: dict[int, dict[str, int]] = {}
    for r in by_year:
        years.setdefault(r["year"], {})[r["office"]] = r["n"]
    year_rows = [{"year": y, "by_office": [years[y].get(o, 0) for o in offices], "total": sum(years[y].values())}
                 for y in sorted(years)]
    max_year_total = max((sum(years[y].values()) for y in years), default=1)
    max_holder = max((int(h["publications"]) for h in holders), default=1)
    only_sample = [s["source"] for s in sources] == ["sample"]
    return {
        "title": "patentscope report",
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "warehouse": str(warehouse),
        "landscape": landscape.as_dict() | {"description": landscape.description},
        "counts": counts,
        "sources": sources,
        "runs": runs,
        "holders": holders,
        "max_holder": max_holder,
        "by_office": by_office,
        "offices": offices,
        "year_rows": year_rows,
        "max_year_total": max_year_total,
        "undated": undated,
        "records": records,
        "sites": sites,
        "disagreements": disagreements,
        "quarantined": quarantined,
        "caveat": SAMPLE_CAVEAT if only_sample else None,
    }


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("patentscope", "report/templates"),
        autoescape=True,  # every value is HTML-escaped unless explicitly marked safe (none is)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(context: dict[str, Any]) -> str:
    return _env().get_template("report.html.j2").render(**context)


def write_report(warehouse: Path, landscape: Landscape, out: Path) -> Path:
    html = render(build_context(warehouse, landscape))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".part")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
