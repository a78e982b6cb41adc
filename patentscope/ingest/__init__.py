"""Ingest orchestration: read or fetch -> land raw -> normalize (pure) -> save -> run record.

Each ``ingest_*`` function opens the warehouse as the single writer, migrates it, records a
run in ``ingest_runs``, and saves each normalized batch with its landing records and cursor in
one transaction, so a crash anywhere leaves either a whole batch or none of it (the run then
stays 'running' or 'failed', which ``patentscope query ingest_runs`` shows). Re-running gives
the same rows. One module per source family: ``sample`` (the embedded-sample format), and the
US and worldwide ingestors beside it.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..errors import RowError
from ..normalize.batch import Batch, Row
from ..warehouse.save import now, save_batch
from ..warehouse.toolkit import recorded_run, writer

Log = Callable[[str], None]


@dataclass
class IngestResult:
    run_id: int
    rows_read: int
    counts: dict[str, int]
    rejected: list[RowError]

    def summary(self, source: str, **extra: object) -> dict[str, object]:
        """The one summary every ``patentscope ingest ...`` command prints as JSON: the source,
        its run, rows read, rows loaded per table, the rejected rows (file:line: reason), and
        what is particular to the source (``extra``: a release, hits, timings...)."""
        return {"source": source, "run_id": self.run_id, "rows_read": self.rows_read, **extra, "loaded": self.counts,
                "rejected": [str(e) for e in self.rejected]}


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


def save_as_run(
    warehouse: Path,
    batch: Batch,
    *,
    command: str,
    landing: Callable[[int], list[Row]],
    log: Log,
    cursor: Callable[[list[Row]], dict[str, object]] | None = None,
    prepare: Callable[[duckdb.DuckDBPyConnection, Batch], Batch] | None = None,
    rejected_what: str = "rows quarantined",
    extra: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    extra_counts: dict[str, int] | None = None,
) -> IngestResult:
    """Save one normalized batch as one run: migrate, record the run, land the payloads
    (``landing(run_id)``), save the batch with its cursor in one transaction, finish the run
    ('partial' when rows were rejected, 'failed' with the error), log the rejected rows.
    ``extra`` writes a source's own table in the same transaction (save_batch's ``extra``);
    ``extra_counts`` are its row counts, added to the result's."""
    with writer(warehouse, log=log) as con, recorded_run(con, batch.source, command) as run:
        run.read = batch.rows_read
        rows = landing(run.run_id)
        to_save = prepare(con, batch) if prepare else batch
        counts = save_batch(con, to_save, run_id=run.run_id, landing=rows, cursor=cursor(rows) if cursor else None,
                            extra=extra)
        counts.update(extra_counts or {})
        run.loaded, run.rejected = sum(counts.values()), len(batch.rejected)
        run.message = f"{len(batch.rejected)} {rejected_what}" if batch.rejected else None
    for bad in batch.rejected:
        log(f"rejected {bad}")
    return IngestResult(run.run_id, batch.rows_read, counts, batch.rejected)
