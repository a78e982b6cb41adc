"""Readers never block the nightly job (issue 20 item 2): a patentscope.open() handle holds the
DuckDB file only while a call runs, and a writer that does meet a reader names it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import patentscope
from patentscope.errors import WarehouseLockedError
from patentscope.warehouse.connection import open_reader, open_writer, writer

ENV = {**os.environ, "PATENTSCOPE_LOCK_WAIT": "5", "PATENTSCOPE_READ_WAIT": "5"}


@pytest.fixture()
def wh(sample_warehouse, tmp_path) -> Path:
    p = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, p)
    return p


def _write_in_subprocess(path: Path, sql: str) -> subprocess.CompletedProcess[str]:
    code = ("import sys; from patentscope.warehouse.connection import writer\n"
            f"with writer({str(path)!r}, command='test writer') as con: con.execute({sql!r}).fetchall()\n")
    return subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=60)


def test_open_handle_does_not_block_a_writer_in_another_process(wh):
    h = patentscope.open(wh)
    before = h.sql("SELECT count(*) AS n FROM publications")["n"][0]
    assert "publications" in h.names() and h.publications.height == before
    r = _write_in_subprocess(wh, "CREATE TABLE probe AS SELECT 42 AS x")   # while the handle is open
    assert r.returncode == 0, r.stderr
    # the same handle sees the committed write on its next call
    assert h.probe["x"].to_list() == [42] and "probe" in h.names()
    h.close()


def test_open_handle_does_not_block_a_writer_in_the_same_process(wh):
    with patentscope.open(wh) as h:
        n = h.publications.height
        with writer(wh) as con:   # e.g. analyze run from the same notebook
            con.execute("DELETE FROM citations").fetchall()
        assert h.sql("SELECT count(*) AS n FROM citations")["n"][0] == 0 and h.publications.height == n


def test_a_writer_names_the_reader_that_holds_the_file(wh):
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
                               "print('ready', flush=True); time.sleep(60)", str(wh)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseLockedError) as e:
            open_writer(wh, wait=0.3).close()
        msg = str(e.value)
        assert f"process {holder.pid}" in msg and "a reader" in msg and "PATENTSCOPE_LOCK_WAIT" in msg
    finally:
        holder.kill()
        holder.wait()


def test_a_reader_names_the_writer_that_holds_the_file(wh):
    code = ("import sys, time; from patentscope.warehouse.connection import writer\n"
            "with writer(sys.argv[1], command='patentscope ingest --all') as con:\n"
            "    print('ready', flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(wh)], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseLockedError) as e:
            open_reader(wh, wait=0.3).close()
        msg = str(e.value)
        assert f"process {holder.pid}" in msg and f"the patentscope writer (pid {holder.pid}: patentscope ingest --all)" in msg
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_reader_held_open_across_a_real_ingest(wh):
    h = patentscope.open(wh)
    n = h.publications.height
    exe = Path(sys.executable).with_name("patentscope")
    r = subprocess.run([str(exe), "--warehouse", str(wh), "ingest", "sample"], env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert h.publications.height == n  # the same sample again: same rows, and the handle still reads
    r = subprocess.run([str(exe), "--warehouse", str(wh), "analyze"], env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert h.sql("SELECT count(*) AS n FROM expiry_results")["n"][0] > 0


def test_open_on_a_missing_file_creates_nothing(tmp_path):
    from patentscope.errors import WarehouseError
    missing = tmp_path / "typo.duckdb"
    with pytest.raises(WarehouseError, match="no warehouse at"):
        patentscope.open(missing)
    assert list(tmp_path.iterdir()) == []
