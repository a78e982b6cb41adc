"""BigQuery result tables -> canonical rows -> the warehouse: the export route (Parquet and
newline-delimited JSON written from the fixture by the script itself on DuckDB), the mapping,
bad input, the run record, the cursor, and source precedence."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

pytest.importorskip("sqlglot")

from patentscope.errors import InputError  # noqa: E402
from patentscope.ingest import bigquery as ibq  # noqa: E402
from patentscope.landscape import Landscape, load_landscape  # noqa: E402
from patentscope.normalize import bigquery as nbq  # noqa: E402
from patentscope.sources import bigquery_sql as bq  # noqa: E402
from patentscope.testing import bigquery as tb  # noqa: E402


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    """The script's result tables over the fixture, exported as BigQuery's extract names them."""
    con = duckdb.connect()
    tb.create_publications_table(con)
    tb.load_rows(con, tb.fixture_rows(load_landscape()))
    script = bq.build_script(load_landscape())
    tb.run_on_duckdb(con, script)
    base = tmp_path_factory.mktemp("bq")
    out = {}
    for fmt in ("parquet", "json"):
        tb.export_results(con, script, base / fmt, fmt)
        out[fmt] = base / fmt
    return out


@pytest.fixture(scope="module")
def landed(tmp_path_factory, exports) -> Path:
    wh = tmp_path_factory.mktemp("landed") / "w.duckdb"
    ibq.ingest_export(wh, exports["parquet"], load_landscape(), command="test")
    return wh


def _q(wh: Path, sql: str, params: dict | None = None) -> list[tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def test_canonical_numbers_and_dates() -> None:
    pn = nbq.canonical("US-4770723-A")
    assert (pn.pub_key, pn.kind) == ("US-4770723", "A")
    assert nbq.canonical("US-2006142694-A1").pub_key == "US-20060142694"  # DOCDB 10-digit pre-grant form
    assert nbq.canonical("JP-H056813-A").pub_key == "JP-H056813"
    assert nbq.canonical("TW-I229150-B").pub_key == "TW-I229150"
    assert nbq.canonical("not a number") is None and nbq.canonical("") is None
    assert nbq.ymd(19880906) == dt.date(1988, 9, 6) and nbq.ymd("19880906") == dt.date(1988, 9, 6)
    assert nbq.ymd(0) is None and nbq.ymd(None) is None
    for bad in (19881340, "x", True):
        with pytest.raises(ValueError):
            nbq.ymd(bad)


@pytest.mark.parametrize("fmt", ["parquet", "json"])
def test_export_lands_with_the_same_rows_in_both_formats(tmp_path, exports, fmt) -> None:
    wh = tmp_path / "w.duckdb"
    res = ibq.ingest_export(wh, exports[fmt], load_landscape(), command="test")
    assert not res.rejected
    pubs = dict(_q(wh, "SELECT pub_key, in_landscape FROM publications WHERE source = 'bigquery'"))
    assert pubs["US-99000001"] is True and pubs["JP-99000002"] is False and pubs["US-99000010"] is False
    assert "US-99000004" not in pubs and "US-99000005" not in pubs
    row = _q(wh, "SELECT pub_number, kind, kinds_seen, is_grant, family_id, family_id_source, publication_date, "
                 "priority_date, landscape_reason, source_url FROM publications WHERE pub_key = 'US-99000001'")[0]
    assert row == ("US-99000001-B2", "B2", ["B2"], True, "SYN-FAM-1", "docdb", dt.date(2020, 1, 7), dt.date(2018, 1, 1),
                   "cpc:H01F1/0577", "https://patents.google.com/patent/US99000001B2/en")
    assert _q(wh, "SELECT landscape_reason FROM publications WHERE pub_key = 'US-99000022'") == [("keyword:Nd-Fe-B",)]
    assert _q(wh, "SELECT landscape_reason FROM publications WHERE pub_key = 'US-99000020'") == \
        [("cpc+keyword:B22F3/16+sintered magnet",)]
    parties = _q(wh, "SELECT role, seq, name_as_written, country FROM parties WHERE pub_key = 'US-99000001' ORDER BY role")
    assert parties == [("applicant", 1, "SYNTHETIC MAGNET KK", "JP"), ("original_assignee", 1, "SYNTHETIC MAGNET KK", "JP")]
    cites = _q(wh, "SELECT cited_as_written, cited_pub_key, category, reference_type FROM citations "
                   "WHERE citing_pub_key = 'US-99000003'")
    assert cites == [("JP-99000002-A", "JP-99000002", "X", "patent (SEA)")]
    assert _q(wh, "SELECT earliest_priority_date, members, offices, in_landscape, member_count FROM bigquery_families "
                  "WHERE family_id = 'SYN-FAM-1'") == [(dt.date(2018, 1, 1), ["JP-99000002-A", "US-99000001-B2"],
                                                       ["JP", "US"], True, 2)]
    assert _q(wh, "SELECT id_source, source FROM families WHERE family_id = 'SYN-FAM-10'") == [("docdb", "bigquery")]
    run = _q(wh, "SELECT route, landscape_version, files IS NOT NULL FROM bigquery_runs WHERE run_id = $r", {"r": res.run_id})
    assert run == [("export", load_landscape().version, True)]
    assert _q(wh, "SELECT status FROM ingest_runs WHERE run_id = $r", {"r": res.run_id}) == [("ok",)]
    cur = json.loads(_q(wh, "SELECT cursor FROM ingest_state WHERE source = 'bigquery'")[0][0])
    assert cur["done_to"] == max(str(d) for (d,) in _q(wh, "SELECT publication_date FROM publications "
                                                         "WHERE source = 'bigquery' AND publication_date IS NOT NULL"))
    assert _q(wh, "SELECT count(*) FROM raw_landing WHERE source = 'bigquery'") == [(3,)]


def test_real_sample_records_keep_their_numbers_and_citations(landed) -> None:
    wh = landed
    real = _q(wh, "SELECT count(*) FROM publications WHERE source = 'bigquery' AND pub_key NOT LIKE '%-990000%'")[0][0]
    assert real > 20
    # the anchor (a real member) is cited by the SYNTHETIC member: forward edge into a landscape family
    assert _q(wh, "SELECT count(*) FROM citations WHERE citing_pub_key = 'US-99000001' AND cited_pub_key NOT LIKE '%9900%'") \
        == [(1,)]


def test_reingest_is_idempotent_and_second_run_keeps_the_cursor(tmp_path, exports) -> None:
    wh = tmp_path / "w.duckdb"
    land = load_landscape()
    ibq.ingest_export(wh, exports["parquet"], land, command="test")
    first = _q(wh, "SELECT count(*) FROM publications"), _q(wh, "SELECT count(*) FROM citations")
    ibq.ingest_export(wh, exports["json"], land, command="test")
    assert (_q(wh, "SELECT count(*) FROM publications"), _q(wh, "SELECT count(*) FROM citations")) == first
    opts = type("O", (), {"overlap_days": 30, "since": None})()
    done_to = json.loads(_q(wh, "SELECT cursor FROM ingest_state WHERE source = 'bigquery'")[0][0])["done_to"]
    assert ibq.next_since(wh, land, opts) == dt.date.fromisoformat(done_to) - dt.timedelta(days=30)


def test_bad_rows_are_quarantined_with_file_and_line_and_the_rest_loads(tmp_path, exports) -> None:
    src = exports["json"]
    bad = tmp_path / "bad"
    bad.mkdir()
    for p in src.iterdir():
        (bad / p.name).write_bytes(p.read_bytes())
    pubs = next(bad.glob("ps_publications*"))
    lines = pubs.read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[0])
    broken["publication_date"] = "20231341"
    lines[0] = json.dumps(broken)
    lines.insert(1, "{not json")
    pubs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    wh = tmp_path / "w.duckdb"
    res = ibq.ingest_export(wh, bad, load_landscape(), command="test")
    reasons = sorted((e.line, e.reason) for e in res.rejected)
    assert reasons[0][0] == 1 and "not a yyyymmdd date" in reasons[0][1]
    assert reasons[1][0] == 2 and "not valid JSON" in reasons[1][1]
    q = _q(wh, "SELECT file, line FROM quarantine ORDER BY line")
    assert [(Path(f).name, n) for f, n in q][:2] == [(pubs.name, 1), (pubs.name, 2)]
    assert _q(wh, "SELECT status FROM ingest_runs WHERE run_id = $r", {"r": res.run_id}) == [("partial",)]


def test_unreadable_or_misnamed_exports_write_nothing(tmp_path) -> None:
    d = tmp_path / "x"
    d.mkdir()
    (d / "ps_publications-000.parquet").write_bytes(b"not parquet")
    wh = tmp_path / "w.duckdb"
    with pytest.raises(InputError, match="not a readable Parquet file"):
        ibq.ingest_export(wh, d, load_landscape(), command="test")
    assert not wh.exists()
    (d / "ps_publications-000.parquet").unlink()
    (d / "results.parquet").write_bytes(b"x")
    with pytest.raises(InputError, match="unknown result table"):
        ibq.ingest_export(wh, d, load_landscape(), command="test")
    with pytest.raises(InputError, match="no such file"):
        ibq.export_files(tmp_path / "missing")


def test_precedence_bigquery_fills_after_ops_and_wins_over_sample(tmp_path, exports) -> None:
    """SOURCE_RANK: bigquery = 3 (Google's compilation, like a Google Patents export): a sample
    row's values give way to it; an OPS row (rank 2) keeps its values and only gains empty fields."""
    from patentscope.normalize.batch import Batch
    from patentscope.warehouse import migrations
    from patentscope.warehouse.connection import writer
    from patentscope.warehouse.save import SOURCE_RANK, save_batch, start_run

    assert SOURCE_RANK["ops"] < SOURCE_RANK["bigquery"] < SOURCE_RANK["sample"]
    wh = tmp_path / "w.duckdb"
    base = {"pub_number": "US-99000001-B2", "number_as_received": "x", "country": "US", "doc_number": "99000001",
            "kind": "B2", "family_id": "PUB:US-99000001", "family_id_source": "publication", "in_landscape": False}
    with writer(wh) as con:
        migrations.apply(con)
        run = start_run(con, "ops", "t")
        save_batch(con, Batch("ops", publications=[{**base, "pub_key": "US-99000001", "title": "OPS title",
                                                     "source": "ops"}]), run_id=run)
        save_batch(con, Batch("sample", publications=[{**base, "pub_key": "US-99000022", "title": "sample title",
                                                        "source": "sample"}]), run_id=run)
    ibq.ingest_export(wh, exports["parquet"], load_landscape(), command="test")
    assert _q(wh, "SELECT title, family_id, source FROM publications WHERE pub_key = 'US-99000001'") == \
        [("OPS title", "PUB:US-99000001", "ops")]
    assert _q(wh, "SELECT title, source FROM publications WHERE pub_key = 'US-99000022'") == \
        [("SYNTHETIC strong keyword in the abstract only", "bigquery")]


class _StubRunner:
    """The runner's interface (estimate, check, run), answering from the script run on DuckDB:
    the live route's bookkeeping without a server (the client itself: test_bigquery_client.py)."""

    def __init__(self, opts) -> None:
        from patentscope.sources.bigquery import Estimate, load_pricing

        self.options = opts
        self.client = type("C", (), {"project": "my-billing-project"})()
        self.scripts: list[bq.Script] = []
        self._est = Estimate(12 * 10**9, {"members": 12 * 10**9}, load_pricing())

    def estimate(self, script):
        return self._est

    def check(self, est, *, confirmed):
        from patentscope.sources.bigquery import BigQueryRunner

        return BigQueryRunner.check(self, est, confirmed=confirmed)  # type: ignore[arg-type]

    def run(self, script, *, maximum_bytes_billed):
        import pyarrow.parquet as pq

        from patentscope.sources.bigquery import JobResult

        self.scripts.append(script)
        if not hasattr(self, "con"):
            self.con = duckdb.connect()
            tb.create_publications_table(self.con)
            tb.load_rows(self.con, tb.fixture_rows(load_landscape()))
        con = self.con
        tb.run_on_duckdb(con, script)
        out = tb.export_results(con, script, Path(self.tmp) / f"run{len(self.scripts)}")
        tables = {p.name.split("-")[0][3:]: pq.read_table(p) for p in out}
        return JobResult(f"job-{len(self.scripts)}", "US", 11 * 10**9, 11 * 10**9, "2026-11-20T03:00:00", tables)


def test_live_route_records_the_job_and_increments_from_the_cursor(tmp_path) -> None:
    from patentscope.sources.bigquery import BigQueryOptions

    land = load_landscape()
    wh = tmp_path / "w.duckdb"
    opts = BigQueryOptions(max_bytes_billed=20 * 10**9, overlap_days=30, keywords="once")
    runner = _StubRunner(opts)
    runner.tmp = str(tmp_path)
    res = ibq.ingest_live(wh, land, runner, command="test", since=ibq.next_since(wh, land, opts), raw_dir=tmp_path / "raw")
    assert not res.rejected and res.since is None
    row = _q(wh, "SELECT route, sql_sha256, job_id, bytes_billed, dataset_snapshot, billing_project, since "
                 "FROM bigquery_runs")
    assert row == [("live", runner.scripts[0].sha256, "job-1", 11 * 10**9, "2026-11-20T03:00:00", "my-billing-project", None)]
    assert len(list((tmp_path / "raw" / "bigquery").glob("*.parquet"))) == 3
    since = ibq.next_since(wh, land, opts)
    newest = _q(wh, "SELECT max(publication_date) FROM publications")[0][0]
    assert since == newest - dt.timedelta(days=30)
    ibq.ingest_live(wh, land, runner, command="test", since=since)
    assert runner.scripts[1].param_values()["since"] == bq.yyyymmdd(since)
    assert runner.scripts[0].uses_text and not runner.scripts[1].uses_text      # keywords = "once"
    assert _q(wh, "SELECT count(*) FROM publications WHERE abstract IS NOT NULL")[0][0] > 0  # the text stays
    assert _q(wh, "SELECT since FROM bigquery_runs WHERE job_id = 'job-2'") == [(since,)]
    changed = Landscape(**{**{k: getattr(land, k) for k in land.__dataclass_fields__ if not k.startswith("_")},
                           "version": "edited"})
    assert ibq.next_since(wh, changed, opts) is None          # a changed landscape reloads in full


def test_options_from_config_are_checked() -> None:
    from patentscope.errors import ConfigError
    from patentscope.sources.bigquery import BigQueryOptions

    o = BigQueryOptions.from_config({"billing_project": "p-123456", "max_bytes_billed": 10**10, "since": "2020-01-01",
                                     "keywords": False, "enabled": True})
    assert (o.billing_project, o.max_bytes_billed, o.since, o.keywords) == ("p-123456", 10**10, dt.date(2020, 1, 1), False)
    for bad, msg in (({"max_bytes_billed": "50GB"}, "positive whole number"), ({"since": "soon"}, "YYYY-MM-DD"),
                     ({"keywords": "yes"}, 'true or false or "once"'), ({"credentials": "x"}, "unknown key")):
        with pytest.raises(ConfigError, match=msg):
            BigQueryOptions.from_config(bad)


def test_a_failure_inside_the_save_leaves_nothing_but_the_failed_run(tmp_path, exports, monkeypatch) -> None:
    wh = tmp_path / "w.duckdb"

    def boom(con, staged, run_id):
        real(con, staged, run_id)                  # the family rows are in...
        raise RuntimeError("disk on fire")         # ...then the save fails

    real = ibq.write_family_details
    monkeypatch.setattr(ibq, "write_family_details", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ibq.ingest_export(wh, exports["parquet"], load_landscape(), command="test")
    assert _q(wh, "SELECT status, message FROM ingest_runs") == [("failed", "disk on fire")]
    for table in ("publications", "citations", "bigquery_runs", "raw_landing", "ingest_state"):
        assert _q(wh, f"SELECT count(*) FROM {table}") == [(0,)], table
