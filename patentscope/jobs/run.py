"""Running a job: the bookkeeping (job_runs, job_steps, job_state), each source's step through
its registered ``run``, analyze, and the exit code."""

from __future__ import annotations

import datetime as dt
import functools
import glob
import hashlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import duckdb

from ..config import Settings
from ..errors import ConfigError, InputError, PatentscopeError, SourceError, WarehouseError, WarehouseLockedError
from ..ingest import registry
from ..landscape import Landscape, fingerprint, load_landscape
from .log import JobLog, _utcnow, scrub
from .plan import EXIT_CONFIG, EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL, EXIT_WAREHOUSE, INGEST_SOURCE, Plan, load_plan

# ------------------------------------------------------------------------------------------------
# the warehouse side: bookkeeping opened briefly, never held


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
        self.land_fp = fingerprint(land)

    # -- bookkeeping --------------------------------------------------------------------------

    @contextmanager
    def _db(self) -> Iterator[duckdb.DuckDBPyConnection]:
        from ..warehouse.toolkit import writer

        with writer(self.warehouse, command=self.command, migrate=False) as con:
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
        from ..warehouse.save import now
        from ..warehouse.toolkit import writer

        def log(msg: str) -> None:
            self.log.emit("info", "migrate", message=msg)

        with writer(self.warehouse, command=self.command, log=log) as con:
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

    def _upsert_state(self, con: duckdb.DuckDBPyConnection, source: str, state: dict[str, Any]) -> None:
        from ..warehouse.save import now

        con.execute("INSERT INTO job_state VALUES ($s, $j, $t, $id) ON CONFLICT (source) DO UPDATE SET "
                    "state = excluded.state, updated_at = excluded.updated_at, job_id = excluded.job_id",
                    {"s": source, "j": json.dumps(state, sort_keys=True, default=str), "t": now(), "id": self.job_id}).fetchall()

    def save_state(self, source: str, state: dict[str, Any]) -> None:
        self._book(f"the {source} position", lambda con: self._upsert_state(con, source, state))

    def _step_start(self, seq: int, step: str, res: StepResult) -> int:
        """One open: the step's record, the last ingest run id, the source's saved position."""
        from ..warehouse.save import now

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
                from ..ingest.us_odp import default_since

                res.bulk_since = default_since(con)
            return int(con.execute("SELECT coalesce(max(run_id), 0) FROM ingest_runs").fetchall()[0][0])
        with self._db() as con:  # raises: without its saved position a source must not guess
            return go(con)

    def _step_end(self, step: str, res: StepResult, first_run: int) -> None:
        """One open: the ingest runs of the step, its record, its new position (if any)."""
        from ..warehouse.save import now

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
        from ..warehouse.save import now

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

    def path(self, s: str) -> Path:
        p = Path(os.path.expanduser(s))
        return p if p.is_absolute() else self.plan.base / p

    def expand(self, pattern: str) -> list[Path]:
        """A path or a glob (relative to the config file's folder), sorted by name."""
        p = self.path(pattern)
        if glob.has_magic(str(p)):
            return [Path(m) for m in sorted(glob.glob(str(p), recursive=True))]
        if not p.exists():
            raise InputError(f"{p}: no such file or folder (configured in {self.plan.config_file})")
        return [p]

    def expand_paths(self, patterns: list[str], res: StepResult, errors: list[str], *,
                     files_only: bool = False) -> list[Path]:
        """Every path the ``patterns`` (files, folders or globs) give, once each, in order; a
        pattern that names nothing existing goes to ``errors``, a glob that matches nothing yet
        to the step's notes."""
        found: list[Path] = []
        for pattern in patterns:
            try:
                hits = [p for p in self.expand(pattern) if p.is_file() or not files_only]
            except InputError as e:
                errors.append(str(e))
                continue
            if not hits:
                res.notes.append(f"{pattern}: nothing matches yet")
            found += hits
        return list(dict.fromkeys(found))

    def cmd(self, step: str, what: str = "") -> str:
        return scrub(f"patentscope ingest --all [job {self.job_id}]: {step}" + (f" {what}" if what else ""))

    # -- the sources ---------------------------------------------------------------------------

    def load_in_order(self, key: str, paths: list[Path], load: Callable[[Path], Any], res: StepResult,
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

    def window(self, source: str, opts: dict[str, Any], default_since: dt.date | None,
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

    def analyze(self, res: StepResult) -> None:
        from ..analyze import analyze

        stats = analyze(self.warehouse, today=self.today, log=self.log.ingestor("analyze"))
        for step, st in stats.items():
            rows = st.get("rows")
            if isinstance(rows, int):
                res.counts[step] = rows
        res.rows_loaded = sum(res.counts.values())
        res.notes.append(", ".join(f"{k} {v.get('seconds', 0):.1f} s" for k, v in stats.items()))


class StepFailed(PatentscopeError):
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


def _kind(e: BaseException) -> str:
    """The error_kind of a failed step, read from the error's class (errors.py draws the tree)."""
    if isinstance(e, StepFailed):
        return e.kind
    if isinstance(e, ConfigError):  # also AuthError: refused credentials are the configuration's fault
        return "config"
    if isinstance(e, SourceError):  # transient or permanent, the source failed: exit 6
        return "source"
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
    from ..warehouse.connection import writer_lock

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


def _run(job: Job, plan: Plan, do_analyze: bool, t0: float) -> int:
    results: dict[str, StepResult] = {}
    try:
        for seq, sp in enumerate(plan.sources, start=1):
            run: Callable[[Job, dict[str, Any], StepResult], None] = registry.BY_NAME[sp.name].load().run
            results[sp.name] = job.run_step(seq, sp.name, functools.partial(run, job, sp.options))
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
