"""``patentscope ingest bigquery``: worldwide landscapes on Google's public patent data."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from ..context import ingest_group


def register(main: click.Group) -> None:
    ingest = ingest_group(main)

    @ingest.command("bigquery")
    @click.option("--print-sql", is_flag=True, help="Print the script built from the landscape and exit (nothing is run).")
    @click.option("--console", is_flag=True,
                  help="With --print-sql: declare the parameters at the top, for pasting into the BigQuery console.")
    @click.option("--dialect", type=click.Choice(["bigquery", "duckdb", "spark"]), default="bigquery", show_default=True,
                  help="With --print-sql: transpile the script (sqlglot) for a self-hosted copy of the table.")
    @click.option("--from-export", "from_export", type=click.Path(exists=True, path_type=Path), metavar="PATH",
                  help="Load result tables exported from BigQuery (a folder of ps_*.parquet / ps_*.json files, or one file).")
    @click.option("--snapshot", metavar="TEXT",
                  help="With --from-export: the source table's version (its 'Last modified' in the console), recorded with the run.")
    @click.option("--dry-run", is_flag=True, help="Only estimate the bytes each part would scan and what it would cost.")
    @click.option("--yes", is_flag=True, help="Run even when the estimate is above max_bytes_billed (the job is still capped).")
    @click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Only publications published on or after this date (default: the saved cursor minus overlap_days).")
    @click.option("--full", is_flag=True, help="Ignore the saved cursor: every publication of the landscape.")
    @click.option("--no-keywords", is_flag=True,
                  help="Leave out the keyword rules and the title/abstract columns (the most expensive part of the scan).")
    @click.pass_obj
    def ingest_bigquery_cmd(obj: Any, print_sql: bool, console: bool, dialect: str, from_export: Path | None,
                            snapshot: str | None, dry_run: bool, yes: bool, since: dt.datetime | None, full: bool,
                            no_keywords: bool) -> None:
        """Select the landscape worldwide on Google BigQuery (patents-public-data) and load it.

        One parameterised GoogleSQL script selects the landscape's members (CPC prefixes;
        keywords on title/abstract when the landscape has them), the citation edges one hop
        both ways and the DOCDB family of every publication touched, into three tables of your
        scratch dataset; patentscope reads them back as Arrow and saves them in one run.
        A dry run comes first: the bytes each part scans and the cost at the on-demand rate;
        above [sources.bigquery] max_bytes_billed (default 50 GB) it stops unless --yes, and the
        job always runs with maximum_bytes_billed. Credentials: Application Default Credentials
        only (gcloud auth application-default login). Needs: pip install 'patentscope[bigquery]'.

        Without credentials: print the script, run it in the console, export the three tables
        (Parquet or JSON) and load them with --from-export. See docs/ingest-world.md.

        \b
        Examples:
          patentscope ingest bigquery --print-sql
          patentscope ingest bigquery --print-sql --console > landscape.sql
          patentscope ingest bigquery --dry-run
          patentscope ingest bigquery --yes
          patentscope ingest bigquery --from-export exported-tables/
        """
        from ...sources import bigquery_sql as bq
        from ...sources.bigquery import BigQueryOptions

        land = obj.landscape()
        opts = BigQueryOptions.from_config(obj.settings.source("bigquery"))
        if no_keywords:
            opts.keywords = False
        raw = obj.settings.warehouse.parent / "raw"
        first = since.date() if since else None
        if print_sql:
            script = bq.build_script(land, since=first, scratch_dataset=opts.scratch_dataset, keywords=bool(opts.keywords))
            if dialect != "bigquery":
                click.echo(";\n\n".join(bq.transpile(script, dialect)) + ";")
                click.echo("-- parameters: " + json.dumps(script.param_values()), err=True)
            else:
                click.echo(bq.console_script(script) if console else script.sql, nl=False)
                if not console:
                    click.echo("-- parameters: " + json.dumps(script.param_values()), err=True)
            return
        if from_export is not None:
            from ...ingest.bigquery import ingest_export

            res = ingest_export(obj.settings.warehouse, from_export, land, raw_dir=raw, log=obj.log, dataset_snapshot=snapshot,
                                command=f"patentscope ingest bigquery --from-export {from_export}")
            _report(res)
            return
        from ...ingest.bigquery import ingest_live, next_since
        from ...sources.bigquery import BigQueryRunner

        runner = BigQueryRunner(opts, log=obj.log)   # ConfigError with the install hint without the extra
        if first is None and not full:
            first = next_since(obj.settings.warehouse, land, opts)
        if dry_run:
            from ...ingest.bigquery import use_keywords

            script = bq.build_script(land, since=first, scratch_dataset=opts.scratch_dataset,
                                     keywords=use_keywords(obj.settings.warehouse, land, opts.keywords))
            est = runner.estimate(script)
            click.echo(est.describe())
            click.echo(f"  max_bytes_billed: {opts.max_bytes_billed / 10**9:.1f} GB -> "
                       + ("within the limit" if est.bytes <= opts.max_bytes_billed else "above the limit: needs --yes"))
            return
        res = ingest_live(obj.settings.warehouse, land, runner, confirmed=yes, since=first, raw_dir=raw, log=obj.log,
                          command="patentscope ingest bigquery" + (" --yes" if yes else "")
                          + (f" --since {first}" if first else "") + (" --no-keywords" if no_keywords else ""))
        _report(res, {"job_id": res.job_id, "bytes_billed": res.bytes_billed, "since": str(res.since) if res.since else None})


def _report(res: Any, extra: dict[str, Any] | None = None) -> None:
    click.echo(json.dumps({"run_id": res.run_id, "rows_read": res.rows_read, **(extra or {}), "loaded": res.counts,
                           "rejected": [str(e) for e in res.rejected[:100]],
                           "rejected_count": len(res.rejected)}, indent=1))
    if res.rejected:
        sys.exit(1)
