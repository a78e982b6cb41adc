"""``patentscope centrality``: the top families by citation centrality (read-only).

Reads the ``centrality`` view that ``patentscope analyze`` fills (through
``patentscope.metrics.citations.refresh``); definitions in docs/centrality.md.
"""

from __future__ import annotations

import click

from ...metrics.centrality_ranking import MEASURES, ranking_notes, top_families


def register(main: click.Group) -> None:
    from ..context import Ctx
    from ..output import CSV, FORMAT, JSON, _fmt, emit

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
        from ...warehouse.connection import reader

        with reader(obj.settings.warehouse) as con:
            df = top_families(con, by=by, top=top, landscape_only=not all_families)
            window = con.execute("SELECT rescale_window FROM centrality_runs ORDER BY run_id DESC LIMIT 1").fetchall()
            n_resc = con.execute("SELECT count(*) FROM centrality WHERE pagerank_rescaled IS NOT NULL").fetchall()[0][0]
        obj.log(f"ranked by {by}: {MEASURES[by]}")
        for note in ranking_notes(df, by, rescale_window=window[0][0] if window else None, n_rescaled=n_resc):
            obj.log(note)
        emit(df, _fmt(fmt, as_csv, as_json))
