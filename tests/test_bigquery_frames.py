"""The set-based landing (SQL mapping over staged tables + save_frames) against the row-by-row
route it replaced (nbq.normalize + save_batch): the same warehouse, row for row, on the script's
fixture (Parquet and JSON), on SYNTHETIC edge cases (several documents of one number, messy
numbers, repeated citations with categories, bad rows), over rows other sources wrote first, and
for a second run over the first."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import test_bigquery_ingest
from conftest import warehouse_digest

pytest.importorskip("sqlglot")

from patentscope.errors import RowError  # noqa: E402
from patentscope.ingest import bigquery as ibq  # noqa: E402
from patentscope.landscape import load_landscape  # noqa: E402
from patentscope.normalize import bigquery as nbq  # noqa: E402
from patentscope.normalize.batch import Batch  # noqa: E402
from patentscope.warehouse import toolkit  # noqa: E402
from patentscope.warehouse.save import insert_rows, save_batch, start_run  # noqa: E402

exports = test_bigquery_ingest.exports      # the script's fixture, exported (a module fixture)
TABLES = ["publications", "field_values", "parties", "classifications", "citations", "priority_claims", "families",
          "quarantine", "raw_landing", "bigquery_runs", "bigquery_families"]


def land_row_by_row(wh: Path, path: Path, command: str = "test") -> tuple[dict[str, int], list[RowError]]:
    """The route before the set-based one: every row read as a dict, mapped in Python, saved as
    dict rows (the same run record, family details and landing; cursor left out of the digest)."""
    files = ibq.export_files(path)
    rows: dict[str, list[nbq.Located]] = {"publications": [], "citations": [], "families": []}
    rejected: list[RowError] = []
    for part, paths in files.items():
        for p in paths:
            if p.suffix == ".parquet":
                rows[part] += list(nbq.located(pq.read_table(p).to_pylist(), str(p)))
                continue
            lines = p.read_text(encoding="utf-8").splitlines()
            for n, line in enumerate(lines, start=1):
                try:
                    row = json.loads(line) if line.strip() else None
                except json.JSONDecodeError:
                    row = None
                if isinstance(row, dict) and all(c in row for c in nbq.REQUIRED[part]):
                    rows[part].append(nbq.Located(row, str(p), n))
                elif line.strip():
                    rejected += ibq._json_rejects(p, part, lines, [n])
    land = load_landscape()
    norm = nbq.normalize(rows["publications"], rows["citations"], rows["families"], land)
    batch = norm.batch
    batch.rejected = [*rejected, *batch.rejected]
    all_files = [p for part in nbq.STAGED for p in files.get(part, [])]
    meta = ibq.RunMeta(route="export", landscape_version=land.version, files=json.dumps([str(p) for p in all_files]))
    with toolkit.writer(wh) as con, toolkit.recorded_run(con, "bigquery", command) as run:
        def extra(c: duckdb.DuckDBPyConnection) -> None:
            insert_rows(c, "bigquery_runs", [{"run_id": run.run_id, **dataclasses.asdict(meta)}])
            insert_rows(c, "bigquery_families", [{**f, "run_id": run.run_id} for f in norm.family_details],
                        ibq.FAMILY_DETAILS_CONFLICT)

        counts = save_batch(con, batch, run_id=run.run_id, landing=ibq._land_files(all_files, None, run.run_id),
                            extra=extra)
    return counts, batch.rejected


def _errors(errs: list[RowError]) -> list[tuple]:
    return sorted((Path(e.file).name, e.line, e.reason, e.column) for e in errs)


def _same(tmp_path: Path, export: Path, before=None) -> tuple[Path, Path]:
    old, new = tmp_path / "old.duckdb", tmp_path / "new.duckdb"
    for wh in (old, new):
        if before is not None:
            before(wh)
    counts_old, rej_old = land_row_by_row(old, export)
    res = ibq.ingest_export(new, export, load_landscape(), command="test")
    assert warehouse_digest(new, TABLES) == warehouse_digest(old, TABLES)
    assert _errors(res.rejected) == _errors(rej_old)
    assert res.counts == counts_old
    return old, new


_PARTY = pa.list_(pa.struct([("name", pa.string()), ("country_code", pa.string())]))
_SCHEMA = {
    "publications": pa.schema([
        ("publication_number", pa.string()), ("country_code", pa.string()), ("kind_code", pa.string()),
        ("application_number", pa.string()), ("family_id", pa.string()), ("publication_date", pa.int64()),
        ("filing_date", pa.int64()), ("priority_date", pa.int64()), ("grant_date", pa.int64()),
        ("cpc", pa.list_(pa.struct([("code", pa.string()), ("inventive", pa.bool_()), ("first", pa.bool_())]))),
        ("assignee_harmonized", _PARTY), ("inventor_harmonized", _PARTY),
        ("priority_claim", pa.list_(pa.struct([("publication_number", pa.string()), ("application_number", pa.string()),
                                               ("filing_date", pa.int64())]))),
        ("title", pa.string()), ("abstract", pa.string()), ("in_landscape", pa.bool_()), ("match_core", pa.bool_()),
        ("match_strong", pa.bool_()), ("match_context", pa.bool_())]),
    "citations": pa.schema([
        ("citing_publication_number", pa.string()), ("cited_publication_number", pa.string()),
        ("npl_text", pa.string()), ("type", pa.string()), ("category", pa.string())]),
    "families": pa.schema([
        ("family_id", pa.string()), ("earliest_priority_date", pa.int64()), ("members", pa.list_(pa.string())),
        ("offices", pa.list_(pa.string())), ("assignees_harmonized", pa.list_(pa.string())),
        ("in_landscape", pa.bool_())]),
}


def _pub(number: str, **kw) -> dict:
    row = {"publication_number": number, "country_code": number[:2], "kind_code": number.rsplit("-", 1)[-1],
           "application_number": None, "family_id": None, "publication_date": 0, "filing_date": 0, "priority_date": 0,
           "grant_date": 0, "cpc": [], "assignee_harmonized": [], "inventor_harmonized": [], "priority_claim": [],
           "title": None, "abstract": None, "in_landscape": False, "match_core": False, "match_strong": False,
           "match_context": False}
    row.update(kw)
    return row


def _cpc(*codes: str, first: int = 0) -> list[dict]:
    return [{"code": c, "inventive": True, "first": i == first} for i, c in enumerate(codes)]


def edge_rows() -> dict[str, list[dict]]:
    """SYNTHETIC result rows (numbers in ranges no office has used) built to hit every rule."""
    holder = [{"name": " SYNTHETIC HOLDER A ", "country_code": "JP"}, {"name": "  ", "country_code": "JP"},
              {"name": "SYNTHETIC HOLDER B", "country_code": ""}]
    pubs = [
        # one EP number, three documents out of order: B1 wins, the A1's title and the A2's family fill in
        _pub("EP-99100001-A2", family_id="SYN-F1", publication_date=20190301, cpc=_cpc("B22F3/16", "H01F1/0577", first=1),
             assignee_harmonized=holder, in_landscape=True, match_core=True),
        _pub("EP-99100001-B1", publication_date=20210505, grant_date=20210505, cpc=_cpc("H01F1/0577", "C22C38/005"),
             assignee_harmonized=[{"name": "SYNTHETIC HOLDER C", "country_code": "DE"}],
             priority_claim=[{"publication_number": "", "application_number": "", "filing_date": 0},
                             {"publication_number": "", "application_number": "JP-99200001-A", "filing_date": 20170102},
                             {"publication_number": "EP-99100000-A1", "application_number": "", "filing_date": 20170103},
                             {"publication_number": "", "application_number": "", "filing_date": 20170104},
                             {"publication_number": "", "application_number": "WO-2017099999", "filing_date": 20171341}]),
        _pub("EP-99100001-A1", family_id="-1", publication_date=20181101, title="SYNTHETIC sintered Nd-Fe-B magnet",
             application_number="EP-99100001", priority_date=20170102, filing_date=20171231, in_landscape=True),
        # messy numbers: lower case and blanks, an era letter, a TW invention number, a 10-digit US pre-grant
        _pub(" us-0099100002-b2 ", family_id=" SYN-F2 ", publication_date=20200101, cpc=_cpc(" h01f 1/0577 ", "bad code"),
             in_landscape=True, inventor_harmonized=[{"name": "SYNTHETIC INVENTOR", "country_code": "US"}]),
        _pub("JP-H09100003-A", publication_date=19970101, in_landscape=True, match_strong=True, match_context=True,
             title="SYNTHETIC title without a landscape word"),
        _pub("TW-I99100004-B", publication_date=20050101),
        _pub("US-2006991005-A1", publication_date=20060101, title="SYNTHETIC context only: a sintered magnet",
             cpc=_cpc("B22F3/16"), in_landscape=True),
        _pub("US-99100006", publication_date=20070101),                   # no kind shown
        # two kinds of one rank (B and B1: 6), a name with non-ASCII blanks around it
        _pub("KR-99100010-B1", publication_date=20080101, grant_date=20080101),
        _pub("KR-99100010-B", publication_date=20080101,
             assignee_harmonized=[{"name": "\u3000SYNTHETIC HOLDER D\xa0", "country_code": "KR"}]),
        # bad rows: a number that is not one, a date that is not one
        _pub("NOT-A-NUMBER-X1", publication_date=20070101),
        _pub("US-99100007-A", publication_date=20071340),
    ]
    cites = [
        {"citing_publication_number": "EP-99100001-B1", "cited_publication_number": "US-99100006", "npl_text": "",
         "type": "SEA", "category": "X Y"},
        {"citing_publication_number": "EP-99100001-A2", "cited_publication_number": " US-99100006 ", "npl_text": "",
         "type": "", "category": "Y,A"},
        {"citing_publication_number": "EP-99100001-A1", "cited_publication_number": "US-99100006", "npl_text": "",
         "type": "APP", "category": "A, D D"},
        {"citing_publication_number": "EP-99100001-A1", "cited_publication_number": "", "npl_text": " SYNTHETIC NPL ",
         "type": "SEA", "category": ""},
        {"citing_publication_number": "EP-99100001-A1", "cited_publication_number": "", "npl_text": "", "type": "",
         "category": "X"},                                                   # nothing cited: skipped
        {"citing_publication_number": "JP-H09100003-A", "cited_publication_number": "XX-NOPE", "npl_text": "",
         "type": "", "category": None},
        {"citing_publication_number": "US-99100099-A", "cited_publication_number": "US-99100006", "npl_text": "",
         "type": "", "category": "X"},                                       # citing not in the result
        {"citing_publication_number": "garbage", "cited_publication_number": "US-99100006", "npl_text": "",
         "type": "", "category": "X"},
    ]
    fams = [
        {"family_id": "SYN-F1", "earliest_priority_date": 20170102, "members": ["EP-99100001-A1"], "offices": ["EP"],
         "assignees_harmonized": [], "in_landscape": False},
        {"family_id": "SYN-F1", "earliest_priority_date": 20170102, "members": ["EP-99100001-A1", "EP-99100001-B1"],
         "offices": ["EP"], "assignees_harmonized": ["SYNTHETIC HOLDER A"], "in_landscape": True},
        {"family_id": "SYN-F9", "earliest_priority_date": 0, "members": [], "offices": [], "assignees_harmonized": [],
         "in_landscape": False},
        {"family_id": "", "earliest_priority_date": 0, "members": [], "offices": [], "assignees_harmonized": [],
         "in_landscape": False},
        {"family_id": "SYN-F8", "earliest_priority_date": 20171399, "members": [], "offices": [],
         "assignees_harmonized": [], "in_landscape": False},
    ]
    return {"publications": pubs, "citations": cites, "families": fams}


def _write_edge(d: Path, fmt: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for part, rows in edge_rows().items():
        if fmt == "parquet":
            pq.write_table(pa.Table.from_pylist(rows, _SCHEMA[part]), d / f"ps_{part}-000000000000.parquet")
            continue
        lines = []
        for r in rows:      # BigQuery writes INT64 as strings in JSON
            r = {k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in r.items()}
            lines.append(json.dumps(r))
        if part == "publications":
            lines[3:3] = ["{not json", "", "[1, 2]", json.dumps({"publication_number": "US-99100008-A"}),
                          json.dumps({**json.loads(lines[0]), "publication_number": "US-99100009-A", "cpc": "H01F"})]
        (d / f"ps_{part}-000000000000.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d


@pytest.mark.parametrize("fmt", ["parquet", "json"])
def test_fixture_lands_as_the_row_by_row_route_did(tmp_path, exports, fmt) -> None:
    _same(tmp_path, exports[fmt])


@pytest.mark.parametrize("fmt", ["parquet", "json"])
def test_edge_cases_land_as_the_row_by_row_route_did(tmp_path, fmt) -> None:
    _, new = _same(tmp_path, _write_edge(tmp_path / "edge", fmt))
    con = duckdb.connect(str(new), read_only=True)
    try:   # the cases are really there (a digest of two empty warehouses is equal too)
        assert con.execute("SELECT pub_number, kinds_seen, title, family_id, grant_date IS NOT NULL FROM publications "
                           "WHERE pub_key = 'EP-99100001'").fetchall() == \
            [("EP-99100001-B1", ["A1", "A2", "B1"], "SYNTHETIC sintered Nd-Fe-B magnet", "SYN-F1", True)]
        assert con.execute("SELECT category FROM citations WHERE citing_pub_key = 'EP-99100001' "
                           "AND cited_as_written = 'US-99100006'").fetchall() == [("X,Y,A,D,D",)]
        assert {k for (k,) in con.execute("SELECT pub_key FROM publications").fetchall()} >= \
            {"US-99100002", "JP-H09100003", "TW-I99100004", "US-20060991005", "US-99100006"}
        assert con.execute("SELECT p.kinds_seen, y.name_as_written FROM publications p JOIN parties y USING (pub_key) "
                           "WHERE pub_key = 'KR-99100010'").fetchall() == [(["B", "B1"], "SYNTHETIC HOLDER D")] * 2
        assert con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0] >= (5 if fmt == "parquet" else 9)
    finally:
        con.close()


@pytest.mark.integration
def test_over_other_sources_and_a_second_run(tmp_path, exports) -> None:
    def before(wh: Path) -> None:
        base = {"pub_number": "US-99000001-B2", "number_as_received": "x", "country": "US", "doc_number": "99000001",
                "kind": "B2", "family_id": "PUB:US-99000001", "family_id_source": "publication", "in_landscape": False}
        with toolkit.writer(wh) as con:
            run = start_run(con, "ops", "t")
            save_batch(con, Batch("ops", publications=[{**base, "pub_key": "US-99000001", "title": "OPS title",
                                                         "source": "ops"}]), run_id=run)
            save_batch(con, Batch("sample", publications=[{**base, "pub_key": "US-99000022", "title": "sample title",
                                                            "abstract": "kept", "source": "sample"}]), run_id=run)

    old, new = _same(tmp_path, exports["parquet"], before)
    land_row_by_row(old, exports["json"])
    ibq.ingest_export(new, exports["json"], load_landscape(), command="test")
    assert warehouse_digest(new, TABLES) == warehouse_digest(old, TABLES)


def test_common_numbers_read_in_sql_as_canonical_reads_them() -> None:
    """The SQL fast path of the number map against canonical() on every shape it takes."""
    con = duckdb.connect()
    nums = [f"{cc}-{pre}{num}{kind}" for cc in ("US", "EP", "JP", "TW", "WO", "CN")
            for pre in ("", "S", "H", "R", "I") for num in ("0000123", "4770723", "2006142694", "20060142694", "05")
            for kind in ("", "-", "-A", "-B2", "-A1")] + ["us-1-a", "US-1-AB", "US--A", "XX", ""]
    con.execute("CREATE TEMP TABLE bq_in_publications (publication_number VARCHAR)")
    con.execute("CREATE TEMP TABLE bq_in_citations (citing_publication_number VARCHAR, cited_publication_number VARCHAR)")
    con.executemany("INSERT INTO bq_in_publications VALUES (?)", [[n] for n in nums])
    nbq._macros(con)
    nbq._number_map(con)
    got = {r[0]: r[1:] for r in con.execute("SELECT raw, country, number, kind FROM bqn_numbers").fetchall()}
    for n in nums:
        pn = nbq.canonical(n)
        assert got.get(n) == ((pn.country, pn.number, pn.kind) if pn else None), n


@pytest.mark.integration
def test_a_kill_mid_save_then_a_rerun_equals_a_clean_run(tmp_path, exports, monkeypatch) -> None:
    from patentscope.warehouse import save

    clean = tmp_path / "clean.duckdb"
    ibq.ingest_export(clean, exports["parquet"], load_landscape(), command="test")
    crashy = tmp_path / "crashy.duckdb"
    real = save._insert

    def dying(con, table, rows, conflict="", **kw):
        real(con, table, rows, conflict, **kw)
        if table == "citations":                     # the citations are in, the process dies
            raise KeyboardInterrupt("simulated kill")

    monkeypatch.setattr(save, "_insert", dying)
    with pytest.raises(KeyboardInterrupt):
        ibq.ingest_export(crashy, exports["parquet"], load_landscape(), command="test")
    assert all(n == 0 for n, _ in warehouse_digest(crashy, TABLES).values())
    con = duckdb.connect(str(crashy), read_only=True)
    assert con.execute("SELECT status FROM ingest_runs").fetchall() == [("failed",)]
    assert con.execute("SELECT count(*) FROM ingest_state").fetchall() == [(0,)]
    con.close()
    monkeypatch.setattr(save, "_insert", real)
    ibq.ingest_export(crashy, exports["parquet"], load_landscape(), command="test")
    assert warehouse_digest(crashy, TABLES) == warehouse_digest(clean, TABLES)


def test_a_json_line_duckdb_cannot_read_is_quarantined_not_dropped(tmp_path) -> None:
    d = _write_edge(tmp_path / "edge", "json")
    pubs = d / "ps_publications-000000000000.json"
    row = {**json.loads(pubs.read_text(encoding="utf-8").splitlines()[0]), "publication_number": "US-99100011-A"}
    line = json.dumps(row)[:-1] + ', "note": "\\ud800"}'     # valid for Python's json, not for DuckDB's
    pubs.write_text(pubs.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    res = ibq.ingest_export(tmp_path / "w.duckdb", d, load_landscape(), command="test")
    n = len(pubs.read_text(encoding="utf-8").splitlines())
    assert [e.reason for e in res.rejected if e.line == n and e.file == str(pubs)] == \
        ["JSON that DuckDB does not read (e.g. a lone UTF-16 surrogate escape such as \\ud800); "
         "BigQuery does not write such lines"]
