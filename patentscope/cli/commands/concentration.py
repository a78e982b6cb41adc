"""`patentscope concentration`: holder concentration by year and scope, and merger what-ifs."""

from __future__ import annotations

import click
import polars as pl


def register(main: click.Group) -> None:
    from ..context import Ctx
    from ..output import emit

    @main.command()
    @click.option("--scope", "scope_type", type=click.Choice(["all", "jurisdiction", "segment", "holder_country"]),
                  default="all", show_default=True)
    @click.option("--value", "scope_value", default="all", show_default=True, help="Scope value, e.g. US, sintered, JP.")
    @click.option("--period", "period_type", type=click.Choice(["in_force_stock", "new_filings"]), default="in_force_stock",
                  show_default=True)
    @click.option("--weighting", type=click.Choice(["families", "centrality"]), default="families", show_default=True)
    @click.option("--merge", nargs=2, metavar="ACQUIRER TARGET", default=None,
                  help="What-if: ACQUIRER takes over TARGET (holder-group labels as in the holders tables); "
                       "prints HHI before/after and the change for --year.")
    @click.option("--year", type=int, default=None, help="With --merge: the year (default: the current year).")
    @click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
    @click.option("--csv", "as_csv", is_flag=True, help="Shorthand for --format csv.")
    @click.option("--json", "as_json", is_flag=True, help="Shorthand for --format json.")
    @click.pass_obj
    def concentration(obj: Ctx, scope_type: str, scope_value: str, period_type: str, weighting: str,
                      merge: tuple[str, str] | None, year: int | None, fmt: str, as_csv: bool, as_json: bool) -> None:
        """HHI, CR1/CR4/CR8, Gini and number-equivalent firms per year (over families).

        HHI is on the 0-10,000 scale. The band is an analogy with the 2023 US Merger
        Guidelines (HHI above 1,800; a change above 100), which were written for market shares,
        not patent counts: no legal conclusion follows. Cells with fewer families than
        data/concentration.toml's minimum are "too few to judge". Every row says what it
        leaves out: no holder shown, status unknown, fees not verified, held by individuals
        (empty where the warehouse cannot tell). Run `patentscope analyze` first.

        \b
        Examples:
          patentscope concentration --scope jurisdiction --value US
          patentscope concentration --merge "Proterial, Ltd." "TDK Corp" --year 2024
        """
        import datetime as dt

        from ...errors import PatentscopeError

        fmt = "csv" if as_csv else "json" if as_json else fmt
        if merge is not None and (scope_type, scope_value, period_type, weighting) != ("all", "all", "in_force_stock", "families"):
            raise click.UsageError("--merge works on the whole landscape's in-force families; drop --scope/--value/--period/--weighting")
        from ...metrics.concentration import holder_shares, merger_delta
        from ...warehouse.connection import reader

        with reader(obj.settings.warehouse) as con:
            if merge is None:
                df = con.sql("""SELECT year, n_families, n_unattributed, n_status_unknown, n_fees_not_verified, n_individual,
                                       n_holders, hhi, cr1, cr4, cr8, gini, n_equivalent, label
                                FROM concentration_stats WHERE scope_type = $t AND scope_value = $v AND period_type = $p
                                  AND weighting = $w ORDER BY year""",
                             params={"t": scope_type, "v": scope_value, "p": period_type, "w": weighting}).pl()
                if df.height == 0:
                    raise PatentscopeError(f"no concentration rows for {scope_type}:{scope_value} ({period_type}, {weighting}); "
                                           "run `patentscope analyze`, or check the scope value")
                emit(df, fmt)
                return
            y = year or dt.date.today().year
            stock = con.sql("SELECT holder_group, families_in_force FROM in_force_stock WHERE jurisdiction = 'ALL' AND year = $y "
                            "AND holder_group <> '(no holder shown)'", params={"y": y}).pl()
        names = set(stock["holder_group"].to_list())
        for g in merge:
            if g not in names:
                raise PatentscopeError(f"no holder group {g!r} with families in force in {y}; "
                                       f"groups: {', '.join(sorted(names)[:12])}{' ...' if len(names) > 12 else ''}")
        holdings = pl.DataFrame({"family_id": [f"{g}#{i}" for g, n in stock.iter_rows() for i in range(int(n))],
                                 "holder_group": [g for g, n in stock.iter_rows() for _ in range(int(n))]})
        from ...metrics.concentration import TOO_FEW, Thresholds

        out = merger_delta(holder_shares(holdings), merge[0], merge[1]).with_columns(pl.lit(y).alias("year"),
                                                                                     pl.lit(holdings.height).alias("n_families"))
        th = Thresholds.load()
        if holdings.height < th.min_families:
            out = out.with_columns(pl.lit(None, dtype=pl.Boolean).alias("crosses_guideline_analogy"),
                                   pl.lit(f"{TOO_FEW}: {holdings.height} families in force < {th.min_families}").alias("basis"))
        emit(out, fmt)
