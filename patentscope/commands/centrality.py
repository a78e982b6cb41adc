"""``patentscope centrality``: the top families by citation centrality (read-only).

Reads the ``centrality`` view that ``patentscope analyze`` fills (through
``patentscope.metrics.citations.refresh``); definitions in docs/centrality.md.
"""

from __future__ import annotations

import click
import duckdb
import polars as pl

from ..errors import PatentscopeError, WarehouseError

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
_SQL = """
SELECT {columns}
FROM centrality
WHERE (in_landscape OR NOT $landscape_only) AND "{by}" IS NOT NULL
ORDER BY "{by}" DESC, family_id
LIMIT $top
"""


def top_families(con: duckdb.DuckDBPyConnection, *, by: str = "pagerank_rescaled", top: int = 20,
                 landscape_only: bool = True) -> pl.DataFrame:
    """The ``top`` families by ``by`` (a key of MEASURES) from the centrality view."""
    if by not in MEASURES:
        raise PatentscopeError(f"unknown measure {by!r}; choose one of {', '.join(MEASURES)}")
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = 'centrality'"
    ).fetchall()[0][0]
    if not exists:
        raise WarehouseError("this warehouse has no centrality view; run `patentscope migrate`, then `patentscope analyze`")
    runs = con.execute("SELECT count(*) FROM centrality_runs").fetchall()[0][0]
    if not runs:
        raise PatentscopeError("citation centrality has not been computed for this warehouse yet; run `patentscope analyze`")
    cols = ", ".join(f'"{c}"' for c in dict.fromkeys([*COLUMNS, by]))
    sql = _SQL.format(columns=cols, by=by)
    return con.sql(sql, params={"landscape_only": landscape_only, "top": top}).pl()


def register(main: click.Group) -> None:
    from ..cli import CSV, FORMAT, JSON, Ctx, _fmt, emit

    @main.command("centrality")
    @click.option("--top", type=click.IntRange(min=1), default=20, show_default=True, help="How many families.")
    @click.option("--by", type=click.Choice(list(MEASURES)), default="pagerank_rescaled", show_default=True,
                  help="Measure to rank by.")
    @click.option("--all-families", is_flag=True,
                  help="Also families outside the landscape (e.g. cited numbers known only from references).")
    @FORMAT
    @CSV
    @JSON
    @click.pass_obj
    def centrality(obj: Ctx, top: int, by: str, all_families: bool, fmt: str, as_csv: bool, as_json: bool) -> None:
        """Print the top patent families by citation centrality.

        Candidate "basic patents": families whose citation network position stands out.
        Computed by `patentscope analyze` on the family-level citation graph (publications
        collapsed to families; citations from outside the landscape count). Measures are
        defined in docs/centrality.md; the `centrality` view has them all for SQL.

        \b
        Examples:
          patentscope centrality --top 10
          patentscope centrality --by forward_citations_percentile --csv
          patentscope centrality --by pagerank --all-families --json
        """
        from ..warehouse.connection import reader

        with reader(obj.settings.warehouse) as con:
            df = top_families(con, by=by, top=top, landscape_only=not all_families)
        obj.log(f"ranked by {by}: {MEASURES[by]}")
        emit(df, _fmt(fmt, as_csv, as_json))
