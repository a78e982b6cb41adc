import duckdb
import pytest

from patentscope.errors import MigrationError
from patentscope.warehouse import migrations
from patentscope.warehouse.migrations import Migration


def test_apply_records_each_and_is_idempotent():
    con = duckdb.connect(":memory:")
    names = [m.name for m in migrations.builtin_migrations()]
    assert names[:2] == ["0001_core", "0002_views"]
    assert migrations.apply(con) == names
    assert migrations.apply(con) == []
    recorded = [r[0] for r in con.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()]
    assert recorded == names
    assert {s.state for s in migrations.status(con)} == {"applied"}


def test_failing_migration_rolls_back_and_keeps_earlier_ones():
    con = duckdb.connect(":memory:")
    good = Migration("0001_a", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);")
    bad = Migration("0002_b", "CREATE TABLE b (x INTEGER); INSERT INTO b VALUES (1); SELECT * FROM no_such_table;")
    with pytest.raises(MigrationError, match="0002_b failed and was rolled back"):
        migrations.apply(con, [good, bad])
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "a" in tables and "b" not in tables  # its own work undone
    assert con.execute("SELECT x FROM a").fetchall() == [(1,)]
    assert [r[0] for r in con.execute("SELECT name FROM schema_migrations").fetchall()] == ["0001_a"]
    # fixing the migration lets the next run apply it
    fixed = Migration("0002_b", "CREATE TABLE b (x INTEGER);")
    assert migrations.apply(con, [good, fixed]) == ["0002_b"]


def test_changed_migration_is_reported():
    con = duckdb.connect(":memory:")
    migrations.apply(con, [Migration("0001_a", "CREATE TABLE a (x INTEGER);")])
    st = migrations.status(con, [Migration("0001_a", "CREATE TABLE a (x BIGINT);"), Migration("0002_b", "SELECT 1;")])
    assert [(s.name, s.state) for s in st] == [("0001_a", "changed"), ("0002_b", "pending")]


def test_out_of_order_migrations_refused():
    con = duckdb.connect(":memory:")
    with pytest.raises(MigrationError):
        migrations.apply(con, [Migration("0002_b", "SELECT 1;"), Migration("0001_a", "SELECT 1;")])


def test_changed_applied_migration_is_refused():
    con = duckdb.connect(":memory:")
    migrations.apply(con, [Migration("0001_a", "CREATE TABLE a (x INTEGER);")])
    with pytest.raises(MigrationError, match="applied to this warehouse with a different text"):
        migrations.apply(con, [Migration("0001_a", "CREATE TABLE a (x BIGINT);"), Migration("0002_b", "SELECT 1;")])
