"""The warehouse toolkit: tables, nested transactions, replace_tables, recorded_run, writer."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from patentscope.errors import MigrationError, WarehouseError
from patentscope.warehouse import connection, migrations
from patentscope.warehouse.toolkit import (
    filling,
    in_transaction,
    recorded_run,
    replace_tables,
    require_tables,
    tables,
    transaction,
    writer,
)


@pytest.fixture()
def con():
    c = duckdb.connect(":memory:")
    c.execute("CREATE TABLE a (k INTEGER, v VARCHAR DEFAULT 'd')").fetchall()
    c.execute("CREATE TABLE b (k INTEGER NOT NULL)").fetchall()
    c.execute("CREATE VIEW av AS SELECT * FROM a").fetchall()
    c.execute("INSERT INTO a VALUES (1, 'old'), (2, 'old')").fetchall()
    c.execute("INSERT INTO b VALUES (7)").fetchall()
    yield c
    c.close()


def rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def test_tables_lists_tables_and_views(con):
    assert tables(con) == {"a", "b", "av"}
    require_tables(con, ["a", "av"])
    with pytest.raises(WarehouseError, match=r"no c, d table\(s\) \(migration 0099_x not applied\); run `patentscope migrate`"):
        require_tables(con, ["a", "c", "d"], migration="0099_x")


def test_transaction_commits_and_rolls_back(con):
    with transaction(con):
        assert in_transaction(con)
        con.execute("INSERT INTO b VALUES (8)").fetchall()
    assert not in_transaction(con)
    assert rows(con, "b") == [(7,), (8,)]
    with pytest.raises(ZeroDivisionError), transaction(con):
        con.execute("INSERT INTO b VALUES (9)").fetchall()
        _ = 1 / 0
    assert rows(con, "b") == [(7,), (8,)]
    with pytest.raises(duckdb.ConstraintException), transaction(con):
        con.execute("INSERT INTO b VALUES (10)").fetchall()
        con.execute("INSERT INTO b VALUES (NULL)").fetchall()
    assert rows(con, "b") == [(7,), (8,)]
    assert con.execute("SELECT 1").fetchall() == [(1,)]  # the connection is usable again


def test_inner_transaction_joins_the_outer_one(con):
    with transaction(con):
        con.execute("INSERT INTO b VALUES (1)").fetchall()
        with transaction(con):  # a hand-written BEGIN here would abort the outer transaction
            con.execute("INSERT INTO b VALUES (2)").fetchall()
        assert in_transaction(con)
        # not committed yet: a second connection does not see the rows
        other = con.cursor()
        assert rows(other, "b") == [(7,)]
        other.close()
    assert rows(con, "b") == [(1,), (2,), (7,)]
    # the outer failure takes the inner block's work with it
    with pytest.raises(RuntimeError), transaction(con):
        with transaction(con):
            con.execute("INSERT INTO b VALUES (3)").fetchall()
        raise RuntimeError("outer")
    assert rows(con, "b") == [(1,), (2,), (7,)]


def test_a_caught_inner_failure_still_rolls_the_whole_transaction_back(con):
    with pytest.raises(WarehouseError, match="inner transaction failed"), transaction(con):
        con.execute("INSERT INTO b VALUES (1)").fetchall()
        try:
            with transaction(con):
                con.execute("INSERT INTO b VALUES (2)").fetchall()
                raise ValueError("inner")
        except ValueError:
            pass
    assert rows(con, "b") == [(7,)]
    assert not in_transaction(con)


def test_replace_tables_replaces_all_or_nothing(con):
    new_a = pl.DataFrame({"k": [5]})  # v takes its default
    counts = replace_tables(con, {"a": new_a, "b": con.sql("SELECT 11 AS k UNION ALL SELECT 12")})
    assert counts == {"a": 1, "b": 2}
    assert rows(con, "a") == [(5, "d")]
    assert rows(con, "b") == [(11,), (12,)]
    bad = pl.DataFrame({"k": [None]}, schema={"k": pl.Int32})  # b.k is NOT NULL
    with pytest.raises(WarehouseError, match="storing x failed and was rolled back"):
        replace_tables(con, {"a": pl.DataFrame({"k": [6]}), "b": bad}, what="storing x")
    assert rows(con, "a") == [(5, "d")]
    assert rows(con, "b") == [(11,), (12,)]
    assert not {t for t in tables(con) if t.startswith("_replace")}
    with pytest.raises(WarehouseError, match="no zz table"):
        replace_tables(con, {"zz": new_a})


def test_replace_tables_on_a_keyed_table_gives_the_same_rows_as_delete_and_insert():
    """A table with a primary key is replaced by upsert + delete of the keys the frame lacks
    (DuckDB is slow at re-inserting keys deleted in the same transaction); the rows must be
    exactly those of DELETE + INSERT: kept keys updated, new keys added, missing keys gone, and
    a frame lacking a column still resets it to its default (the plain path)."""
    def fresh() -> duckdb.DuckDBPyConnection:
        c = duckdb.connect(":memory:")
        c.execute("CREATE TABLE t (k VARCHAR, j INTEGER, v DOUBLE, s VARCHAR DEFAULT 'd', PRIMARY KEY (k, j))").fetchall()
        c.execute("INSERT INTO t VALUES ('a', 1, 1.0, 'old'), ('a', 2, 2.0, 'old'), ('b', 1, 3.0, 'old')").fetchall()
        return c

    frame = pl.DataFrame({"k": ["a", "c", "b"], "j": [1, 1, 2], "v": [10.0, 30.0, 20.0], "s": ["n1", "n3", "n2"]})
    fast, plain = fresh(), fresh()
    assert replace_tables(fast, {"t": frame}) == {"t": 3}
    plain.register("f", frame)
    plain.execute("DELETE FROM t").fetchall()
    plain.execute("INSERT INTO t BY NAME SELECT * FROM f").fetchall()
    assert rows(fast, "t") == rows(plain, "t") == [("a", 1, 10.0, "n1"), ("b", 2, 20.0, "n2"), ("c", 1, 30.0, "n3")]
    partial = fresh()
    replace_tables(partial, {"t": frame.drop("s")})
    assert rows(partial, "t") == [("a", 1, 10.0, "d"), ("b", 2, 20.0, "d"), ("c", 1, 30.0, "d")]
    dup = pl.DataFrame({"k": ["a", "a"], "j": [1, 1], "v": [1.0, 2.0], "s": ["x", "y"]})
    with pytest.raises(WarehouseError, match="rolled back"):
        replace_tables(fast, {"t": dup})
    assert rows(fast, "t") == [("a", 1, 10.0, "n1"), ("b", 2, 20.0, "n2"), ("c", 1, 30.0, "n3")]



def test_replace_tables_swaps_a_keyed_table_with_nested_columns_and_keeps_its_ddl(tmp_path: Path, monkeypatch):
    """A keyed table with a list column is filled anew and renamed into place: the same rows as
    DELETE + INSERT, its key, defaults and dependent view intact, and a failure later in the same
    call rolls the swap back. A table with an index of its own keeps the plain path (and index)."""
    from patentscope.warehouse import toolkit

    monkeypatch.setattr(toolkit, "SWAP_MIN_ROWS", 0)  # the swap for these few rows too
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    c.execute("CREATE TABLE t (k VARCHAR PRIMARY KEY, l VARCHAR[], s VARCHAR DEFAULT 'd')").fetchall()
    c.execute("INSERT INTO t VALUES ('a', ['x'], 'old'), ('b', ['y'], 'old')").fetchall()
    c.execute("CREATE VIEW tv AS SELECT k, len(l) AS n, s FROM t").fetchall()
    c.execute("CREATE TABLE u (k INTEGER NOT NULL)").fetchall()
    def oid() -> int:
        return c.execute("SELECT table_oid FROM duckdb_tables() WHERE table_name = 't'").fetchall()[0][0]

    before = oid()
    frame = pl.DataFrame({"k": ["b", "c"], "l": [["p", "q"], []]})
    assert replace_tables(c, {"t": frame}) == {"t": 2}
    assert oid() != before  # a new table took the name
    assert rows(c, "t") == [("b", ["p", "q"], "d"), ("c", [], "d")]
    assert c.execute("SELECT * FROM tv ORDER BY k").fetchall() == [("b", 2, "d"), ("c", 0, "d")]
    assert c.execute("SELECT sql FROM duckdb_tables() WHERE table_name = 't'").fetchall()[0][0].startswith(
        "CREATE TABLE t(k VARCHAR PRIMARY KEY")
    assert not {t for t in tables(c) if t.startswith("_swap")}
    with pytest.raises(duckdb.ConstraintException):
        c.execute("INSERT INTO t VALUES ('b', [], 'dup')").fetchall()
    bad = pl.DataFrame({"k": [None]}, schema={"k": pl.Int32})
    with pytest.raises(WarehouseError, match="rolled back"):
        replace_tables(c, {"t": pl.DataFrame({"k": ["z"], "l": [["z"]]}), "u": bad})
    assert rows(c, "t") == [("b", ["p", "q"], "d"), ("c", [], "d")]
    with pytest.raises(WarehouseError, match="rolled back"):  # two rows with one key: refused, as DELETE + INSERT
        replace_tables(c, {"t": pl.DataFrame({"k": ["a", "a"], "l": [["1"], ["2"]]})})
    c.execute("CREATE INDEX t_s ON t (s)").fetchall()
    before = oid()
    replace_tables(c, {"t": pl.DataFrame({"k": ["e"], "l": [["e"]]})})
    assert oid() == before  # the plain path
    assert rows(c, "t") == [("e", ["e"], "d")]
    assert c.execute("SELECT index_name FROM duckdb_indexes() WHERE table_name = 't'").fetchall() == [("t_s",)]
    c.close()

def test_replace_tables_where_and_inside_a_transaction(con):
    with transaction(con):
        replace_tables(con, {"a": pl.DataFrame({"k": [1], "v": ["new"]})}, where="k = $k", params={"k": 1})
        con.execute("INSERT INTO b VALUES (8)").fetchall()
    assert rows(con, "a") == [(1, "new"), (2, "old")]
    assert rows(con, "b") == [(7,), (8,)]


@pytest.mark.parametrize("indexed", [False, True])
def test_filling_replaces_a_table_batch_by_batch_all_or_nothing(indexed: bool):
    """The block's batches become the table's rows (its DDL kept: key, default, views); a failure
    in the block, or a key violation among the batches, leaves the old rows. With an index of its
    own the table is filled through a staged copy (DELETE + INSERT) instead of the swap."""
    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v VARCHAR DEFAULT 'd', tags VARCHAR[])").fetchall()
    if indexed:
        con.execute("CREATE INDEX t_v ON t (v)").fetchall()
    con.execute("CREATE VIEW tv AS SELECT k, v FROM t").fetchall()
    con.execute("INSERT INTO t VALUES (1, 'old', ['x']), (2, 'old', NULL)").fetchall()
    with filling(con, "t") as target:
        assert target == ("temp._filling_t" if indexed else "main._swap_t")
        for batch in ([(3, "a")], [(4, "b"), (5, "c")]):
            con.register("_b", pl.DataFrame(batch, schema={"k": pl.Int32, "v": pl.String}, orient="row"))
            con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _b").fetchall()
            con.unregister("_b")
        assert rows(con, "tv") == [(1, "old"), (2, "old")]  # the old rows until the block ends
    assert rows(con, "tv") == [(3, "a"), (4, "b"), (5, "c")]
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%swap%' OR table_name LIKE '%filling%'"
                       ).fetchall() == [(0,)]
    with pytest.raises(RuntimeError), filling(con, "t") as target:
        con.execute(f"INSERT INTO {target} (k) VALUES (9)").fetchall()
        raise RuntimeError("a batch failed")
    assert rows(con, "tv") == [(3, "a"), (4, "b"), (5, "c")]
    with pytest.raises(WarehouseError, match="storing t failed and was rolled back"), \
            filling(con, "t", what="storing t") as target:
        con.execute(f"INSERT INTO {target} (k) VALUES (8), (8)").fetchall()
    assert rows(con, "tv") == [(3, "a"), (4, "b"), (5, "c")]
    with transaction(con):  # joins an outer transaction; the default applies to a column not inserted
        with filling(con, "t") as target:
            con.execute(f"INSERT INTO {target} (k) VALUES (6)").fetchall()
        assert in_transaction(con)
    assert con.execute("SELECT k, v FROM t").fetchall() == [(6, "d")]
    assert ("PRIMARY KEY", ["k"]) in connection.keys(con, "t")
    con.close()


def test_recorded_run_on_a_connection(mem_con):
    with recorded_run(mem_con, "file", "pytest ok") as run:
        run.read, run.loaded = 3, 2
    with recorded_run(mem_con, "file", "pytest partial") as run:
        run.rejected, run.message = 1, "1 row quarantined"
    with pytest.raises(ValueError), recorded_run(mem_con, "file", "pytest failed") as run:
        run.read = 4
        raise ValueError("broken input")
    got = mem_con.execute("SELECT command, status, rows_read, rows_loaded, rows_rejected, message, finished_at IS NOT NULL "
                          "FROM ingest_runs ORDER BY run_id").fetchall()
    assert got == [("pytest ok", "ok", 3, 2, 0, None, True),
                   ("pytest partial", "partial", 0, 0, 1, "1 row quarantined", True),
                   ("pytest failed", "failed", 4, 0, 0, "broken input", True)]


def test_recorded_run_on_a_path_and_an_interrupt(tmp_path: Path):
    wh = tmp_path / "w.duckdb"
    with writer(wh):
        pass
    with pytest.raises(KeyboardInterrupt), recorded_run(wh, "ops", "pytest") as run:
        assert run.run_id >= 1
        raise KeyboardInterrupt
    with recorded_run(wh, "ops", "pytest") as run:
        run.status = "partial"
    with writer(wh, migrate=False) as con:
        got = con.execute("SELECT status, message FROM ingest_runs ORDER BY run_id").fetchall()
    assert got == [("failed", "interrupted: KeyboardInterrupt"), ("partial", None)]


def test_writer_migrates_and_logs(tmp_path: Path):
    wh = tmp_path / "new" / "w.duckdb"
    heard: list[str] = []
    with writer(wh, log=heard.append) as con:
        assert "publications" in tables(con)
    assert len(heard) == 1 and heard[0].startswith(f"migrated {wh}: 0001_core")
    with writer(wh, log=heard.append):
        pass
    assert len(heard) == 1  # nothing pending the second time
    plain = tmp_path / "plain.duckdb"
    with writer(plain, migrate=False) as con:
        assert tables(con) == set()



def test_later_warehouses_start_from_the_first_ones_copy_and_equal_a_fresh_migration(tmp_path: Path):
    """connection.create keeps the first migrated file of the process and copies it for the next:
    the copy has the same schema as migrating from scratch, is stamped as migrated now, and the
    log still names what it holds."""
    import datetime as dt

    def schema(path: Path) -> list[tuple]:
        con = duckdb.connect(str(path), read_only=True)
        try:
            return con.execute("SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
                               "ORDER BY ALL").fetchall() + con.execute(
                "SELECT name, sha256 FROM schema_migrations ORDER BY name").fetchall()
        finally:
            con.close()

    first, later = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    with writer(first):
        pass
    assert connection._TEMPLATES.get(migrations.fingerprint()) is not None  # kept, whichever file made it
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    heard: list[str] = []
    with writer(later, log=heard.append) as con:
        stamps = [r[0] for r in con.execute("SELECT applied_at FROM schema_migrations").fetchall()]
    names = [m.name for m in migrations.builtin_migrations()]
    assert heard == [f"migrated {later}: {', '.join(names)}"]
    assert min(stamps) >= before
    scratch = duckdb.connect(str(tmp_path / "scratch.duckdb"))
    migrations.apply(scratch)
    scratch.close()
    assert schema(later) == schema(first) == schema(tmp_path / "scratch.duckdb")

def test_a_failing_migration_rolls_back_alone(tmp_path: Path):
    wh = tmp_path / "w.duckdb"
    good = migrations.Migration("0001_t", "CREATE TABLE t (k INTEGER);")
    bad = migrations.Migration("0002_bad", "CREATE TABLE u (k INTEGER); INSERT INTO nowhere VALUES (1);")
    with writer(wh, migrate=False) as con:
        with pytest.raises(MigrationError, match=r"migration 0002_bad failed and was rolled back .* 1 earlier"):
            migrations.apply(con, [good, bad])
        assert {"t", "schema_migrations"} <= tables(con) and "u" not in tables(con)
        assert not in_transaction(con)
        assert [s.state for s in migrations.status(con, [good, bad])] == ["applied", "pending"]


def test_patentscope_threads_sets_duckdbs_threads_and_refuses_nonsense(tmp_path, monkeypatch):
    wh = tmp_path / "w.duckdb"
    monkeypatch.setenv("PATENTSCOPE_THREADS", "1")
    with writer(wh, migrate=True) as c:
        assert c.execute("SELECT current_setting('threads')").fetchall()[0][0] == 1
    monkeypatch.setenv("PATENTSCOPE_THREADS", "two")
    with pytest.raises(WarehouseError, match="PATENTSCOPE_THREADS='two'"):
        with writer(wh):
            pass



def test_patentscope_memory_limit_caps_duckdb_and_refuses_nonsense(tmp_path, monkeypatch):
    wh = tmp_path / "w.duckdb"
    monkeypatch.setenv("PATENTSCOPE_MEMORY_LIMIT", "1.5GB")
    with writer(wh, migrate=True) as c:
        # DuckDB shows the cap in binary units: 1.5 GB = 1.5e9 bytes ~ 1.3 GiB
        assert c.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "1.3 GiB"
    with connection.reader(wh, sandbox=False) as c:
        assert c.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "1.3 GiB"
    monkeypatch.setenv("PATENTSCOPE_MEMORY_LIMIT", "lots")
    with pytest.raises(WarehouseError, match="PATENTSCOPE_MEMORY_LIMIT='lots'"), writer(wh):
        pass


def test_register_gives_duckdb_the_same_types_and_values_as_its_own_polars_conversion():
    """connection.register hands DuckDB string views (no copy); every polars type the code
    writes reads back as DuckDB's own conversion of the frame reads it."""
    import datetime as dt
    import decimal

    frame = pl.DataFrame({
        "s": ["a", None, "a string longer than twelve bytes"], "c": pl.Series(["x", "y", None], dtype=pl.Categorical),
        "e": pl.Series(["p", "q", "p"], dtype=pl.Enum(["p", "q"])), "l": [["a", "b"], None, []],
        "st": [{"a": 1, "b": "x"}, None, {"a": 2, "b": None}], "d": [dt.date(2020, 1, 1), None, dt.date(1, 1, 1)],
        "ts": [dt.datetime(2020, 1, 1, 1, 2, 3), None, None],
        "dec": pl.Series([decimal.Decimal("1.20"), None, decimal.Decimal("3.00")], dtype=pl.Decimal(10, 2)),
        "b": [b"x", None, b"yy"], "n": [None, None, None], "i": pl.Series([1, 2, None], dtype=pl.Int8),
        "u": pl.Series([1, 2, 3], dtype=pl.UInt32), "f": [1.5, None, 2.0], "bo": [True, None, False],
        "ll": [[["a"]], None, [[]]], "ls": [[{"start": dt.date(2001, 1, 1), "end": None}], [], None],
    })
    con = duckdb.connect()
    got = {}
    for how in ("duckdb", "register"):
        if how == "duckdb":
            con.register("x", frame)
        else:
            connection.register(con, "x", frame)
        got[how] = (con.execute("DESCRIBE x").fetchall(), con.execute("SELECT * FROM x").fetchall())
        con.unregister("x")
    assert got["register"] == got["duckdb"]
    assert got["register"][1][2][0] == "a string longer than twelve bytes"
    connection.register(con, "empty", frame.clear())
    assert con.execute("SELECT count(*) FROM empty").fetchall() == [(0,)]
    rel = con.sql("SELECT 1 AS one")
    connection.register(con, "rel", rel)  # not a polars frame: as given
    assert con.execute("SELECT one FROM rel").fetchall() == [(1,)]
