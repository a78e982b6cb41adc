"""BigQuery ingest: the landscape script's result tables -> canonical rows, saved as one run.

Two routes, one mapping (:mod:`patentscope.normalize.bigquery`) and one save:

- **live** (:func:`ingest_live`, :func:`run` for ``ingest --all``): dry run and cost guard, the
  job with ``maximum_bytes_billed``, the result tables read as Arrow
  (:mod:`patentscope.sources.bigquery`); each table is kept as Parquet under
  ``raw/bigquery/<sha256>.parquet`` (so a run can be replayed with ``--from-export``).
- **export** (:func:`ingest_export`): the tables a user exported from the console or with
  ``bq extract`` (Parquet, or newline-delimited JSON), named ``ps_publications*``,
  ``ps_citations*``, ``ps_families*`` (the ``ps_`` prefix is optional).

Every file is checked before the warehouse is opened (a Parquet file's footer and columns, a
JSON file decoded as UTF-8): a file that fails stops the ingest with nothing written. Then, on the
warehouse connection, the result tables are staged as TEMP tables (DuckDB reads the Parquet files
itself, the live route's Arrow tables are registered, JSON lines are checked and taken apart in
SQL), mapped to warehouse rows in SQL (:func:`patentscope.normalize.bigquery.normalize_staged`)
and written with :func:`patentscope.warehouse.save.save_frames`: no Python per row. A malformed
row is quarantined with its file and line (row number in a Parquet file or Arrow table). The
rows, the ``bigquery_runs`` record (SQL hash, job id, bytes billed, dataset snapshot), the
``bigquery_families`` rows, the landing records and the cursor are written in one transaction;
a failure anywhere (a data page that cannot be read included) leaves only the failed run record.

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
from ..warehouse.connection import register, writer
from ..warehouse.save import Laps, insert_rows, now, save_frames
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


def _parquet_columns(p: Path, part: str) -> list[str]:
    """The columns of an exported Parquet file (its footer only); InputError when it is not one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = list(pq.read_schema(p).names)
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(f"{p}: not a readable Parquet file ({str(e).splitlines()[0]})") from None
    missing = [c for c in nbq.REQUIRED[part] if c not in names]
    if missing:
        raise InputError(f"{p}: column(s) {', '.join(missing)} missing; is this the {part} table of the "
                         "patentscope script?")
    return names


def _json_lines(p: Path) -> list[str]:
    try:
        return p.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise InputError(f"{p}: not UTF-8 (byte {e.start}); BigQuery writes JSON exports in UTF-8") from None


def _json_rejects(p: Path, part: str, lines: list[str], bad: list[int]) -> list[RowError]:
    """Why the lines DuckDB found unusable are (Python's own JSON messages, bad lines only)."""
    out: list[RowError] = []
    for n in bad:
        try:
            row = json.loads(lines[n - 1])
        except json.JSONDecodeError as e:
            out.append(RowError(str(p), n, f"not valid JSON ({e.msg} at column {e.colno})"))
            continue
        if not isinstance(row, dict):
            out.append(RowError(str(p), n, "a JSON line must hold one object (one row)"))
            continue
        missing = [c for c in nbq.REQUIRED[part] if c not in row]
        if missing:
            out.append(RowError(str(p), n, f"missing {', '.join(missing)}", missing[0]))
            continue
        out.append(RowError(str(p), n, "JSON that DuckDB does not read (e.g. a lone UTF-16 surrogate escape "
                                        "such as \\ud800); BigQuery does not write such lines"))
    return out


def _struct_sql(x: str, typ: str, from_json: bool) -> str:
    """One element of a REPEATED RECORD as the staged struct (fields as VARCHAR)."""
    fields = [f.split()[0].strip('"') for f in typ[len("STRUCT("):-len(")[]")].split(",")]
    if from_json:
        return "{" + ", ".join(f"'{f}': json_extract_string({x}, '$.{f}')" for f in fields) + "}"
    return "{" + ", ".join(f"'{f}': CAST({x}.\"{f}\" AS VARCHAR)" for f in fields) + "}"


def _stage_select(part: str, have: set[str] | None) -> str:
    """The staged columns of one part, from a relation with the columns ``have`` (Arrow or
    Parquet), or (``have`` None) from newline-delimited JSON text in column ``j``."""
    scalars, lists = {"publications": (nbq.PUB_SCALARS, nbq.PUB_LISTS), "citations": (nbq.CIT_SCALARS, {}),
                      "families": (nbq.FAM_SCALARS, nbq.FAM_LISTS)}[part]
    cols: list[str] = []
    for c in scalars:
        if have is None:
            cols.append(f"json_extract_string(j, '$.{c}') AS {c}")
        else:
            cols.append(f"CAST({c} AS VARCHAR) AS {c}" if c in have else f"CAST(NULL AS VARCHAR) AS {c}")
    for c, typ in lists.items():
        if typ == "VARCHAR[]":
            elem = ("json_extract_string(x, '$')", "CAST(x AS VARCHAR)")
        else:
            elem = (_struct_sql("x", typ, True), _struct_sql("x", typ, False))
        if have is None:
            cols.append(f"CASE WHEN json_type(j, '$.{c}') = 'ARRAY' THEN "
                        f"list_transform(CAST(json_extract(j, '$.{c}') AS JSON[]), lambda x: {elem[0]}) END AS {c}")
        else:
            cols.append(f"list_transform({c}, lambda x: {elem[1]}) AS {c}" if c in have else f"CAST(NULL AS {typ}) AS {c}")
    if have is None and lists:
        bad = " ".join(f"WHEN json_type(j, '$.{c}') NOT IN ('ARRAY', 'NULL') THEN '{c}'" for c in lists)
        cols.append(f"CASE {bad} END AS bad_list")
    else:
        cols.append("CAST(NULL AS VARCHAR) AS bad_list")
    return ", ".join(cols)


class _Stager:
    """Stages the result tables into TEMP tables on the warehouse connection (nbq.STAGED), one
    source after the other (files in order), and fetches a rejected row back as a dict."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.seq = 0
        self.created: set[str] = set()
        self.arrow: dict[str, Any] = {}
        self.json: dict[str, list[str]] = {}
        self.rejected: list[RowError] = []

    def _insert(self, part: str, select: str, source: str, row: str, file: str, where: str = "") -> None:
        table = nbq.STAGED[part]
        verb = f"INSERT INTO {table}" if table in self.created else f"CREATE OR REPLACE TEMP TABLE {table} AS"
        self.created.add(table)
        self.con.execute(f"{verb} SELECT {self.seq} + {row} AS seq, $f AS file, {row} AS line, {select} "
                         f"FROM {source} {where}", {"f": file}).fetchall()
        self.seq += int(self.con.execute(f"SELECT coalesce(max(line), 0) FROM {table} WHERE file = $f",
                                         {"f": file}).fetchall()[0][0])

    def arrow_table(self, part: str, table: Any, label: str) -> None:
        import numpy as np
        import pyarrow as pa

        t = table.append_column("__row", pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64)))
        self.arrow[label] = table
        register(self.con, "_bq_arrow", t)
        try:
            self._insert(part, _stage_select(part, set(table.column_names)), "_bq_arrow", "__row", label)
        finally:
            self.con.unregister("_bq_arrow")

    def parquet_file(self, part: str, p: Path, columns: list[str]) -> None:
        src = f"read_parquet({_sql_str(str(p))}, file_row_number = true)"
        try:
            self._insert(part, _stage_select(part, set(columns)), src, "(file_row_number + 1)", str(p))
        except duckdb.Error as e:
            raise InputError(f"{p}: cannot be read as the {part} table of the patentscope script "
                             f"({str(e).splitlines()[0]})") from None

    def json_file(self, part: str, p: Path, lines: list[str]) -> None:
        import polars as pl

        self.json[str(p)] = lines
        frame = pl.DataFrame({"n": pl.Series(range(1, len(lines) + 1), dtype=pl.Int64), "j": lines})
        register(self.con, "_bq_lines", frame)
        try:
            req = " AND ".join(f"json_exists(j, '$.{c}')" for c in nbq.REQUIRED[part])
            self.con.execute("CREATE OR REPLACE TEMP TABLE _bq_json AS SELECT n, j, CASE WHEN json_valid(j) THEN "
                             f"CASE WHEN json_type(j) = 'OBJECT' THEN {req} ELSE false END ELSE false END AS ok "
                             "FROM _bq_lines WHERE trim(j) <> ''").fetchall()
            bad = [n for (n,) in self.con.execute("SELECT n FROM _bq_json WHERE NOT ok ORDER BY n").fetchall()]
            self.rejected += _json_rejects(p, part, lines, bad)
            self.con.execute("DELETE FROM _bq_json WHERE NOT ok").fetchall()
            self._insert(part, _stage_select(part, None), "_bq_json", "n", str(p))
            self.con.execute("DROP TABLE _bq_json").fetchall()
        finally:
            self.con.unregister("_bq_lines")

    def finish(self) -> None:
        """Empty staged tables for the parts the result did not have."""
        for part, table in nbq.STAGED.items():
            if table not in self.created:
                self.created.add(table)
                self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT 0::BIGINT AS seq, ''::VARCHAR AS file, "
                                 f"0::BIGINT AS line, {_stage_select(part, set())} LIMIT 0").fetchall()

    def raw_row(self, part: str, file: str, line: int) -> dict[str, Any]:
        if file in self.json:
            row: dict[str, Any] = json.loads(self.json[file][line - 1])
            return row
        if file in self.arrow:
            out: dict[str, Any] = self.arrow[file].slice(line - 1, 1).to_pylist()[0]
            return out
        t = self.con.sql(f"SELECT * EXCLUDE (file_row_number) FROM read_parquet({_sql_str(file)}, "
                         f"file_row_number = true) WHERE file_row_number = {int(line) - 1}").to_arrow_table()
        got: dict[str, Any] = t.to_pylist()[0]
        return got


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


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


FAMILY_DETAILS_CONFLICT = (
    "ON CONFLICT (family_id) DO UPDATE SET earliest_priority_date = excluded.earliest_priority_date, "
    "members = excluded.members, offices = excluded.offices, assignees_harmonized = excluded.assignees_harmonized, "
    "in_landscape = excluded.in_landscape, member_count = excluded.member_count, run_id = excluded.run_id")


def write_family_details(con: duckdb.DuckDBPyConnection, staged: str, run_id: int) -> None:
    """The run's ``bigquery_families`` rows (latest run wins), inside the save's transaction: the
    families the warehouse holds through ``ON CONFLICT``, the new ones (all on a first load) by a
    plain INSERT in key order (the same rows, several times faster)."""
    con.execute(f"INSERT INTO bigquery_families SELECT s.*, $r AS run_id FROM {staged} s "
                f"SEMI JOIN bigquery_families USING (family_id) {FAMILY_DETAILS_CONFLICT}", {"r": run_id}).fetchall()
    con.execute(f"INSERT INTO bigquery_families SELECT s.*, $r AS run_id FROM {staged} s "
                "ANTI JOIN bigquery_families USING (family_id) ORDER BY family_id", {"r": run_id}).fetchall()


def save(
    warehouse: Path,
    stage: Callable[[_Stager], None],
    meta: RunMeta,
    *,
    command: str,
    landing: Callable[[int], list[Row]],
    landscape: Landscape,
    log: Log,
    text_read: bool = True,
    timings: dict[str, float] | None = None,
) -> IngestResult:
    """One run: ``stage`` puts the result tables on the warehouse connection (TEMP tables), the
    SQL mapping turns them into warehouse rows, and the rows, the ``bigquery_runs`` row, the
    family details, landing records and cursor are written in one transaction
    (:func:`patentscope.warehouse.save.save_frames`). ``text_read``: the run read titles and
    abstracts (the cursor remembers it per landscape)."""
    with toolkit.writer(warehouse, log=log) as con, toolkit.recorded_run(con, SOURCE, command) as run:
        run_id = run.run_id
        lap = Laps(timings)
        stager = _Stager(con)
        stage(stager)
        stager.finish()
        lap("stage")
        norm = nbq.normalize_staged(con, landscape, stager.raw_row, lap)
        rejected = [*stager.rejected, *norm.rejected]
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
            write_family_details(c, norm.family_details, run_id)

        run.read = norm.rows_read + len(stager.rejected)
        counts = save_frames(con, SOURCE, norm.tables, run_id=run_id, rejected=rejected, landing=rows, cursor=cursor,
                             state_key=STATE_KEY, extra=extra, timings=timings)
        run.loaded, run.rejected = sum(counts.values()), len(rejected)
        run.message = f"{len(rejected)} rows quarantined" if rejected else None
        log(f"bigquery: {counts['publications']:,} publications, {counts['citations']:,} citations, "
            f"{counts['families']:,} families saved")
    for bad in rejected[:50]:
        log(f"rejected {bad}")
    if len(rejected) > 50:
        log(f"... and {len(rejected) - 50} more (patentscope query quarantined_rows)")
    return IngestResult(run_id, run.read, counts, rejected)


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
    timings: dict[str, float] | None = None,
) -> IngestResult:
    """Load the result tables a user exported (Parquet or newline-delimited JSON). Every file is
    checked (Parquet footer and columns; JSON decoded) before the warehouse is opened.
    ``timings`` receives seconds per step (stage, map_*, write_*)."""
    files = export_files(path)
    ordered = [(part, p) for part in nbq.STAGED for p in files.get(part, [])]
    checked: dict[Path, Any] = {p: _parquet_columns(p, part) if _EXT[p.suffix.lower()] == "parquet" else _json_lines(p)
                                for part, p in ordered}

    def stage(st: _Stager) -> None:
        for part, p in ordered:
            if _EXT[p.suffix.lower()] == "parquet":
                st.parquet_file(part, p, checked[p])
            else:
                st.json_file(part, p, checked[p])
        log(f"read {len(ordered)} file(s)")

    paths = [p for _, p in ordered]
    meta = RunMeta(route="export", sql_sha256=sql_sha256, dataset_snapshot=dataset_snapshot,
                   landscape_version=landscape.version, files=json.dumps([str(p) for p in paths]))
    return save(warehouse, stage, meta, command=command, landscape=landscape, log=log, timings=timings,
                landing=lambda run_id: _land_files(paths, raw_dir, run_id))


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
    payloads = {part: _arrow_parquet(table) for part, table in res.tables.items()}

    def stage(st: _Stager) -> None:
        for part in nbq.STAGED:
            if part in res.tables:
                st.arrow_table(part, res.tables[part], f"bigquery:{res.job_id}:{part}")

    meta = RunMeta(route="live", sql_sha256=script.sha256, parameters=json.dumps([p.as_json() for p in script.params]),
                   job_id=res.job_id, location=res.location or opts.location,
                   billing_project=getattr(runner.client, "project", None), bytes_processed=res.bytes_processed,
                   bytes_billed=res.bytes_billed, dataset_snapshot=res.snapshot, landscape_version=landscape.version,
                   since=since)

    def landing(run_id: int) -> list[Row]:
        return [_land_bytes(data, f"bigquery job {res.job_id}: {bigquery_sql.result_table(opts.scratch_dataset, part)}",
                            raw_dir, run_id) for part, data in payloads.items()]

    out = save(warehouse, stage, meta, command=command, landing=landing, landscape=landscape, log=log,
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
