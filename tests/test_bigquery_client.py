"""The live route's client code, offline: replayed exchanges recorded against bqemulator (a dry
run, a result table read in two pages), and a loopback fake answering as BigQuery does for
what the emulator cannot show (bytes of a dry run, the cost guard, ``bytesBilledLimitExceeded``,
query parameters bound, never spliced)."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("google.cloud.bigquery")
vcr = pytest.importorskip("vcr")

from patentscope.errors import PatentscopeError  # noqa: E402
from patentscope.landscape import load_landscape  # noqa: E402
from patentscope.normalize import bigquery as nbq  # noqa: E402
from patentscope.sources import bigquery_sql as bq  # noqa: E402
from patentscope.sources.bigquery import (  # noqa: E402
    GB,
    BigQueryError,
    BigQueryOptions,
    BigQueryRunner,
    CostRefused,
    load_pricing,
)

CASSETTES = Path(__file__).parent / "fixtures" / "bigquery" / "cassettes"
RECORDED_ENDPOINT = "http://127.0.0.1:46779"   # where the emulator listened when they were recorded


def _replay() -> Any:
    return vcr.VCR(record_mode="none", match_on=["method", "path", "query"])


def _client(endpoint: str, project: str = "patentscope-test") -> Any:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    return bigquery.Client(project=project, client_options=ClientOptions(api_endpoint=endpoint),
                           credentials=AnonymousCredentials())


def test_replayed_two_page_result_converts_to_arrow_and_normalizes() -> None:
    client = _client(RECORDED_ENDPOINT)
    with _replay().use_cassette(str(CASSETTES / "bqemulator-1.4.0_two_pages.yaml")) as cas:
        rows = client.list_rows("patentscope-test.patentscope_scratch.ps_publications", page_size=40)
        table = rows.to_arrow(create_bqstorage_client=False)
        assert cas.play_count == 3           # tables.get + two tabledata.list pages
    assert table.num_rows == 60
    assert {f.name for f in table.schema} >= {"publication_number", "cpc", "assignee_harmonized", "in_landscape"}
    assert str(table.schema.field("cpc").type).startswith("list<item: struct<code: string")
    import duckdb

    from patentscope.ingest.bigquery import _Stager

    con = duckdb.connect()              # the landing's own route: Arrow staged, mapped in SQL
    st = _Stager(con)
    st.arrow_table("publications", table, "ps_publications")
    st.finish()
    norm = nbq.normalize_staged(con, load_landscape(), st.raw_row)
    assert not norm.rejected and con.execute("SELECT count(*) FROM bqn_publications").fetchall() == [(60,)]
    assert con.execute("SELECT landscape_reason FROM bqn_publications WHERE pub_key = 'US-99000001'").fetchall() == \
        [("cpc:H01F1/0577",)]


def test_replayed_dry_run_reads_the_statistics() -> None:
    runner = BigQueryRunner(BigQueryOptions(api_endpoint=RECORDED_ENDPOINT, billing_project="patentscope-test"))
    from patentscope.sources.bigquery import PART_COLUMNS, probe_sql

    with _replay().use_cassette(str(CASSETTES / "bqemulator-1.4.0_dry_run.yaml"), match_on=["method", "path"]) as cas:
        assert runner._dry(probe_sql(PART_COLUMNS["members"]), []) == 0   # the emulator does not count bytes
        assert cas.play_count == 1


# ------------------------------------------------------------------------------------------------
# a loopback fake of the BigQuery REST API


class FakeBigQuery:
    """jobs.insert (dry run: bytes per statement by the columns it names; query: DONE, or the
    bytesBilledLimitExceeded error BigQuery gives when the job would bill more than allowed)."""

    BYTES = {"title_localized.text": 180 * GB, "abstract_localized.text": 160 * GB, "citation.publication_number": 30 * GB}
    DEFAULT = 2 * GB

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                q = body["configuration"]["query"]
                ref = body.get("jobReference", {"projectId": "patentscope-test", "jobId": "job-1"})
                nbytes = fake.bytes_of(q["query"])
                if body["configuration"].get("dryRun"):
                    self._send(200, {"jobReference": ref, "configuration": body["configuration"],
                                     "status": {"state": "DONE"},
                                     "statistics": {"totalBytesProcessed": str(nbytes),
                                                    "query": {"totalBytesProcessed": str(nbytes)}}})
                    return
                cap = int(q.get("maximumBytesBilled") or 0)
                if cap and nbytes > cap:
                    err = {"reason": "bytesBilledLimitExceeded", "location": "maximumBytesBilled",
                           "message": f"Query exceeded limit for bytes billed: {cap}. {nbytes} or higher required."}
                    self._send(400, {"error": {"code": 400, "message": err["message"], "errors": [err]}})
                    return
                self._send(200, {"jobReference": ref, "status": {"state": "DONE"}, "configuration": body["configuration"]})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bytes_of(self, sql: str) -> int:
        body = re.sub(r"--[^\n]*", "", sql)
        n = sum(v for k, v in self.BYTES.items() if k.split(".")[0] in body and k.split(".")[1] in body)
        return n + self.DEFAULT

    def __enter__(self) -> FakeBigQuery:
        self.thread.start()
        return self

    def __exit__(self, *a: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def _runner(fake: FakeBigQuery, **kw: Any) -> BigQueryRunner:
    return BigQueryRunner(BigQueryOptions(api_endpoint=fake.endpoint, billing_project="patentscope-test", **kw),
                          client=_client(fake.endpoint))


def test_dry_run_prices_each_part_and_binds_every_parameter() -> None:
    with FakeBigQuery() as fake:
        runner = _runner(fake)
        script = bq.build_script(load_landscape())
        est = runner.estimate(script)
    assert est.parts["members (text)"] == 340 * GB + 2 * GB and est.parts["citations"] == 32 * GB
    assert est.bytes == sum(est.parts.values())
    text = est.describe()
    price = load_pricing()
    assert f"${price.cost(est.bytes):,.2f}" in text and f"${price.usd_per_tib:g}/TiB" in text
    script_req = fake.requests[-1]["configuration"]["query"]
    assert script_req["query"] == script.sql                      # the SQL text as built: nothing spliced in
    sent = {p["name"]: p for p in script_req["queryParameters"]}
    assert set(sent) == {p.name for p in script.params}
    assert sent["core_prefixes"]["parameterType"] == {"type": "ARRAY", "arrayType": {"type": "STRING"}}
    assert [v["value"] for v in sent["core_prefixes"]["parameterValue"]["arrayValues"]] == ["H01F1/057", "H01F41/0293"]
    assert sent["since"]["parameterValue"]["value"] == "0"


def test_cost_guard_refuses_above_the_limit_before_any_job() -> None:
    with FakeBigQuery() as fake:
        runner = _runner(fake, max_bytes_billed=50 * GB)
        est = runner.estimate(bq.build_script(load_landscape()))
        with pytest.raises(CostRefused, match=r"more than max_bytes_billed = 50.0 GB; rerun with --yes") as e:
            runner.check(est, confirmed=False)
        assert e.value.exit_code == 5
        assert runner.check(est, confirmed=True) == est.bytes            # confirmed: capped at the estimate
        cheap = runner.estimate(bq.build_script(load_landscape(), keywords=False))
        assert runner.check(cheap, confirmed=False) == 50 * GB
        assert not any(not r["configuration"].get("dryRun") for r in fake.requests)   # only dry runs so far


def test_the_job_always_carries_maximum_bytes_billed_and_the_limit_error_is_reported() -> None:
    with FakeBigQuery() as fake:
        runner = _runner(fake)
        script = bq.build_script(load_landscape())
        with pytest.raises(BigQueryError, match=r"bytesBilledLimitExceeded: Query exceeded limit for bytes billed: 1000\."):
            runner.run(script, maximum_bytes_billed=1000)
    job = fake.requests[-1]["configuration"]
    assert job["query"]["maximumBytesBilled"] == "1000" and not job.get("dryRun")
    assert isinstance(BigQueryError("x"), PatentscopeError)
