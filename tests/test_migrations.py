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


def test_publication_overview_after_0021_equals_its_0002_definition(sample_con):
    # 0021 split the overview into publication_brief + the counts: on the embedded sample (real
    # records) every row, column, type and order must be what 0002's definition gives
    src = next(m.sql for m in migrations.builtin_migrations() if m.name == "0002_views")
    start = src.index("CREATE VIEW publication_overview AS")
    old = src[start:src.index(";", start)].replace("CREATE VIEW publication_overview AS", "")
    new_rel = sample_con.sql("SELECT * FROM publication_overview ORDER BY pub_key")
    old_rel = sample_con.sql(f"SELECT * FROM ({old}) ORDER BY pub_key")
    assert new_rel.columns == old_rel.columns and new_rel.types == old_rel.types
    rows = new_rel.fetchall()
    assert len(rows) > 100 and rows == old_rel.fetchall()
    assert any(r[new_rel.columns.index("n_references")] for r in rows)   # the counts are there
    # the brief is the overview without the classification and citation counts
    brief = sample_con.sql("SELECT * FROM publication_brief ORDER BY pub_key")
    counts = {"n_classifications", "cpc_symbols", "n_references", "n_cited_by_in_warehouse"}
    assert brief.columns == [c for c in new_rel.columns if c not in counts]
    keep = [new_rel.columns.index(c) for c in brief.columns]
    assert brief.fetchall() == [tuple(r[i] for i in keep) for r in rows]
