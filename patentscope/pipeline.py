"""Ingest orchestration: read -> land -> normalize -> save (one transaction) -> run record.

Each ``ingest_*`` function opens the warehouse as the single writer, migrates it, records a
run, and saves the normalized batch with its landing records in one transaction, so a crash
anywhere leaves either the whole batch or none of it (the run then stays 'running', which
``patentscope query ingest_runs`` shows as interrupted). Re-running gives the same rows.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import RowError
from .landscape import Landscape
from .normalize import web_records
from .normalize.batch import Row
from .warehouse import migrations
from .warehouse.connection import writer
from .warehouse.save import finish_run, now, save_batch, start_run

Log = Callable[[str], None]


@dataclass
class IngestResult:
    run_id: int
    rows_read: int
    counts: dict[str, int]
    rejected: list[RowError]


def sample_folder() -> Path:
    """The embedded sample shipped inside the package."""
    return Path(str(resources.files("patentscope").joinpath("data/sample")))


def land_files(paths: list[Path], source: str, raw_dir: Path | None) -> list[Row]:
    """Hash each input file; copy it under ``raw_dir/source/`` unless it is already there."""
    rows = []
    for p in paths:
        data = p.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        stored = str(p)
        if raw_dir is not None:
            dest = raw_dir / source / f"{sha}{p.suffix}"
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_suffix(dest.suffix + ".part")
                shutil.copyfile(p, tmp)
                tmp.replace(dest)
            stored = str(dest)
        rows.append({
            "payload_sha256": sha, "source": source, "request": str(p), "fetched_at": now(),
            "content_type": "text/tab-separated-values" if p.suffix == ".tsv" else "text/csv",
            "byte_size": len(data), "stored_path": stored, "run_id": None,
        })
    return rows


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
