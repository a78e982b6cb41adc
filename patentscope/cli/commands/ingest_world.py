"""``patentscope ingest ops`` (EPO Open Patent Services) and ``patentscope ingest file`` (exports)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..context import ingest_group
from . import echo_summary


def register(main: click.Group) -> None:
    ingest = ingest_group(main)

    @ingest.command("ops")
    @click.option("--load", "load", multiple=True, type=click.Path(exists=True, path_type=Path), metavar="PATH",
                  help="Replay saved OPS responses (an XML file or a folder of them) instead of calling OPS. Repeatable.")
    @click.option("--cql", "cql", multiple=True, metavar="QUERY",
                  help="Search this CQL instead of the queries built from the landscape. Repeatable.")
    @click.option("--show-queries", is_flag=True, help="Print the CQL queries built from the landscape and exit.")
    @click.option("--restart", is_flag=True, help="Ignore the saved position and start the search again.")
    @click.option("--no-family", is_flag=True, help="Skip INPADOC family requests (saves inpadoc quota).")
    @click.option("--no-legal", is_flag=True, help="Skip legal-status requests (saves inpadoc quota).")
    @click.option("--page-size", type=click.IntRange(1, 100), default=100, show_default=True,
                  help="Search results per request (OPS Range; at most 100).")
    @click.option("--group-size", type=click.IntRange(1, 100), default=20, show_default=True,
                  help="Publications fetched and saved per step.")
    @click.pass_obj
    def ingest_ops_cmd(obj: Any, load: tuple[Path, ...], cql: tuple[str, ...], show_queries: bool, restart: bool,
                       no_family: bool, no_legal: bool, page_size: int, group_size: int) -> None:
        """Search EPO Open Patent Services for the landscape and load hits, families and legal events.

        Needs EPO_OPS_KEY and EPO_OPS_SECRET in the environment (an app at developers.epo.org).
        The search is split into date windows under OPS's 2,000-result cap; every step is saved
        with its position, so a quota stop, a network failure or Ctrl-C can be resumed by
        running the same command again. Raw responses are kept under warehouse/raw/ops/.

        \b
        Examples:
          patentscope ingest ops --show-queries
          patentscope ingest ops
          patentscope ingest ops --cql 'cpc=/low H01F1/0577' --no-legal
          patentscope ingest ops --load saved-responses/
        """
        from ...ingest.ops import OpsOptions, ingest_ops, load_ops
        from ...landscape.cql import build_queries
        from ...sources.epo_ops import OPS_BASE_URL, OpsClient

        land = obj.landscape()
        raw = obj.settings.warehouse.parent / "raw"
        if show_queries:
            for q in list(cql) or build_queries(land):
                click.echo(q)
            return
        if load:
            res = load_ops(obj.settings.warehouse, list(load), land, raw_dir=raw, log=obj.log,
                           command="patentscope ingest ops --load " + " ".join(str(p) for p in load))
            echo_summary(res.summary("ops"), quiet=obj.quiet)
            if res.rejected:
                sys.exit(1)
            return
        base_url = str(obj.settings.source("ops").get("base_url") or OPS_BASE_URL)
        options = OpsOptions(queries=list(cql) or None, page_size=page_size, group_size=group_size,
                             family=not no_family, legal=not no_legal, restart=restart)
        with OpsClient.from_env(base_url=base_url, log=obj.log) as client:
            res = ingest_ops(obj.settings.warehouse, land, client, options=options, raw_dir=raw, log=obj.log,
                             command="patentscope ingest ops" + "".join(f" --cql {q!r}" for q in cql))
        echo_summary(res.summary("ops", hits=res.hits, steps=f"{res.steps_done}/{res.steps}", splits=res.splits), quiet=obj.quiet)
        if res.rejected:
            sys.exit(1)

    @ingest.command("file")
    @click.argument("path", type=click.Path(exists=True, path_type=Path))
    @click.pass_obj
    def ingest_file_cmd(obj: Any, path: Path) -> None:
        """Load a Google Patents or Lens.org CSV export, a folder of them, or a sample-format folder.

        The layout is recognised by the file's header (Google Patents "Download (CSV)";
        Lens.org patent export, current or 2015 layout). Bad rows are reported with file, line
        and column and quarantined; the good rows load in one transaction. Exit status 1 when
        any row was rejected.

        \b
        Examples:
          patentscope ingest file gp-search-20260101-120000.csv
          patentscope ingest file lens-export.csv
          patentscope ingest file my-exports/
        """
        from ...ingest.files import ingest_files

        res = ingest_files(obj.settings.warehouse, path, obj.landscape(), command=f"patentscope ingest file {path}",
                           raw_dir=obj.settings.warehouse.parent / "raw", log=obj.log)
        echo_summary(res.summary("file"), quiet=obj.quiet)
        if res.rejected:
            sys.exit(1)
