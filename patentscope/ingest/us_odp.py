"""Ingest from the USPTO ODP Patent File Wrapper API: fetch (or replay) -> land -> normalize -> save.

Two ways in, one normalize/save path:

- :func:`ingest_odp_live` searches the landscape's applications filed in a date window (by
  default since the loaded bulk release's last grant date), page by page. Each page is saved in
  one transaction together with its raw payloads and the cursor (slice and offset), so a run
  that is killed resumes at the page it was on, and re-running gives the rows of a clean run.
  Search hits are full records; an assignment section missing from a record is fetched with
  one extra request. Hits that the landscape definition does not match are not kept.
- :func:`replay_odp` reads saved payloads (one JSON file or a folder of them: search pages, full
  records or single sections such as continuity, adjustment, transactions, assignment) and
  saves them the same way, with no network. Sections of one application spread over several
  files are merged by application number.

Rows keyed by publication (publications, parties, classifications, legal_events with fee
payments, lapses and terminal disclaimers, term_inputs with the earliest US filing date and PTA)
are written when the record shows a patent or publication number (or the warehouse already knows
the application's patent); the application-keyed tables of migration 0007 keep every record,
and every assignment of a record is an ``ownership_events`` row (migration 0019, replaced per
application like them; normalize/assignments.py classifies the conveyance).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from ..errors import ConfigError, InputError, RowError
from ..landscape import Landscape
from ..landscape.odp import odp_query
from ..normalize.batch import Batch, Row
from ..normalize.uspto_odp import (
    SOURCE,
    Application,
    UsRows,
    classify_payload,
    merge_applications,
    number_from_request,
    parse_application,
    to_rows,
)
from ..sources.uspto_odp import OdpClient, iter_pages, plan_slices
from ..warehouse import save as wsave
from ..warehouse.connection import register, writer_lock
from ..warehouse.toolkit import recorded_run, writer
from . import IngestResult, Log
from .registry import Option

if TYPE_CHECKING:
    from ..jobs import Job, StepResult

LIVE_STATE = "odp"          # ingest_state key of the live search
LOAD_STATE = "odp-load"     # ingest_state key of the last replay
US_TABLES = {"us_applications": "applications", "us_application_events": "events", "us_continuity": "continuity",
             "ownership_events": "ownership"}


# --------------------------------------------------------------------------------------------
# landing


def land_bytes(content: bytes, *, request: str, content_type: str | None, fetched_at: dt.datetime,
               raw_dir: Path | None, suffix: str = ".json") -> Row:
    """Keep a payload under ``raw_dir/odp/<sha256>.json`` and describe it for ``raw_landing``."""
    sha = hashlib.sha256(content).hexdigest()
    stored = None
    if raw_dir is not None:
        dest = raw_dir / SOURCE / f"{sha}{suffix}"
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_suffix(dest.suffix + ".part")
            tmp.write_bytes(content)
            tmp.replace(dest)
        stored = str(dest)
    return {"payload_sha256": sha, "source": SOURCE, "request": request, "fetched_at": fetched_at,
            "content_type": content_type or "application/json", "byte_size": len(content), "stored_path": stored,
            "run_id": None}


# --------------------------------------------------------------------------------------------
# saving: save_batch's transaction plus the application-keyed tables


def save_odp(con: duckdb.DuckDBPyConnection, batch: Batch, us: UsRows, *, run_id: int, state_key: str,
             cursor: dict[str, Any] | None, landing: list[Row]) -> dict[str, int]:
    """One transaction: the batch exactly as :func:`warehouse.save.save_batch` writes it (child
    rows of the batch's publications replaced, publications upserted with source precedence,
    quarantine, landing), the application-keyed rows replaced per application, and the cursor."""
    source = batch.source
    apps = us.application_numbers()
    for r in landing:
        r["run_id"] = run_id

    def us_tables(con: duckdb.DuckDBPyConnection) -> None:
        if apps:
            register(con, "_apps", pl.DataFrame({"a": apps}))
            try:
                for table in US_TABLES:
                    con.execute(f"DELETE FROM {table} WHERE source = $s AND application_number IN (SELECT a FROM _apps)",
                                {"s": source}).fetchall()
            finally:
                con.unregister("_apps")
        for table, attr in US_TABLES.items():
            wsave.insert_rows(con, table, getattr(us, attr))

    wsave.save_batch(con, batch, run_id=run_id, cursor=cursor, landing=landing, state_key=state_key, extra=us_tables)
    counts = batch.counts()
    counts.update({t: len(getattr(us, a)) for t, a in US_TABLES.items()})
    return counts


def resolve_keys(con: duckdb.DuckDBPyConnection, apps: Iterable[Application]) -> dict[str, str]:
    """pub_keys the warehouse already has for applications whose record shows no number
    (a US publication with the same application number, compared on digits only)."""
    wanted = {"".join(ch for ch in a.application_number if ch.isdigit()): a.application_number
              for a in apps if a.own_pub_key()[0] is None and a.application_number.isdigit()}
    if not wanted:
        return {}
    register(con, "_want", pl.DataFrame({"d": sorted(wanted)}))
    try:
        rows = con.execute(
            "SELECT d, min(pub_key), count(DISTINCT pub_key) FROM publications p JOIN _want w "
            "ON regexp_replace(p.application_number, '[^0-9]', '', 'g') = w.d WHERE p.country = 'US' GROUP BY d").fetchall()
    finally:
        con.unregister("_want")
    return {wanted[d]: key for d, key, n in rows if n == 1}


def keep_known_kinds(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """ODP shows no kind code for a grant; keep the kind another source already gave the row."""
    missing = [p["pub_key"] for p in batch.publications if p.get("kind") is None]
    if not missing:
        return
    register(con, "_k", pl.DataFrame({"k": missing}))
    try:
        rows = con.execute("SELECT pub_key, pub_number, kind, kinds_seen FROM publications JOIN _k ON pub_key = k "
                           "WHERE kind IS NOT NULL").fetchall()
    finally:
        con.unregister("_k")
    known = {r[0]: r[1:] for r in rows}
    for p in batch.publications:
        if p["pub_key"] in known and p.get("kind") is None:
            p["pub_number"], p["kind"], p["kinds_seen"] = known[p["pub_key"]]


def _state(con: duckdb.DuckDBPyConnection, key: str) -> dict[str, Any] | None:
    return wsave.read_cursor(con, key)


# --------------------------------------------------------------------------------------------
# replay


def payload_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*.json") if p.is_file())
    raise InputError(f"{path}: no such file or folder of saved ODP payloads")


def replay_odp(warehouse: Path, path: Path, landscape: Landscape, *, command: str, raw_dir: Path | None = None,
               log: Log = lambda _m: None) -> IngestResult:
    """Load saved ODP payloads (a file or a folder of ``*.json``) through the live path's
    normalize and save, without the network."""
    files = payload_files(path)
    if not files:
        raise InputError(f"{path}: no *.json payloads found")
    apps: list[Application] = []
    rejected: list[RowError] = []
    landing: list[Row] = []
    kinds: dict[str, int] = {}
    for f in files:
        content = f.read_bytes()
        landing.append(land_bytes(content, request=str(f), content_type="application/json",
                                  fetched_at=dt.datetime.fromtimestamp(f.stat().st_mtime, dt.UTC).replace(tzinfo=None),
                                  raw_dir=raw_dir))
        try:
            body = json.loads(content) if content.strip() else None
        except ValueError as e:
            rejected.append(RowError(str(f), 1, f"not JSON ({e}); a truncated download?"))
            continue
        except RecursionError:  # a hostile payload nested too deeply for the parser
            rejected.append(RowError(str(f), 1, "JSON nested too deeply to read (a damaged or hostile payload)"))
            continue
        info = classify_payload(body)
        kinds[info.kind] = kinds.get(info.kind, 0) + 1
        if info.kind == "error":
            log(f"{f.name}: an ODP error body ({info.error_code or ''} {info.message}); nothing to load")
        elif info.kind == "no_hits":
            log(f"{f.name}: ODP found no records ({info.message}); nothing to load")
        for rec in info.records if info.kind == "applications" else []:
            app = parse_application(rec, number_from_request(f.name))
            if app is None:
                rejected.append(RowError(str(f), 1, "a record without applicationNumberText (a 2024 beta section "
                                         "payload?); name the file ..._applications_<number>_<section>.json to load it"))
            else:
                apps.append(app)
    merged = merge_applications(apps)
    log(f"read {len(files)} payload file(s) ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}): "
        f"{len(merged)} application(s)")
    with writer(warehouse, log=log) as con, recorded_run(con, SOURCE, command) as run:
        run_id, run.read = run.run_id, len(files)
        keys = resolve_keys(con, merged.values())
        batch, us = to_rows(merged.values(), landscape, keys=keys, run_id=run_id)
        batch.rejected.extend(rejected)
        keep_known_kinds(con, batch)
        cursor = {"mode": "load", "path": str(path), "files": {str(r["request"]): r["payload_sha256"] for r in landing}}
        counts = save_odp(con, batch, us, run_id=run_id, state_key=LOAD_STATE, cursor=cursor, landing=landing)
        run.loaded, run.rejected = sum(counts.values()), len(rejected)
        run.message = f"{len(rejected)} payload problem(s)" if rejected else None
    unkeyed = sum(1 for r in us.applications if r["pub_key"] is None)
    log(f"saved {len(us.applications)} application(s), {counts['publications']} publication(s), "
        f"{counts['legal_events']} legal event(s), {counts['term_inputs']} term input row(s)"
        + (f"; {unkeyed} application(s) show no patent or publication number and are kept in us_applications only"
           if unkeyed else ""))
    return IngestResult(run_id, len(files), counts, rejected)


# --------------------------------------------------------------------------------------------
# live


def default_since(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The last grant date of the loaded bulk release (its cursor), if any."""
    cur = _state(con, "bulk")
    value = (cur or {}).get("counts", {}).get("max_grant_date")
    return dt.date.fromisoformat(value) if value else None


def ingest_odp_live(
    warehouse: Path,
    landscape: Landscape,
    client: OdpClient,
    *,
    command: str,
    since: dt.date | None = None,
    until: dt.date | None = None,
    query: str | None = None,
    page_size: int = 25,
    raw_dir: Path | None = None,
    log: Log = lambda _m: None,
) -> IngestResult:
    """Search the landscape's applications filed in [since, until] and save them page by page."""
    q = query or odp_query(landscape)
    q_sha = hashlib.sha256(q.encode()).hexdigest()[:16]
    totals: dict[str, int] = {}
    pages = 0
    # The single-writer lock is held for the whole run, but the DuckDB file is opened only for
    # the saves, so readers (sql, query, report) get in while pages are being fetched.
    with writer_lock(warehouse, command=command):
        with writer(warehouse, log=log) as con:
            since = since or default_since(con)
            if since is None:
                raise ConfigError("no bulk release is loaded to start from; pass --since YYYY-MM-DD (filing dates from)")
            until = until or client.clock.now().date()
            prev = _state(con, LIVE_STATE)
        resume = (prev if prev and not prev.get("done") and prev.get("since") == since.isoformat()
                  and prev.get("until") == until.isoformat() and prev.get("query_sha") == q_sha else None)
        with recorded_run(warehouse, SOURCE, command) as run:
            run_id = run.run_id
            slices = plan_slices(client, q, since, until, log=log)
            total = sum(n for _, _, n in slices)
            log(f"run {run_id}: {total} application(s) filed {since}..{until} match the query, in {len(slices)} slice(s)"
                + (f"; resuming at {resume['slice']} offset {resume['offset']}" if resume else ""))
            done_before = dt.date.fromisoformat(resume["slice"][0]) if resume else None
            for lo, hi, n in slices:
                if done_before and hi < done_before:
                    continue
                start = resume["offset"] if resume and resume["slice"] == [lo.isoformat(), hi.isoformat()] else 0
                for page in iter_pages(client, q, lo, hi, n, start=start, limit=page_size, log=log):
                    pages += 1
                    run.read = pages
                    landing = [land_bytes(page.fetched.content, request=page.fetched.request,
                                          content_type=page.fetched.content_type, fetched_at=page.fetched.fetched_at.replace(tzinfo=None),
                                          raw_dir=raw_dir)]
                    apps = [a for a in (parse_application(r) for r in page.records) if a is not None]
                    kept = [a for a in apps if landscape.match(a.cpc, a.title) is not None]
                    parts: list[Application] = []
                    for a in kept:
                        if "assignments" not in a.parts:
                            f = client.application(a.application_number, "assignment")
                            landing.append(land_bytes(f.content, request=f.request, content_type=f.content_type,
                                                      fetched_at=f.fetched_at.replace(tzinfo=None), raw_dir=raw_dir))
                            info = classify_payload(f.json(), f.status)
                            parts.extend(x for x in (parse_application(r, a.application_number) for r in info.records
                                                     if info.kind == "applications") if x is not None)
                    merged = merge_applications([*kept, *parts])
                    cursor = {"since": since.isoformat(), "until": until.isoformat(), "query_sha": q_sha,
                              "slice": [lo.isoformat(), hi.isoformat()], "offset": page.next_offset, "done": False}
                    with writer(warehouse, migrate=False) as con:
                        keys = resolve_keys(con, merged.values())
                        batch, us = to_rows(merged.values(), landscape, keys=keys, run_id=run_id)
                        keep_known_kinds(con, batch)
                        counts = save_odp(con, batch, us, run_id=run_id, state_key=LIVE_STATE, cursor=cursor, landing=landing)
                    for k, v in counts.items():
                        totals[k] = totals.get(k, 0) + v
                    log(f"  {lo}..{hi}: {min(page.next_offset, n)}/{n} read, {len(kept)} of {len(apps)} kept on this page")
            final = {"since": since.isoformat(), "until": until.isoformat(), "query_sha": q_sha, "done": True,
                     "completed_at": client.clock.now().isoformat(), "slices": len(slices)}
            with writer(warehouse, migrate=False) as con:
                save_odp(con, Batch(source=SOURCE), UsRows(), run_id=run_id, state_key=LIVE_STATE, cursor=final, landing=[])
            run.loaded = sum(totals.values())
    return IngestResult(run_id, pages, totals, [])


# ------------------------------------------------------------------------------------------------
# as a source of `ingest --all` (patentscope/ingest/registry.py)

DEFAULT_OVERLAP_DAYS = 548  # ODP: applications become visible when published, ~18 months after filing

OPTIONS: dict[str, Option] = {
    "since": Option("date", None, help="first filing date searched on the first run (default: the bulk release's last grant date)"),
    "overlap_days": Option("int", DEFAULT_OVERLAP_DAYS, lo=0, hi=3650),
    "page_size": Option("int", 25, lo=1, hi=100),
    "query": Option("str", None),
    "base_url": Option("str", None),
}


def run(job: Job, opts: dict[str, Any], res: StepResult) -> None:
    from ..sources.uspto_odp import BASE_URL, OdpClient

    lo, hi, state = job.window("uspto_odp", opts, res.bulk_since, res)
    if lo is None:
        raise ConfigError("[sources.uspto_odp]: no bulk release is loaded to start from; set since = \"YYYY-MM-DD\" "
                          "(first filing date to search) in patentscope.toml")
    res.window = (lo, hi)
    odp_log = job.log.ingestor("uspto_odp")
    kwargs: dict[str, Any] = {"base_url": opts["base_url"] or BASE_URL,
                              "on_retry": lambda reason, wait: odp_log(f"ODP: {reason}; waiting {wait:.0f} s")}
    if "uspto_odp" in job.transports:
        kwargs["transport"] = job.transports["uspto_odp"]
    if job.clock is not None:
        kwargs["clock"] = job.clock
    client = OdpClient(**kwargs)  # ConfigError naming USPTO_ODP_API_KEY when unset
    job.save_state("uspto_odp", {**state, "window": [lo.isoformat(), hi.isoformat()], "landscape": job.land_fp})
    with client:
        out = ingest_odp_live(job.warehouse, job.land, client, command=job.cmd("uspto_odp", f"{lo}..{hi}"),
                                     since=lo, until=hi, query=opts["query"], page_size=opts["page_size"],
                                     raw_dir=job.raw_dir, log=odp_log)
    res.add(out)
    res.new_state = {"done_to": hi.isoformat(), "window": None, "landscape": job.land_fp,
                     "last_window": [lo.isoformat(), hi.isoformat()]}
