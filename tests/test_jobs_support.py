"""Support for the job tests and the fault suite (no tests here).

A multi-source `patentscope ingest --all` that runs offline, on recorded real data only:

- ``sample``: the embedded sample (147 real NdFeB patents transcribed from public pages);
- ``file``: the real Google Patents / Lens.org export rows in tests/fixtures/exports/;
- ``ops``: EPO OPS replayed through httpx.MockTransport by tests/test_ops_support.FakeOps from
  the real recorded OPS responses (tests/fixtures/epo_ops/PROVENANCE.md);
- ``uspto_odp``: the ODP Patent File Wrapper API replayed by :class:`FakeOdp` below from the real
  recorded ODP records (tests/fixtures/uspto_odp/PROVENANCE.md);
- ``maintfee``: the 11 real example rows of the edegan.com "Fee Table" page written into the
  documented 2018 fixed-width layout (the same derivation as tests/test_us_maintfee.py; no raw
  line of a real download exists in the collection).

The recorded ODP and OPS records are not magnets, so the job runs with a TEST landscape: the
built-in NdFeB landscape plus the core codes H01M and G11C7 that some recorded ODP records carry
(as tests/test_us_odp_client.py does). Nothing here invents a patent record.

Fault injection (:class:`Faults`) wraps each fake API in a transport that, from a seeded random
stream, answers with 429 (with a Retry-After in seconds or as an HTTP date, sometimes one too
long to wait, or without one), 5xx, raises timeouts and connection resets, or truncates a 2xx
body. In a child process (:func:`child_main`) it can also make saves fail with ENOSPC (inside the
batch's transaction) or cap the process's file size (RLIMIT_FSIZE: DuckDB's own writes then
fail with EFBIG, a real I/O error), and the parent can SIGKILL the child at a random moment.
Every injected fault is appended to a report file as it happens, so a killed child's faults
are counted too. Clocks are fake: back-off and Retry-After waits cost no real time.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import errno
import hashlib
import io
import json
import os
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
if str(TESTS) not in sys.path:  # the child process and benchmarks/fault_suite.py import from here
    sys.path.insert(0, str(TESTS))

from test_ops_support import FakeOps  # noqa: E402
from test_us_odp_client import FakeOdp as _FakeOdp  # noqa: E402
from test_us_odp_client import real_records  # noqa: E402

FIX = TESTS / "fixtures"
ODP = FIX / "uspto_odp" / "current"
V6 = ODP / "patent_client-v6-2025-02"
EXPORTS = FIX / "exports"
MAINTFEE_EXAMPLE = ODP / "maintfee" / "edegan_fee_table_example_rows.txt"

# Fake secrets: distinctive so a test can grep logs and files for them.
FAKE_ENV = {"EPO_OPS_KEY": "opskey-FAKE-5d1c9e", "EPO_OPS_SECRET": "opssecret-FAKE-a7f03b",
            "USPTO_ODP_API_KEY": "odpkey-FAKE-62be4d"}
TODAY = dt.date(2026, 1, 5)

# Tables that are run bookkeeping, not content (compared separately or not at all).
# centrality_runs is analyze's own run log (one row per centrality computation, keyed by run_id).
BOOKKEEPING_TABLES = {"ingest_runs", "ingest_state", "raw_landing", "schema_migrations", "job_runs", "job_steps", "job_state",
                      "centrality_runs"}
# Columns that are run bookkeeping in every table: ids of runs (and of cached segment models: a
# model refitted after a half-loaded run has id 2 where a clean run's has 1), where raw bytes were
# put, timings.
BOOKKEEPING_COLUMNS = {"run_id", "updated_run_id", "job_id", "model_id", "stored_path", "seconds"}


# ------------------------------------------------------------------------------------------------
# the offline sources


class FakeOdp(_FakeOdp):
    """The ODP fake of the client tests, serving the recorded records; the key must be FAKE_ENV's."""

    def __init__(self, *, max_page: int = 100):
        super().__init__(real_records(), max_page=max_page, key=FAKE_ENV["USPTO_ODP_API_KEY"])


def write_landscape(path: Path) -> Path:
    """The built-in NdFeB landscape plus H01M and G11C7 (TEST: codes of recorded ODP records)."""
    from importlib import resources

    from patentscope.landscape import DEFAULT_PATH
    text = resources.files("patentscope").joinpath(DEFAULT_PATH).read_text(encoding="utf-8")
    marker = '  "H01F41/0293",  # diffusion of rare earths into magnets (grain-boundary diffusion)\n'
    assert marker in text
    text = text.replace(marker, marker + '  "H01M", "G11C7",  # TEST ONLY: codes of the recorded (non-magnet) ODP records\n')
    text = text.replace('name = "NdFeB', 'name = "TEST (NdFeB + H01M/G11C7 for recorded ODP records): NdFeB', 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_maintfee(folder: Path, name: str = "MaintFeeEvents_20260105.txt") -> Path:
    """The 11 real edegan example rows in the documented 2018 layout (see tests/test_us_maintfee.py)."""
    from patentscope.normalize import maintfee as mf

    events = []
    for line in MAINTFEE_EXAMPLE.read_text(encoding="utf-8").splitlines()[2:]:
        p = [x.strip() for x in line.split("|")]
        events.append(mf.FeeEvent(p[0], p[0], p[1].rjust(8, "0"), p[2], dt.date.fromisoformat(p[3]),
                                  dt.date.fromisoformat(p[4]), dt.date.fromisoformat(p[5]), p[6]))
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / name
    out.write_text("\n".join(mf.format_line(e, mf.LAYOUT_2018) for e in events) + "\n", encoding="ascii")
    return out


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def write_config(folder: Path, sources: dict[str, dict[str, Any]], *, warehouse: str = "wh/patentscope.duckdb",
                 landscape: Path | None = None, jobs: dict[str, Any] | None = None) -> Path:
    lines = [f"warehouse = {toml_value(warehouse)}"]
    if landscape is not None:
        lines.append(f"landscape = {toml_value(str(landscape))}")
    if jobs:
        lines.append("[jobs]")
        lines += [f"{k} = {toml_value(v)}" for k, v in jobs.items()]
    for name, opts in sources.items():
        lines.append(f"[sources.{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in opts.items()]
    path = folder / "patentscope.toml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def suite_setup(folder: Path, *, sample: bool = True, ops_page: int = 3, ops_group: int = 2) -> Path:
    """A config with every offline source (inputs shared by every warehouse made from it)."""
    land = write_landscape(folder / "landscape-TEST.toml")
    mf = write_maintfee(folder / "maintfee")
    sources: dict[str, dict[str, Any]] = {}
    if sample:
        sources["sample"] = {}
    sources["file"] = {"paths": [str(EXPORTS / "*.csv")]}
    sources["ops"] = {"page_size": ops_page, "group_size": ops_group}
    sources["uspto_odp"] = {"since": "2000-01-01", "page_size": 2}
    sources["maintfee"] = {"file": str(mf.parent / "MaintFeeEvents_*.txt"), "all_patents": True}
    return write_config(folder, sources, landscape=land)


def settings_for(config: Path, warehouse: Path) -> Any:
    from patentscope.config import load_settings

    return load_settings(config=config, warehouse=warehouse)


# ------------------------------------------------------------------------------------------------
# faults


def _append(path: Path, record: dict[str, Any]) -> None:
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
    except OSError:  # under RLIMIT_FSIZE the report itself may be refused: the fault still happens
        pass


KINDS = ("429_retry_after", "429_no_retry_after", "5xx", "timeout", "reset", "truncated")


class Faults:
    """Seeded transport faults around the fake APIs. ``rate``: chance per request; ``storm``:
    chance per request that a burst of 3-8 consecutive faults of one kind starts (enough to
    exhaust the retry budget, so a source fails and the job ends partial)."""

    def __init__(self, seed: int, *, rate: float = 0.1, storm: float = 0.0, clock: Any = None,
                 report: Path | None = None):
        self.rng = random.Random(seed)
        self.rate = rate
        self.storm_p = storm
        self.clock = clock
        self.report = report
        self.counts: Counter[str] = Counter()
        self._storm_left = 0
        self._storm_kind = ""

    def record(self, kind: str, where: str) -> None:
        self.counts[kind] += 1
        if self.report is not None:
            _append(self.report, {"kind": kind, "where": where})

    def _pick(self) -> str | None:
        if self._storm_left > 0:
            self._storm_left -= 1
            return self._storm_kind
        if self.storm_p and self.rng.random() < self.storm_p:
            self._storm_kind = self.rng.choice(KINDS)
            self._storm_left = self.rng.randint(3, 8) - 1
            return self._storm_kind
        if self.rng.random() < self.rate:
            return self.rng.choice(KINDS)
        return None

    def _retry_after(self) -> str:
        r = self.rng.random()
        if r < 0.1:
            return "3600"  # longer than the client waits: returned as the answer, the source stops
        secs = self.rng.choice([1, 2, 5, 30, 120])
        if r < 0.4 and self.clock is not None:  # the HTTP-date form
            return email.utils.format_datetime(self.clock.now() + dt.timedelta(seconds=secs), usegmt=True)
        return str(secs)

    def wrap(self, name: str, handler: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            kind = self._pick()
            if kind is None:
                return handler(request)
            self.record(kind, name)
            if kind == "429_retry_after":
                return httpx.Response(429, headers={"Retry-After": self._retry_after()}, json={"message": "Too Many Requests"})
            if kind == "429_no_retry_after":
                return httpx.Response(429, headers={"x-amzn-errortype": "TooManyRequestsException"},
                                      json={"message": "Too Many Requests"})
            if kind == "5xx":
                return httpx.Response(self.rng.choice([500, 502, 503, 504]), text="injected server error")
            if kind == "timeout":
                raise httpx.ReadTimeout("injected read timeout", request=request)
            if kind == "reset":
                raise httpx.ReadError("[Errno 104] Connection reset by peer (injected)", request=request)
            resp = handler(request)  # truncated: the real answer cut short
            body = resp.read()
            if not 200 <= resp.status_code < 300 or len(body) < 2:
                return resp
            headers = {k: v for k, v in resp.headers.items() if k.lower() not in ("content-length", "content-encoding")}
            return httpx.Response(resp.status_code, headers=headers, content=body[: self.rng.randint(1, len(body) - 1)])
        return httpx.MockTransport(handle)


def transports(faults: Faults | None, ops: FakeOps | None = None, odp: FakeOdp | None = None) -> dict[str, Any]:
    ops = ops or FakeOps()
    odp = odp or FakeOdp()
    if faults is None:
        return {"ops": httpx.MockTransport(ops.handle), "uspto_odp": httpx.MockTransport(odp)}
    return {"ops": faults.wrap("ops", ops.handle), "uspto_odp": faults.wrap("uspto_odp", odp)}


def run_job(config: Path, warehouse: Path, *, faults: Faults | None = None, analyze: bool = False, stream: Any = None,
            json_logs: bool = True, clock: Any = None, **kw: Any) -> int:
    """One `ingest --all` in this process against the fake APIs (fake clock, fixed today)."""
    from patentscope.jobs import run_all
    from patentscope.sources._http import FakeClock

    clock = clock or (faults.clock if faults and faults.clock else FakeClock())
    env_before = {k: os.environ.get(k) for k in FAKE_ENV}
    os.environ.update(FAKE_ENV)
    try:
        if stream is None:
            stream = io.StringIO()
        return run_all(settings_for(config, warehouse), json_logs=json_logs, analyze=analyze, quiet=False,
                       stream=stream, transports=transports(faults, **kw), clock=clock, today=TODAY)
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ------------------------------------------------------------------------------------------------
# the child process (kill -9, ENOSPC and RLIMIT_FSIZE need a process of their own)


def _patch_enospc(rng: random.Random, p: float, report: Path | None) -> None:
    """Make a save fail with ENOSPC, inside the batch's transaction, with chance ``p`` per insert."""
    from patentscope.warehouse import save

    real = save._insert

    def insert(con: duckdb.DuckDBPyConnection, table: str, rows: Any, conflict: str = "", **kw: Any) -> None:
        if rows and rng.random() < p:
            if report is not None:
                _append(report, {"kind": "enospc", "where": table})
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), f"(injected while writing {table})")
        real(con, table, rows, conflict, **kw)

    save._insert = insert  # type: ignore[assignment]


def _limit_file_size(extra: int, warehouse: Path, report: Path | None) -> None:
    """RLIMIT_FSIZE = the largest existing file + ``extra`` bytes: writes past it fail with EFBIG."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    sizes = [p.stat().st_size for p in warehouse.parent.rglob("*") if p.is_file()] if warehouse.parent.exists() else []
    limit = max([0, *sizes]) + extra
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    if report is not None:
        _append(report, {"kind": "fsize_limit", "where": str(limit)})


def save_rereplace_bug_present() -> bool:
    """Whether warehouse/save.py still drops other sources' values when a source re-saves a
    publication it owns (probe on an in-memory warehouse, SYNTHETIC rows labelled as such)."""
    from patentscope.normalize.batch import Batch
    from patentscope.warehouse import migrations, save

    con = duckdb.connect(":memory:")
    try:
        migrations.apply(con)

        def pub(source: str, title: str | None) -> dict[str, Any]:
            return {"pub_key": "XX-1", "pub_number": "XX-1", "number_as_received": "SYNTHETIC probe", "country": "XX",
                    "doc_number": "1", "title": title, "family_id": "PUB:XX-1", "family_id_source": "publication",
                    "in_landscape": False, "source": source}

        save.save_batch(con, Batch(source="sample", publications=[pub("sample", "probe title")]), run_id=0)
        save.save_batch(con, Batch(source="file", publications=[pub("file", None)]), run_id=0)
        save.save_batch(con, Batch(source="file", publications=[pub("file", None)]), run_id=0)
        return con.execute("SELECT title FROM publications").fetchall() != [("probe title",)]
    finally:
        con.close()


def apply_proposed_save_fix() -> None:
    """THE FIX PROPOSED for warehouse/save.py (not in the package): a source re-saving a publication
    it already owns keeps, where its new value is NULL, the value the row holds (which another,
    worse-ranked source may have filled), exactly as a better-ranked source does; today it replaces
    the row's values with its own, NULLs included. Applied to the child processes of the fault
    suite only when :func:`save_rereplace_bug_present` (``save_fix="auto"``)."""
    from patentscope.warehouse import save

    def upsert(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], source: str) -> None:
        if not rows:
            return
        cols = [c for c, _ in save.table_columns(con, "publications") if c != "pub_key"]
        existing_rank = "CASE publications.source " + " ".join(
            f"WHEN '{src}' THEN {r}" for src, r in save.SOURCE_RANK.items()) + " ELSE 9 END"
        wins = f"({save.SOURCE_RANK.get(source, 9)} <= {existing_rank})"
        sets = []
        for c in cols:
            if c == "in_landscape":
                expr = "publications.in_landscape OR excluded.in_landscape"
            elif c == "source":
                expr = f"CASE WHEN {wins} THEN excluded.source ELSE publications.source END"
            else:  # the one change: no 'same source replaces everything' branch
                expr = (f"CASE WHEN {wins} THEN coalesce(excluded.{c}, publications.{c}) "
                        f"ELSE coalesce(publications.{c}, excluded.{c}) END")
            sets.append(f"{c} = {expr}")
        frame = save.to_frame(con, "publications", rows)
        names = ", ".join(frame.columns)
        con.register("_incoming", frame)
        try:
            con.execute(f"INSERT INTO publications ({names}) SELECT {names} FROM _incoming "
                        f"ON CONFLICT (pub_key) DO UPDATE SET {', '.join(sets)}").fetchall()
        finally:
            con.unregister("_incoming")

    save._upsert_publications = upsert  # type: ignore[assignment]


def child_main(spec_path: str) -> int:
    """Run one faulty job as described by a JSON spec; returns run_all's exit code."""
    from patentscope.sources._http import FakeClock

    spec = json.loads(Path(spec_path).read_text())
    report = Path(spec["report"])
    if spec.get("save_fix"):
        apply_proposed_save_fix()
    rng = random.Random(spec["seed"] * 7919 + 1)
    if spec.get("enospc"):
        _patch_enospc(rng, spec["enospc"], report)
    if spec.get("fsize"):
        _limit_file_size(int(spec["fsize"]), Path(spec["warehouse"]), report)
    clock = FakeClock()
    faults = Faults(spec["seed"], rate=spec.get("rate", 0.0), storm=spec.get("storm", 0.0), clock=clock, report=report) \
        if spec.get("rate") or spec.get("storm") else None
    with open(spec["log"], "a", encoding="utf-8") as log:
        return run_job(Path(spec["config"]), Path(spec["warehouse"]), faults=faults, analyze=spec.get("analyze", False),
                       stream=log, clock=clock)


# ------------------------------------------------------------------------------------------------
# comparing warehouses


# a timestamp written into text: segment_classifier_eval.note says when the model was trained
# ("model trained 2026-12-03 16:59 UTC on 120 publications"), run bookkeeping like computed_at
_TEXT_TIMESTAMP = re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d UTC\b")


def _canon(v: Any) -> Any:
    if isinstance(v, str):
        return _TEXT_TIMESTAMP.sub("<time>", v)
    if isinstance(v, float):
        return float(f"{v:.9g}")
    if isinstance(v, (list, tuple)):
        return [_canon(x) for x in v]
    if isinstance(v, dict):
        return {k: _canon(x) for k, x in sorted(v.items())}
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    return v


def content_hashes(path: Path) -> dict[str, tuple[int, str]]:
    """(row count, sha256) of every user table, rows sorted, without the bookkeeping tables and
    columns (run ids, timestamps, also where text carries one, where raw bytes are stored,
    timings); doubles at 9 significant digits. ``quarantine`` is a per-run log of rejected rows: compared as a set."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                                            "AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
        out: dict[str, tuple[int, str]] = {}
        for t in tables:
            if t in BOOKKEEPING_TABLES:
                continue
            cols = [c for c, typ in con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = $t "
                "ORDER BY ordinal_position", {"t": t}).fetchall()
                if c not in BOOKKEEPING_COLUMNS and not typ.startswith("TIMESTAMP")]
            rows = [json.dumps(_canon(list(r)), default=str) for r in con.execute(
                f"SELECT {', '.join(cols)} FROM {t}").fetchall()]
            if t == "quarantine":
                rows = sorted(set(rows))
            rows.sort()
            out[t] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16])
        return out
    finally:
        con.close()


def landing_shas(path: Path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT payload_sha256 FROM raw_landing").fetchall()}
    finally:
        con.close()


def diff_hashes(a: dict[str, tuple[int, str]], b: dict[str, tuple[int, str]]) -> dict[str, Any]:
    return {t: (a.get(t), b.get(t)) for t in sorted(set(a) | set(b)) if a.get(t) != b.get(t)}


# ------------------------------------------------------------------------------------------------
# seeded runs in child processes (the slow suite and benchmarks/fault_suite.py)


ALLOWED_FAULTY_EXITS = {0, 1, 3, 6}   # ok, every source failed, warehouse unusable (disk), partial


@dataclass
class Attempt:
    spec: dict[str, Any]
    code: int | None = None           # None when killed
    killed: bool = False
    killed_during: str | None = None  # the last step the child logged before the kill
    traceback: bool = False           # an uncaught exception escaped run_all (a bug)
    seconds: float = 0.0


@dataclass
class SeedResult:
    seed: int
    attempts: list[Attempt] = field(default_factory=list)
    final_code: int | None = None
    final: Attempt | None = None
    equal: bool = False
    diff: dict[str, Any] = field(default_factory=dict)
    landing_superset: bool = False
    faults: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def anomalies(self) -> list[str]:
        out = []
        for i, a in enumerate(self.attempts):
            if a.traceback:
                out.append(f"attempt {i + 1}: uncaught exception (see its stderr file)")
            if not a.killed and a.code not in ALLOWED_FAULTY_EXITS:
                out.append(f"attempt {i + 1}: exit {a.code}")
        if self.final_code != 0:
            out.append(f"final clean run: exit {self.final_code}")
        if self.final is not None and self.final.traceback:
            out.append("final clean run: uncaught exception (see final.stderr)")
        if not self.equal:
            out.append(f"content differs from the clean run: {self.diff}")
        if not self.landing_superset:
            out.append("raw_landing lacks payloads the clean run landed")
        return out


def _last_step(log: Path) -> str | None:
    last = None
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("step") == "done":
            return "after the job ended"
        last = rec.get("source") or rec.get("step")
        if rec.get("step") == "analyze" or (rec.get("source") == "analyze"):
            last = "analyze"
    return last or "startup (before the first log line)"


def run_child(spec: dict[str, Any], folder: Path, name: str, *, kill_after: float | None = None,
              kill_once_logged: str | None = None) -> Attempt:
    """Run :func:`child_main` in a subprocess; SIGKILL it after ``kill_after`` seconds if still
    running, or ``kill_after`` seconds after its log first contains ``kill_once_logged``."""
    import signal
    import subprocess
    import time

    folder.mkdir(parents=True, exist_ok=True)
    spec = {**spec, "report": str(folder / "faults.jsonl"), "log": str(folder / f"{name}.log")}
    spec_path = folder / f"{name}.json"
    spec_path.write_text(json.dumps(spec, indent=1))
    env = {**os.environ, **FAKE_ENV, "PATENTSCOPE_LOG_LEVEL": "debug", "PATENTSCOPE_LOCK_WAIT": "10",
           "PATENTSCOPE_READ_WAIT": "10"}
    t0 = time.monotonic()
    with open(folder / f"{name}.stderr", "w", encoding="utf-8") as err:
        proc = subprocess.Popen([sys.executable, str(TESTS / "test_jobs_support.py"), "child", str(spec_path)],
                                env=env, stdout=subprocess.DEVNULL, stderr=err, cwd=str(folder))
        att = Attempt(spec)
        if kill_once_logged is not None:
            log_path = Path(spec["log"])
            while proc.poll() is None:
                if log_path.exists() and kill_once_logged in log_path.read_text(encoding="utf-8", errors="replace"):
                    break
                time.sleep(0.01)
        if kill_after is not None:
            try:
                proc.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                att.killed = True
        code = proc.wait(timeout=600)
    att.seconds = time.monotonic() - t0
    if att.killed and code == -signal.SIGKILL:
        att.killed_during = _last_step(Path(spec["log"]))
    else:
        att.killed = False
        att.code = code
    att.traceback = "Traceback (most recent call last)" in (folder / f"{name}.stderr").read_text(errors="replace")
    return att


def clean_reference(config: Path, folder: Path, *, analyze: bool, save_fix: bool = False
                    ) -> tuple[dict[str, tuple[int, str]], set[str], float]:
    """A clean run in a child process: (content hashes, landed payload hashes, seconds)."""
    wh = folder / "w.duckdb"
    att = run_child({"seed": 0, "config": str(config), "warehouse": str(wh), "analyze": analyze, "save_fix": save_fix},
                    folder, "clean")
    if att.code != 0 or att.traceback:
        raise RuntimeError(f"the clean run failed (exit {att.code}); see {folder}")
    return content_hashes(wh), landing_shas(wh), att.seconds


def plan_seed(seed: int, clean_seconds: float, *, max_attempts: int = 3) -> list[tuple[dict[str, Any], float | None]]:
    """The faulty attempts of one seed: (child spec, kill delay or None), all drawn from ``seed``."""
    rng = random.Random(seed)
    out: list[tuple[dict[str, Any], float | None]] = []
    for a in range(rng.randint(1, max_attempts)):
        spec: dict[str, Any] = {"seed": seed * 100 + a, "rate": round(rng.uniform(0.03, 0.3), 3),
                                "storm": rng.choice([0.0, 0.0, 0.02, 0.06]), "analyze": rng.random() < 0.4}
        if rng.random() < 0.3:
            spec["enospc"] = round(rng.uniform(0.03, 0.25), 3)
        if rng.random() < 0.2:
            spec["fsize"] = rng.choice([rng.randint(2_000, 60_000), rng.randint(60_000, 3_000_000)])
        kill = round(rng.uniform(0.3, 1.3 * clean_seconds), 2) if rng.random() < 0.55 else None
        out.append((spec, kill))
    return out


def run_seed(seed: int, config: Path, workdir: Path, reference: tuple[dict[str, tuple[int, str]], set[str], float], *,
             analyze: bool = True, max_attempts: int = 3, save_fix: bool = False) -> SeedResult:
    """Faulty attempts (transport faults, maybe ENOSPC / RLIMIT_FSIZE / SIGKILL) on a fresh
    warehouse, then a clean run; compares the content with the clean reference."""
    import time

    clean_hashes, clean_landing, clean_seconds = reference
    folder = workdir / f"seed{seed:03d}"
    wh = folder / "w.duckdb"
    res = SeedResult(seed)
    t0 = time.monotonic()
    for i, (spec, kill) in enumerate(plan_seed(seed, clean_seconds, max_attempts=max_attempts)):
        res.attempts.append(run_child({**spec, "config": str(config), "warehouse": str(wh), "save_fix": save_fix},
                                      folder, f"attempt{i + 1}", kill_after=kill))
    final = run_child({"seed": seed * 100 + 99, "config": str(config), "warehouse": str(wh), "analyze": analyze,
                       "save_fix": save_fix}, folder, "final")
    res.final_code, res.final = final.code, final
    try:
        got = content_hashes(wh)
        res.diff = diff_hashes(clean_hashes, got)
        res.landing_superset = clean_landing <= landing_shas(wh)
    except duckdb.Error as e:  # the warehouse cannot even be read
        res.diff = {"unreadable": str(e).splitlines()[0]}
    res.equal = not res.diff
    report = folder / "faults.jsonl"
    if report.exists():
        for line in report.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                res.faults[json.loads(line)["kind"]] += 1
            except (ValueError, KeyError):
                continue
    for a in res.attempts:
        if a.killed:
            res.faults["sigkill"] += 1
    for log in folder.glob("attempt*.log"):
        text = log.read_text(encoding="utf-8", errors="replace")
        res.faults["efbig_hit"] += 1 if "File too large" in text else 0
    res.seconds = time.monotonic() - t0
    return res


@dataclass
class SuiteResult:
    seeds: list[SeedResult]
    clean_seconds: float
    wall_seconds: float
    save_fix: bool = False

    @property
    def faults(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for r in self.seeds:
            total.update(r.faults)
        return total

    @property
    def all_equal(self) -> bool:
        return all(r.equal and r.landing_superset and r.final_code == 0 for r in self.seeds)

    def summary(self) -> dict[str, Any]:
        attempts = [a for r in self.seeds for a in r.attempts]
        exits = Counter("killed" if a.killed else str(a.code) for a in attempts)
        kills = Counter(a.killed_during for a in attempts if a.killed)
        return {
            "seeds": len(self.seeds), "faulty_attempts": len(attempts), "runs_total": len(attempts) + len(self.seeds),
            "faults_by_kind": dict(sorted(self.faults.items())), "faults_total": sum(v for k, v in self.faults.items()
                                                                                 if k not in ("fsize_limit", "efbig_hit")),
            "attempt_exits": dict(sorted(exits.items())), "killed_during": dict(sorted(kills.items(), key=str)),
            "all_equal": self.all_equal, "unequal_seeds": [r.seed for r in self.seeds if not r.equal],
            "anomalies": {r.seed: r.anomalies for r in self.seeds if r.anomalies},
            "clean_run_seconds": round(self.clean_seconds, 2), "wall_seconds": round(self.wall_seconds, 1),
            "proposed_save_fix_applied": self.save_fix,
        }


def run_suite(seeds: list[int], workdir: Path, *, workers: int = 2, analyze: bool = True, max_attempts: int = 3,
              save_fix: str = "auto", progress: Callable[[SeedResult], None] = lambda _r: None) -> SuiteResult:
    """The multi-source fault suite: one clean reference run, then every seed on its own warehouse.

    ``save_fix``: "on" / "off" / "auto" (on while :func:`save_rereplace_bug_present`) applies
    :func:`apply_proposed_save_fix` in every child, the clean reference included."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.monotonic()
    fix = save_fix == "on" or (save_fix == "auto" and save_rereplace_bug_present())
    config = suite_setup(workdir / "inputs")
    reference = clean_reference(config, workdir / "clean", analyze=analyze, save_fix=fix)
    results: list[SeedResult] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_seed, s, config, workdir, reference, analyze=analyze, max_attempts=max_attempts,
                               save_fix=fix) for s in seeds]
        for f in futures:
            r = f.result()
            results.append(r)
            progress(r)
    return SuiteResult(results, reference[2], time.monotonic() - t0, fix)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "child":
        sys.exit(child_main(sys.argv[2]))
    print("usage: python tests/test_jobs_support.py child SPEC.json", file=sys.stderr)
    sys.exit(2)
