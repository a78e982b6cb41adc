"""``patentscope ingest --all``: every configured source, incrementally, then ``analyze`` (for cron).

What a job does, in order (docs/jobs.md is the user's page):

1. Reads the ``[sources.*]`` tables of patentscope.toml (:func:`load_plan`) and refuses the whole
   job, before touching the warehouse, when one is malformed (unknown source or key, wrong type):
   exit 2.
2. Takes the single-writer lock ``<warehouse>.lock`` (:func:`~patentscope.warehouse.connection.writer_lock`)
   for the whole job, waiting up to ``PATENTSCOPE_LOCK_WAIT`` (or ``[jobs] lock_wait``) seconds:
   exit 4 when another writer keeps it. The DuckDB file itself is opened only for writes (the
   job's own bookkeeping and each ingestor's batches), so readers get in between.
3. Runs each enabled source in the order of :data:`ORDER` (worst-ranked source first, so a
   better source's values are written last): ``sample`` and ``file`` reload a folder or file
   only when its content (or the landscape) changed; ``ops`` and ``uspto_odp`` search a date
   window that starts ``overlap_days`` before the end of the last completed window (upserts
   on natural keys make the overlap safe) and resume an interrupted window from the
   ingestor's own cursor; ``uspto_bulk`` and ``maintfee`` load the newest release or file and
   skip one already loaded. A source that fails is recorded and the job goes on.
4. Runs ``analyze`` unless ``--no-analyze`` (or ``[jobs] analyze = false``) or every source failed.

Exit codes (:func:`run_all`): 0 ok; 1 every source failed; 2 configuration error (the file is
invalid, or a source's key is missing or refused: the other sources still ran); 3 the
warehouse cannot be opened or migrated; 4 another writer holds the lock; 6 partial failure
(some steps failed, the others are saved).

Every step writes one log line on stderr (plain text, or one JSON object per line with
``--json``: ts, level, source, step, status, counts, duration, error, message); on a terminal
the ingestors' progress messages update one transient line. The run is recorded in
``job_runs`` / ``job_steps`` (migration 0012) beside the ingestors' own ``ingest_runs`` rows.
Nothing secret reaches a log line or the warehouse: messages pass through :func:`scrub`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import glob
import hashlib
import json
import os
import re
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import duckdb

from .config import SECRET_VARS, Settings
from .errors import ConfigError, InputError, PatentscopeError, WarehouseError, WarehouseLockedError
from .landscape import Landscape, load_landscape
from .sources._http import redact

# Sources in the order a job runs them: the worst-ranked first (warehouse/save.py SOURCE_RANK),
# bulk before the ODP search (its default start is the bulk release's last grant date), the
# maintenance-fee file last (it keeps the events of US patents already in the warehouse).
ORDER = ("sample", "file", "ops", "uspto_bulk", "uspto_odp", "maintfee")
INGEST_SOURCE = {"sample": "sample", "file": "file", "ops": "ops", "uspto_bulk": "bulk", "uspto_odp": "odp",
                 "maintfee": "maintfee"}

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_WAREHOUSE, EXIT_LOCKED, EXIT_PARTIAL = 0, 1, 2, 3, 4, 6

DEFAULT_OPS_OVERLAP_DAYS = 30      # OPS: DOCDB loads publications of some offices days or weeks late
DEFAULT_ODP_OVERLAP_DAYS = 548     # ODP: applications become visible when published, ~18 months after filing

RETIRED = {
    "patentsview": "the PatentsView PatentSearch API was retired on 2026-03-20; load the PatentsView tables "
                   "with [sources.uspto_bulk] (directory = ... or download = true) instead",
}


# ------------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class _Key:
    kind: str                      # bool, int, float, str, date, strs, choice
    default: Any = None
    lo: int | None = None
    hi: int | None = None
    choices: tuple[str, ...] = ()
    help: str = ""


KEYS: dict[str, dict[str, _Key]] = {
    "sample": {
        "enabled": _Key("bool", True),
        "folders": _Key("strs", [], help="folders in the embedded-sample format; [] = the embedded sample"),
    },
    "file": {
        "enabled": _Key("bool", True),
        "paths": _Key("strs", None, help="Google Patents / Lens.org CSV exports: files, folders or globs"),
    },
    "ops": {
        "enabled": _Key("bool", True),
        "since": _Key("date", None, help="first publication date searched on the first run (default: the landscape's from date)"),
        "overlap_days": _Key("int", DEFAULT_OPS_OVERLAP_DAYS, lo=0, hi=3650),
        "queries": _Key("strs", None, help="CQL queries instead of the ones built from the landscape"),
        "page_size": _Key("int", 100, lo=1, hi=100),
        "group_size": _Key("int", 20, lo=1, hi=100),
        "family": _Key("bool", True),
        "legal": _Key("bool", True),
        "base_url": _Key("str", None),
    },
    "uspto_bulk": {
        "enabled": _Key("bool", True),
        "directory": _Key("str", None, help="folder of PatentsView tables, or a glob of release folders (the last in name order is used)"),
        "download": _Key("bool", False, help="fetch the release from the ODP bulk product PVGPATDIS"),
        "download_dir": _Key("str", None),
        "release": _Key("str", None),
        "zip_reader": _Key("choice", "arrow", choices=("arrow", "fifo")),
    },
    "uspto_odp": {
        "enabled": _Key("bool", True),
        "since": _Key("date", None, help="first filing date searched on the first run (default: the bulk release's last grant date)"),
        "overlap_days": _Key("int", DEFAULT_ODP_OVERLAP_DAYS, lo=0, hi=3650),
        "page_size": _Key("int", 25, lo=1, hi=100),
        "query": _Key("str", None),
        "base_url": _Key("str", None),
    },
    "maintfee": {
        "enabled": _Key("bool", True),
        "file": _Key("str", None, help="MaintFeeEvents zip or txt, or a glob (the last match in name order is used)"),
        "all_patents": _Key("bool", False),
    },
}
JOB_KEYS: dict[str, _Key] = {
    "analyze": _Key("bool", True),
    "lock_wait": _Key("float", None),
    "log_level": _Key("choice", "info", choices=("info", "debug")),
}


@dataclass(frozen=True)
class SourcePlan:
    name: str
    options: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    sources: list[SourcePlan]
    analyze: bool
    lock_wait: float | None
    log_level: str
    base: Path                     # relative paths in the file are relative to this folder
    config_file: Path | None


def _check(value: Any, key: _Key, where: str) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{where} must be {expected}, not {value!r}")

    if key.kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if key.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("a whole number")
        if (key.lo is not None and value < key.lo) or (key.hi is not None and value > key.hi):
            raise bad(f"between {key.lo} and {key.hi}")
        return value
    if key.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise bad("a number of seconds >= 0")
        return float(value)
    if key.kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise bad("a non-empty string")
        return value
    if key.kind == "choice":
        if value not in key.choices:
            raise bad("one of " + ", ".join(repr(c) for c in key.choices))
        return value
    if key.kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise bad("a date YYYY-MM-DD") from None
    if key.kind == "strs":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise bad("a list of strings")
        return list(value)
    raise AssertionError(key.kind)  # pragma: no cover


def load_plan(settings: Settings, only: tuple[str, ...] | list[str] = ()) -> Plan:
    """The sources to run (validated, in :data:`ORDER`) and the job settings, or ConfigError."""
    raw = settings.raw
    where_file = str(settings.config_file) if settings.config_file else "patentscope.toml"
    base = settings.config_file.parent if settings.config_file else Path.cwd()
    if settings.config_file is None:
        raise ConfigError("no patentscope.toml found (looked at --config / PATENTSCOPE_CONFIG, ./patentscope.toml and "
                          "~/.config/patentscope/patentscope.toml); create one with [sources.*] tables (see docs/jobs.md)")
    jobs_raw = raw.get("jobs", {})
    if not isinstance(jobs_raw, dict):
        raise ConfigError(f"{where_file}: [jobs] must be a table")
    job_opts: dict[str, Any] = {}
    for k, v in jobs_raw.items():
        if k not in JOB_KEYS:
            raise ConfigError(f"{where_file}: unknown key '{k}' in [jobs]; known: {', '.join(JOB_KEYS)}")
        job_opts[k] = _check(v, JOB_KEYS[k], f"{where_file}: [jobs].{k}")
    sources_raw = raw.get("sources", {})
    if not isinstance(sources_raw, dict):
        raise ConfigError(f"{where_file}: [sources] must hold tables like [sources.ops]")
    configured: dict[str, dict[str, Any]] = {}
    for name, table in sources_raw.items():
        if name in RETIRED:
            raise ConfigError(f"{where_file}: [sources.{name}]: {RETIRED[name]}")
        if name not in KEYS:
            raise ConfigError(f"{where_file}: unknown source [sources.{name}]; known: {', '.join(ORDER)}")
        if not isinstance(table, dict):
            raise ConfigError(f"{where_file}: [sources.{name}] must be a table")
        opts: dict[str, Any] = {}
        for k, spec in KEYS[name].items():
            opts[k] = spec.default
        for k, v in table.items():
            if k not in KEYS[name]:
                raise ConfigError(f"{where_file}: unknown key '{k}' in [sources.{name}]; known: {', '.join(KEYS[name])}")
            opts[k] = _check(v, KEYS[name][k], f"{where_file}: [sources.{name}].{k}")
        _check_source(name, opts, f"{where_file}: [sources.{name}]")
        configured[name] = opts
    for name in only:
        if name not in configured:
            raise ConfigError(f"--source {name}: no [sources.{name}] in {where_file}"
                              + (f" (configured: {', '.join(n for n in ORDER if n in configured)})" if configured else ""))
        if not configured[name]["enabled"]:
            raise ConfigError(f"--source {name}: [sources.{name}] has enabled = false in {where_file}")
    chosen = [SourcePlan(n, configured[n]) for n in ORDER
              if n in configured and configured[n]["enabled"] and (not only or n in only)]
    if not chosen:
        raise ConfigError(f"{where_file}: no source is enabled; add [sources.NAME] tables ({', '.join(ORDER)}); "
                          "see docs/jobs.md")
    return Plan(sources=chosen, analyze=job_opts.get("analyze", True), lock_wait=job_opts.get("lock_wait"),
                log_level=job_opts.get("log_level", "info"), base=base, config_file=settings.config_file)


def _check_source(name: str, opts: dict[str, Any], where: str) -> None:
    if name == "file" and not opts["paths"]:
        raise ConfigError(f"{where}: give paths = [\"exports/*.csv\", ...] (files, folders or globs)")
    if name == "maintfee" and not opts["file"]:
        raise ConfigError(f"{where}: give file = \"path/MaintFeeEvents_*.zip\" (a file or a glob)")
    if name == "uspto_bulk":
        if bool(opts["directory"]) == bool(opts["download"]):
            raise ConfigError(f"{where}: give either directory = \"...\" (PatentsView tables on disk) or download = true")


# ------------------------------------------------------------------------------------------------
# secrets and logging


_URL_RE = re.compile(r"https?://[^\s'\"<>]+")
_WARNING_RE = re.compile(r"\bwarning\s*:", re.I)


def _secret_values() -> list[str]:
    vals = []
    for names in SECRET_VARS.values():
        for n in names:
            v = os.environ.get(n, "").strip()
            if len(v) >= 4:
                vals.append(v)
    key, sec = os.environ.get("EPO_OPS_KEY", "").strip(), os.environ.get("EPO_OPS_SECRET", "").strip()
    if key and sec:
        import base64
        vals.append(base64.b64encode(f"{key}:{sec}".encode()).decode("ascii"))
    return sorted(set(vals), key=len, reverse=True)


def scrub(text: str) -> str:
    """A message safe for logs and the warehouse: URLs redacted (credential-like query
    parameters and userinfo), and the values of the secret environment variables removed."""
    out = _URL_RE.sub(lambda m: redact(m.group(0)), text)
    for v in _secret_values():
        out = out.replace(v, "REDACTED")
    from .redact import scrub as _scrub  # f19: tokens, bearer headers and echoed keys too

    return _scrub(out)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class JobLog:
    """One line per step on ``stream``: plain text, or one JSON object per line.

    Levels: debug (the ingestors' own messages; shown with ``[jobs] log_level = "debug"``),
    info, warning, error. ``quiet`` keeps only errors. On a terminal (and not JSON, not
    quiet) the ingestors' messages update one transient progress line instead.
    """

    def __init__(self, stream: TextIO, *, json_lines: bool = False, quiet: bool = False, level: str = "info"):
        self.stream = stream
        self.json = json_lines
        self.quiet = quiet
        self.debug_on = level == "debug"
        try:
            self.tty = bool(stream.isatty()) and not json_lines and not quiet
        except (AttributeError, ValueError):
            self.tty = False
        self._progress_shown = False
        self.lines: list[dict[str, Any]] = []   # what was emitted (tests, the job record)

    def _clear_progress(self) -> None:
        if self._progress_shown:
            self.stream.write("\r\x1b[2K")
            self._progress_shown = False

    def progress(self, source: str, message: str) -> None:
        if not self.tty:
            return
        width = shutil.get_terminal_size((100, 20)).columns - 1
        text = scrub(f"{source}: {message}").replace("\n", " ")
        try:
            self.stream.write("\r\x1b[2K" + text[:width])
            self.stream.flush()
        except (OSError, ValueError):
            return
        self._progress_shown = True

    def emit(self, level: str, step: str, *, source: str | None = None, status: str | None = None,
             message: str = "", counts: Mapping[str, Any] | None = None, duration: float | None = None,
             error: str | None = None, **extra: Any) -> None:
        record: dict[str, Any] = {
            "ts": _utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level, "source": source, "step": step, "status": status,
            "counts": dict(counts) if counts else {}, "duration": round(duration, 3) if duration is not None else None,
            "error": scrub(error) if error else None, "message": scrub(message),
        }
        for k, v in extra.items():
            record[k] = scrub(v) if isinstance(v, str) else v
        self.lines.append(record)
        if level == "debug" and not self.debug_on:
            return
        if self.quiet and level != "error":
            return
        if self.json:
            text = json.dumps(record, default=str, ensure_ascii=False)
        else:
            who = f"{source} " if source else ""
            text = f"{record['ts']} {level:<7} {who}{step}: {record['message']}"
            if error and error not in message:
                text += f" ({record['error']})"
        try:
            self._clear_progress()
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed or full (cron): the job goes on, the warehouse keeps the record
            pass

    def ingestor(self, source: str) -> Callable[[str], None]:
        """The ``log`` callback handed to an ingestor: progress on a terminal, debug lines,
        and warning lines for messages that say 'warning'."""
        def log(msg: str) -> None:
            self.progress(source, msg)
            level = "warning" if _WARNING_RE.search(msg) else "debug"
            self.emit(level, "detail", source=source, message=msg)
        return log


# ------------------------------------------------------------------------------------------------
# the warehouse side: bookkeeping opened briefly, never held


def _landscape_fingerprint(land: Landscape) -> str:
    d = {k: v for k, v in land.as_dict().items() if k != "source_path"}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _sha_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fingerprint(paths: list[Path], extra: str) -> str:
    h = hashlib.sha256(extra.encode())
    for p in sorted(paths):
        h.update(f"{p}\0{_sha_file(p)}\0".encode())
    return h.hexdigest()[:32]


def _files_under(p: Path) -> list[Path]:
    if p.is_dir():
        return sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
    return [p]


@dataclass
class StepResult:
    status: str = "ok"                 # ok, skipped, failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    window: tuple[dt.date, dt.date] | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None
    state: dict[str, Any] = field(default_factory=dict)       # the source's position as saved
    new_state: dict[str, Any] | None = None                    # written with the step's record
    bulk_since: dt.date | None = None

    def add(self, res: Any) -> None:
        self.rows_read += int(getattr(res, "rows_read", 0) or 0)
        counts = getattr(res, "counts", {}) or {}
        for k, v in counts.items():
            if isinstance(v, int) and not k.startswith("effect:"):
                self.counts[k] = self.counts.get(k, 0) + v
        self.rows_loaded = sum(self.counts.values())
        rejected = getattr(res, "rejected", None)
        self.rows_rejected += len(rejected) if isinstance(rejected, list) else 0
        self.rows_rejected += int(getattr(res, "quarantined", 0) or 0)


class Job:
    """One ``ingest --all`` run (holding the writer lock)."""

    def __init__(self, settings: Settings, plan: Plan, land: Landscape, log: JobLog, *, command: str,
                 transports: Mapping[str, Any] | None, clock: Any, today: dt.date):
        self.settings = settings
        self.warehouse = Path(settings.warehouse)
        self.plan = plan
        self.land = land
        self.log = log
        self.command = command
        self.transports = dict(transports or {})
        self.clock = clock
        self.today = today
        self.raw_dir = self.warehouse.parent / "raw"
        self.job_id: int | None = None
        self.land_fp = _landscape_fingerprint(land)

    # -- bookkeeping --------------------------------------------------------------------------

    @contextmanager
    def _db(self) -> Iterator[duckdb.DuckDBPyConnection]:
        from .warehouse.connection import writer

        with writer(self.warehouse, command=self.command) as con:
            yield con

    def _book(self, what: str, fn: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
        """A bookkeeping write; a failure (disk full, a foreign lock) is logged, never fatal."""
        try:
            with self._db() as con:
                return fn(con)
        except (duckdb.Error, OSError, PatentscopeError) as e:
            self.log.emit("warning", "bookkeeping", message=f"could not record {what}: {_describe(e)}")
            return None

    def start(self) -> None:
        """Migrate, close records of killed jobs, open this job's record (raises WarehouseError)."""
        from .warehouse import migrations
        from .warehouse.save import now

        if not self.warehouse.exists():
            self._create()
        with self._db() as con:
            applied = migrations.apply(con)
            if applied:
                self.log.emit("info", "migrate", message=f"migrated {self.warehouse}: {', '.join(applied)}")
            con.execute("UPDATE job_runs SET status = 'interrupted', finished_at = coalesce(finished_at, $t), "
                        "message = coalesce(message, 'the process ended without finishing (killed?)') "
                        "WHERE status = 'running'", {"t": now()}).fetchall()
            con.execute("UPDATE job_steps SET status = 'failed', finished_at = $t, error_kind = 'interrupted', "
                        "error = 'the process ended during this step (killed?)' WHERE status = 'running'",
                        {"t": now()}).fetchall()
            rows = con.execute(
                "INSERT INTO job_runs (command, config_file, pid, started_at, status, sources) "
                "VALUES ($c, $f, $p, $t, 'running', $s) RETURNING job_id",
                {"c": self.command, "f": str(self.plan.config_file) if self.plan.config_file else None,
                 "p": os.getpid(), "t": now(), "s": [s.name for s in self.plan.sources]}).fetchall()
            self.job_id = int(rows[0][0])

    def _create(self) -> None:
        """Create a new warehouse atomically: build and migrate it under a temporary name, then
        rename it. DuckDB writes a new file's header in pieces, so a full disk (or a kill) during
        creation would otherwise leave a stub that no later run can open."""
        from .warehouse import migrations
        from .warehouse.connection import open_writer

        tmp = self.warehouse.with_name(f".{self.warehouse.name}.creating")
        wal = tmp.with_name(tmp.name + ".wal")
        for leftover in (tmp, wal):  # of a creation that was killed; we hold the writer lock
            leftover.unlink(missing_ok=True)
        try:
            con = open_writer(tmp)
            try:
                applied = migrations.apply(con)
            finally:
                con.close()
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.warehouse)
        except BaseException:
            for leftover in (tmp, wal):
                leftover.unlink(missing_ok=True)
            raise
        self.log.emit("info", "migrate", message=f"created {self.warehouse}: {len(applied)} migrations")

    def _upsert_state(self, con: duckdb.DuckDBPyConnection, source: str, state: dict[str, Any]) -> None:
        from .warehouse.save import now

        con.execute("INSERT INTO job_state VALUES ($s, $j, $t, $id) ON CONFLICT (source) DO UPDATE SET "
                    "state = excluded.state, updated_at = excluded.updated_at, job_id = excluded.job_id",
                    {"s": source, "j": json.dumps(state, sort_keys=True, default=str), "t": now(), "id": self.job_id}).fetchall()

    def _save_state(self, source: str, state: dict[str, Any]) -> None:
        self._book(f"the {source} position", lambda con: self._upsert_state(con, source, state))

    def _step_start(self, seq: int, step: str, res: StepResult) -> int:
        """One open: the step's record, the last ingest run id, the source's saved position."""
        from .warehouse.save import now

        def go(con: duckdb.DuckDBPyConnection) -> int:
            if self.job_id is not None:
                con.execute("INSERT INTO job_steps (job_id, step, seq, source, started_at, status) "
                            "VALUES ($j, $s, $q, $src, $t, 'running') ON CONFLICT (job_id, step) DO NOTHING",
                            {"j": self.job_id, "s": step, "q": seq, "src": INGEST_SOURCE.get(step, step), "t": now()}).fetchall()
            rows = con.execute("SELECT state FROM job_state WHERE source = $s", {"s": step}).fetchall()
            try:
                val = json.loads(rows[0][0]) if rows else {}
            except ValueError:
                val = {}
            res.state = val if isinstance(val, dict) else {}
            if step == "uspto_odp":
                from .ingest.us_odp import default_since

                res.bulk_since = default_since(con)
            return int(con.execute("SELECT coalesce(max(run_id), 0) FROM ingest_runs").fetchall()[0][0])
        with self._db() as con:  # raises: without its saved position a source must not guess
            return go(con)

    def _step_end(self, step: str, res: StepResult, first_run: int) -> None:
        """One open: the ingest runs of the step, its record, its new position (if any)."""
        from .warehouse.save import now

        def go(con: duckdb.DuckDBPyConnection) -> None:
            if res.new_state is not None:
                self._upsert_state(con, step, res.new_state)
            ids = ([int(r[0]) for r in con.execute("SELECT run_id FROM ingest_runs WHERE run_id > $r ORDER BY run_id",
                                                   {"r": first_run}).fetchall()] if first_run >= 0 else None)
            if self.job_id is None:
                return
            con.execute(
                "UPDATE job_steps SET finished_at = $t, status = $st, run_ids = $ids, rows_read = $r, rows_loaded = $l, "
                "rows_rejected = $x, counts = $c, window_from = $wf, window_to = $wt, error = $e, error_kind = $k "
                "WHERE job_id = $j AND step = $s",
                {"t": now(), "st": res.status, "ids": ids, "r": res.rows_read, "l": res.rows_loaded, "x": res.rows_rejected,
                 "c": json.dumps(res.counts, sort_keys=True), "wf": res.window[0] if res.window else None,
                 "wt": res.window[1] if res.window else None, "e": scrub(res.error)[:2000] if res.error else None,
                 "k": res.error_kind, "j": self.job_id, "s": step}).fetchall()
        self._book(f"the end of {step}", go)

    def finish(self, status: str, code: int, message: str) -> None:
        from .warehouse.save import now

        if self.job_id is None:
            return
        self._book("the end of the job", lambda con: con.execute(
            "UPDATE job_runs SET finished_at = $t, status = $s, exit_code = $c, message = $m WHERE job_id = $j",
            {"t": now(), "s": status, "c": code, "m": scrub(message)[:2000], "j": self.job_id}).fetchall())

    # -- running --------------------------------------------------------------------------------

    def run_step(self, seq: int, step: str, fn: Callable[[StepResult], None]) -> StepResult:
        res = StepResult()
        t0 = time.monotonic()
        self.log.emit("debug", "start", source=step, message=f"{step} started")
        first_run = -1
        try:
            first_run = self._step_start(seq, step, res)
            fn(res)
        except (KeyboardInterrupt, SystemExit) as e:
            res.status, res.error, res.error_kind = "failed", f"interrupted ({type(e).__name__})", "interrupted"
            self._step_end(step, res, first_run)
            raise
        except BaseException as e:  # noqa: BLE001 - a failing source must not stop the others
            res.status = "failed"
            res.error, res.error_kind = _describe(e), _kind(e)
            if res.error_kind == "internal" and os.environ.get("PATENTSCOPE_DEBUG"):
                self.log.stream.write(scrub("".join(traceback.format_exception(e))))
        duration = time.monotonic() - t0
        self._step_end(step, res, first_run)
        self._log_step(step, res, duration)
        return res

    def _log_step(self, step: str, res: StepResult, duration: float) -> None:
        window = f"; window {res.window[0]}..{res.window[1]}" if res.window else ""
        notes = f"; {'; '.join(res.notes)}" if res.notes else ""
        kind, source = ("analyze", None) if step == "analyze" else ("ingest", step)
        if res.status == "failed":
            hint = " (a bug: set PATENTSCOPE_DEBUG=1 for the traceback)" if res.error_kind == "internal" else ""
            self.log.emit("error", kind, source=source, status="failed",
                          message=f"failed after {duration:.1f} s: {res.error}{hint}{window}", error=res.error,
                          duration=duration, counts=res.counts, error_kind=res.error_kind)
            return
        if step == "analyze":
            what = f"{res.status} in {duration:.1f} s: {res.rows_loaded:,} rows written"
        else:
            what = (f"{res.status} in {duration:.1f} s: read {res.rows_read:,}, loaded {res.rows_loaded:,} rows"
                    + (f", {res.rows_rejected:,} quarantined" if res.rows_rejected else ""))
            top = sorted(((k, v) for k, v in res.counts.items() if v), key=lambda kv: -kv[1])[:6]
            if top:
                what += " (" + ", ".join(f"{k} {v:,}" for k, v in top) + ")"
        self.log.emit("info", kind, source=source, status=res.status, message=what + window + notes, duration=duration,
                      counts=res.counts, rows_read=res.rows_read, rows_loaded=res.rows_loaded,
                      rows_rejected=res.rows_rejected,
                      window=[str(res.window[0]), str(res.window[1])] if res.window else None)

    def _path(self, s: str) -> Path:
        p = Path(os.path.expanduser(s))
        return p if p.is_absolute() else self.plan.base / p

    def _expand(self, pattern: str) -> list[Path]:
        """A path or a glob (relative to the config file's folder), sorted by name."""
        p = self._path(pattern)
        if glob.has_magic(str(p)):
            return [Path(m) for m in sorted(glob.glob(str(p), recursive=True))]
        if not p.exists():
            raise InputError(f"{p}: no such file or folder (configured in {self.plan.config_file})")
        return [p]

    def _cmd(self, step: str, what: str = "") -> str:
        return scrub(f"patentscope ingest --all [job {self.job_id}]: {step}" + (f" {what}" if what else ""))

    # -- the sources ---------------------------------------------------------------------------

    def _load_in_order(self, key: str, paths: list[Path], load: Callable[[Path], Any], res: StepResult,
                       errors: list[str]) -> None:
        """Load ``paths`` in their order, from the first one whose content (or the landscape)
        changed since its last load: a retry after a failure or a kill then applies the same
        saves in the same order as an uninterrupted run (a later path's values win, as they
        would have). A path that cannot be read at all is reported and the others still load."""
        seen = res.state.get(key, {})
        fps = {p: _fingerprint(_files_under(p), self.land_fp) for p in paths}
        first = next((i for i, p in enumerate(paths) if seen.get(str(p)) != fps[p]), len(paths))
        done: dict[str, str] = {str(p): fps[p] for p in paths[:first]}
        res.new_state = {key: done}
        for p in paths[first:]:
            try:
                out = load(p)
            except InputError as e:
                errors.append(f"{p}: {_describe(e)}" if str(p) not in str(e) else _describe(e))
                continue
            res.add(out)
            done[str(p)] = fps[p]
        if first == len(paths):
            res.status = "skipped"
            if paths:
                res.notes.append(f"{len(paths)} path(s) unchanged")

    def sample(self, opts: dict[str, Any], res: StepResult) -> None:
        from .ingest.sample import ingest_sample_format, sample_folder

        errors: list[str] = []
        folders = []
        for f in [self._path(f) for f in opts["folders"]] or [sample_folder()]:
            if f.is_dir():
                folders.append(f)
            else:
                errors.append(f"{f}: no such folder (configured in [sources.sample] folders)")

        def load(folder: Path) -> Any:
            return ingest_sample_format(self.warehouse, folder, self.land, command=self._cmd("sample", str(folder)),
                                        raw_dir=self.raw_dir, log=self.log.ingestor("sample"))

        self._load_in_order("folders", folders, load, res, errors)
        if errors:
            raise _StepFailed("; ".join(errors), "input")

    def file(self, opts: dict[str, Any], res: StepResult) -> None:
        from .ingest.files import ingest_files

        errors: list[str] = []
        matched: list[Path] = []
        for pattern in opts["paths"]:
            try:
                found = self._expand(pattern)
            except InputError as e:
                errors.append(str(e))
                continue
            if not found:
                res.notes.append(f"{pattern}: nothing matches yet")
            matched.extend(found)

        def load(path: Path) -> Any:
            return ingest_files(self.warehouse, path, self.land, command=self._cmd("file", str(path)),
                                raw_dir=self.raw_dir, log=self.log.ingestor("file"))

        self._load_in_order("paths", list(dict.fromkeys(matched)), load, res, errors)
        if errors:
            raise _StepFailed("; ".join(errors), "input")

    def _window(self, source: str, opts: dict[str, Any], default_since: dt.date | None,
                res: StepResult) -> tuple[dt.date | None, dt.date, dict[str, Any]]:
        """(from, to, state) of this run's date window: an unfinished window is resumed as it
        was; otherwise it starts ``overlap_days`` before the end of the last completed one."""
        state = res.state
        if state.get("landscape") not in (None, self.land_fp):
            res.notes.append("the landscape changed: searching from the start again")
            state = {}
        win = state.get("window")
        if win:
            res.notes.append("resuming the unfinished window")
            return dt.date.fromisoformat(win[0]), dt.date.fromisoformat(win[1]), state
        since: dt.date | None = opts["since"] or default_since
        done_to = state.get("done_to")
        lo: dt.date | None = since
        if done_to:
            lo = dt.date.fromisoformat(done_to) - dt.timedelta(days=int(opts["overlap_days"]))
            if since and since > lo:
                lo = since
        if lo is not None and lo > self.today:
            raise ConfigError(f"[sources.{source}] since = {lo} is after today ({self.today})")
        return lo, self.today, state

    def ops(self, opts: dict[str, Any], res: StepResult) -> None:
        from .ingest.ops import OpsOptions, ingest_ops
        from .sources.epo_ops import OPS_BASE_URL, OpsClient

        lo, hi, state = self._window("ops", opts, self.land.date_from, res)
        assert lo is not None
        res.window = (lo, hi)
        kwargs: dict[str, Any] = {"base_url": opts["base_url"] or OPS_BASE_URL, "log": self.log.ingestor("ops")}
        if "ops" in self.transports:
            kwargs["transport"] = self.transports["ops"]
        if self.clock is not None:
            kwargs["clock"] = self.clock
        client = OpsClient.from_env(**kwargs)  # ConfigError naming both variables when unset
        self._save_state("ops", {**state, "window": [lo.isoformat(), hi.isoformat()], "landscape": self.land_fp})
        options = OpsOptions(queries=opts["queries"] or None, page_size=opts["page_size"], group_size=opts["group_size"],
                             family=opts["family"], legal=opts["legal"])
        with client:
            out = ingest_ops(self.warehouse, dataclasses.replace(self.land, date_from=lo), client, options=options,
                             command=self._cmd("ops", f"{lo}..{hi}"), raw_dir=self.raw_dir, log=self.log.ingestor("ops"),
                             today=hi)
        res.add(out)
        res.notes.append(f"{out.hits} hits, {out.steps_done}/{out.steps} steps")
        res.new_state = {"done_to": hi.isoformat(), "window": None, "landscape": self.land_fp,
                         "last_window": [lo.isoformat(), hi.isoformat()]}

    def uspto_odp(self, opts: dict[str, Any], res: StepResult) -> None:
        from .ingest import us_odp
        from .sources.uspto_odp import BASE_URL, OdpClient

        lo, hi, state = self._window("uspto_odp", opts, res.bulk_since, res)
        if lo is None:
            raise ConfigError("[sources.uspto_odp]: no bulk release is loaded to start from; set since = \"YYYY-MM-DD\" "
                              "(first filing date to search) in patentscope.toml")
        res.window = (lo, hi)
        odp_log = self.log.ingestor("uspto_odp")
        kwargs: dict[str, Any] = {"base_url": opts["base_url"] or BASE_URL,
                                  "on_retry": lambda reason, wait: odp_log(f"ODP: {reason}; waiting {wait:.0f} s")}
        if "uspto_odp" in self.transports:
            kwargs["transport"] = self.transports["uspto_odp"]
        if self.clock is not None:
            kwargs["clock"] = self.clock
        client = OdpClient(**kwargs)  # ConfigError naming USPTO_ODP_API_KEY when unset
        self._save_state("uspto_odp", {**state, "window": [lo.isoformat(), hi.isoformat()], "landscape": self.land_fp})
        with client:
            out = us_odp.ingest_odp_live(self.warehouse, self.land, client, command=self._cmd("uspto_odp", f"{lo}..{hi}"),
                                         since=lo, until=hi, query=opts["query"], page_size=opts["page_size"],
                                         raw_dir=self.raw_dir, log=odp_log)
        res.add(out)
        res.new_state = {"done_to": hi.isoformat(), "window": None, "landscape": self.land_fp,
                         "last_window": [lo.isoformat(), hi.isoformat()]}

    def uspto_bulk(self, opts: dict[str, Any], res: StepResult) -> None:
        from .ingest.us_bulk import ingest_bulk

        log = self.log.ingestor("uspto_bulk")
        source: Path | dict[str, Path]
        if opts["download"]:
            source, requests, release, info, extra = self._download_bulk(opts, log)
            what = "--download"
        else:
            found = [p for p in self._expand(opts["directory"]) if p.is_dir()]
            if not found:
                raise InputError(f"[sources.uspto_bulk] directory = {opts['directory']!r}: no folder matches")
            source, requests, release, info, extra = found[-1], None, opts["release"], None, []
            what = str(found[-1])
        out = ingest_bulk(self.warehouse, source, self.land, command=self._cmd("uspto_bulk", what), release=release,
                          release_info=info, requests=requests, raw_dir=self.raw_dir, zip_reader=opts["zip_reader"],
                          extra_landing=extra, log=log)
        res.add(out)
        res.notes.append(f"release {out.release}" + (" already loaded" if out.skipped else ""))
        if out.skipped:
            res.status = "skipped"

    def _download_bulk(self, opts: dict[str, Any], log: Callable[[str], None]) -> tuple[
            dict[str, Path], dict[str, str], str | None, dict[str, Any], list[dict[str, Any]]]:
        # The same steps as `patentscope ingest bulk --download` (commands/ingest_us.py).
        from .ingest.us_bulk import OPTIONAL_TABLES, PRODUCT, REQUIRED_TABLES
        from .ingest.us_odp import land_bytes
        from .sources.uspto_bulk import FILES_PATH, BulkDownloader

        dest = self._path(opts["download_dir"]) if opts["download_dir"] else self.raw_dir / "bulk"
        kwargs: dict[str, Any] = {"log": log}
        if "uspto_bulk" in self.transports:
            kwargs["transport"] = self.transports["uspto_bulk"]
        if self.clock is not None:
            kwargs["clock"] = self.clock
        with BulkDownloader(**kwargs) as dl:
            product, body = dl.product(PRODUCT)
            extra = [land_bytes(body, request=f"GET /api/v1/datasets/products/{PRODUCT}", content_type="application/json",
                                fetched_at=dl.clock.now().replace(tzinfo=None), raw_dir=None)]
            by_name = {f.name: f for f in product.files}
            wanted = {t: by_name.get(f"{t}.tsv.zip") for t in (*REQUIRED_TABLES, *OPTIONAL_TABLES)}
            missing = [t for t in REQUIRED_TABLES if wanted[t] is None]
            if missing:
                raise InputError(f"ODP product {PRODUCT} lists no {', '.join(m + '.tsv.zip' for m in missing)}; "
                                 "the table names may have changed")
            source = {t: dl.download(pf, dest) for t, pf in wanted.items() if pf is not None}
            requests = {t: "https://api.uspto.gov" + FILES_PATH.format(product=PRODUCT, name=pf.name)
                        for t, pf in wanted.items() if pf is not None}
            info = {"product_last_modified": product.last_modified, "data_from": product.data_from,
                    "data_to": product.data_to}
            return source, requests, opts["release"] or product.release, info, extra

    def maintfee(self, opts: dict[str, Any], res: StepResult) -> None:
        from .ingest.maintfee import ingest_maintfee

        found = [p for p in self._expand(opts["file"]) if p.is_file()]
        if not found:
            raise InputError(f"[sources.maintfee] file = {opts['file']!r}: no file matches")
        path = found[-1]
        out = ingest_maintfee(self.warehouse, path, command=self._cmd("maintfee", str(path)),
                              all_patents=opts["all_patents"], raw_dir=self.raw_dir, log=self.log.ingestor("maintfee"))
        if out.run_id == 0:
            res.status = "skipped"
            res.notes.append(f"{path.name} already loaded")
            return
        res.add(out)
        res.notes.append(path.name)

    def analyze(self, res: StepResult) -> None:
        from .analyze import analyze

        stats = analyze(self.warehouse, today=self.today, log=self.log.ingestor("analyze"))
        for step, st in stats.items():
            rows = st.get("rows")
            if isinstance(rows, int):
                res.counts[step] = rows
        res.rows_loaded = sum(res.counts.values())
        res.notes.append(", ".join(f"{k} {v.get('seconds', 0):.1f} s" for k, v in stats.items()))


class _StepFailed(PatentscopeError):
    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def _describe(e: BaseException) -> str:
    if isinstance(e, OSError) and not isinstance(e, PatentscopeError):
        name = os.strerror(e.errno) if e.errno else type(e).__name__
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        return scrub(f"{name}{where}" + (" - free some disk space and run again" if e.errno in (28, 27, 122) else ""))
    if isinstance(e, PatentscopeError):
        return scrub(str(e))
    first = str(e).splitlines()[0] if str(e) else ""
    return scrub(f"{type(e).__name__}: {first}")


_TRANSIENT_HTTP_RE = re.compile(r"\bHTTP (?:408|429|5\d\d)\b")


def _kind(e: BaseException) -> str:
    if isinstance(e, _StepFailed):
        return e.kind
    if isinstance(e, ConfigError):
        # The OPS client turns any non-200 answer of its token endpoint into OpsAuthError (a
        # ConfigError), also a 503 or 429 that outlasted the retries: that is the service, not
        # the credentials, so it is a source failure (exit 6), not a configuration error (2).
        return "source" if _TRANSIENT_HTTP_RE.search(str(e)) else "config"
    if isinstance(e, WarehouseLockedError):
        return "locked"
    if isinstance(e, WarehouseError) or isinstance(e, duckdb.Error):
        return "disk" if "No space left" in str(e) or "File too large" in str(e) else "warehouse"
    if isinstance(e, OSError):
        return "disk" if e.errno in (28, 27, 122) else "io"
    if isinstance(e, InputError):
        return "input"
    if isinstance(e, PatentscopeError):
        return "source"
    return "internal"


# ------------------------------------------------------------------------------------------------
# the entry point


def run_all(
    settings: Settings,
    *,
    only: tuple[str, ...] | list[str] = (),
    json_logs: bool = False,
    analyze: bool = True,
    quiet: bool = False,
    stream: TextIO | None = None,
    transports: Mapping[str, Any] | None = None,
    clock: Any = None,
    today: dt.date | None = None,
) -> int:
    """Run every configured source incrementally, then analyze; returns the exit code.

    ``stream`` (default stderr) receives the log lines. ``transports`` (source name ->
    ``httpx.BaseTransport``), ``clock`` (a :class:`~patentscope.sources._http.Clock`) and
    ``today`` are for tests and replays: they reach the API clients and the date windows.
    """
    from .warehouse.connection import writer_lock

    out = stream or sys.stderr
    only = tuple(only)
    command = "patentscope ingest --all" + "".join(f" --source {s}" for s in only)
    level = os.environ.get("PATENTSCOPE_LOG_LEVEL", "").strip().lower()
    boot = JobLog(out, json_lines=json_logs, quiet=quiet, level=level or "info")
    try:
        plan = load_plan(settings, only)
        land = load_landscape(settings.landscape)
    except ConfigError as e:
        boot.emit("error", "config", status="failed", message=str(e), error=str(e))
        return EXIT_CONFIG
    log = JobLog(out, json_lines=json_logs, quiet=quiet, level=level if level in ("info", "debug") else plan.log_level)
    lock_wait = plan.lock_wait if os.environ.get("PATENTSCOPE_LOCK_WAIT") is None else None
    today = today or _utcnow().date()
    t0 = time.monotonic()
    log.emit("info", "start", status="running",
             message=f"{command}: {', '.join(s.name for s in plan.sources)}"
                     + ("" if analyze and plan.analyze else " (no analyze)")
                     + f"; warehouse {settings.warehouse}; config {plan.config_file}",
             sources=[s.name for s in plan.sources], warehouse=str(settings.warehouse),
             config=str(plan.config_file) if plan.config_file else None)
    try:
        with writer_lock(settings.warehouse, wait=lock_wait, command=command):
            job = Job(settings, plan, land, log, command=command, transports=transports, clock=clock, today=today)
            try:
                job.start()
            except WarehouseLockedError as e:
                log.emit("error", "lock", status="failed", message=str(e), error=str(e))
                return EXIT_LOCKED
            except (WarehouseError, duckdb.Error, OSError) as e:
                msg = _describe(e)
                log.emit("error", "start", status="failed", message=f"cannot open or migrate the warehouse: {msg}", error=msg)
                return EXIT_WAREHOUSE
            return _run(job, plan, analyze and plan.analyze, t0)
    except WarehouseLockedError as e:
        log.emit("error", "lock", status="failed", message=str(e), error=str(e))
        return EXIT_LOCKED
    except OSError as e:  # the lock file itself cannot be created
        msg = _describe(e)
        log.emit("error", "lock", status="failed", message=f"cannot take the writer lock: {msg}", error=msg)
        return EXIT_WAREHOUSE


def _nothing_saved(results: Mapping[str, StepResult]) -> bool:
    """Every source failed and none of them saved part of its work (exit 1)."""
    steps = [r for n, r in results.items() if n != "analyze"]
    return bool(steps) and all(r.status == "failed" and not r.rows_loaded for r in steps)


def _call(runner: Callable[[dict[str, Any], StepResult], None], options: dict[str, Any], res: StepResult) -> None:
    runner(options, res)


def _run(job: Job, plan: Plan, do_analyze: bool, t0: float) -> int:
    results: dict[str, StepResult] = {}
    try:
        for seq, sp in enumerate(plan.sources, start=1):
            runner: Callable[[dict[str, Any], StepResult], None] = getattr(job, sp.name)
            results[sp.name] = job.run_step(seq, sp.name, functools.partial(_call, runner, sp.options))
        all_failed = _nothing_saved(results)
        if do_analyze and not all_failed:
            results["analyze"] = job.run_step(len(plan.sources) + 1, "analyze", job.analyze)
        elif do_analyze:
            job.log.emit("info", "analyze", source="analyze", status="skipped", message="skipped: every source failed")
    except (KeyboardInterrupt, SystemExit):
        job.finish("failed", 130, "interrupted")
        raise
    failed = [n for n, r in results.items() if r.status == "failed"]
    config_failed = [n for n, r in results.items() if r.status == "failed" and r.error_kind == "config"]
    nothing_saved = _nothing_saved(results)
    if config_failed:
        code = EXIT_CONFIG
    elif nothing_saved:
        code = EXIT_FAILED
    elif failed:
        code = EXIT_PARTIAL
    else:
        code = EXIT_OK
    status = "ok" if not failed else "failed" if nothing_saved else "partial"
    loaded = sum(r.rows_loaded for n, r in results.items() if n != "analyze")
    message = (f"{status}: {len(results) - len(failed)} of {len(results)} step(s) ok, {loaded:,} rows loaded"
               + (f"; failed: {', '.join(failed)}" if failed else ""))
    job.finish(status, code, message + ("; " + "; ".join(f"{n}: {results[n].error}" for n in failed) if failed else ""))
    job.log.emit("error" if code == EXIT_FAILED else "warning" if failed else "info", "done", status=status,
                 message=f"{message}; exit {code}", duration=time.monotonic() - t0, exit_code=code, job_id=job.job_id,
                 counts={n: r.rows_loaded for n, r in results.items()})
    return code
