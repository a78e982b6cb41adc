"""`patentscope status`: freshness per source, the last job, recent failures, the writer lock; read-only."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from test_jobs_support import EXPORTS, TODAY, settings_for, write_config

from patentscope.cli import main
from patentscope.jobs import run_all
from patentscope.status import collect, lock_info
from patentscope.warehouse import migrations

GOOGLE = EXPORTS / "google_patents_sample_rows.csv"


@pytest.fixture(scope="module")
def partial(tmp_path_factory):
    """A job where one file loads and one configured file is missing (exit 6)."""
    tmp = tmp_path_factory.mktemp("status")
    cfg = write_config(tmp, {"file": {"paths": [str(GOOGLE), "exports/not-there.csv"]}})
    wh = tmp / "w.duckdb"
    assert run_all(settings_for(cfg, wh), stream=io.StringIO(), analyze=False, today=TODAY) == 6
    return cfg, wh


def status(cfg: Path, wh: Path, *extra: str):
    return CliRunner().invoke(main, ["--config", str(cfg), "--warehouse", str(wh), "status", *extra], catch_exceptions=False)


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_status_json_freshness_last_job_and_failures(partial):
    cfg, wh = partial
    before = digest(wh)
    r = status(cfg, wh, "--json")
    assert r.exit_code == 0, r.output
    st = json.loads(r.output)
    assert st["lock"]["held"] is False and st["config"]["sources"] == ["file"]
    (src,) = [s for s in st["sources"] if s["source"] == "file"]
    assert src["configured_as"] == "file" and src["publications"] == 6 and src["last_status"] == "ok"
    assert src["last_ok_at"] and 0 <= src["age_seconds"] < 600
    job = st["last_job"]
    assert job["status"] == "partial" and job["exit_code"] == 6 and [s["step"] for s in job["steps"]] == ["file"]
    (fail,) = st["recent_failures"]
    assert fail["source"] == "file" and fail["kind"] == "input" and "not-there.csv: no such file" in fail["message"]
    assert digest(wh) == before and not wh.with_name(wh.name + ".wal").exists()  # read-only
    assert not wh.with_name(wh.name + ".lock").read_text()  # the lock file is left as it was (empty)


def test_status_text(partial):
    cfg, wh = partial
    r = status(cfg, wh)
    assert r.exit_code == 0
    out = r.output
    assert "writer      free" in out and "last job    #1 partial" in out and "exit 6" in out
    assert "file        file" in out and "recent failures" in out and "not-there.csv" in out


def test_stale_lock_text_and_interrupted_runs(partial, tmp_path):
    cfg, wh0 = partial
    wh = tmp_path / "w.duckdb"
    wh.write_bytes(wh0.read_bytes())
    con = duckdb.connect(str(wh))
    con.execute("INSERT INTO ingest_runs (source, command, started_at, status) VALUES ('ops', 'killed run', $t, 'running')",
                {"t": dt.datetime(2026, 1, 1, 3, 17)}).fetchall()
    con.close()
    wh.with_name(wh.name + ".lock").write_text("pid 999999: patentscope ingest --all")
    assert lock_info(wh) == {"file": str(wh) + ".lock", "held": False, "holder": None,
                             "stale": "pid 999999: patentscope ingest --all"}
    st = collect(wh, {"sources": ["file", "ops"]})
    ops = next(s for s in st["sources"] if s["source"] == "ops")
    assert ops["last_status"] == "interrupted" and ops["last_ok_at"] is None
    assert any(f["kind"] == "interrupted" and f["source"] == "ops" for f in st["recent_failures"])
    r = status(cfg, wh)
    assert "a killed writer left: pid 999999" in r.output


def test_status_on_an_older_warehouse_and_on_none(tmp_path):
    wh = tmp_path / "old.duckdb"
    con = duckdb.connect(str(wh))
    migrations.apply(con, [m for m in migrations.builtin_migrations() if m.name < "0012"])
    con.close()
    st = collect(wh)
    assert st["last_job"] is None and st["sources"] == [] and st["lock"]["held"] is False
    assert not wh.with_name(wh.name + ".lock").exists()  # status creates no lock file
    r = CliRunner().invoke(main, ["--warehouse", str(tmp_path / "none.duckdb"), "status"])
    assert r.exit_code == 3 and "no warehouse at" in r.output
