"""Shared fixtures: real sample data, migrated warehouses in tmp paths, the shared/ folder."""

from __future__ import annotations

import os
import sys

# Cache compiled bytecode (and pytest's rewritten test modules) in the gitignored __pycache__
# folders even where the environment sets PYTHONDONTWRITEBYTECODE: without the cache every
# xdist worker and every CLI subprocess recompiles the package and re-rewrites ~70 test
# modules, about 4 s of CPU per process on a 2-core machine.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
# one DuckDB thread per connection: xdist already runs one worker per core, and two threads per
# worker on two cores only add contention (about 6 s of a 90 s run)
os.environ.setdefault("PATENTSCOPE_THREADS", "1")

import tempfile
from pathlib import Path

# The suite creates some hundreds of DuckDB files (about 0.9 GB written per run), and DuckDB
# syncs every commit to disk: on a memory-backed /dev/shm the same run takes about 6% less wall
# time. Used only where nobody chose a temporary folder (TMPDIR unset) and /dev/shm is a
# writable folder with room to spare (a container's default 64 MB is not); the xdist workers and
# CLI subprocesses inherit the choice. pyproject's tmp_path_retention_policy keeps only failed
# tests' folders, so passing runs leave little in memory.
_SHM, _SHM_ROOM = Path("/dev/shm"), 4 << 30
if not os.environ.get("TMPDIR") and _SHM.is_dir() and os.access(_SHM, os.W_OK):
    try:
        _st = os.statvfs(_SHM)
        if _st.f_bavail * _st.f_frsize >= _SHM_ROOM:
            os.environ["TMPDIR"] = str(_SHM)
            tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    except OSError:
        pass

import duckdb
import pytest

from patentscope.ingest.sample import ingest_sample_format, sample_folder
from patentscope.landscape import load_landscape
from patentscope.warehouse import migrations
from patentscope.warehouse.save import table_columns

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def landscape():
    return load_landscape()


@pytest.fixture()
def mem_con():
    con = duckdb.connect(":memory:")
    migrations.apply(con)
    yield con
    con.close()


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory, landscape) -> Path:
    """A warehouse file built once per run from the embedded sample (tests must only read it)."""
    from built_once import built_once

    return built_once(tmp_path_factory, "sample",
                      lambda path: ingest_sample_format(path, sample_folder(), landscape, command="pytest"))


@pytest.fixture(scope="session")
def sample_con(sample_warehouse):
    from patentscope.warehouse.connection import open_reader
    con = open_reader(sample_warehouse)  # same settings as every reader: DuckDB refuses mixed ones
    yield con
    con.close()


# bookkeeping columns that differ between two runs that saved the same data
RUN_COLUMNS = ("fetched_at", "run_id", "updated_run_id")


def warehouse_digest(path: Path, tables: list[str], skip: tuple[str, ...] = RUN_COLUMNS) -> dict[str, tuple[int, int]]:
    """(row count, order-free hash of the rows without the ``skip`` columns) of each table: two
    warehouses that hold the same data have the same digest. Import it: ``from conftest import
    warehouse_digest``."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for t in tables:
            cols = [c for c, _ in table_columns(con, t) if c not in skip]
            out[t] = con.execute(f"SELECT count(*), coalesce(sum(hash({', '.join(cols)})), 0) FROM {t}").fetchall()[0]
        return out
    finally:
        con.close()


@pytest.fixture(scope="session")
def clean_job(tmp_path_factory):
    """One clean `ingest --all` of every offline source against the fake APIs, watched from
    outside while it runs (a reader and `status` get in between its batches). Shared by
    test_jobs (which checks it) and test_jobs_faults (which compares faulty runs with it)."""
    import io
    import os
    import subprocess
    import sys

    from test_jobs_support import FakeOps, run_job, suite_setup

    tmp = tmp_path_factory.mktemp("job")
    cfg = suite_setup(tmp, sample=False, ops_page=100, ops_group=20)
    wh = tmp / "wh" / "patentscope.duckdb"
    seen: dict[str, object] = {}
    ops = FakeOps()

    def look_from_outside(request, fake):
        """On the 2nd OPS data request the job is between batches: a reader and `status` must get in."""
        if fake.data_calls == 2 and "reader" not in seen:
            env = {**os.environ, "PATENTSCOPE_READ_WAIT": "0"}  # no waiting: the file must be free right now
            seen["reader"] = subprocess.run(
                [sys.executable, "-m", "patentscope", "--warehouse", str(wh), "sql", "SELECT count(*) AS n FROM publications",
                 "--csv"], capture_output=True, text=True, env=env, timeout=60)
            seen["status"] = subprocess.run(
                [sys.executable, "-m", "patentscope", "--warehouse", str(wh), "status", "--json"],
                capture_output=True, text=True, env=env, timeout=60)
        return None

    ops.faults.append(look_from_outside)
    log = io.StringIO()
    code = run_job(cfg, wh, stream=log, json_logs=True, ops=ops)
    return {"cfg": cfg, "wh": wh, "code": code, "log": log.getvalue(), "seen": seen, "tmp": tmp}
