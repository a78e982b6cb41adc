"""Ingest of the embedded-sample format (the shipped sample, or a user's folder in that format)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..landscape import Landscape
from ..normalize import web_records
from ..normalize.batch import Row
from . import IngestResult, Log, land_files, save_as_run
from .registry import Option

if TYPE_CHECKING:
    from ..jobs import Job, StepResult


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
    def landing(run_id: int) -> list[Row]:
        rows = land_files(files, batch.source, raw_dir)
        for r in rows:
            r["run_id"] = run_id
        return rows

    return save_as_run(warehouse, batch, command=command, landing=landing, log=log,
                       cursor=lambda rows: {"folder": str(folder), "files": {r["request"]: r["payload_sha256"] for r in rows}})


# ------------------------------------------------------------------------------------------------
# as a source of `ingest --all` (patentscope/ingest/registry.py)

OPTIONS: dict[str, Option] = {
    "folders": Option("strs", [], help="folders in the embedded-sample format; [] = the embedded sample"),
}


def run(job: Job, opts: dict[str, Any], res: StepResult) -> None:
    errors: list[str] = []
    folders = []
    for f in [job.path(f) for f in opts["folders"]] or [sample_folder()]:
        if f.is_dir():
            folders.append(f)
        else:
            errors.append(f"{f}: no such folder (configured in [sources.sample] folders)")

    def load(folder: Path) -> Any:
        return ingest_sample_format(job.warehouse, folder, job.land, command=job.cmd("sample", str(folder)),
                                    raw_dir=job.raw_dir, log=job.log.ingestor("sample"))

    job.load_in_order("folders", folders, load, res, errors)
    if errors:
        raise InputError("; ".join(errors))
