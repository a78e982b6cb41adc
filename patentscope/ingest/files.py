"""File imports: Google Patents / Lens.org CSV exports, or a folder in the embedded-sample format.

``PATH`` may be one export file, a folder of export files (``*.csv``), or a folder in the
embedded-sample format (it holds ``ndfeb_records*.csv``; delegated to :mod:`.sample`). Every
file is read and normalized before the warehouse is opened, so a file that cannot be read at
all (unknown header, not UTF-8, CSV syntax error) stops the import with nothing written; bad
rows are reported with file, line and column, quarantined, and the good rows load in one
transaction.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, InputError
from ..landscape import Landscape
from ..normalize import exports
from ..normalize.batch import Row
from ..normalize.csvrows import safe_input_path as exports_safe_path
from . import IngestResult, Log, land_files, save_as_run
from .registry import Option
from .sample import ingest_sample_format

if TYPE_CHECKING:
    from ..jobs import Job, StepResult

SOURCE = exports.SOURCE


def export_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.glob("*.csv") if p.is_file())
        if not files:
            raise InputError(f"{path}: no *.csv files; expected Google Patents or Lens.org CSV exports "
                             "or a folder in the embedded-sample format (ndfeb_records*.csv)")
        return files
    if path.is_file():
        return [path]
    if os.path.lexists(path):  # a FIFO, device or dangling link is named as such
        exports_safe_path(path, what="export file")
    raise InputError(f"{path}: no such file or folder")


def is_sample_format(path: Path) -> bool:
    folder = path if path.is_dir() else path.parent
    return path.is_dir() and any(folder.glob("ndfeb_records*.csv")) or path.name.startswith("ndfeb_records")


def ingest_files(
    warehouse: Path,
    path: Path,
    landscape: Landscape,
    *,
    command: str,
    raw_dir: Path | None = None,
    log: Log = lambda _m: None,
) -> IngestResult:
    """Load one export file, a folder of them, or a sample-format folder."""
    if is_sample_format(path):
        folder = path if path.is_dir() else path.parent
        log(f"{folder} is in the embedded-sample format; loading it as such")
        return ingest_sample_format(warehouse, folder, landscape, command=command, raw_dir=raw_dir, log=log)
    files = export_files(path)
    batch, formats = exports.load_files(files, landscape)  # pure; InputError before any write
    for name, fmt in formats.items():
        log(f"{name}: {exports.FORMATS[fmt]}")
    log(f"read {batch.rows_read} rows from {len(files)} file(s): {len(batch.publications)} publications, "
        f"{len(batch.rejected)} rows rejected")
    def landing(run_id: int) -> list[Row]:
        rows = land_files(files, SOURCE, raw_dir)
        for r in rows:
            r["run_id"] = run_id
        return rows

    return save_as_run(warehouse, batch, command=command, landing=landing, log=log)


# ------------------------------------------------------------------------------------------------
# as a source of `ingest --all` (patentscope/ingest/registry.py)

OPTIONS: dict[str, Option] = {
    "paths": Option("strs", None, help="Google Patents / Lens.org CSV exports: files, folders or globs"),
}


def check(opts: dict[str, Any], where: str) -> None:
    if not opts["paths"]:
        raise ConfigError(f"{where}: give paths = [\"exports/*.csv\", ...] (files, folders or globs)")

def run(job: Job, opts: dict[str, Any], res: StepResult) -> None:
    errors: list[str] = []
    matched = job.expand_paths(opts["paths"], res, errors)

    def load(path: Path) -> Any:
        return ingest_files(job.warehouse, path, job.land, command=job.cmd("file", str(path)),
                            raw_dir=job.raw_dir, log=job.log.ingestor("file"))

    job.load_in_order("paths", matched, load, res, errors)
    if errors:
        raise InputError("; ".join(errors))
