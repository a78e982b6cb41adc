"""The command line as a user meets it: real files, exit codes, stdout vs stderr.

Commands run in-process through click's CliRunner (fast); a few smoke tests run the real
``python -m patentscope`` process for what only a process shows (exit status, a closed pipe,
nothing on stdout)."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from patentscope.cli import main


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(*args, env=None):
    """``patentscope ARGS`` in-process (the environment as given, PATENTSCOPE_WAREHOUSE unset)."""
    r = CliRunner().invoke(main, [str(a) for a in args], env={"PATENTSCOPE_WAREHOUSE": None, **(env or {})})
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return Ran(r.exit_code, r.stdout, r.stderr)


def process(*args, env=None, **kw):
    """``python -m patentscope ARGS`` as a real process."""
    e = {**os.environ, **(env or {})}
    e.pop("PATENTSCOPE_WAREHOUSE", None)
    return subprocess.run([sys.executable, "-m", "patentscope", *map(str, args)], capture_output=True, text=True, env=e,
                          timeout=120, **kw)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    r = run("demo", "--out", str(d / "demo"))
    assert r.returncode == 0, r.stderr
    return d / "demo", r


def test_demo_prints_paths_and_says_it_is_a_sample(demo_dir):
    d, r = demo_dir
    assert f"warehouse: {(d / 'patentscope.duckdb').resolve()}" in r.stdout
    assert f"report:    {(d / 'report.html').resolve()}" in r.stdout
    assert "147 real NdFeB patents" in r.stdout and "not a full landscape" in r.stdout
    con = duckdb.connect(str(d / "patentscope.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM publications").fetchall() == [(147,)]
    con.close()


def test_sql_delete_exits_nonzero_with_clear_message(demo_dir):
    d, _ = demo_dir
    r = run("--warehouse", str(d / "patentscope.duckdb"), "sql", "DELETE FROM publications")
    assert r.returncode == 5
    assert r.stderr.startswith("patentscope: error: refused: DELETE")
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1


def test_sql_formats(demo_dir):
    d, _ = demo_dir
    wh = str(d / "patentscope.duckdb")
    r = run("--warehouse", wh, "sql", "SELECT country, count(*) AS n FROM publications GROUP BY ALL ORDER BY n DESC, country", "--json")
    data = json.loads(r.stdout)
    import csv

    from patentscope.ingest.sample import sample_folder
    us = set()
    for f in sample_folder().glob("ndfeb_records*.csv"):
        with open(f, newline="", encoding="utf-8") as fh:
            us |= {row["patent_key"] for row in csv.DictReader(fh) if row["country"] == "US"}
    assert data[0] == {"country": "US", "n": len(us)}
    r = run("--warehouse", wh, "sql", "SELECT pub_key FROM publications WHERE pub_key = $k", "--param", "k=US-4770723", "--csv")
    assert r.stdout.splitlines() == ["pub_key", "US-4770723"]
    r = run("--warehouse", wh, "sql", "SELECT pub_key, kinds_seen FROM publications WHERE pub_key = 'EP-1005050'")
    assert "EP-1005050  A2 A3" in r.stdout


def test_query_command(demo_dir):
    d, _ = demo_dir
    wh = str(d / "patentscope.duckdb")
    r = run("--warehouse", wh, "query", "--list")
    assert "publications_by_holder" in r.stdout and "params:" in r.stdout
    r = run("--warehouse", wh, "query", "publication_detail", "--param", "pub=US4770723A", "--csv")
    assert r.returncode == 0 and "Masato Sagawa" in r.stdout
    r = run("--warehouse", wh, "query", "publication_detail")  # usage errors exit 2 (README: exit codes)
    assert r.returncode == 2 and "needs --param pub=" in r.stderr and r.stderr.count("\n") == 1
    r = run("--warehouse", wh, "query", "no_such_query")
    assert r.returncode == 2 and "no query named" in r.stderr


def test_missing_warehouse_is_one_line(tmp_path):
    r = process("--warehouse", str(tmp_path / "nope.duckdb"), "sql", "SELECT 1")
    assert r.returncode == 3
    assert r.stderr.strip().startswith("patentscope: error: no warehouse at")
    assert "patentscope demo" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "nope.duckdb").exists()


def test_unreadable_warehouse_is_one_line(tmp_path):
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"this is not a database" * 100)
    r = run("--warehouse", str(bad), "sql", "SELECT 1")
    assert r.returncode == 3 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


@pytest.mark.integration
def test_locked_warehouse_is_one_line(demo_dir, tmp_path):
    d, _ = demo_dir
    wh = tmp_path / "locked.duckdb"
    import shutil
    shutil.copy(d / "patentscope.duckdb", wh)
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(wh)!r}); print('ready', flush=True); time.sleep(120)"],
                              stdout=subprocess.PIPE, text=True)
    fast = {"PATENTSCOPE_LOCK_WAIT": "1", "PATENTSCOPE_READ_WAIT": "1"}
    try:
        assert holder.stdout.readline().strip() == "ready"
        r = run("--warehouse", str(wh), "sql", "SELECT 1", env=fast)
        assert r.returncode == 4
        assert "locked by another patentscope/DuckDB process" in r.stderr and r.stderr.count("\n") == 1
        r = run("--warehouse", str(wh), "migrate", env=fast)
        assert r.returncode == 4
    finally:
        holder.kill()
        holder.wait()
    # once the holder is gone, a reader that was waiting gets in
    r = run("--warehouse", str(wh), "sql", "SELECT count(*) AS n FROM publications", "--csv", env=fast)
    assert r.returncode == 0 and r.stdout.splitlines() == ["n", "147"]


@pytest.mark.integration
def test_second_writer_waits_then_exits_clearly(demo_dir, tmp_path):
    d, _ = demo_dir
    wh = tmp_path / "w.duckdb"
    import shutil
    shutil.copy(d / "patentscope.duckdb", wh)
    code = ("import sys, time; from patentscope.warehouse.connection import writer_lock\n"
            f"with writer_lock({str(wh)!r}, command='patentscope ingest --all'):\n"
            "    print('ready', flush=True); time.sleep(120)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        r = run("--warehouse", str(wh), "migrate", env={"PATENTSCOPE_LOCK_WAIT": "1"})
        assert r.returncode == 4
        assert "another writer holds" in r.stderr and "patentscope ingest --all" in r.stderr and f"pid {holder.pid}" in r.stderr
        # readers are not blocked by the writer lock itself (only while the DuckDB file is open)
        r = run("--warehouse", str(wh), "sql", "SELECT count(*) AS n FROM publications", "--csv")
        assert r.returncode == 0 and r.stdout.splitlines()[1] == "147"
    finally:
        holder.kill()
        holder.wait()
    r = run("--warehouse", str(wh), "migrate", env={"PATENTSCOPE_LOCK_WAIT": "5"})
    assert r.returncode == 0  # the lock died with its holder


def test_migrate_and_list(tmp_path):
    wh = str(tmp_path / "m.duckdb")
    r = run("--warehouse", wh, "migrate", "--list")
    assert r.returncode == 0 and "pending   0001_core" in r.stdout
    assert not Path(wh).exists()
    r = run("--warehouse", wh, "migrate")
    assert r.returncode == 0 and "applied   0001_core" in r.stdout
    r = run("--warehouse", wh, "migrate", "--list")
    assert "applied   0002_views" in r.stdout


def test_export_parquet_and_csv(demo_dir, tmp_path):
    d, _ = demo_dir
    wh = str(d / "patentscope.duckdb")
    r = run("--warehouse", wh, "export", "--format", "parquet", "--out", str(tmp_path / "pq"), "publications", "publication_overview")
    assert r.returncode == 0, r.stderr
    import polars as pl
    df = pl.read_parquet(tmp_path / "pq" / "publications.parquet")
    assert df.height == 147 and "pub_key" in df.columns
    r = run("--warehouse", wh, "export", "--format", "csv", "--out", str(tmp_path / "csv"))
    assert r.returncode == 0
    assert (tmp_path / "csv" / "family_overview.csv").exists()
    r = run("--warehouse", wh, "export", "--out", str(tmp_path / "x"), "nonexistent")
    assert r.returncode == 1 and "no table or view nonexistent" in r.stderr


def test_help_runs_as_a_process():
    r = process("ingest", "sample", "--help")
    assert r.returncode == 0 and "Usage:" in r.stdout and r.stderr == ""


@pytest.mark.integration
def test_ingest_sample_quiet_prints_nothing_on_stdout(tmp_path):
    r = process("-q", "--warehouse", tmp_path / "q.duckdb", "ingest", "sample")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    r = run("--warehouse", tmp_path / "q.duckdb", "ingest", "sample")
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["source"] == "sample" and out["loaded"]["publications"] == 147
    assert set(out) == {"source", "run_id", "rows_read", "loaded", "rejected"}


def test_secret_in_config_file_refused(tmp_path):
    cfg = tmp_path / "patentscope.toml"
    cfg.write_text('[sources.uspto_odp]\napi_key = "abc123"\n', encoding="utf-8")
    r = run("--config", str(cfg), "landscape")
    assert r.returncode == 2 and "looks like a secret" in r.stderr and "abc123" not in r.stderr


def test_bad_landscape_file(tmp_path):
    f = tmp_path / "l.toml"
    f.write_text('[classification]\ncore = ["H01F 1/0X7"]\n', encoding="utf-8")
    r = run("--landscape", str(f), "landscape")
    assert r.returncode == 2 and "not a CPC/IPC symbol" in r.stderr


def test_analysis_commands_on_demo(demo_dir):
    d, _ = demo_dir
    wh = str(d / "patentscope.duckdb")
    r = run("--warehouse", wh, "segments", "evaluate", "--format", "json")
    ev = {e["segment"]: e for e in json.loads(r.stdout)}
    assert r.returncode == 0 and ev["sintered"]["used"] is True
    r = run("--warehouse", wh, "concentration", "--format", "json")
    rows = json.loads(r.stdout)
    assert r.returncode == 0 and all(0 <= x["hhi"] <= 10_000 for x in rows if x["hhi"] is not None)
    r = run("--warehouse", wh, "concentration", "--merge", "Proterial, Ltd.", "No Such Group", "--year", "2024")
    assert r.returncode == 1 and "no holder group 'No Such Group'" in r.stderr
    r = run("--warehouse", wh, "expiry", "US4770723A", "--json")
    assert r.returncode == 0 and "2005-09-13" in r.stdout
    r = run("--warehouse", wh, "royalty", "--show", "thresholds", "--no-store", "--format", "json")
    assert r.returncode == 0 and {x["variant"] for x in json.loads(r.stdout)} == {"base", "low", "benchmark", "demanded"}
    r = run("--warehouse", wh, "query", "royalty_time_path", "--param", "exporter=cn-licensed", "--format", "csv")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 22  # header + 2010..2030


@pytest.mark.integration
def test_broken_pipe_is_quiet(demo_dir):
    d, _ = demo_dir
    p = subprocess.run(f'{sys.executable} -m patentscope --warehouse {d / "patentscope.duckdb"} sql "SELECT * FROM field_values" | head -1',
                       shell=True, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr
