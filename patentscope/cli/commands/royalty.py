"""`patentscope royalty`: run a licensing scenario against the warehouse (docs/royalty.md)."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl


def register(main: click.Group) -> None:
    from ..context import Ctx
    from ..output import emit

    @main.command()
    @click.option("--scenario", "scenario_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                  help="Scenario TOML (default: the shipped example, patentscope/data/royalty/example_scenario.toml).")
    @click.option("--show", type=click.Choice(["summary", "results", "detail", "sensitivity", "inverse", "thresholds"]),
                  default="summary", show_default=True, help="Which table to print.")
    @click.option("--variant", default=None, help="Only this variant in the printed table (all are stored).")
    @click.option("--no-store", is_flag=True, help="Print only; do not write the results to the warehouse.")
    @click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
    @click.option("--csv", "as_csv", is_flag=True, help="Shorthand for --format csv.")
    @click.option("--json", "as_json", is_flag=True, help="Shorthand for --format json.")
    @click.pass_obj
    def royalty(obj: Ctx, scenario_path: Path | None, show: str, variant: str | None, no_store: bool, fmt: str,
                as_csv: bool, as_json: bool) -> None:
        """Estimate the royalty burden on exporters by market and year, with P5/P50/P95.

        Rates are scenario assumptions (no NdFeB royalty rate is public). Results are stored in
        the warehouse (view royalty_burden) under the scenario's name, replacing earlier ones.
        Burdens above 100% of sales are flagged `infeasible` (with a warning naming the rate
        variant); `--show inverse` says whether the target burden is reachable under the
        scenario's apportionment. docs/royalty.md is the reference.

        \b
        Examples:
          patentscope royalty
          patentscope royalty --scenario my_scenario.toml --show sensitivity --csv
        """
        from importlib import resources

        from ...errors import WarehouseError
        from ...metrics.royalty import load_scenario, run_scenario
        from ...warehouse import migrations
        from ...warehouse.connection import writer

        path = scenario_path or Path(str(resources.files("patentscope").joinpath("data/royalty/example_scenario.toml")))
        sc = load_scenario(path)
        if not Path(obj.settings.warehouse).exists():  # a mistyped --warehouse must not create one
            raise WarehouseError(f"no warehouse at {obj.settings.warehouse}; load data first (`patentscope demo`, "
                                 "`patentscope ingest-us`) or point --warehouse / PATENTSCOPE_WAREHOUSE at an existing file")
        with writer(obj.settings.warehouse, command="patentscope royalty") as con:
            migrations.apply(con)
            out = run_scenario(con, sc, store=not no_store)
        for w in out["warnings"]["warning"].to_list():
            obj.log(f"warning: {w}")
        fmt = "csv" if as_csv else "json" if as_json else fmt
        bad = out["royalty_results"].filter(pl.col("infeasible"))
        for (v,), part in bad.group_by(["variant"], maintain_order=True):
            ys = [int(y) for y in part["year"].to_list()]
            obj.log(f"warning: variant {v!r}: burden above 100% of sales (infeasible) in {part.height} rows, "
                    f"{min(ys)}-{max(ys)}: these rate assumptions cannot hold together")
        if show == "summary":
            res = out["royalty_results"].filter(pl.col("market") == "ALL")
            res = res.select("variant", "exporter", "year", "currency", "sales_value", "royalties_p50", "burden_p5", "burden_p50",
                             "burden_p95", "infeasible", "sales_at_risk_p50")
            table = res
        else:
            table = out[{"results": "royalty_results", "detail": "royalty_detail", "sensitivity": "royalty_sensitivity",
                         "inverse": "royalty_inverse", "thresholds": "royalty_thresholds"}[show]]
        if variant and "variant" in table.columns:
            table = table.filter(pl.col("variant") == variant)
        emit(table, fmt)
        obj.log(f"scenario {sc.name!r} ({path}): {out['portfolio'].height} portfolio rows; "
                + ("stored in the warehouse (view royalty_burden)" if not no_store else "not stored"))
