"""The child tables' keys hold without an index (migration 0020_child_keys): every write checks
them (warehouse.save.require_keys), a refused write leaves nothing, and the migration keeps the
rows and the columns' constraints of a warehouse built before it."""

import duckdb
import polars as pl
import pytest

from patentscope.errors import WarehouseError
from patentscope.normalize.batch import CHILD_TABLES, Batch
from patentscope.warehouse import migrations, save
from patentscope.warehouse.connection import keys

PUB = {"country": "US", "number_as_received": "US1", "family_id_source": "publication", "in_landscape": True,
       "source": "sample"}


def pub(n: int) -> dict:
    return {**PUB, "pub_key": f"US-{n}", "pub_number": f"US-{n}", "doc_number": str(n), "family_id": f"PUB:US-{n}"}


def cite(citing: int, cited: str, year: int = 1990) -> dict:
    return {"citing_pub_key": f"US-{citing}", "cited_as_written": cited, "cited_year": year, "source": "sample"}


def counts(con) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("publications", *CHILD_TABLES)}


def test_every_child_table_has_its_key_checked_and_no_index(mem_con):
    assert set(save.CHILD_KEYS) == set(CHILD_TABLES)
    for table, key in save.CHILD_KEYS.items():
        assert keys(mem_con, table) == [], table  # no PRIMARY KEY / UNIQUE index left
        nullable = dict(mem_con.execute(
            "SELECT column_name, is_nullable FROM duckdb_columns() WHERE table_name = $t", {"t": table}).fetchall())
        assert all(nullable[c] is False for c in key), (table, nullable)  # every key column NOT NULL
        assert CHILD_TABLES[table] in key  # the publication column leads the replacement


def test_duplicate_rows_in_one_batch_are_refused_and_nothing_is_written(mem_con):
    save.save_batch(mem_con, Batch(source="sample", publications=[pub(1)], citations=[cite(1, "US 100")]), run_id=1)
    before = counts(mem_con)
    bad = Batch(source="sample", publications=[pub(1), pub(2)],
                citations=[cite(2, "US 200"), cite(2, "US 200", year=1991)])
    with pytest.raises(WarehouseError, match=r"citations: 2 rows of one write share the key .*'US-2', 'US 200', 'sample'"):
        save.save_batch(mem_con, bad, run_id=2)
    assert counts(mem_con) == before  # the whole batch rolled back, US-1's old rows included


def test_a_row_of_a_publication_outside_the_write_may_not_collide(mem_con):
    save.save_batch(mem_con, Batch(source="sample", publications=[pub(1)], citations=[cite(1, "US 100")]), run_id=1)
    # a batch carrying a citation of US-1 without US-1 itself: US-1's rows are kept, so the same key collides
    with pytest.raises(WarehouseError, match=r"citations: a row of this write has the key .*'US-1', 'US 100'"):
        save.save_batch(mem_con, Batch(source="sample", publications=[pub(2)], citations=[cite(1, "US 100")]), run_id=2)
    with pytest.raises(WarehouseError, match="citations: a row of this write"):
        save.save_batch(mem_con, Batch(source="sample", citations=[cite(1, "US 100")]), run_id=2)  # no publications
    # another cited number of US-1 is a new key: allowed, as before the index was dropped
    save.save_batch(mem_con, Batch(source="sample", publications=[pub(2)], citations=[cite(1, "US 101")]), run_id=3)
    assert mem_con.execute("SELECT count(*) FROM citations WHERE citing_pub_key = 'US-1'").fetchall() == [(2,)]


def test_saving_the_same_batch_again_replaces_its_rows(mem_con):
    batch = Batch(source="sample", publications=[pub(1), pub(2)],
                  citations=[cite(1, "US 100"), cite(2, "US 100")],
                  parties=[{"pub_key": "US-1", "role": "inventor", "seq": 1, "name_as_written": "A", "source": "sample"}])
    save.save_batch(mem_con, batch, run_id=1)
    once = counts(mem_con)
    save.save_batch(mem_con, batch, run_id=2)
    assert counts(mem_con) == once


def test_staged_frames_are_checked_too(mem_con):
    mem_con.register("_p", pl.DataFrame([pub(1)]))
    mem_con.register("_c", pl.DataFrame([cite(1, "US 5"), cite(1, "US 5")]))
    with pytest.raises(WarehouseError, match="citations: 2 rows of one write share the key"):
        save.save_frames(mem_con, "sample", {"publications": "_p", "citations": "_c"}, run_id=1)
    assert counts(mem_con)["publications"] == 0
    mem_con.register("_c", pl.DataFrame([cite(1, "US 5")]))
    save.save_frames(mem_con, "sample", {"publications": "_p", "citations": "_c"}, run_id=1)
    save.save_frames(mem_con, "sample", {"publications": "_p", "citations": "_c"}, run_id=2)  # replaced, no clash
    mem_con.register("_p2", pl.DataFrame([pub(2)]))
    with pytest.raises(WarehouseError, match=r"citations: a row of this write has the key .*'US-1', 'US 5'"):
        save.save_frames(mem_con, "sample", {"publications": "_p2", "citations": "_c"}, run_id=3)
    assert counts(mem_con)["citations"] == 1 and counts(mem_con)["publications"] == 1


def test_require_keys_on_a_whole_source_replacement(mem_con):
    """The bulk release path deletes every row of its source first (compare=False): only the
    rows of the write are compared with each other."""
    mem_con.register("_w", pl.DataFrame([{"pub_key": "US-1", "field": "title", "value": "x", "source": "bulk",
                                          "source_record": "1", "chosen": True}] * 2))
    with pytest.raises(WarehouseError, match=r"field_values: 2 rows .*\('US-1', 'title', 'bulk', '1'\)"):
        save.require_keys(mem_con, "field_values", "_w", compare=False)
    mem_con.register("_w", pl.DataFrame([{"pub_key": "US-1", "field": f, "value": "x", "source": "bulk",
                                          "source_record": "1", "chosen": True} for f in ("title", "kind")]))
    save.require_keys(mem_con, "field_values", "_w", compare=False)


def test_migration_keeps_rows_and_constraints_of_an_older_warehouse():
    con = duckdb.connect(":memory:")
    older = [m for m in migrations.builtin_migrations() if m.name < "0020"]
    migrations.apply(con, older)
    assert keys(con, "citations") == [("PRIMARY KEY", ["citing_pub_key", "cited_as_written", "source"])]
    save.save_batch(con, Batch(
        source="sample", publications=[pub(1)], citations=[cite(1, "US 100")],
        parties=[{"pub_key": "US-1", "role": "inventor", "seq": 1, "name_as_written": "A", "source": "sample"}],
        classifications=[{"pub_key": "US-1", "scheme": "CPC", "symbol": "H01F1/0577", "position": 1, "source": "sample"}],
        field_values=[{"pub_key": "US-1", "field": "title", "value": "t", "source": "sample", "source_record": "r",
                       "chosen": True}]), run_id=1)
    rows = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in CHILD_TABLES}
    columns = {t: con.execute("SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE table_name = $t "
                              "ORDER BY column_index", {"t": t}).fetchall() for t in CHILD_TABLES}
    checks = {t: sorted(r[0] for r in con.execute("SELECT expression FROM duckdb_constraints() WHERE table_name = $t "
                                                  "AND constraint_type = 'CHECK'", {"t": t}).fetchall())
              for t in CHILD_TABLES}
    assert "0020_child_keys" in migrations.apply(con)
    for t in CHILD_TABLES:
        assert con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() == rows[t], t
        # the same columns in the same order and types; NOT NULL where the key implied it
        after = con.execute("SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE table_name = $t "
                            "ORDER BY column_index", {"t": t}).fetchall()
        assert [c[:2] for c in after] == [c[:2] for c in columns[t]], t
        assert [c[2] for c in after] == [c[2] for c in columns[t]], t
        assert sorted(r[0] for r in con.execute("SELECT expression FROM duckdb_constraints() WHERE table_name = $t "
                                                "AND constraint_type = 'CHECK'", {"t": t}).fetchall()) == checks[t]
        assert keys(con, t) == []
    with pytest.raises(duckdb.ConstraintException):  # the CHECK on role survives the rebuild
        con.execute("INSERT INTO parties VALUES ('US-1', 'owner', 2, 'B', NULL, 'sample', NULL)")
    assert con.execute("SELECT count(*) FROM citation_links").fetchall()[0][0] >= 0  # views read the rebuilt tables
