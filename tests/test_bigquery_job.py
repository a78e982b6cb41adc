"""BigQuery as a source of ``ingest --all`` (patentscope/ingest/registry.py): the step runs the
live route through BigQueryRunner against an in-process fake client (no network) whose result
tables are the builder's script run on DuckDB over the fixture; the job records the step and
``status`` lists the source. Failures are classified as the SourceError classes say."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest

pytest.importorskip("sqlglot")
pq = pytest.importorskip("pyarrow.parquet")

from test_jobs_support import TODAY, run_job, settings_for, write_config  # noqa: E402

from patentscope.errors import AuthError, PermanentSourceError, QuotaError, TransientSourceError  # noqa: E402
from patentscope.ingest import registry  # noqa: E402
from patentscope.landscape import load_landscape  # noqa: E402
from patentscope.sources import bigquery as sbq  # noqa: E402
from patentscope.sources import bigquery_sql as bq  # noqa: E402
from patentscope.testing import bigquery as tb  # noqa: E402


def _fake_module() -> Any:
    """The three classes of google.cloud.bigquery the runner builds (kept as plain records)."""
    def rec(*a: Any, **kw: Any) -> SimpleNamespace:
        return SimpleNamespace(args=a, **kw)
    return SimpleNamespace(QueryJobConfig=rec, ScalarQueryParameter=rec, ArrayQueryParameter=rec)


class FakeClient:
    project = "my-billing-project"

    def __init__(self, tables: dict[str, Any]) -> None:
        self.tables = tables
        self.configs: list[Any] = []
        self.read: list[str] = []

    def query(self, sql: str, job_config: Any, location: str) -> Any:
        self.configs.append(job_config)
        if getattr(job_config, "dry_run", False):
            return SimpleNamespace(total_bytes_processed=10**9)
        n = sum(1 for c in self.configs if not getattr(c, "dry_run", False))
        return SimpleNamespace(job_id=f"job-{n}", location=location, total_bytes_processed=3 * 10**9,
                               total_bytes_billed=3 * 10**9, result=lambda: None)

    def list_rows(self, tid: str, page_size: int | None = None) -> Any:
        self.read.append(tid)
        part = tid.rsplit(bq.TABLE_PREFIX, 1)[1]
        return SimpleNamespace(to_arrow=lambda create_bqstorage_client=False: self.tables[part])

    def get_table(self, tid: str) -> Any:
        return SimpleNamespace(modified=dt.datetime(2026, 11, 20, 3, 0))


@pytest.fixture(scope="module")
def result_tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    land = load_landscape()
    con = duckdb.connect()
    tb.write_fixture_table(con, land)
    script = bq.build_script(land)
    tb.run_on_duckdb(con, script)
    out = tb.export_results(con, script, tmp_path_factory.mktemp("bqres"))
    return {p.name.split("-")[0][len(bq.TABLE_PREFIX):]: pq.read_table(p) for p in out}


def test_bigquery_is_registered_after_file_before_ops() -> None:
    order = list(registry.ORDER)
    assert order.index("file") < order.index("bigquery") < order.index("ops")
    assert registry.INGEST_SOURCE["bigquery"] == "bigquery"
    assert set(registry.BY_NAME["bigquery"].options()) == {
        "enabled", "billing_project", "location", "max_bytes_billed", "scratch_dataset", "keywords", "overlap_days",
        "since", "page_size", "api_endpoint", "declare_parameters"}


@pytest.mark.integration
def test_ingest_all_runs_the_bigquery_step_records_it_and_status_lists_it(tmp_path: Path, result_tables, monkeypatch) -> None:
    monkeypatch.setattr(sbq, "_client_module", _fake_module)
    client = FakeClient(result_tables)
    cfg = write_config(tmp_path, {"bigquery": {"billing_project": "my-billing-project", "max_bytes_billed": 50 * 10**9,
                                               "keywords": "once", "overlap_days": 30}})
    wh = tmp_path / "wh" / "patentscope.duckdb"
    log = io.StringIO()
    from patentscope.jobs import run_all

    code = run_all(settings_for(cfg, wh), json_logs=True, analyze=False, stream=log, transports={"bigquery": client},
                   today=TODAY)
    assert code == 0, log.getvalue()
    con = duckdb.connect(str(wh), read_only=True)
    try:
        steps = con.execute("SELECT step, status, rows_loaded FROM job_steps ORDER BY seq").fetchall()
        runs = con.execute("SELECT route, job_id, billing_project, bytes_billed FROM bigquery_runs").fetchall()
        pubs = con.execute("SELECT count(*) FROM publications WHERE source = 'bigquery'").fetchall()[0][0]
    finally:
        con.close()
    assert steps[0][:2] == ("bigquery", "ok") and steps[0][2] > 0
    assert runs == [("live", "job-1", "my-billing-project", 3 * 10**9)]
    assert pubs == len(result_tables["publications"])
    job = [c for c in client.configs if not getattr(c, "dry_run", False)][0]
    assert job.maximum_bytes_billed == 50 * 10**9            # the unattended job carries the configured cap
    from patentscope.status import collect

    st = collect(wh, {"sources": ["bigquery"]})
    (src,) = st["sources"]
    assert (src["source"], src["configured_as"], src["last_status"], src["publications"]) == ("bigquery", "bigquery", "ok", pubs)
    assert src["cursor"]["route"] == "live" and src["cursor"]["done_to"]


def test_a_bad_bigquery_table_is_refused_before_the_job(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"bigquery": {"keywords": "sometimes"}})
    log = io.StringIO()
    assert run_job(cfg, tmp_path / "w.duckdb", stream=log) == 2
    assert "[sources.bigquery].keywords must be true or false or" in log.getvalue()


class _GoogleError(Exception):
    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.errors = [{"reason": reason, "message": f"said {reason}"}] if reason else []


@pytest.mark.parametrize(("exc", "cls"), [
    (_GoogleError(403, "quotaExceeded"), QuotaError),
    (_GoogleError(429), QuotaError),
    (_GoogleError(503, "backendError"), TransientSourceError),
    (_GoogleError(500), TransientSourceError),
    (ConnectionResetError("reset"), TransientSourceError),
    (_GoogleError(401), AuthError),
    (_GoogleError(403, "accessDenied"), AuthError),
    (_GoogleError(400, "invalidQuery"), PermanentSourceError),
    (_GoogleError(400, "bytesBilledLimitExceeded"), PermanentSourceError),
])
def test_failures_are_classified_as_source_errors(exc: Exception, cls: type) -> None:
    err = sbq._failure("BigQuery job failed", exc)
    assert isinstance(err, sbq.BigQueryError) and isinstance(err, cls)
    assert isinstance(err, TransientSourceError) == (cls in (QuotaError, TransientSourceError))
    assert err.exit_code == (2 if cls is AuthError else 1)
