"""Sandbox-escape tests: every route issue 19 found (and their neighbours) fails to escape.

The module works on its own copy of the sample warehouse, with the attacker's preparations
(``<warehouse>.tmp/`` holding symlinks out of it) in place, so no other test sees them."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from patentscope.cli import main
from patentscope.errors import ConfigError, QueryError, ReadOnlyViolation
from patentscope.warehouse.connection import reader
from patentscope.warehouse.query import resolve_max_memory, resolve_timeout, run_read_only

SECRET_LINE = "root:x:0:0"  # /etc/passwd's first field; must never appear in any output


def _copy(sample: Path, folder: Path) -> Path:
    dst = folder / "patentscope.duckdb"
    folder.mkdir()
    shutil.copy(sample, dst)
    return dst


@pytest.fixture(scope="module")
def wh(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy(sample_warehouse, tmp_path_factory.mktemp("sandbox") / "wh")


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file outside every path the user named, standing in for /etc/passwd."""
    p = tmp_path_factory.mktemp("private") / "passwd"
    p.write_text(SECRET_LINE + ":root:/root:/bin/bash\n")
    return p


@pytest.fixture(scope="module")
def con(wh: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """One sandboxed connection for the whole module (opening one costs ~70 ms)."""
    with reader(wh) as c:
        yield c


def _refused(con: duckdb.DuckDBPyConnection, stmt: str) -> str:
    with pytest.raises((ReadOnlyViolation, QueryError)) as ei:
        run_read_only(con, stmt)
    assert con.execute("SELECT count(*) FROM publications").fetchall() == [(147,)]
    assert con.execute("SELECT current_setting('enable_external_access')").fetchall() == [(False,)]
    msg = str(ei.value)
    assert SECRET_LINE not in msg
    return msg


# --- route 1: the warehouse file itself (and its WAL), which external-access-off leaves open

@pytest.mark.parametrize("tmpl", [
    "SELECT content FROM read_blob('{wh}')",
    "SELECT * FROM read_blob('{wh}.wal')",
    "SELECT * FROM \"read_blob\"('{wh}')",
    "SELECT * FROM READ_BLOB('{wh}')",
    "SELECT (SELECT size FROM read_blob('{wh}')) AS s",
    "WITH x AS (SELECT * FROM read_text('{wh}')) SELECT count(*) FROM x",
    "SELECT * FROM publications WHERE EXISTS (SELECT 1 FROM read_blob('{wh}'))",
    "SELECT * FROM read_duckdb('{wh}', table_name='ingest_runs')",
    "SELECT * FROM '{wh}'",
    "SELECT * FROM query_table('{wh}')",
])
def test_warehouse_file_cannot_be_read_as_bytes(con: duckdb.DuckDBPyConnection, wh: Path, tmpl: str) -> None:
    msg = _refused(con, tmpl.format(wh=wh))
    assert "refused" in msg


# --- route 2/3/4: DuckDB's temporary directory <warehouse>.tmp/

@pytest.fixture(scope="module")
def tmpdir_trap(wh: Path, outside: Path) -> Path:
    """What an attacker prepares: the temp dir exists, with links out of it."""
    t = Path(str(wh) + ".tmp")
    t.mkdir(exist_ok=True)
    if (t / "passwd").is_symlink():
        return t
    (t / "passwd").symlink_to(outside)
    (t / "out.csv").symlink_to(outside.parent / "written.csv")
    return t


def test_no_temp_directory_is_reachable(sample_warehouse: Path, tmp_path: Path) -> None:
    wh = _copy(sample_warehouse, tmp_path / "fresh")
    with reader(wh) as con:
        run_read_only(con, "SELECT count(*) FROM (SELECT * FROM publications ORDER BY title)")
        df = run_read_only(con, "SELECT current_setting('temp_directory') AS t")
        assert df["t"].to_list() == [""]
        allowed = con.execute("SELECT value FROM duckdb_settings() WHERE name = 'allowed_directories'").fetchall()
        assert allowed == [("[]",)]
    assert not Path(str(wh) + ".tmp").exists()


@pytest.mark.parametrize("tmpl", [
    "COPY (SELECT 42) TO '{t}/x.csv'",
    "COPY publications TO '{t}/out.csv'",
    "EXPLAIN ANALYZE COPY (SELECT 43) TO '{t}/y.csv'",
    "explain analyze copy (select 44) to '{t}/z.csv'",
    "/* c */ EXPLAIN (FORMAT json) ANALYZE COPY (SELECT 45) TO '{t}/w.csv'",
    "EXPLAIN COPY (SELECT 46) TO '{t}/v.csv'",
    "EXPLAIN ANALYZE EXPORT DATABASE '{t}/dump'",
])
def test_no_write_into_or_through_the_temp_directory(con: duckdb.DuckDBPyConnection, tmpdir_trap: Path, outside: Path, tmpl: str) -> None:
    before = sorted(os.listdir(tmpdir_trap))
    _refused(con, tmpl.format(t=tmpdir_trap))
    assert sorted(os.listdir(tmpdir_trap)) == before
    assert not (outside.parent / "written.csv").exists()


@pytest.mark.parametrize("tmpl", [
    "SELECT * FROM read_text('{t}/passwd')",
    "SELECT * FROM read_csv('{t}/passwd', header=false)",
    "SELECT * FROM '{t}/passwd'",
    "SELECT * FROM \"{t}/passwd\"",
    "SELECT * FROM read_blob('{t}/*')",
    "SELECT * FROM glob('{t}/*')",
    "SELECT * FROM sniff_csv('{t}/passwd')",
    "SELECT * FROM read_text('{outside}')",
    "SELECT * FROM read_json('{outside}')",
    "SELECT * FROM read_ndjson_objects('{outside}')",
    "SELECT * FROM read_parquet('{outside}')",
    "SELECT * FROM parquet_scan('{outside}')",
    "SELECT * FROM parquet_metadata('{outside}')",
])
def test_no_read_through_a_symlink_or_of_any_file(con: duckdb.DuckDBPyConnection, tmpdir_trap: Path, outside: Path, tmpl: str) -> None:
    _refused(con, tmpl.format(t=tmpdir_trap, outside=outside))


# --- statements and functions that would run SQL, touch settings or secrets

@pytest.mark.parametrize("stmt", [
    "SELECT * FROM query('SELECT * FROM publications')",
    "SELECT json_execute_serialized_sql(json_serialize_sql('SELECT 1'))",
    "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))",
    "SELECT getenv('EPO_OPS_SECRET')",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM which_secret('s3://x', 's3')",
    "SELECT * FROM enable_profiling()",
    "SELECT * FROM checkpoint()",
    "SELECT * FROM arrow_scan(0, 0, 0)",
    "SET temp_directory = '/tmp'",
    "SET enable_external_access = true",
    "RESET lock_configuration",
    "PRAGMA enable_profiling",
    "CALL pragma_version()",
    "ATTACH ':memory:' AS m",
    "DETACH main",
    "LOAD httpfs",
    "INSTALL httpfs",
    "COPY publications FROM '/etc/passwd'",
    "IMPORT DATABASE '/tmp'",
    "CHECKPOINT",
    "VACUUM",
    "PREPARE p AS SELECT 1",
    "CREATE TEMP TABLE t AS SELECT 1",
    "CREATE MACRO m() AS 1",
    "SELECT 1; COPY (SELECT 1) TO '/tmp/x.csv'",
    "EXPLAIN",
    "EXPLAIN ANALYZE SELECT 1; SELECT * FROM read_text('/etc/passwd')",
])
def test_hidden_sql_settings_and_secrets_are_refused(con: duckdb.DuckDBPyConnection, stmt: str) -> None:
    _refused(con, stmt)


@pytest.mark.parametrize("stmt", [
    "SELECT count(*) AS n FROM publications",
    "DESCRIBE publications",
    "SHOW TABLES",
    "SUMMARIZE SELECT 1 AS a",
    "FROM publications SELECT count(*) AS n",
    "EXPLAIN SELECT count(*) FROM publications",
    "EXPLAIN ANALYZE SELECT count(*) FROM publications",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT sum(n) AS s FROM r",
    "SELECT * FROM range(3)",
    "SELECT * FROM unnest([1, 2])",
    "SELECT table_name FROM duckdb_tables()",
    "SELECT 'a.b/c' AS path_like_text, read_blob_count FROM (SELECT 1 AS read_blob_count)",
])
def test_ordinary_reads_still_work(con: duckdb.DuckDBPyConnection, stmt: str) -> None:
    assert run_read_only(con, stmt).height >= 1


# --- limits on time, memory and result size

def test_runaway_recursive_cte_stops_at_the_time_limit(con: duckdb.DuckDBPyConnection) -> None:
    t0 = time.monotonic()
    with pytest.raises(QueryError, match=r"stopped after 0.3 s.*--timeout"):
        run_read_only(con, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
                      timeout=0.3)
    assert time.monotonic() - t0 < 5
    assert run_read_only(con, "SELECT 1 AS one").height == 1  # the connection is usable after the interrupt


def test_cross_join_stops_at_the_memory_cap(sample_warehouse: Path, tmp_path: Path) -> None:
    wh = _copy(sample_warehouse, tmp_path / "mem")  # its own file: the cap is set when the file is first opened
    with reader(wh, max_memory="64MB") as con:
        with pytest.raises(QueryError, match=r"ran out of memory \(limit .*--max-memory"):
            run_read_only(con, "SELECT a.range AS a, b.range AS b FROM range(20000) a, range(2000) b ORDER BY a DESC, b",
                          timeout=20)


def test_huge_result_is_refused_not_materialized(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QueryError, match="more than 1000 rows"):
        run_read_only(con, "SELECT * FROM range(100000000)", max_rows=1000)


@pytest.mark.parametrize("bad", ["0", "-1", "nan", "inf", "soon", "1e9"])
def test_bad_timeout_values_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError, match="--timeout"):
        resolve_timeout(bad)


@pytest.mark.parametrize("bad", ["0GB", "lots", "-1GB", "2 parsecs"])
def test_bad_memory_values_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError, match="--max-memory"):
        resolve_max_memory(bad)


def test_env_vars_set_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATENTSCOPE_SQL_TIMEOUT", "7.5")
    monkeypatch.setenv("PATENTSCOPE_SQL_MAX_MEMORY", "512mb")
    assert resolve_timeout() == 7.5 and resolve_max_memory() == "512MB"
    assert resolve_timeout(3) == 3.0


# --- the CLI: exit codes and messages

@pytest.mark.parametrize("args,code,words", [
    (["sql", "EXPLAIN ANALYZE COPY (SELECT 1) TO 'x.csv'"], 5, "EXPLAIN of COPY"),
    (["sql", "SELECT * FROM read_blob('{wh}')"], 5, "read_blob"),
    (["sql", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT count(*) FROM r", "--timeout", "0.3"],
     1, "stopped after 0.3 s"),
    (["sql", "SELECT 1", "--timeout", "-3"], 2, "--timeout"),
    (["sql", "SELECT 1", "--max-memory", "huge"], 2, "--max-memory"),
])
def test_cli_sql_refusals_have_exit_codes_and_messages(wh: Path, args: list[str], code: int, words: str) -> None:
    args = [a.format(wh=wh) for a in args]
    res = CliRunner().invoke(main, ["--warehouse", str(wh), *args])
    assert res.exit_code == code, res.output
    assert words in res.output and "internal error" not in res.output and "Traceback" not in res.output
