import re

import duckdb
import pytest

from patentscope.errors import QueryError, ReadOnlyViolation
from patentscope.warehouse.connection import reader
from patentscope.warehouse.query import load_queries, parse_query_file, run_read_only


@pytest.mark.parametrize("stmt", [
    "DELETE FROM publications",
    "DROP TABLE publications",
    "UPDATE publications SET title = 'x'",
    "INSERT INTO families VALUES ('x', 'docdb', 'me', NULL)",
    "ATTACH '/tmp/other.duckdb' AS o",
    "COPY publications TO '/tmp/leak.csv'",
    "COPY (SELECT 1) TO '/tmp/leak.parquet' (FORMAT parquet)",
    "CREATE TABLE t AS SELECT 1",
    "SELECT 1; DELETE FROM publications",
    "INSTALL httpfs",
    "SET enable_external_access = true",
    "EXPORT DATABASE '/tmp/dump'",
])
def test_sql_refuses_writes(sample_warehouse, stmt):
    with reader(sample_warehouse) as con:
        with pytest.raises(ReadOnlyViolation):
            run_read_only(con, stmt)
        assert con.execute("SELECT count(*) FROM publications").fetchall() == [(147,)]


@pytest.mark.parametrize("stmt", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
])
def test_sql_cannot_read_files(sample_warehouse, stmt):
    with reader(sample_warehouse) as con:
        with pytest.raises(ReadOnlyViolation, match="cannot touch files|disabled"):
            run_read_only(con, stmt)


def test_sql_binds_parameters(sample_warehouse):
    with reader(sample_warehouse) as con:
        df = run_read_only(con, "SELECT pub_key FROM publications WHERE pub_key = $k", {"k": "US-4770723' OR '1'='1"})
        assert df.height == 0  # bound as a value, not spliced into the SQL
        df = run_read_only(con, "SELECT pub_key FROM publications WHERE pub_key = $k", {"k": "US-4770723"})
        assert df["pub_key"].to_list() == ["US-4770723"]


def test_every_query_file_runs_on_empty_migrated_schema(tmp_path):
    from patentscope.warehouse import migrations
    path = tmp_path / "empty.duckdb"
    con = duckdb.connect(str(path))
    migrations.apply(con)
    con.close()
    queries = load_queries()
    assert len(queries) >= 8
    samples = {"text": "US-4770723", "int": "1", "date": "2014-07-08", "bool": "true", "float": "0.5"}
    with reader(path) as con:
        for q in queries.values():
            given = {p.name: samples[p.type] for p in q.params if p.required}
            df = run_read_only(con, q.sql, q.bind(given) or None)
            assert df.width > 0, q.name


def test_query_files_have_headers_and_no_string_formatting():
    for q in load_queries().values():
        assert q.description and q.name
        assert not re.search(r"\{[a-z_]+\}|%\(|%s", q.sql), f"{q.path} formats values into SQL"
        for p in q.params:
            assert f"${p.name}" in q.sql, f"{q.path}: parameter {p.name} unused"


def test_named_queries_on_sample(sample_warehouse):
    qs = load_queries()
    with reader(sample_warehouse) as con:
        det = run_read_only(con, qs["publication_detail"].sql, qs["publication_detail"].bind({"pub": "US 4,770,723"}))
        assert set(det["pub_key"]) == {"US-4770723"} and "inventor" in set(det["field"])
        dis = run_read_only(con, qs["source_disagreements"].sql, qs["source_disagreements"].bind({"field": "status_as_shown"}))
        assert "US-4770723" in set(dis["pub_key"])
        # every field with two values, against a plain reading of field_values (the report counts the same)
        values: dict[tuple[str, str], set[str]] = {}
        for pub_key, field, value in con.execute("SELECT pub_key, field, value FROM field_values").fetchall():
            values.setdefault((pub_key, field), set()).add(value)
        differ = {k for k, v in values.items() if len(v) > 1}
        alld = run_read_only(con, qs["source_disagreements"].sql, qs["source_disagreements"].bind({}))
        assert len(differ) > 3 and set(zip(alld["pub_key"], alld["field"], strict=True)) == differ
        cit = run_read_only(con, qs["citations_of"].sql, qs["citations_of"].bind({"pub_key": "US-4770723"}))
        assert "US-5110374" in set(cit.filter(cit["direction"] == "cited by")["other_pub_key"])


def test_query_param_errors():
    q = parse_query_file("-- name: q\n-- description: d\n-- param: year int -- the year\nSELECT $year", "q.sql")
    with pytest.raises(QueryError, match="needs --param year"):
        q.bind({})
    with pytest.raises(QueryError, match="expected int"):
        q.bind({"year": "nineteen"})
    with pytest.raises(QueryError, match="has no parameter"):
        q.bind({"year": "1", "other": "2"})
    assert q.bind({"year": "1999"}) == {"year": 1999}
    with pytest.raises(QueryError):
        parse_query_file("SELECT 1", "nohdr.sql")
