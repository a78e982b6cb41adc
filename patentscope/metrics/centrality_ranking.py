"""Ranking families by citation centrality: the measures, the top-N read from the ``centrality``
view (filled by :func:`patentscope.metrics.citations.refresh`) and plain statements about ties,
the basic-patent citation minimum and the age-rescaling window (docs/centrality.md)."""

from __future__ import annotations

import duckdb
import polars as pl

from ..errors import PatentscopeError, WarehouseError
from ..warehouse.connection import tables

MEASURES = {
    "pagerank_rescaled": "age-rescaled PageRank (z-score against families of similar date)",
    "pagerank": "PageRank (share of 1)",
    "forward_citations": "citation links received from other families",
    "forward_citations_percentile": "percentile of forward citations within the filing-year cohort",
    "forward_citations_5y": "links received within 5 years of the family's date",
    "forward_citations_10y": "links received within 10 years",
    "hits_authority": "HITS authority (share of 1)",
    "main_path_spc": "normalised search path count on the main path",
}

COLUMNS = [
    "family_id", "members", "family_date", "forward_citations", "forward_citations_5y", "forward_citations_10y",
    "forward_citations_percentile", "pagerank", "pagerank_rescaled", "hits_authority", "on_main_path",
]

# the measure is chosen from a fixed list and quoted as an identifier, never taken from input as SQL
# ties are ranked as ties: `rank` is the competition rank (1, 2, 2, 4), `tied` the number of
# families sharing the value; the list is cut at --top rows even inside a tie (the summary says so)
_SQL = """
SELECT {columns},
       rank() OVER (ORDER BY "{by}" DESC) AS rank,
       count(*) OVER (PARTITION BY "{by}") AS tied,
       forward_citations >= $min_forward AS basic_candidate
FROM centrality
WHERE (in_landscape OR NOT $landscape_only) AND "{by}" IS NOT NULL
ORDER BY "{by}" DESC, family_id
LIMIT $top
"""


def min_forward_citations() -> int:
    """Forward citations a family needs to be called a candidate basic patent (data/findings.toml)."""
    from ..findings import FindingsSettings

    return FindingsSettings.load().min_forward_citations


def ranking_notes(df: pl.DataFrame, by: str, *, rescale_window: int | None = None, n_rescaled: int | None = None) -> list[str]:
    """Plain statements about a ranking from :func:`top_families`: whether the top family is
    unique (it is named only then), where the list is cut inside a tie, how many listed families
    reach the basic-patent citation minimum, and whether the age-rescaled score is in fact a plain
    z-score (its window covers every dated family)."""
    notes: list[str] = []
    if df.height == 0:
        return ["no family has a value for this measure"]
    first = df.row(0, named=True)
    if int(first["tied"]) == 1:
        notes.append(f"the most central family by {by} is {first['family_id']}")
    else:
        notes.append(f"no single most central family: {first['tied']} families tie for rank 1 by {by}")
    for r in df.unique("rank", keep="first").sort("rank").iter_rows(named=True):
        if int(r["tied"]) > 1 and r["rank"] != 1:
            end = int(r["rank"]) + int(r["tied"]) - 1
            notes.append(f"ranks {r['rank']}-{end} are a {r['tied']}-way tie")
    tail = df.row(df.height - 1, named=True)
    if int(tail["rank"]) + int(tail["tied"]) - 1 > df.height:
        notes.append(f"the list stops inside a tie of {tail['tied']} families at rank {tail['rank']}")
    if "basic_candidate" in df.columns:
        k = int(df["basic_candidate"].fill_null(False).sum())
        notes.append(f"{k} of the {df.height} listed families have at least {min_forward_citations()} forward citations "
                     "(the minimum to be called a candidate basic patent; data/findings.toml)")
    if by == "pagerank_rescaled" and rescale_window is not None and n_rescaled is not None and rescale_window >= n_rescaled:
        notes.append(f"the age-rescaling window ({rescale_window} families) covers every dated family ({n_rescaled}): "
                     "the 'age-rescaled' score is a plain z-score of PageRank, not corrected for age")
    return notes


def top_families(con: duckdb.DuckDBPyConnection, *, by: str = "pagerank_rescaled", top: int = 20,
                 landscape_only: bool = True) -> pl.DataFrame:
    """The ``top`` families by ``by`` (a key of MEASURES) from the centrality view."""
    if by not in MEASURES:
        raise PatentscopeError(f"unknown measure {by!r}; choose one of {', '.join(MEASURES)}")
    if "centrality" not in tables(con):
        raise WarehouseError("this warehouse has no centrality view; run `patentscope migrate`, then `patentscope analyze`")
    runs = con.execute("SELECT count(*) FROM centrality_runs").fetchall()[0][0]
    if not runs:
        raise PatentscopeError("citation centrality has not been computed for this warehouse yet; run `patentscope analyze`")
    cols = ", ".join(f'"{c}"' for c in dict.fromkeys([*COLUMNS, by]))
    sql = _SQL.format(columns=cols, by=by)
    return con.sql(sql, params={"landscape_only": landscape_only, "top": top, "min_forward": min_forward_citations()}).pl()
