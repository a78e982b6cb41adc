"""Ingest of the embedded-sample format (the shipped sample, or a user's folder in that format)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..landscape import Landscape
from ..normalize import web_records
from ..warehouse import migrations
from ..warehouse.connection import writer
from ..warehouse.save import finish_run, save_batch, start_run
from . import IngestResult, Log, land_files


def sample_folder() -> Path:
    """The embedded sample shipped inside the package."""
    return Path(str(resources.files("patentscope").joinpath("data/sample")))


def ingest_sample_format(
    warehouse: Path,
    folder: Path,
    landscape: Landscape,
    *,
    command: str,
    raw_dir: Path | None = None,
    log: Log = lambda _m: None,
) -> IngestResult:
    """Load a folder in the embedded-sample format (the shipped sample or a user's own)."""
    files = sorted([*folder.glob("ndfeb_*.csv"), *folder.glob("*.tsv")])
    batch = web_records.load_folder(folder, landscape)  # pure; raises InputError before any write
    log(f"read {batch.rows_read} rows from {len(files)} files in {folder}: "
        f"{len(batch.publications)} publications, {len(batch.rejected)} rows rejected")
    with writer(warehouse) as con:
        applied = migrations.apply(con)
        if applied:
            log(f"migrated {warehouse}: {', '.join(applied)}")
        run_id = start_run(con, batch.source, command)
        landing = land_files(files, batch.source, raw_dir)
        for r in landing:
            r["run_id"] = run_id
        try:
            counts = save_batch(con, batch, run_id=run_id, landing=landing,
                                cursor={"folder": str(folder), "files": {r["request"]: r["payload_sha256"] for r in landing}})
        except BaseException as e:
            finish_run(con, run_id, "failed", read=batch.rows_read, message=str(e)[:500])
            raise
        status = "partial" if batch.rejected else "ok"
        finish_run(con, run_id, status, read=batch.rows_read, loaded=sum(counts.values()),
                   rejected=len(batch.rejected),
                   message=f"{len(batch.rejected)} rows quarantined" if batch.rejected else None)
    for bad in batch.rejected:
        log(f"rejected {bad}")
    return IngestResult(run_id, batch.rows_read, counts, batch.rejected)
