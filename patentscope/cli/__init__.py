"""The ``patentscope`` command: thin commands that parse, call the library and report.

Data goes to stdout, logs and progress to stderr. Expected failures print one line
``patentscope: error: ...`` and exit with the code of their error class (see errors.py):
1 general, 2 configuration/usage, 3 warehouse, 4 warehouse locked, 5 refused write.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from .. import __version__
from ..config import load_settings
from ..errors import ConfigError, PatentscopeError, QueryError
from .context import Ctx, Group, fail
from .output import CSV, FORMAT, JSON, _cell, _fmt, _json_default, _params, cell, emit

__all__ = ["CSV", "FORMAT", "JSON", "Ctx", "Group", "_cell", "_fmt", "_json_default", "_params", "cell", "emit", "fail", "main"]


# ----------------------------------------------------------------------------------------------
# commands


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--warehouse", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="DuckDB warehouse file [env PATENTSCOPE_WAREHOUSE; default warehouse/patentscope.duckdb].")
@click.option("--landscape", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Landscape definition TOML [env PATENTSCOPE_LANDSCAPE; default: the built-in NdFeB one].")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="patentscope.toml to use [env PATENTSCOPE_CONFIG; default ./patentscope.toml, then ~/.config/patentscope/].")
@click.option("-q", "--quiet", is_flag=True, help="No progress or log lines on stderr.")
@click.version_option(__version__, prog_name="patentscope")
@click.pass_context
def main(ctx: click.Context, warehouse: Path | None, landscape: Path | None, config: Path | None, quiet: bool) -> None:
    """patentscope: NdFeB permanent-magnet patent landscape and licensing analyzer.

    \b
    Start here:
      patentscope demo                       build a warehouse + report from the embedded sample
      patentscope sql "SELECT count(*) FROM publications" --warehouse patentscope-demo/patentscope.duckdb
      patentscope query --list               the named questions in queries/
    """
    try:
        settings = load_settings(warehouse=warehouse, landscape=landscape, config=config)
    except PatentscopeError as e:
        fail(e)
    ctx.obj = Ctx(settings, quiet)


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("patentscope-demo"),
              show_default=True, help="Folder for the demo warehouse and report.")
@click.pass_obj
def demo(obj: Ctx, out: Path) -> None:
    """Build a warehouse from the embedded real sample, analyze it and write an HTML report.

    The sample is 147 real NdFeB patents transcribed from public web pages (with their
    citations, licensing facts and a holder's own patent list): enough to try every command,
    not a landscape. The demo loads it, runs `analyze` and the example royalty scenario
    (rates are assumptions), and writes the report. Re-running is safe: it reloads the same rows.

    \b
    Example:
      patentscope demo --out /tmp/ndfeb-demo
    """
    from ..analyze import analyze
    from ..ingest.sample import ingest_sample_format, sample_folder
    from ..report import write_report

    land = obj.landscape()
    wh = out / "patentscope.duckdb"
    from ..metrics.royalty import load_scenario, run_scenario
    from ..warehouse.connection import writer

    res = ingest_sample_format(wh, sample_folder(), land, command="patentscope demo", log=obj.log)
    analyze(wh, log=obj.log)
    with writer(wh, command="patentscope demo: royalty") as con:
        out_roy = run_scenario(con, load_scenario(sample_folder().parent / "royalty" / "example_scenario.toml"))
    for w in out_roy["warnings"]["warning"].to_list():
        obj.log(f"royalty: {w}")
    report = write_report(wh, land, out / "report.html")
    n = res.counts["publications"]
    click.echo(f"warehouse: {wh.resolve()}")
    click.echo(f"report:    {report.resolve()}")
    click.echo(
        f"Loaded the embedded sample: {n} real NdFeB patents transcribed from public pages "
        f"({res.counts['citations']} citations, {res.counts['parties']} parties, "
        f"{len(res.rejected)} rows rejected). This is a sample to try patentscope on, not a full landscape."
    )
    click.echo(f'Try: patentscope --warehouse {wh} sql "SELECT country, count(*) AS n FROM publications GROUP BY ALL ORDER BY n DESC"')


@main.command()
@click.option("--list", "list_only", is_flag=True, help="Only list applied and pending migrations.")
@click.pass_obj
def migrate(obj: Ctx, list_only: bool) -> None:
    """Create or upgrade the warehouse schema (named, ordered migrations).

    Each migration commits together with its record in schema_migrations, or not at all.

    \b
    Example:
      patentscope migrate --list
    """
    from ..warehouse import migrations
    from ..warehouse.connection import reader, writer

    path = obj.settings.warehouse
    if list_only and path.exists():
        with reader(path, sandbox=False) as con:
            st = migrations.status(con)
    elif list_only:
        st = [migrations.MigrationStatus(m.name, "pending", None) for m in migrations.builtin_migrations()]
    else:
        with writer(path) as con:
            done = migrations.apply(con)
            st = migrations.status(con)
        obj.log(f"{path}: applied {len(done)} migration(s)" + (f": {', '.join(done)}" if done else " (up to date)"))
    for s in st:
        click.echo(f"{s.state:8}  {s.name}" + (f"  ({s.applied_at:%Y-%m-%d %H:%M:%S})" if s.applied_at else ""))


@main.command()
@click.argument("statement")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Bind $NAME in the statement (as text; cast in SQL, e.g. $year::INT). Repeatable.")
@click.option("--timeout", type=float, default=None, metavar="SECONDS",
              help="Stop the query after this many seconds (default 60, or PATENTSCOPE_SQL_TIMEOUT).")
@click.option("--max-memory", default=None, metavar="SIZE",
              help="Cap DuckDB's memory, e.g. 2GB or 512MB (default 2GB, or PATENTSCOPE_SQL_MAX_MEMORY).")
@FORMAT
@CSV
@JSON
@click.pass_obj
def sql(obj: Ctx, statement: str, params: tuple[str, ...], timeout: float | None, max_memory: str | None,
        fmt: str, as_csv: bool, as_json: bool) -> None:
    """Run read-only SQL against the warehouse and print the result.

    Only SELECT/WITH/EXPLAIN/DESCRIBE/SHOW run; writes, ATTACH, COPY and file access are refused.
    Tables and views are documented in docs/schema.md.

    \b
    Examples:
      patentscope sql "SELECT country, count(*) FROM publications GROUP BY ALL"
      patentscope sql "SELECT * FROM publication_overview WHERE earliest_year >= \\$y::INT" --param y=2015 --csv
      patentscope sql "SELECT count(*) FROM citations a, citations b" --timeout 10 --max-memory 1GB
    """
    from ..warehouse.connection import reader
    from ..warehouse.query import resolve_max_memory, resolve_timeout, run_read_only

    timeout, max_memory = resolve_timeout(timeout), resolve_max_memory(max_memory)
    with reader(obj.settings.warehouse, max_memory=max_memory) as con:
        df = run_read_only(con, statement, _params(params) or None, timeout=timeout)
    emit(df, _fmt(fmt, as_csv, as_json))


@main.command()
@click.argument("name", required=False)
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Query parameter. Repeatable.")
@click.option("--list", "list_only", is_flag=True, help="List the named queries with their parameters.")
@FORMAT
@CSV
@JSON
@click.pass_obj
def query(obj: Ctx, name: str | None, params: tuple[str, ...], list_only: bool, fmt: str, as_csv: bool, as_json: bool) -> None:
    """Run a named query from queries/ (read-only, parameters bound, never formatted into SQL).

    \b
    Examples:
      patentscope query --list
      patentscope query publications_by_holder --param min_publications=2
      patentscope query publication_detail --param pub=US4770723A --json
    """
    from ..warehouse.connection import reader
    from ..warehouse.query import get_query, load_queries, run_read_only

    if list_only or not name:
        for q in load_queries().values():
            ps = ", ".join(f"{p.name} ({p.type}{'' if p.required else ' = ' + str(p.default)})" for p in q.params)
            click.echo(f"{q.name}\n    {q.description}" + (f"\n    params: {ps}" if ps else ""))
        return
    try:  # an unknown name or a missing/bad --param is a usage error: exit 2
        q = get_query(name)
        bound = q.bind(_params(params))
    except QueryError as e:
        raise ConfigError(str(e)) from None
    with reader(obj.settings.warehouse) as con:
        df = run_read_only(con, q.sql, bound or None)
    emit(df, _fmt(fmt, as_csv, as_json))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write into.")
@click.option("--keep-formulas", is_flag=True,
              help="CSV: write cells beginning with = + - @ as they are (by default they get a leading ' so "
                   "spreadsheets do not run them as formulas).")
@click.argument("names", nargs=-1)
@click.pass_obj
def export(obj: Ctx, fmt: str, out: Path, names: tuple[str, ...], keep_formulas: bool) -> None:
    """Write tables and views (all, or the NAMES given) as Parquet or CSV files.

    \b
    Example:
      patentscope export --format parquet --out exports/ publications publication_overview
    """
    from ..warehouse.export import export as do_export

    for p in do_export(obj.settings.warehouse, out, fmt, list(names) or None, keep_formulas=keep_formulas):
        click.echo(str(p))


@main.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="HTML file to write.")
@click.pass_obj
def report(obj: Ctx, out: Path) -> None:
    """Write the self-contained HTML report of the warehouse.

    \b
    Example:
      patentscope report --out report.html
    """
    from ..report import write_report

    try:
        written = write_report(obj.settings.warehouse, obj.landscape(), out)
    except OSError as e:  # an impossible --out is a message, not an internal error
        raise PatentscopeError(f"cannot write the report to {out}: {e.strerror or e}; give a file in a writable folder") from None
    click.echo(str(written.resolve()))


@main.command("analyze")
@click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Status date for expiry (default: today).")
@click.option("--step", "steps", multiple=True, type=click.Choice(["holders", "expiry", "segments", "centrality", "concentration"]),
              help="Run only these steps (repeatable; default: all, in order).")
@click.option("--json", "as_json", is_flag=True, help="Print the per-step statistics as JSON.")
@click.pass_obj
def analyze_cmd(obj: Ctx, at: dt.datetime | None, steps: tuple[str, ...], as_json: bool) -> None:
    """Recompute the derived tables: holders, expiry, segments, centrality, concentration.

    Each step replaces its tables in one transaction; the run is logged in ingest_runs.

    \b
    Example:
      patentscope analyze --at 2014-07-08
    """
    from ..analyze import STEPS, analyze

    res = analyze(obj.settings.warehouse, at=at.date() if at else None, steps=steps or STEPS, log=obj.log)
    if as_json:
        click.echo(json.dumps(res, indent=1, default=str))
    else:
        for step, st in res.items():
            click.echo(f"{step:13} {st.get('seconds', 0):7.2f} s")


@main.group(invoke_without_command=True)
@click.option("--all", "run_all", is_flag=True,
              help="Run every source configured in patentscope.toml incrementally, then analyze (for cron).")
@click.option("--source", "only", multiple=True, help="With --all: only these configured sources (repeatable).")
@click.option("--json", "json_logs", is_flag=True, help="With --all: one JSON object per log line on stderr.")
@click.option("--no-analyze", is_flag=True, help="With --all: skip the analysis step.")
@click.pass_context
def ingest(ctx: click.Context, run_all: bool, only: tuple[str, ...], json_logs: bool, no_analyze: bool) -> None:
    """Load data into the warehouse.

    \b
    patentscope ingest --all          every configured source, incrementally, then analyze
    patentscope ingest sample DIR     a folder in the embedded-sample format
    patentscope ingest file PATH      a Google Patents or Lens.org CSV export
    patentscope ingest ops|bulk|odp|maintfee ...   the API and bulk sources

    Exit codes of --all: 0 ok, 1 every source failed, 2 configuration error, 3 the warehouse
    cannot be opened, created or migrated, 4 another writer holds the warehouse, 6 partial
    failure (some sources failed; the others are saved). Configure sources in patentscope.toml
    (docs/jobs.md).
    """
    if ctx.invoked_subcommand is not None:
        if run_all:
            raise click.UsageError("--all runs every configured source; do not combine it with a subcommand")
        return
    if not run_all:
        click.echo(ctx.get_help())
        return
    from ..jobs import run_all as run_all_sources

    obj: Ctx = ctx.obj
    code = run_all_sources(obj.settings, only=only, json_logs=json_logs, analyze=not no_analyze, quiet=obj.quiet)
    sys.exit(code)


@ingest.command("sample")
@click.argument("folder", required=False, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.pass_obj
def ingest_sample(obj: Ctx, folder: Path | None) -> None:
    """Load a folder in the embedded-sample format (default: the embedded sample itself).

    Bad rows are reported with file, line and column and quarantined; the good rows load in one
    transaction. Exit status 1 when any row was rejected.

    \b
    Example:
      patentscope ingest sample my-transcribed-records/
    """
    from ..ingest.sample import ingest_sample_format, sample_folder
    from .commands import echo_summary

    src = folder or sample_folder()
    raw = obj.settings.warehouse.parent / "raw"
    res = ingest_sample_format(obj.settings.warehouse, src, obj.landscape(),
                               command=f"patentscope ingest sample {folder or ''}".strip(), raw_dir=raw, log=obj.log)
    echo_summary(res.summary("sample"), quiet=obj.quiet)
    if res.rejected:
        sys.exit(1)


@main.command()
@click.pass_obj
def landscape(obj: Ctx) -> None:
    """Print the landscape definition in use (codes, keywords, dates, offices) as JSON.

    \b
    Example:
      patentscope --landscape my_landscape.toml landscape
    """
    click.echo(json.dumps(obj.landscape().as_dict(), indent=1))


def _register_extra_commands() -> None:
    from .commands import register_all

    register_all(main)


_register_extra_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
