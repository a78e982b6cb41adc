"""EPO OPS ingest: search -> fetch -> land raw -> normalize -> save, resumable at every step.

A run has two phases, both recorded in the ``ops`` cursor (``ingest_state``), which is written
in the same transaction as the raw-landing rows and the publication rows of each step:

1. **search**: each CQL query (built from the landscape by :func:`build_queries`, or given)
   is run over date windows of publication date. The first page of a window tells how many
   results it has; above OPS's 2,000-result cap the window is split in two (by years, then by
   days) and the halves are queued; the split is logged and kept in the cursor. Pages of at
   most 100 results (``Range``) are read until the window is done. The cursor holds the queue of
   windows, the finished ones, the current window with the next ``Range`` position, and the
   hits found so far (docdb numbers with their DOCDB family ids).
2. **fetch**: the hits, grouped by publication and cut into steps of ``group_size``
   publications, are fetched step by step: one bulk ``biblio`` request for the step's
   documents, one ``family`` request per DOCDB family, one ``legal`` request per publication.
   Each step is normalized into one Batch and saved in one transaction with its raw payloads
   and the cursor (``next_group``).

A quota stop (403 ``RegisteredQuotaPerWeek`` ...), a service that stays black, a network
failure or a kill leaves the warehouse at the end of the last saved step; running the same
command again resumes from there. A run whose cursor says it is done starts over (same
rows: upserts on natural keys). ``--load`` replays saved OPS responses through the same
normalize/save path without a network.

Rows are never degraded: a publication that already has full OPS rows (bibliographic data) is
not overwritten by a minimal row (from a search hit or a family member); see ``_guard``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ..errors import InputError, PermanentSourceError, RowError, SourceError, TransientSourceError
from ..landscape import Landscape
from ..landscape.cql import build_queries, date_term
from ..normalize import epo_ops as nops
from ..normalize.batch import Batch, Row
from ..normalize.numbers import kind_rank
from ..sources.epo_ops import (
    MAX_BULK,
    MAX_RANGE,
    RESULT_CAP,
    OpsClient,
    OpsError,
    OpsRejectedError,
    OpsResponse,
    OpsUnavailableError,
    docdb_input,
)
from ..warehouse.connection import writer_lock
from ..warehouse.save import now, read_cursor, save_batch
from ..warehouse.toolkit import recorded_run, writer
from . import IngestResult, Log, save_as_run
from .registry import Option

if TYPE_CHECKING:
    from ..jobs import Job, StepResult

SOURCE = "ops"
CURSOR_VERSION = 1


class OpsStopped(SourceError):
    """The run stopped before the end (quota, black light, network); the position is saved.
    Raised as one of the two subclasses, after the class of the failure that stopped it."""


class OpsStoppedTransient(OpsStopped, TransientSourceError):
    """Stopped by a failure that may pass (network, quota, throttling): run again later."""


class OpsStoppedPermanent(OpsStopped, PermanentSourceError):
    """Stopped by a failure that repeating cannot cure (OPS refused the request)."""



@dataclass
class OpsOptions:
    queries: list[str] | None = None   # CQL parts; None = built from the landscape
    page_size: int = MAX_RANGE         # results per search request (<= 100)
    cap: int = RESULT_CAP              # results OPS serves per query
    group_size: int = 20               # publications per fetch step
    family: bool = True
    legal: bool = True
    restart: bool = False
    low: bool = True                   # cpc=/low: a code covers its subdivisions


@dataclass
class OpsIngestResult(IngestResult):
    complete: bool = False
    hits: int = 0
    steps_done: int = 0
    steps: int = 0
    splits: list[str] = field(default_factory=list)


def split_window(lo: dt.date, hi: dt.date) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]] | None:
    """Two halves of a date window: by whole years while it spans years, then by days."""
    if hi.year > lo.year and lo.month == 1 and lo.day == 1:
        mid = (lo.year + hi.year) // 2
        return (lo, dt.date(mid, 12, 31)), (dt.date(mid + 1, 1, 1), hi)
    if hi > lo:
        mid_day = lo + (hi - lo) // 2
        return (lo, mid_day), (mid_day + dt.timedelta(days=1), hi)
    return None


# ------------------------------------------------------------------------------------------------
# landing and saving


def land_payload(content: bytes, request: str, content_type: str | None, raw_dir: Path | None, run_id: int) -> Row:
    """Keep a response body under ``raw_dir/ops/<sha256>.xml`` and describe it for raw_landing."""
    sha = hashlib.sha256(content).hexdigest()
    stored = None
    if raw_dir is not None:
        dest = raw_dir / SOURCE / f"{sha}.xml"
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_suffix(".xml.part")
            tmp.write_bytes(content)
            tmp.replace(dest)
        stored = str(dest)
    return {"payload_sha256": sha, "source": SOURCE, "request": request, "fetched_at": now(),
            "content_type": content_type or "application/xml", "byte_size": len(content), "stored_path": stored,
            "run_id": run_id}


def _guard(con: duckdb.DuckDBPyConnection, batch: Batch, log: Log) -> Batch:
    """Drop minimal rows (no bibliographic data) of publications that already have full OPS rows."""
    keys = nops.minimal_keys(batch)
    if not keys:
        return batch
    # a join on the unnested keys (hashed), not list_contains per row: linear in rows + keys
    full = {r[0] for r in con.execute(
        "SELECT DISTINCT f.pub_key FROM field_values f JOIN (SELECT unnest($keys) AS k) q ON f.pub_key = q.k "
        "WHERE f.source = 'ops' AND f.field = 'ops_biblio'", {"keys": sorted(keys)}).fetchall()}
    if full:
        log(f"ops: kept the full rows of {len(full)} publication(s) seen here only as search hit or family member")
    return nops.without(batch, full)


def _save(warehouse: Path, batch: Batch, *, run_id: int, cursor: dict[str, Any] | None, landing: list[Row],
          log: Log) -> dict[str, int]:
    with writer(warehouse, migrate=False) as con:
        return save_batch(con, _guard(con, batch, log), run_id=run_id, cursor=cursor, landing=landing)


def _read_cursor(warehouse: Path) -> dict[str, Any] | None:
    with writer(warehouse) as con:
        return read_cursor(con, SOURCE, version=CURSOR_VERSION)


# ------------------------------------------------------------------------------------------------
# the network run


def _query_hash(queries: list[str], landscape: Landscape, options: OpsOptions) -> str:
    spec = {"queries": queries, "from": landscape.date_from.isoformat(), "to": landscape.date_to.isoformat(),
            "offices": list(landscape.offices), "page_size": options.page_size, "cap": options.cap,
            "group_size": options.group_size, "family": options.family, "legal": options.legal}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _new_state(queries: list[str], qhash: str, lo: dt.date, hi: dt.date) -> dict[str, Any]:
    return {"version": CURSOR_VERSION, "query_hash": qhash, "queries": queries, "phase": "search",
            "pending": [[i, lo.isoformat(), hi.isoformat()] for i in range(len(queries))],
            "current": None, "finished": [], "splits": [], "capped": [], "hits": [], "next_group": 0, "groups": 0}


def _groups(hits: list[list[str]], size: int) -> list[list[nops.SearchHit]]:
    """Hits grouped by publication (all kinds of one number together), cut into steps."""
    by_key: dict[str, list[nops.SearchHit]] = {}
    for docdb, fam in hits:
        cc, num, *kind = docdb.split(".")
        doc = nops.DocNumber(cc, num, kind[0] if kind else None)
        by_key.setdefault(doc.pub_key, []).append(nops.SearchHit(doc, fam or None))
    def family_of(k: str) -> str:
        return next((h.family_id for h in by_key[k] if h.family_id), None) or f"PUB:{k}"

    keys = sorted(by_key, key=lambda k: (family_of(k), k))  # one family's hits side by side
    steps: list[list[nops.SearchHit]] = []
    current: list[nops.SearchHit] = []
    count = 0
    for k in keys:
        docs = by_key[k]
        if count >= size or len(current) + len(docs) > MAX_BULK:
            steps.append(current)
            current, count = [], 0
        current.extend(docs)
        count += 1
    if current:
        steps.append(current)
    return steps


def _parse(resp: OpsResponse, rejected: list[RowError]) -> nops.ParsedOps | None:
    try:
        return nops.parse_document(resp.content, resp.url)
    except RowError as e:
        rejected.append(e)
        return None


def _search_step(client: OpsClient, state: dict[str, Any], options: OpsOptions, landscape: Landscape,
                 log: Log) -> OpsResponse | None:
    """Fetch one search page of the current window (starting the next window when needed)."""
    cur = state["current"]
    if cur is None:
        part, lo, hi = state["pending"].pop(0)
        cur = state["current"] = {"part": part, "from": lo, "to": hi, "next": 1, "total": None}
    lo_d, hi_d = dt.date.fromisoformat(cur["from"]), dt.date.fromisoformat(cur["to"])
    cql = f"({state['queries'][cur['part']]}) and {date_term(lo_d, hi_d)}"
    begin = cur["next"]
    end = begin + options.page_size - 1
    if cur["total"] is not None:
        end = min(end, cur["total"])
    resp = client.search(cql, begin, end)
    label = f"query {cur['part'] + 1} window {cur['from']}..{cur['to']}"
    key = f"{cur['part']}:{cur['from']}:{cur['to']}"
    if resp is None:  # 404: no results
        state["finished"].append(key)
        state["current"] = None
        return None
    try:
        parsed = nops.parse_document(resp.content, resp.url)
    except RowError as e:  # still malformed after the retries: stop, resumable
        raise OpsUnavailableError(f"EPO OPS sent a malformed search page ({label}): {e.reason}") from None
    page = parsed.search
    if page is None:
        raise OpsRejectedError(f"EPO OPS answered a search ({label}) with a {parsed.kind} document: {parsed.fault or ''}")
    if cur["total"] is None:
        total = page.total
        if total > options.cap:
            halves = split_window(lo_d, hi_d)
            if halves is not None:
                note = (f"{label} has {total} results, more than the {options.cap} OPS serves: split into "
                        f"{halves[0][0]}..{halves[0][1]} and {halves[1][0]}..{halves[1][1]}")
                log(f"ops: {note}")
                state["splits"].append(note)
                state["pending"][:0] = [[cur["part"], h[0].isoformat(), h[1].isoformat()] for h in halves]
                state["current"] = None
                return resp
            note = f"{label} has {total} results in a single day; only the first {options.cap} are reachable"
            log(f"ops: warning: {note}")
            state["capped"].append(note)
            total = options.cap
        cur["total"] = total
    seen = {h[0] for h in state["hits"]}
    offices = set(landscape.offices)
    for h in page.hits:
        if offices and h.doc.country not in offices:
            continue
        if h.doc.docdb not in seen:
            seen.add(h.doc.docdb)
            state["hits"].append([h.doc.docdb, h.family_id or ""])
    cur["next"] = max(end, page.end) + 1
    if cur["next"] > min(cur["total"], options.cap) or not page.hits:
        state["finished"].append(key)
        state["current"] = None
    return resp


LARGE_FAMILY = 500  # a family response with this many members gets a progress line before it is normalized


def _fetch_step(client: OpsClient, hits: list[nops.SearchHit], options: OpsOptions, landscape: Landscape,
                run_id: int, raw_dir: Path | None, log: Log = lambda _m: None) -> tuple[Batch, list[Row]]:
    """Biblio, family and legal data of one step's publications -> (Batch, landing rows)."""
    landing: list[Row] = []
    rejected: list[RowError] = []
    parsed: list[nops.ParsedOps] = [nops.ParsedOps(
        "search hits", "search", search=nops.SearchPage("", len(hits), 1, len(hits), list(hits)))]

    def take(resp: OpsResponse | None) -> None:
        if resp is None:
            return
        landing.append(land_payload(resp.content, resp.request, resp.content_type, raw_dir, run_id))
        p = _parse(resp, rejected)
        if p is not None:
            parsed.append(p)

    numbers = [docdb_input(h.doc.country, h.doc.number, h.doc.kind) for h in hits]
    for i in range(0, len(numbers), MAX_BULK):
        take(client.biblio(numbers[i:i + MAX_BULK]))
    by_key: dict[str, list[nops.SearchHit]] = {}
    for h in hits:
        by_key.setdefault(h.doc.pub_key, []).append(h)
    if options.family:
        asked: set[str] = set()
        for key in sorted(by_key):
            rep = min(by_key[key], key=lambda h: kind_rank(h.doc.kind))
            fam = rep.family_id or f"PUB:{key}"
            if fam in asked:
                continue
            asked.add(fam)
            take(client.family(rep.doc.docdb))
    if options.legal:
        for key in sorted(by_key):
            rep = min(by_key[key], key=lambda h: kind_rank(h.doc.kind))
            take(client.legal(rep.doc.docdb))
    families = [len(p.family.members) for p in parsed if p.family is not None]
    if sum(families) >= LARGE_FAMILY:
        log(f"ops: normalizing {len(families)} family response(s) with {sum(families):,} members "
            "(large families take longer)")
    batch = nops.build_batch(parsed, landscape, legal_keys=set(by_key))
    batch.rejected = rejected + batch.rejected
    return batch, landing


def ingest_ops(
    warehouse: Path,
    landscape: Landscape,
    client: OpsClient,
    *,
    options: OpsOptions | None = None,
    command: str = "patentscope ingest ops",
    raw_dir: Path | None = None,
    log: Log = lambda _m: None,
    today: dt.date | None = None,
) -> OpsIngestResult:
    """Search OPS for the landscape, fetch every hit's data and save it, resumably."""
    options = options or OpsOptions()
    if not 1 <= options.page_size <= MAX_RANGE:
        raise InputError(f"page size must be 1..{MAX_RANGE}")
    queries = list(options.queries) if options.queries else build_queries(landscape, low=options.low)
    with writer_lock(warehouse, command=command):  # the single writer for the whole job (re-entrant)
        return _ingest_ops(warehouse, landscape, client, options, queries, command, raw_dir, log, today)


def _ingest_ops(warehouse: Path, landscape: Landscape, client: OpsClient, options: OpsOptions, queries: list[str],
                command: str, raw_dir: Path | None, log: Log, today: dt.date | None) -> OpsIngestResult:
    qhash = _query_hash(queries, landscape, options)
    saved = _read_cursor(warehouse)  # also migrates the warehouse
    state = None if options.restart else saved
    if state is not None and (state.get("query_hash") != qhash or state.get("phase") == "done"):
        log("ops: the saved position belongs to " + ("a finished run" if state.get("phase") == "done" else
                                                      "another query") + "; starting from the beginning")
        state = None
    if state is None:
        end = min(landscape.date_to, today or client.clock.now().date())
        state = _new_state(queries, qhash, landscape.date_from, end)
    else:
        log(f"ops: resuming ({state['phase']}: {len(state['finished'])} window(s) done, {len(state['hits'])} hits, "
            f"step {state['next_group']} of {state['groups'] or '?'})")
    totals: dict[str, int] = {}
    rejected: list[RowError] = []
    read = 0
    with recorded_run(warehouse, SOURCE, command) as run:
        run_id = run.run_id

        def add(batch: Batch, counts: dict[str, int]) -> None:
            nonlocal read
            for k, v in counts.items():
                totals[k] = totals.get(k, 0) + v
            rejected.extend(batch.rejected)
            read += batch.rows_read
            run.read, run.loaded, run.rejected = read, sum(totals.values()), len(rejected)

        try:
            while state["phase"] == "search":
                landing = []
                if state["current"] is not None or state["pending"]:
                    resp = _search_step(client, state, options, landscape, log)
                    landing = [land_payload(resp.content, resp.request, resp.content_type, raw_dir, run_id)] if resp else []
                if state["current"] is None and not state["pending"]:
                    state["phase"] = "fetch"
                    state["groups"] = len(_groups(state["hits"], options.group_size))
                    log(f"ops: search done: {len(state['hits'])} hits in {len(state['finished'])} window(s); "
                        f"fetching in {state['groups']} step(s)")
                _save(warehouse, Batch(source=SOURCE), run_id=run_id, cursor=state, landing=landing, log=log)
            steps = _groups(state["hits"], options.group_size)
            state["groups"] = len(steps)
            if not steps:
                state["phase"] = "done"
                _save(warehouse, Batch(source=SOURCE), run_id=run_id, cursor=state, landing=[], log=log)
            for i in range(state["next_group"], len(steps)):
                batch, landing = _fetch_step(client, steps[i], options, landscape, run_id, raw_dir, log)
                state["next_group"] = i + 1
                if i + 1 == len(steps):
                    state["phase"] = "done"
                add(batch, _save(warehouse, batch, run_id=run_id, cursor=state, landing=landing, log=log))
                log(f"ops: step {i + 1}/{len(steps)}: {len(batch.publications)} publications, "
                    f"{len(batch.legal_events)} legal events")
        except OpsError as e:
            where = (f"{len(state['finished'])} search window(s) done" if state["phase"] == "search"
                     else f"step {state['next_group']} of {state['groups']} done")
            stopped = OpsStoppedTransient if isinstance(e, TransientSourceError) else OpsStoppedPermanent
            raise stopped(f"{e}. Stopped with {where}; the position is saved - run the same command again to resume"
                             ) from None
        run.message = f"{len(rejected)} responses or rows rejected" if rejected else None
    for bad in rejected:
        log(f"rejected {bad}")
    return OpsIngestResult(run_id, read, totals, rejected, complete=True, hits=len(state["hits"]),
                           steps_done=state["next_group"], steps=state["groups"], splits=list(state["splits"]))


# ------------------------------------------------------------------------------------------------
# --load: saved responses, no network


def ops_files(paths: Iterable[Path]) -> list[Path]:
    """Files given, with folders expanded to their ``*.xml`` files (sorted)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*.xml") if f.is_file()))
        elif p.is_file():
            out.append(p)
        else:
            raise InputError(f"{p}: no such file or folder")
    if not out:
        raise InputError("no OPS responses (*.xml) found in " + ", ".join(str(p) for p in paths))
    return out


def load_ops(
    warehouse: Path,
    paths: list[Path],
    landscape: Landscape,
    *,
    command: str = "patentscope ingest ops --load",
    raw_dir: Path | None = None,
    log: Log = lambda _m: None,
) -> IngestResult:
    """Replay saved OPS responses (files or folders) through the same normalize/save path."""
    files = ops_files(paths)
    parsed: list[nops.ParsedOps] = []
    rejected: list[RowError] = []
    payloads: list[tuple[Path, bytes]] = []
    for f in files:
        try:
            data = f.read_bytes()
        except OSError as e:
            raise InputError(f"cannot read {f}: {e.strerror}") from None
        payloads.append((f, data))
        try:
            p = nops.parse_document(data, f.name)
        except RowError as e:
            rejected.append(e)
            continue
        if p.kind == "fault":
            log(f"ops: {f.name} is an OPS fault ({p.fault[0] if p.fault else ''}: {p.fault[1] if p.fault else ''})")
        parsed.append(p)
    batch = nops.build_batch(parsed, landscape)
    batch.rejected = rejected + batch.rejected
    log(f"read {len(files)} OPS response(s): {len(batch.publications)} publications, "
        f"{len(batch.legal_events)} legal events, {len(batch.rejected)} rejected")
    return save_as_run(warehouse, batch, command=command, log=log,
                       landing=lambda run_id: [land_payload(data, str(f), "application/xml", raw_dir, run_id) for f, data in payloads],
                       prepare=lambda con, b: _guard(con, b, log), rejected_what="responses or rows rejected")


# ------------------------------------------------------------------------------------------------
# as a source of `ingest --all` (patentscope/ingest/registry.py)

DEFAULT_OVERLAP_DAYS = 30  # OPS: DOCDB loads publications of some offices days or weeks late

OPTIONS: dict[str, Option] = {
    "since": Option("date", None, help="first publication date searched on the first run (default: the landscape's from date)"),
    "overlap_days": Option("int", DEFAULT_OVERLAP_DAYS, lo=0, hi=3650),
    "queries": Option("strs", None, help="CQL queries instead of the ones built from the landscape"),
    "page_size": Option("int", 100, lo=1, hi=100),
    "group_size": Option("int", 20, lo=1, hi=100),
    "family": Option("bool", True),
    "legal": Option("bool", True),
    "base_url": Option("str", None),
}


def run(job: Job, opts: dict[str, Any], res: StepResult) -> None:
    from ..sources.epo_ops import OPS_BASE_URL, OpsClient

    lo, hi, state = job.window("ops", opts, job.land.date_from, res)
    assert lo is not None
    res.window = (lo, hi)
    kwargs: dict[str, Any] = {"base_url": opts["base_url"] or OPS_BASE_URL, "log": job.log.ingestor("ops")}
    if "ops" in job.transports:
        kwargs["transport"] = job.transports["ops"]
    if job.clock is not None:
        kwargs["clock"] = job.clock
    client = OpsClient.from_env(**kwargs)  # ConfigError naming both variables when unset
    job.save_state("ops", {**state, "window": [lo.isoformat(), hi.isoformat()], "landscape": job.land_fp})
    options = OpsOptions(queries=opts["queries"] or None, page_size=opts["page_size"], group_size=opts["group_size"],
                         family=opts["family"], legal=opts["legal"])
    with client:
        out = ingest_ops(job.warehouse, dataclasses.replace(job.land, date_from=lo), client, options=options,
                         command=job.cmd("ops", f"{lo}..{hi}"), raw_dir=job.raw_dir, log=job.log.ingestor("ops"),
                         today=hi)
    res.add(out)
    res.notes.append(f"{out.hits} hits, {out.steps_done}/{out.steps} steps")
    res.new_state = {"done_to": hi.isoformat(), "window": None, "landscape": job.land_fp,
                     "last_window": [lo.isoformat(), hi.isoformat()]}
