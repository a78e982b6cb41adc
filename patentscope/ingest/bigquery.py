"""BigQuery ingest: the landscape script's result tables -> canonical rows, saved as one run.

Two routes, one mapping (:mod:`patentscope.normalize.bigquery`) and one save:

- **live** (:func:`ingest_live`, :func:`run` for ``ingest --all``): dry run and cost guard, the
  job with ``maximum_bytes_billed``, the result tables read as Arrow
  (:mod:`patentscope.sources.bigquery`); each table is kept as Parquet under
  ``raw/bigquery/<sha256>.parquet`` (so a run can be replayed with ``--from-export``).
- **export** (:func:`ingest_export`): the tables a user exported from the console or with
  ``bq extract`` (Parquet, or newline-delimited JSON), named ``ps_publications*``,
  ``ps_citations*``, ``ps_families*`` (the ``ps_`` prefix is optional).

Every file is read and normalized before the warehouse is opened: a file that cannot be read at
all stops the ingest with nothing written; a malformed row is quarantined with its file and
line (row number in a Parquet file). The batch, its ``bigquery_runs`` record (SQL hash, job id,
bytes billed, dataset snapshot), the ``bigquery_families`` rows, the landing records and the
cursor are written in one transaction (``save_batch``).

Increments: the cursor ``bigquery`` in ``ingest_state`` keeps the newest publication date
loaded; the next run asks only for publications from ``overlap_days`` (default 30) before it,
as long as the landscape and the script are unchanged (a changed landscape reloads in full).
The landscape itself is evaluated over the whole table every time (BigQuery bills the columns
read, not the rows kept, so an increment costs as much as a full run and returns less).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ..errors import InputError, RowError
from ..landscape import Landscape
from ..normalize import bigquery as nbq
from ..normalize.batch import Row
from ..sources import bigquery_sql
from ..warehouse import migrations, toolkit
from ..warehouse.connection import writer
from ..warehouse.save import insert_rows, now, save_batch
from ..warehouse.save import read_cursor as read_source_cursor
from . import IngestResult, Log, land_files

SOURCE = nbq.SOURCE
STATE_KEY = "bigquery"
CURSOR_VERSION = 1
_EXT = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".ndjson": "json"}
_PART_RE = re.compile(r"^(?:ps_)?(publications|citations|families)(?:[-_.]?\d*)?$")


@dataclass
class RunMeta:
    route: str                                   # live / export
    sql_sha256: str | None = None
    parameters: str | None = None                # JSON
    job_id: str | None = None
    location: str | None = None
    billing_project: str | None = None
    bytes_processed: int | None = None
    bytes_billed: int | None = None
    dataset_snapshot: str | None = None
    landscape_version: str | None = None
    since: dt.date | None = None
    files: str | None = None                     # JSON


@dataclass
class BigQueryIngestResult(IngestResult):
    estimate_bytes: int | None = None
    job_id: str | None = None
    bytes_billed: int | None = None
    since: dt.date | None = None
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# reading exports


def export_files(path: Path) -> dict[str, list[Path]]:
    """The result files under ``path`` (a folder, or one file) by part."""
    if path.is_file():
        candidates = [path]
    elif path.is_dir():
        candidates = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _EXT)
    else:
        raise InputError(f"{path}: no such file or folder")
    out: dict[str, list[Path]] = {}
    for p in candidates:
        if p.suffix.lower() not in _EXT:
            raise InputError(f"{p}: not a BigQuery export; expected .parquet, or newline-delimited JSON (.json, .jsonl, .ndjson)")
        m = _PART_RE.match(p.stem.lower())
        if not m:
            raise InputError(f"{p}: unknown result table; the script's tables export as ps_publications*, "
                             "ps_citations* and ps_families* (e.g. ps_publications-000000000000.parquet)")
        out.setdefault(m.group(1), []).append(p)
    if "publications" not in out:
        raise InputError(f"{path}: no ps_publications* file; export the three result tables of the script "
                         "(`patentscope ingest bigquery --print-sql` lists them)")
    return out


def _read_parquet(p: Path, part: str) -> list[nbq.Located]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(p)
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(f"{p}: not a readable Parquet file ({str(e).splitlines()[0]})") from None
    missing = [c for c in nbq.REQUIRED[part] if c not in table.column_names]
    if missing:
        raise InputError(f"{p}: column(s) {', '.join(missing)} missing; is this the {part} table of the "
                         "patentscope script?")
    return list(nbq.located(table.to_pylist(), str(p)))


def _read_json(p: Path, part: str, rejected: list[RowError]) -> list[nbq.Located]:
    out: list[nbq.Located] = []
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{p}: not UTF-8 (byte {e.start}); BigQuery writes JSON exports in UTF-8") from None
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            rejected.append(RowError(str(p), n, f"not valid JSON ({e.msg} at column {e.colno})"))
            continue
        if not isinstance(row, dict):
            rejected.append(RowError(str(p), n, "a JSON line must hold one object (one row)"))
            continue
        missing = [c for c in nbq.REQUIRED[part] if c not in row]
        if missing:
            rejected.append(RowError(str(p), n, f"missing {', '.join(missing)}", missing[0]))
            continue
        out.append(nbq.Located(row, str(p), n))
    return out


def read_export(path: Path) -> tuple[dict[str, list[nbq.Located]], list[Path], list[RowError]]:
    files = export_files(path)
    rows: dict[str, list[nbq.Located]] = {"publications": [], "citations": [], "families": []}
    rejected: list[RowError] = []
    for part, paths in files.items():
        for p in paths:
            if _EXT[p.suffix.lower()] == "parquet":
                rows[part].extend(_read_parquet(p, part))
            else:
                rows[part].extend(_read_json(p, part, rejected))
    return rows, [p for ps in files.values() for p in ps], rejected


# ------------------------------------------------------------------------------------------------
# saving


def _land_files(files: list[Path], raw_dir: Path | None, run_id: int) -> list[Row]:
    rows = land_files(files, SOURCE, raw_dir)
    for r, p in zip(rows, files, strict=True):
        r["run_id"] = run_id
        r["content_type"] = "application/vnd.apache.parquet" if p.suffix.lower() == ".parquet" else "application/x-ndjson"
    return rows


def _land_bytes(data: bytes, request: str, raw_dir: Path | None, run_id: int) -> Row:
    """A result table kept as Parquet under ``raw/bigquery/<sha256>.parquet``."""
    sha = hashlib.sha256(data).hexdigest()
    stored = None
    if raw_dir is not None:
        dest = raw_dir / SOURCE / f"{sha}.parquet"
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.with_suffix(".part").write_bytes(data)
            dest.with_suffix(".part").replace(dest)
        stored = str(dest)
    return {"payload_sha256": sha, "source": SOURCE, "request": request, "fetched_at": now(),
            "content_type": "application/vnd.apache.parquet", "byte_size": len(data), "stored_path": stored,
            "run_id": run_id}


def read_cursor(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    return read_source_cursor(con, STATE_KEY, version=CURSOR_VERSION)


def landscape_fingerprint(landscape: Landscape) -> str:
    return hashlib.sha256(json.dumps({k: v for k, v in landscape.as_dict().items() if k != "source_path"},
                                     sort_keys=True).encode()).hexdigest()[:16]


def save(
    warehouse: Path,
    norm: nbq.Normalized,
    meta: RunMeta,
    *,
    command: str,
    landing: Callable[[int], list[Row]],
    landscape: Landscape,
    log: Log,
    rejected: list[RowError] | None = None,
    text_read: bool = True,
) -> IngestResult:
    """One run: the batch, its bigquery_runs row, the family details, landing and cursor together.
    ``text_read``: the run read titles and abstracts (the cursor remembers it per landscape)."""
    batch = norm.batch
    batch.rejected = [*(rejected or []), *batch.rejected]
    with toolkit.writer(warehouse, log=log) as con, toolkit.recorded_run(con, SOURCE, command) as run:
        run_id = run.run_id
        rows = landing(run_id)
        old = read_cursor(con)
        fp = landscape_fingerprint(landscape)
        done_to = norm.max_publication_date
        if old and old.get("landscape") == fp and old.get("done_to"):
            prev = dt.date.fromisoformat(old["done_to"])
            done_to = max(prev, done_to) if done_to else prev
        text_for = fp if text_read else (old or {}).get("text_landscape")
        cursor = {"version": CURSOR_VERSION, "done_to": done_to.isoformat() if done_to else None, "landscape": fp,
                  "text_landscape": text_for, "sql_sha256": meta.sql_sha256, "route": meta.route, "last_run": run_id}

        def extra(c: duckdb.DuckDBPyConnection) -> None:
            insert_rows(c, "bigquery_runs", [{"run_id": run_id, **asdict(meta)}])
            insert_rows(c, "bigquery_families", [{**f, "run_id": run_id} for f in norm.family_details],
                        "ON CONFLICT (family_id) DO UPDATE SET earliest_priority_date = excluded.earliest_priority_date, "
                        "members = excluded.members, offices = excluded.offices, "
                        "assignees_harmonized = excluded.assignees_harmonized, in_landscape = excluded.in_landscape, "
                        "member_count = excluded.member_count, run_id = excluded.run_id")

        run.read = batch.rows_read
        counts = save_batch(con, batch, run_id=run_id, landing=rows, cursor=cursor, state_key=STATE_KEY, extra=extra)
        run.loaded, run.rejected = sum(counts.values()), len(batch.rejected)
        run.message = f"{len(batch.rejected)} rows quarantined" if batch.rejected else None
    for bad in batch.rejected[:50]:
        log(f"rejected {bad}")
    if len(batch.rejected) > 50:
        log(f"... and {len(batch.rejected) - 50} more (patentscope query quarantined_rows)")
    return IngestResult(run_id, batch.rows_read, counts, batch.rejected)


def ingest_export(
    warehouse: Path,
    path: Path,
    landscape: Landscape,
    *,
    command: str,
    raw_dir: Path | None = None,
    log: Log = lambda _m: None,
    dataset_snapshot: str | None = None,
    sql_sha256: str | None = None,
) -> IngestResult:
    """Load the result tables a user exported (Parquet or newline-delimited JSON)."""
    rows, files, rejected = read_export(path)
    norm = nbq.normalize(rows["publications"], rows["citations"], rows["families"], landscape)
    norm.batch.rows_read += len(rejected)
    log(f"read {sum(len(v) for v in rows.values()):,} rows from {len(files)} file(s): "
        f"{len(norm.batch.publications):,} publications, {len(norm.batch.citations):,} citations, "
        f"{len(norm.family_details):,} families")
    meta = RunMeta(route="export", sql_sha256=sql_sha256, dataset_snapshot=dataset_snapshot,
                   landscape_version=landscape.version, files=json.dumps([str(p) for p in files]))
    return save(warehouse, norm, meta, command=command, landscape=landscape, log=log, rejected=rejected,
                landing=lambda run_id: _land_files(files, raw_dir, run_id))


# ------------------------------------------------------------------------------------------------
# the live route


def next_since(warehouse: Path, landscape: Landscape, options: Any) -> dt.date | None:
    """The publication date an increment starts from: the cursor minus the overlap, when the
    landscape is unchanged; else ``options.since`` (None = everything)."""
    with writer(warehouse) as con:
        migrations.apply(con)
        cur = read_cursor(con)
    if cur and cur.get("landscape") == landscape_fingerprint(landscape) and cur.get("done_to"):
        return dt.date.fromisoformat(cur["done_to"]) - dt.timedelta(days=int(options.overlap_days))
    since: dt.date | None = options.since
    return since


def use_keywords(warehouse: Path, landscape: Landscape, setting: bool | str) -> bool:
    """Whether this run reads titles and abstracts: ``True``/``False`` as set; ``"once"``: only
    while no run has read them for this landscape version (the cursor's ``text_landscape``)."""
    if setting != "once":
        return bool(setting)
    with writer(warehouse) as con:
        migrations.apply(con)
        cur = read_cursor(con)
    return not (cur and cur.get("text_landscape") == landscape_fingerprint(landscape))


def _arrow_parquet(table: Any) -> bytes:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def ingest_live(
    warehouse: Path,
    landscape: Landscape,
    runner: Any,
    *,
    command: str,
    confirmed: bool = False,
    since: dt.date | None = None,
    raw_dir: Path | None = None,
    log: Log = lambda _m: None,
) -> BigQueryIngestResult:
    """Dry run, cost guard, job, Arrow results, save (see :mod:`patentscope.sources.bigquery`)."""
    opts = runner.options
    keywords = use_keywords(warehouse, landscape, opts.keywords)
    if opts.keywords == "once" and not keywords:
        log("bigquery: keywords = \"once\": titles and abstracts were read for this landscape version already; "
            "this run uses the CPC rules only")
    script = bigquery_sql.build_script(landscape, since=since, scratch_dataset=opts.scratch_dataset, keywords=keywords)
    est = runner.estimate(script)
    log("bigquery: dry run\n" + est.describe())
    cap = runner.check(est, confirmed=confirmed)
    res = runner.run(script, maximum_bytes_billed=cap)
    rows: dict[str, list[nbq.Located]] = {}
    payloads: dict[str, bytes] = {}
    for part, table in res.tables.items():
        rows[part] = list(nbq.located(table.to_pylist(), f"bigquery:{res.job_id}:{part}"))
        payloads[part] = _arrow_parquet(table)
    norm = nbq.normalize(rows.get("publications", []), rows.get("citations", []), rows.get("families", []), landscape)
    meta = RunMeta(route="live", sql_sha256=script.sha256, parameters=json.dumps([p.as_json() for p in script.params]),
                   job_id=res.job_id, location=res.location or opts.location,
                   billing_project=getattr(runner.client, "project", None), bytes_processed=res.bytes_processed,
                   bytes_billed=res.bytes_billed, dataset_snapshot=res.snapshot, landscape_version=landscape.version,
                   since=since)

    def landing(run_id: int) -> list[Row]:
        return [_land_bytes(data, f"bigquery job {res.job_id}: {bigquery_sql.result_table(opts.scratch_dataset, part)}",
                            raw_dir, run_id) for part, data in payloads.items()]

    out = save(warehouse, norm, meta, command=command, landing=landing, landscape=landscape, log=log,
               text_read=script.uses_text)
    return BigQueryIngestResult(out.run_id, out.rows_read, out.counts, out.rejected, estimate_bytes=est.bytes,
                                job_id=res.job_id, bytes_billed=res.bytes_billed, since=since)


def run(
    warehouse: Path,
    landscape: Landscape,
    options: dict[str, Any],
    *,
    command: str = "patentscope ingest --all --source bigquery",
    raw_dir: Path | None = None,
    log: Log = lambda _m: None,
    confirmed: bool = False,
    client: Any = None,
) -> BigQueryIngestResult:
    """The ``ingest --all`` entry point: ``options`` is the ``[sources.bigquery]`` table.

    An unattended job never confirms a cost above ``max_bytes_billed``: it fails with the
    estimate (exit 5 for the step) and the user raises the limit or runs ``--yes`` once."""
    from ..sources.bigquery import BigQueryOptions, BigQueryRunner

    opts = BigQueryOptions.from_config(options)
    since = next_since(warehouse, landscape, opts)
    runner = BigQueryRunner(opts, client=client, log=log)
    return ingest_live(warehouse, landscape, runner, command=command, confirmed=confirmed, since=since, raw_dir=raw_dir,
                       log=log)
