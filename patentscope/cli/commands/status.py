"""``patentscope status``: freshness per source, the last job, recent failures, the writer lock
(the library part is :mod:`patentscope.status`; this module prints it).

Read-only: the warehouse is opened read-only (waiting like every reader while a writer has the
file open) and the lock file ``<warehouse>.lock`` is only probed with a shared, non-blocking
``flock`` that is released at once, so a status check never delays a writer.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from ...ingest.registry import INGEST_SOURCE
from ...status import collect, lock_info
from ..output import _json_default

__all__ = ["INGEST_SOURCE", "collect", "lock_info", "register"]


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 2 * 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def _fmt_time(v: Any) -> str:
    return v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, dt.datetime) else "-" if v is None else str(v)


def _text(st: dict[str, Any]) -> list[str]:
    lines = []
    size = st.get("size_bytes")
    lines.append(f"warehouse   {st['warehouse']}" + (f" ({size / 1e6:.1f} MB)" if size else ""))
    conf = st.get("config") or {}
    if conf.get("file"):
        lines.append(f"config      {conf['file']}" + (f"  (error: {conf['error']})" if conf.get("error") else ""))
    lock = st["lock"]
    if lock["held"]:
        lines.append(f"writer      held by {lock['holder']}")
    else:
        lines.append("writer      free" + (f" (a killed writer left: {lock['stale']})" if lock.get("stale") else ""))
    job = st.get("last_job")
    if job:
        took = (job["finished_at"] - job["started_at"]).total_seconds() if job.get("finished_at") else None
        lines.append(f"last job    #{job['job_id']} {job['status']}, started {_fmt_time(job['started_at'])} UTC"
                     + (f", {took:.1f} s" if took is not None else "")
                     + (f", exit {job['exit_code']}" if job.get("exit_code") is not None else ""))
        for s in job.get("steps", []):
            win = f" window {s['window_from']}..{s['window_to']}" if s.get("window_from") else ""
            err = f": {s['error']}" if s.get("error") else ""
            lines.append(f"              {s['step']:<11} {s['status']:<8} loaded {s['rows_loaded'] or 0:,}{win}{err}")
    if st.get("note"):
        lines.append(st["note"])
    if st["sources"]:
        lines.append("")
        header = f"{'source':<11} {'config':<11} {'last ok (UTC)':<19} {'age':>5}  {'last run':<16} {'pubs':>7}  cursor"
        lines.append(header)
        lines.append("-" * len(header))
        for s in st["sources"]:
            cur = s["cursor"]
            cur_text = ", ".join(f"{k}={v}" for k, v in cur.items()) if isinstance(cur, dict) else str(cur or "-")
            last = f"#{s['last_run']} {s['last_status']}" if s.get("last_run") else "never"
            lines.append(f"{s['source']:<11} {s['configured_as'] or '-':<11} {_fmt_time(s['last_ok_at']):<19} "
                         f"{_age(s['age_seconds']):>5}  {last:<16} {s['publications']:>7,}  {cur_text[:90]}")
    if st["recent_failures"]:
        lines.append("")
        lines.append("recent failures")
        for f in st["recent_failures"]:
            ref = f"job {f['job_id']}" if f.get("job_id") else f"run {f['run_id']}"
            lines.append(f"  {_fmt_time(f['at'])}  {f['source']:<11} {ref:<8} {f['kind'] or '':<11} {(f['message'] or '')[:160]}")
    return lines


def register(main: click.Group) -> None:
    @main.command("status")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
    @click.option("--failures", type=click.IntRange(0, 1000), default=10, show_default=True,
                  help="How many recent failures to list.")
    @click.pass_obj
    def status_cmd(obj: Any, as_json: bool, failures: int) -> None:
        """Freshness per source, the last `ingest --all` job, recent failures and the writer lock.

        Read-only: it never takes the writer lock and opens the warehouse read-only. Times are UTC.
        A run still marked 'running' while no writer holds the lock was interrupted (killed).

        \b
        Examples:
          patentscope status
          patentscope status --json | jq '.sources[] | {source, age_seconds}'
        """
        from ...config import Settings
        from ...errors import ConfigError
        from ...jobs import load_plan

        settings: Settings = obj.settings
        conf: dict[str, Any] = {"file": str(settings.config_file) if settings.config_file else None, "sources": []}
        if settings.config_file is not None:
            try:
                conf["sources"] = [s.name for s in load_plan(settings).sources]
            except ConfigError as e:
                conf["error"] = str(e)
        st = collect(Path(settings.warehouse), conf, failures=failures)
        from ...redact import scrub  # no secret in status output

        if as_json:
            click.echo(scrub(json.dumps(st, default=_json_default, indent=1)))
        else:
            for line in _text(st):
                click.echo(scrub(line))
