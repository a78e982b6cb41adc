"""``patentscope ingest assignments FILE...``: USPTO patent assignment XML -> ``ownership_events``.

Input: responses of the USPTO Patent Assignment Search service (``<response><result><doc>``,
one ``<doc>`` per recorded assignment; normalize/assignments.py reads them). Every file is read
and parsed before anything is written; then one run saves them all in one transaction through
the common save path (:func:`patentscope.ingest.save_as_run`): the files landed under
``raw/assignments/``, the events upserted on (source, application, reel/frame), the refused or
malformed parts quarantined with file and line, the cursor (the files' SHA-256) beside them.
A file declaring a DTD or entities (XXE) is refused whole, named, and the others still load;
loading the same files again changes no row. The holder chain follows the events at the next
``holders build`` / ``analyze`` (docs/holders.md "Recorded assignments").
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ..errors import ConfigError, InputError, RowError
from ..normalize.assignments import event_rows, parse_assignment_xml
from ..normalize.batch import Batch, Row
from ..warehouse.save import insert_rows
from . import IngestResult, Log, land_files, save_as_run
from .registry import Option

if TYPE_CHECKING:
    from ..jobs import Job, StepResult

SOURCE = "assignments"
KEY = ("source", "application_number", "reel_frame")
_UPDATE = ("pub_key", "patent_number", "publication_number", "conveyance", "conveyance_class", "moves_ownership",
           "assignors", "assignees", "assignee_countries", "execution_date", "first_execution_date", "recorded_date",
           "effective_date", "date_basis", "note", "source_record")
CONFLICT = f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _UPDATE)


def read_files(paths: list[Path]) -> tuple[list[Row], list[RowError], int]:
    """(event rows, rejected, records read) of the files; pure apart from reading them."""
    rows: dict[tuple[str, str, str], Row] = {}
    bad: list[RowError] = []
    n = 0
    for p in paths:
        try:
            data = p.read_bytes()
        except OSError as e:
            raise InputError(f"{p}: cannot be read ({e.strerror or e})") from None
        try:
            found, rejected = parse_assignment_xml(data, p.name)
        except RowError as e:
            bad.append(e)
            n += 1
            continue
        bad += rejected
        n += len(found) + len(rejected)
        for a in found:
            for r in event_rows(a, source=SOURCE, source_record=f"{p.name}:{a.line}"):
                if not r["application_number"]:
                    r["application_number"] = f"({r['pub_key']})"  # no application number: keyed by the patent
                rows[(r["source"], r["application_number"], r["reel_frame"])] = r
    return [rows[k] for k in sorted(rows)], bad, n


def ingest_assignments(warehouse: Path, paths: list[Path], *, command: str, raw_dir: Path | None = None,
                       log: Log = lambda _m: None) -> IngestResult:
    """Load USPTO assignment XML files as ownership events (one run, one transaction)."""
    if not paths:
        raise InputError("no assignment file given (USPTO assignment search XML, e.g. assignment_3.xml)")
    for p in paths:
        if not p.is_file():
            raise InputError(f"{p}: no such file (give USPTO assignment search XML files)")
    events, bad, n = read_files(paths)
    batch = Batch(source=SOURCE, rejected=bad, rows_read=n)
    classes: dict[str, int] = {}
    for r in events:
        classes[r["conveyance_class"]] = classes.get(r["conveyance_class"], 0) + 1
    log(f"read {n} assignment record(s) from {len(paths)} file(s): {len(events)} event(s) "
        f"({', '.join(f'{k} {v}' for k, v in sorted(classes.items())) or 'none'}), {len(bad)} rejected")

    def landing(run_id: int) -> list[Row]:
        rows = land_files(paths, SOURCE, raw_dir)
        for r in rows:
            r["run_id"], r["content_type"] = run_id, "application/xml"
        return rows

    def cursor(rows: list[Row]) -> dict[str, Any]:
        return {"files": {r["request"]: r["payload_sha256"] for r in rows}}

    def save(con: duckdb.DuckDBPyConnection) -> None:
        insert_rows(con, "ownership_events", events, CONFLICT)

    return save_as_run(warehouse, batch, command=command, landing=landing, log=log, cursor=cursor, extra=save,
                      extra_counts={"ownership_events": len(events), **{f"class:{k}": v for k, v in classes.items()}},
                      rejected_what="assignment records or files quarantined")


# ------------------------------------------------------------------------------------------------
# as a source of `ingest --all` (patentscope/ingest/registry.py)

OPTIONS: dict[str, Option] = {
    "paths": Option("strs", None, help="USPTO assignment search XML files or globs"),
}


def check(opts: dict[str, Any], where: str) -> None:
    if not opts["paths"]:
        raise ConfigError(f"{where}: give paths = [\"assignments/*.xml\", ...] (files or globs)")


def run(job: Job, opts: dict[str, Any], res: StepResult) -> None:
    """Each matching file whose content changed since its last load, in name order (one run per file)."""
    errors: list[str] = []
    found = job.expand_paths(opts["paths"], res, errors, files_only=True)

    def load(path: Path) -> IngestResult:
        return ingest_assignments(job.warehouse, [path], command=job.cmd("assignments", str(path)),
                                  raw_dir=job.raw_dir, log=job.log.ingestor("assignments"))

    job.load_in_order("paths", found, load, res, errors)
    if errors:
        raise InputError("; ".join(errors))
