"""``patentscope ingest bulk | odp | assignments | maintfee``: the US sources (USPTO Open Data Portal,
USPTO assignment records)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click

from ..context import ingest_group
from . import echo_summary


def _raw_dir(obj: Any) -> Path:
    return Path(obj.settings.warehouse).parent / "raw"


def register(main: click.Group) -> None:
    ingest = ingest_group(main)

    @ingest.command("bulk")
    @click.argument("folder", required=False, type=click.Path(file_okay=False, exists=True, path_type=Path))
    @click.option("--download", is_flag=True,
                  help="Fetch the tables from the ODP bulk product PVGPATDIS (needs USPTO_ODP_API_KEY); files already "
                       "downloaded are reused and broken transfers resume.")
    @click.option("--download-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Where downloads are kept [default: warehouse/raw/bulk next to the warehouse].")
    @click.option("--release", default=None, metavar="NAME",
                  help="Name of the release in FOLDER (default: a hash of the files; with --download, the product's "
                       "last-modified stamp). The same release is not loaded twice.")
    @click.option("--force", is_flag=True, help="Load even if this release is already loaded.")
    @click.option("--zip-reader", type=click.Choice(["arrow", "fifo"]), default="arrow", show_default=True,
                  help="How zip members reach DuckDB: Arrow's streaming CSV reader, or DuckDB read_csv on a named pipe.")
    @click.pass_obj
    def ingest_bulk_cmd(obj: Any, folder: Path | None, download: bool, download_dir: Path | None, release: str | None,
                        force: bool, zip_reader: str) -> None:
        """Load PatentsView granted-patent tables: the landscape, its citations and their other ends.

        Reads g_patent, g_application, g_cpc_current, g_us_patent_citation, g_assignee_disambiguated,
        g_patent_abstract and g_us_term_of_grant (and g_inventor_disambiguated when present) as
        .tsv.zip or .tsv from FOLDER, or downloads them with --download. Headers are checked
        first; a missing table or column stops the load. The landscape definition selects the
        patents; every citation into or out of them is kept, with a minimal row for the patent at
        the other end. A newer release replaces the previous one in one transaction.

        \b
        Examples:
          patentscope ingest bulk ~/data/pvgpatdis-2026q1/
          patentscope ingest bulk --download
        """
        from ...errors import ConfigError
        from ...ingest.us_bulk import ingest_bulk
        from ...ingest.us_bulk_job import download_release

        if (folder is None) == (not download):
            raise ConfigError("give a FOLDER of PatentsView tables or --download (not both)")
        land = obj.landscape()
        raw = _raw_dir(obj)
        source: Path | dict[str, Path]
        requests: dict[str, str] | None = None
        release_info: dict[str, Any] | None = None
        extra: list[dict[str, Any]] = []
        if download:
            got = download_release(download_dir or raw / "bulk", log=obj.log)
            source, requests, release_info, extra = got.files, got.requests, got.info, got.landing
            release = release or got.release
        else:
            assert folder is not None
            source = folder
        res = ingest_bulk(obj.settings.warehouse, source, land, command="patentscope ingest bulk"
                          + (" --download" if download else f" {folder}"), release=release, release_info=release_info,
                          requests=requests, raw_dir=raw, force=force, zip_reader=zip_reader, extra_landing=extra,
                          log=obj.log)
        echo_summary(res.summary("bulk", release=res.release, skipped=res.skipped, quarantined_lines=res.quarantined,
                                 timings_s=res.timings), quiet=obj.quiet)
        if res.quarantined:
            sys.exit(1)

    @ingest.command("odp")
    @click.option("--load", "load", type=click.Path(exists=True, path_type=Path), default=None, metavar="PATH",
                  help="Replay saved ODP payloads (a JSON file or a folder of them) instead of calling the API.")
    @click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
                  help="Filing dates from (default: the last grant date of the loaded bulk release).")
    @click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Filing dates to (default: today).")
    @click.option("--query", default=None, help="ODP query string to use instead of the one built from the landscape.")
    @click.option("--show-query", is_flag=True, help="Print the query built from the landscape and exit.")
    @click.option("--page-size", type=click.IntRange(1, 100), default=25, show_default=True,
                  help="Full records per search page (halved automatically on HTTP 413).")
    @click.pass_obj
    def ingest_odp_cmd(obj: Any, load: Path | None, since: dt.datetime | None, until: dt.datetime | None,
                       query: str | None, show_query: bool, page_size: int) -> None:
        """Load Patent File Wrapper records: continuity, PTA, fee events, terminal disclaimers, assignments.

        Searches the ODP for applications matching the landscape filed since the loaded bulk
        release (needs USPTO_ODP_API_KEY), one request at a time, <= 4 per second, and saves each
        page with its position: an interrupted run resumes when run again. With --load, saved
        payloads are replayed through the same path with no network.

        \b
        Examples:
          patentscope ingest odp --show-query
          patentscope ingest odp --since 2025-10-01
          patentscope ingest odp --load warehouse/raw/odp/
        """
        from ...ingest.us_odp import ingest_odp_live, replay_odp
        from ...landscape.odp import odp_query
        from ...sources.uspto_odp import OdpClient

        land = obj.landscape()
        if show_query:
            click.echo(query or odp_query(land))
            return
        if load is not None:
            res = replay_odp(obj.settings.warehouse, load, land, command=f"patentscope ingest odp --load {load}",
                             raw_dir=_raw_dir(obj), log=obj.log)
        else:
            def on_retry(reason: str, wait: float) -> None:
                obj.log(f"  ODP: {reason}; waiting {wait:.0f} s")

            with OdpClient(on_retry=on_retry) as client:
                res = ingest_odp_live(obj.settings.warehouse, land, client, command="patentscope ingest odp",
                                      since=since.date() if since else None, until=until.date() if until else None,
                                      query=query, page_size=page_size, raw_dir=_raw_dir(obj), log=obj.log)
        echo_summary(res.summary("odp"), quiet=obj.quiet)
        if res.rejected:
            sys.exit(1)

    @ingest.command("assignments")
    @click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
    @click.pass_obj
    def ingest_assignments_cmd(obj: Any, files: tuple[Path, ...]) -> None:
        """Load USPTO patent assignment records (Assignment Search XML) as dated ownership events.

        Each FILE is a response of the USPTO Patent Assignment Search service (one <doc> per
        recorded assignment: reel/frame, conveyance, assignors with execution dates, assignees,
        the patents and applications it covers). Conveyances are classified: an assignment of
        the assignors' interest is a transfer, a merger or change of name a lineage step, a
        security interest, its release or a licence is not a change of owner. XML declaring a
        DTD or entities is refused; a malformed file or record is quarantined with its file and
        line and the others load. Loading the same files again changes nothing. `holders build`
        (or `analyze`) then splits the holder-at-date at each transfer.

        \b
        Example:
          patentscope ingest assignments assignment_3.xml more/*.xml
        """
        from ...ingest.assignments import ingest_assignments

        names = " ".join(str(f) for f in files)
        res = ingest_assignments(obj.settings.warehouse, list(files), command=f"patentscope ingest assignments {names}",
                                 raw_dir=_raw_dir(obj), log=obj.log)
        echo_summary(res.summary("assignments"), quiet=obj.quiet)
        if res.rejected:
            sys.exit(1)

    @ingest.command("maintfee")
    @click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
    @click.option("--all", "all_patents", is_flag=True,
                  help="Keep the events of every patent, not only of US patents already in the warehouse.")
    @click.option("--force", is_flag=True, help="Load even if this file is already loaded (or older than it).")
    @click.pass_obj
    def ingest_maintfee_cmd(obj: Any, file: Path, all_patents: bool, force: bool) -> None:
        """Load USPTO maintenance-fee events (ODP product PTMNFEE2) as legal events.

        FILE is the weekly MaintFeeEvents zip or its MaintFeeEvents_YYYYMMDD.txt. The file is
        cumulative, so it replaces the previously loaded one. Payments become effect fee_paid,
        EXP. lapse, EXPX reinstatement; the USPTO code is kept in event_code. Run it after
        `ingest bulk` (only patents in the warehouse are kept unless --all).

        \b
        Example:
          patentscope ingest maintfee MaintFeeEvents_20260330.zip
        """
        from ...ingest.maintfee import ingest_maintfee

        res = ingest_maintfee(obj.settings.warehouse, file, command=f"patentscope ingest maintfee {file}",
                              all_patents=all_patents, raw_dir=_raw_dir(obj), force=force, log=obj.log)
        echo_summary(res.summary("maintfee"), quiet=obj.quiet)
