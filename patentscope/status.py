"""What ``patentscope status`` reports, as one JSON-ready dict: freshness per source, the last job,
recent failures, the writer lock.

Read-only: the warehouse is opened read-only (waiting like every reader while a writer has the
file open) and the lock file ``<warehouse>.lock`` is only probed with a shared, non-blocking
``flock`` that is released at once, so a status check never delays a writer.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
from pathlib import Path
from typing import Any

from .ingest.registry import INGEST_SOURCE


def lock_info(warehouse: Path) -> dict[str, Any]:
    """Whether a writer holds ``<warehouse>.lock`` and who (the text the holder wrote in it).

    ``stale`` is the text a killed writer left behind (the kernel released its lock)."""
    lock = warehouse.with_name(warehouse.name + ".lock")
    out: dict[str, Any] = {"file": str(lock), "held": False, "holder": None, "stale": None}
    if not lock.exists():
        return out
    try:
        with open(lock, encoding="utf-8", errors="replace") as fh:
            text = fh.read().strip() or None
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                out["held"] = True
                out["holder"] = text or "unknown process (it has not written its name yet)"
                return out
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            out["stale"] = text
    except OSError as e:
        out["error"] = f"cannot read {lock}: {e.strerror}"
    return out


def _summary(value: Any, depth: int = 0) -> Any:
    """A cursor small enough to print: scalars as they are, lists as their length."""
    if isinstance(value, dict):
        if depth >= 1:
            return f"{{{len(value)} keys}}"
        return {k: _summary(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return value if len(value) <= 2 and all(not isinstance(v, (list, dict)) for v in value) else f"[{len(value)} items]"
    return value


def _dicts(con: Any, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or {})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def collect(warehouse: Path, config: dict[str, Any] | None = None, *, failures: int = 10,
            now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything ``status`` shows, as one JSON-ready dict."""
    from .warehouse.connection import reader, require_patentscope
    from .warehouse.connection import tables as list_tables

    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    lock = lock_info(warehouse)
    out: dict[str, Any] = {"warehouse": str(warehouse), "now_utc": now, "lock": lock,
                           "size_bytes": warehouse.stat().st_size if warehouse.exists() else None,
                           "config": config or {}, "last_job": None, "sources": [], "recent_failures": []}
    configured: list[str] = list((config or {}).get("sources", []))
    with reader(warehouse) as con:
        require_patentscope(con, warehouse)
        tables = list_tables(con)
        if "ingest_runs" not in tables:
            out["note"] = "the warehouse has no run log yet (run `patentscope migrate` or an ingest)"
            return out
        runs = {r["source"]: r for r in _dicts(con, """
            SELECT source,
                   max(finished_at) FILTER (WHERE status IN ('ok', 'partial')) AS last_ok_at,
                   arg_max(run_id, run_id) FILTER (WHERE status IN ('ok', 'partial')) AS last_ok_run,
                   arg_max(rows_loaded, run_id) FILTER (WHERE status IN ('ok', 'partial')) AS last_ok_rows_loaded,
                   max(run_id) AS last_run, arg_max(status, run_id) AS last_status,
                   arg_max(started_at, run_id) AS last_started_at,
                   count(*) FILTER (WHERE status = 'failed') AS failed_runs, count(*) AS runs
            FROM ingest_runs GROUP BY source""")}
        cursors = {r["source"]: r for r in _dicts(con, "SELECT source, cursor, updated_at, run_id FROM ingest_state")}
        pubs = {r["source"]: r["n"] for r in _dicts(con, "SELECT source, count(*) AS n FROM publications GROUP BY source")}
        has_jobs = "job_runs" in tables
        job_state = ({r["source"]: r for r in _dicts(con, "SELECT source, state, updated_at FROM job_state")}
                     if has_jobs else {})
        names = list(dict.fromkeys([*(INGEST_SOURCE.get(c, c) for c in configured), *sorted(runs), *sorted(cursors)]))
        by_ingest = {INGEST_SOURCE.get(c, c): c for c in configured}
        for name in names:
            if name in ("odp-load",):
                continue
            r = runs.get(name, {})
            cur = cursors.get(name)
            cursor: Any = None
            if cur and cur["cursor"]:
                try:
                    cursor = _summary(json.loads(cur["cursor"]))
                except ValueError:
                    cursor = cur["cursor"][:200]
            conf = by_ingest.get(name)
            js = job_state.get(conf) if conf else None
            state: Any = None
            if js:
                try:
                    state = _summary(json.loads(js["state"]))
                except ValueError:
                    state = None
            last_ok = r.get("last_ok_at")
            running = r.get("last_status") == "running"
            out["sources"].append({
                "source": name, "configured_as": conf,
                "last_ok_at": last_ok, "age_seconds": (now - last_ok).total_seconds() if last_ok else None,
                "last_ok_run": r.get("last_ok_run"), "last_ok_rows_loaded": r.get("last_ok_rows_loaded"),
                "last_run": r.get("last_run"),
                "last_status": ("running" if lock["held"] else "interrupted") if running else r.get("last_status"),
                "last_started_at": r.get("last_started_at"), "runs": r.get("runs", 0), "failed_runs": r.get("failed_runs", 0),
                "publications": pubs.get(name, 0), "cursor": cursor,
                "cursor_updated_at": cur["updated_at"] if cur else None, "job_state": state,
            })
        fails: list[dict[str, Any]] = []
        linked: set[int] = set()
        if has_jobs:
            jobs = _dicts(con, "SELECT * FROM job_runs ORDER BY job_id DESC LIMIT 1")
            if jobs:
                job = jobs[0]
                if job["status"] == "running" and not lock["held"]:
                    job["status"] = "interrupted"
                job["steps"] = _dicts(con, "SELECT step, status, started_at, finished_at, rows_read, rows_loaded, "
                                           "rows_rejected, window_from, window_to, error, error_kind, run_ids "
                                           "FROM job_steps WHERE job_id = $j ORDER BY seq", {"j": job["job_id"]})
                out["last_job"] = job
            for r in _dicts(con, "SELECT run_ids FROM job_steps WHERE run_ids IS NOT NULL"):
                linked.update(int(x) for x in r["run_ids"] or [])
            fails += [{"at": r["failed_at"], "source": r["step"], "job_id": r["job_id"], "run_id": None, "kind": r["error_kind"],
                       "message": r["error"]}
                      for r in _dicts(con, "SELECT job_id, step, coalesce(finished_at, started_at) AS failed_at, error, error_kind "
                                           "FROM job_steps WHERE status = 'failed' ORDER BY failed_at DESC LIMIT $n", {"n": failures})]
        interrupted = "" if lock["held"] else " OR status = 'running'"
        for r in _dicts(con, f"SELECT run_id, source, coalesce(finished_at, started_at) AS failed_at, status, message "
                             f"FROM ingest_runs WHERE status = 'failed'{interrupted} ORDER BY failed_at DESC LIMIT $n",
                        {"n": failures}):
            if r["run_id"] in linked and has_jobs:
                continue
            fails.append({"at": r["failed_at"], "source": r["source"], "job_id": None, "run_id": r["run_id"],
                          "kind": "interrupted" if r["status"] == "running" else "failed",
                          "message": r["message"] or ("the process ended during this run (killed?)"
                                                      if r["status"] == "running" else None)})
        fails.sort(key=lambda f: f["at"] or dt.datetime.min, reverse=True)
        out["recent_failures"] = fails[:failures]
    return out
