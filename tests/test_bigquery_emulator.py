"""The real client path against bqemulator (a DuckDB-backed BigQuery emulator), in its own
virtual environment: google-cloud-bigquery submits the landscape script as a job, pages the
result tables and converts them to Arrow; the rows land in the warehouse exactly as the
DuckDB route lands them.

Slow (it starts a server) and skipped with the reason when the emulator is not installed.
Set it up once (it needs its own duckdb 1.5.x, so never in the project's venv):

    python3 -m venv /tmp/bqemu && /tmp/bqemu/bin/pip install bqemulator duckdb==1.5.5 \
        duckdb-extension-spatial==1.5.5 numpy
    PATENTSCOPE_BQEMULATOR=/tmp/bqemu/bin/bqemulator pytest -m slow tests/test_bigquery_emulator.py

The emulator loads DuckDB's spatial extension at start; this test installs it from the
``duckdb-extension-spatial`` package into a private HOME (no download). What bqemulator 1.4
cannot do, and how the test goes around it: it does not bind query parameters inside a
multi-statement script (the runner's ``declare_parameters`` sends the same values as DECLAREd
variables), a dry run of a script does not return, and it neither counts bytes nor enforces
``maximum_bytes_billed`` (those paths are covered by tests/test_bigquery_client.py against a
loopback fake answering as BigQuery does).

With PATENTSCOPE_RECORD_CASSETTES=1 it also records the vcrpy cassettes replayed by
tests/test_bigquery_client.py (a dry run, and a result table read in two pages).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow
pytest.importorskip("google.cloud.bigquery")
pytest.importorskip("sqlglot")

from patentscope.ingest import bigquery as ibq  # noqa: E402
from patentscope.landscape import load_landscape  # noqa: E402
from patentscope.sources import bigquery_sql as bq  # noqa: E402
from patentscope.sources.bigquery import BigQueryOptions, BigQueryRunner, Estimate, load_pricing  # noqa: E402
from patentscope.testing import bigquery as tb  # noqa: E402

CASSETTES = Path(__file__).parent / "fixtures" / "bigquery" / "cassettes"
PROJECT = "patentscope-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    exe = os.environ.get("PATENTSCOPE_BQEMULATOR") or shutil.which("bqemulator")
    if not exe:
        pytest.skip("bqemulator is not installed: set PATENTSCOPE_BQEMULATOR to its executable in a separate venv "
                    "(see this file's docstring)")
    py = Path(exe).parent / "python"
    home = tmp_path_factory.mktemp("emuhome")
    env = {**os.environ, "HOME": str(home)}
    pre = subprocess.run([str(py), "-c", (
        "import duckdb, pathlib, duckdb_extension_spatial as d; v = duckdb.__version__; "
        "p = next(pathlib.Path(d.__file__).parent.glob('extensions/v' + v + '/spatial.duckdb_extension')); "
        "duckdb.connect().execute(\"INSTALL '\" + str(p) + \"'\")")], env=env, capture_output=True, text=True)
    if pre.returncode != 0:
        pytest.skip(f"bqemulator needs DuckDB's spatial extension and it cannot be installed offline: "
                    f"{pre.stderr.strip().splitlines()[-1] if pre.stderr.strip() else pre.returncode} "
                    "(pip install duckdb-extension-spatial matching the emulator's duckdb)")
    rest, grpc = _free_port(), _free_port()
    log = home / "emulator.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([exe, "start", "--rest-port", str(rest), "--grpc-port", str(grpc), "--project", PROJECT,
                                 "--log-level", "warning"], env=env, stdout=fh, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{rest}"
    import httpx

    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{endpoint}/bigquery/v2/projects/{PROJECT}/datasets", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.terminate()
            pytest.skip("bqemulator did not start: " + " | ".join(log.read_text().strip().splitlines()[-3:])[-400:])
        time.sleep(0.5)
    try:
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _client(endpoint: str, project: str):
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    return bigquery.Client(project=project, client_options=ClientOptions(api_endpoint=endpoint),
                           credentials=AnonymousCredentials())


class ProbeOnlyRunner(BigQueryRunner):
    """bqemulator never answers the dry run of a whole script: estimate from the probes only."""

    def estimate(self, script: bq.Script) -> Estimate:
        parts = {name: self._dry(bq_probe, []) for name, bq_probe in _probes(script)}
        return Estimate(0, parts, load_pricing())


def _probes(script: bq.Script) -> list[tuple[str, str]]:
    from patentscope.sources.bigquery import PART_COLUMNS, probe_sql

    return [(n, probe_sql(c)) for n, c in PART_COLUMNS.items() if script.uses_text or n != "members (text)"]


def test_script_runs_through_google_cloud_bigquery_and_lands_like_the_duckdb_route(emulator, tmp_path) -> None:
    from google.cloud import bigquery

    land = load_landscape()
    src = _client(emulator, "patents-public-data")
    ds = bigquery.Dataset("patents-public-data.patents")
    ds.location = "US"
    src.create_dataset(ds, exists_ok=True)
    schema = [bigquery.SchemaField.from_api_repr(f) for f in tb.PUBLICATIONS_SCHEMA]
    src.create_table(bigquery.Table(bq.SOURCE_TABLE, schema=schema), exists_ok=True)
    assert src.insert_rows_json(bq.SOURCE_TABLE, tb.fixture_rows(land)) == []
    mine = _client(emulator, PROJECT)
    scratch = bigquery.Dataset(f"{PROJECT}.{bq.DEFAULT_SCRATCH_DATASET}")
    scratch.location = "US"
    mine.create_dataset(scratch, exists_ok=True)

    opts = BigQueryOptions(api_endpoint=emulator, billing_project=PROJECT, page_size=25, declare_parameters=True)
    log: list[str] = []
    runner = ProbeOnlyRunner(opts, client=mine, log=log.append)
    res = ibq.ingest_live(tmp_path / "w.duckdb", land, runner, command="test", log=log.append)
    assert not res.rejected and res.job_id
    assert any("read 60 rows of" in m and "ps_publications" in m for m in log), log

    # the same script on DuckDB, exported and landed through the export route: the same rows
    con = duckdb.connect()
    tb.create_publications_table(con)
    tb.load_rows(con, tb.fixture_rows(land))
    script = bq.build_script(land)
    tb.run_on_duckdb(con, script)
    tb.export_results(con, script, tmp_path / "exp")
    ibq.ingest_export(tmp_path / "d.duckdb", tmp_path / "exp", land, command="test")
    for sql in ("SELECT pub_key, pub_number, in_landscape, landscape_reason, family_id, publication_date, title "
                "FROM publications ORDER BY pub_key",
                "SELECT citing_pub_key, cited_as_written, cited_pub_key, category FROM citations ORDER BY 1, 2",
                "SELECT pub_key, role, seq, name_as_written, country FROM parties ORDER BY 1, 2, 3",
                "SELECT family_id, earliest_priority_date, members, offices, in_landscape FROM bigquery_families ORDER BY 1"):
        a = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True).execute(sql).fetchall()
        b = duckdb.connect(str(tmp_path / "d.duckdb"), read_only=True).execute(sql).fetchall()
        assert a == b and a, sql
    run = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True).execute(
        "SELECT route, job_id, sql_sha256, parameters FROM bigquery_runs").fetchall()
    assert run[0][0] == "live" and run[0][1] == res.job_id and run[0][2] == script.sha256 and "core_prefixes" in run[0][3]

    if os.environ.get("PATENTSCOPE_RECORD_CASSETTES"):
        _record(emulator, mine)


def _record(endpoint: str, client) -> None:
    import vcr

    CASSETTES.mkdir(parents=True, exist_ok=True)
    rec = vcr.VCR(record_mode="all", match_on=["method", "path"], filter_headers=["authorization", "user-agent",
                                                                                    "x-goog-api-client"])
    runner = BigQueryRunner(BigQueryOptions(api_endpoint=endpoint, billing_project=PROJECT), client=client)
    with rec.use_cassette(str(CASSETTES / "bqemulator-1.4.0_dry_run.yaml")):
        runner._dry(_probes(bq.build_script(load_landscape()))[0][1], [])
    with rec.use_cassette(str(CASSETTES / "bqemulator-1.4.0_two_pages.yaml")):
        rows = client.list_rows(f"{PROJECT}.{bq.DEFAULT_SCRATCH_DATASET}.ps_publications", page_size=40)
        assert rows.to_arrow(create_bqstorage_client=False).num_rows == 60
