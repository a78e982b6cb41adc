"""A failure in the middle of saving leaves nothing of the batch; a re-run equals a clean run."""

import duckdb
import pytest
from conftest import warehouse_digest

from patentscope.ingest.sample import ingest_sample_format, sample_folder
from patentscope.warehouse import save

TABLES = ["publications", "parties", "classifications", "citations", "field_values", "priority_claims",
          "related_publications", "families", "licensing_facts", "holder_declared_patents", "raw_landing"]


def content(path):
    return warehouse_digest(path, TABLES)


@pytest.mark.integration
def test_crash_mid_save_then_rerun_equals_clean_run(tmp_path, landscape, monkeypatch):
    clean = tmp_path / "clean.duckdb"
    ingest_sample_format(clean, sample_folder(), landscape, command="clean")

    crashy = tmp_path / "crashy.duckdb"
    real_insert = save._insert

    def failing_insert(con, table, rows, conflict="", **kw):
        if table == "citations":
            real_insert(con, table, rows[: len(rows) // 2], conflict, **kw)  # half the rows in...
            raise KeyboardInterrupt("simulated kill")                          # ...then the process dies
        return real_insert(con, table, rows, conflict, **kw)

    monkeypatch.setattr(save, "_insert", failing_insert)
    with pytest.raises(KeyboardInterrupt):
        ingest_sample_format(crashy, sample_folder(), landscape, command="crashy")
    after_crash = content(crashy)
    assert all(n == 0 for n, _ in after_crash.values()), after_crash  # nothing half-committed
    con = duckdb.connect(str(crashy), read_only=True)
    assert con.execute("SELECT status FROM ingest_runs").fetchall() == [("failed",)]
    con.close()

    monkeypatch.setattr(save, "_insert", real_insert)
    ingest_sample_format(crashy, sample_folder(), landscape, command="rerun")
    assert content(crashy) == content(clean)


def test_better_source_wins_worse_source_fills(mem_con):
    from patentscope.normalize.batch import Batch
    base = {"country": "US", "doc_number": "1", "number_as_received": "US1", "family_id": "PUB:US-1",
            "family_id_source": "publication", "in_landscape": False}
    b1 = Batch(source="sample", publications=[{**base, "pub_key": "US-1", "pub_number": "US-1", "title": "from sample",
                                                "abstract": "sample abstract", "source": "sample"}])
    save.save_batch(mem_con, b1, run_id=1)
    b2 = Batch(source="bulk", publications=[{**base, "pub_key": "US-1", "pub_number": "US-1-A", "title": "from bulk",
                                              "abstract": None, "source": "bulk", "in_landscape": True}])
    save.save_batch(mem_con, b2, run_id=2)
    row = mem_con.execute("SELECT pub_number, title, abstract, source, in_landscape FROM publications").fetchall()[0]
    assert row == ("US-1-A", "from bulk", "sample abstract", "bulk", True)
    # the worse-ranked sample source again: only fills, never overwrites
    save.save_batch(mem_con, b1, run_id=3)
    row = mem_con.execute("SELECT pub_number, title, abstract, source, in_landscape FROM publications").fetchall()[0]
    assert row == ("US-1-A", "from bulk", "sample abstract", "bulk", True)
