"""The ODP client and live ingest against a fake ODP (httpx.MockTransport) that serves the real
recorded records: retries and waits (fake clock), 404-as-no-hits, 413 page shrinking, date
slicing under the paging cap, kill-and-resume, and the key never leaving the request header."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import httpx
import pytest
from conftest import warehouse_digest

from patentscope.ingest import us_odp
from patentscope.landscape import load_landscape
from patentscope.landscape.odp import landscape_query
from patentscope.normalize.uspto_odp import classify_payload
from patentscope.sources._http import FakeClock, RetryPolicy
from patentscope.sources.uspto_odp import (
    OdpAuthError,
    OdpClient,
    OdpError,
    iter_pages,
    patentsearch_health,
    plan_slices,
)
from patentscope.warehouse import save

ODP = Path(__file__).resolve().parent / "fixtures" / "uspto_odp" / "current"
V6 = ODP / "patent_client-v6-2025-02"
KEY = "test-key-NOT-REAL-7c1e"


def real_records() -> list[dict]:
    """Full records from the recordings (10 applications, filed 2007..2023)."""
    files = [ODP / "patent-dev/raw/get_patent.json",
             V6 / "bodies/manager_test__test_can_get_old_applications__00__200__patent_applications_14230558.json",
             V6 / "bodies/manager_test__test_get_one_app__02__200__patent_applications_16123456.json",
             V6 / "bodies/integration_test__TestPatentFileWrapper.test_direct_api_access__00__200__patent_applications_15123456.json",
             V6 / "bodies/manager_test__test_can_get_pct_application__00__200__patent_applications_PCT-US07-19317.json",
             V6 / "bodies/integration_test__TestPatentFileWrapper.test_search_range_filter__01__200__patent_applications_search.json"]
    out = []
    for f in files:
        out.extend(json.loads(f.read_text())["patentFileWrapperDataBag"])
    return out


class FakeOdp:
    """A minimal ODP: search with range filter, sort and paging; 404 on no hits; 413 over
    ``max_page``; sections by application; faults injected in order from ``faults``."""

    def __init__(self, records, *, max_page=100, faults=(), key=KEY):
        self.records = sorted(records, key=lambda r: (r["applicationMetaData"]["filingDate"], r["applicationNumberText"]))
        self.max_page = max_page
        self.key = key
        self.faults = list(faults)
        self.calls: list[httpx.Request] = []
        self.sections = {
            "15123456/assignment": json.loads((V6 / "bodies/integration_test__TestPatentFileWrapper.test_direct_api_access__03__200__patent_applications_15123456_assignment.json").read_text()),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, Exception):
                raise fault
            if fault is not None:
                return fault()
        if request.headers.get("X-API-KEY") != self.key:
            return httpx.Response(403, json={"message": "Forbidden"})
        path = request.url.path
        if path.endswith("/applications/search"):
            body = json.loads(request.content)
            rf = body["rangeFilters"][0]
            hits = [r for r in self.records if rf["valueFrom"] <= r["applicationMetaData"]["filingDate"] <= rf["valueTo"]]
            off, lim = body["pagination"]["offset"], body["pagination"]["limit"]
            if lim > self.max_page:
                return httpx.Response(413, json={"message": "Response payload exceeds allowed limit of 6MB"})
            if not hits:
                return httpx.Response(404, json={"code": "404", "message": "Not Found",
                                                 "detailedMessage": "No matching records found, refine your search criteria and try again"})
            page = hits[off:off + lim]
            if body.get("fields") == ["applicationNumberText"]:
                page = [{"applicationNumberText": r["applicationNumberText"]} for r in page]
            return httpx.Response(200, json={"count": len(hits), "patentFileWrapperDataBag": page, "requestIdentifier": "x"})
        parts = path.split("/applications/", 1)[1]
        if parts in self.sections:
            return httpx.Response(200, json=self.sections[parts])
        return httpx.Response(404, json={"code": 404, "message": "Not Found"})


def client_for(server, clock=None, policy=None):
    return OdpClient(KEY, transport=httpx.MockTransport(server), clock=clock or FakeClock(), policy=policy)


@pytest.fixture()
def magnet_free_landscape(tmp_path):
    """A test landscape whose core codes match some of the recorded (non-magnet) records."""
    p = tmp_path / "landscape.toml"
    p.write_text('name = "test: batteries and memory"\nversion = "t"\n[classification]\ncore = ["H01M", "G11C7"]\n'
                 'context = []\n[keywords]\nstrong = []\nweak = []\n', encoding="utf-8")
    return load_landscape(p)


# ------------------------------------------------------------------------------- faults

def test_recorded_429_without_retry_after_waits_5s():
    """Replays the real cassette: the 429 (no Retry-After, x-amzn-errortype) then the 200."""
    yaml = pytest.importorskip("yaml")
    cas = yaml.safe_load((V6 / "cassettes/integration_test__TestPatentFileWrapper.test_direct_api_access.yaml").read_text())
    queue: dict[str, list] = {}
    for i in cas["interactions"]:
        r = i["response"]
        headers = {k: v[0] for k, v in r["headers"].items() if k.lower() in ("content-type", "x-amzn-errortype", "retry-after")}
        queue.setdefault(httpx.URL(i["request"]["uri"]).path, []).append((r["status_code"], headers, r["content"].encode()))
    assert "retry-after" not in {k.lower() for _, h, _ in queue["/api/v1/patent/applications/15123456/meta-data"] for k in h}

    def handler(request):
        status, headers, content = queue[request.url.path].pop(0)
        return httpx.Response(status, headers=headers, content=content)

    clock = FakeClock()
    with OdpClient(KEY, transport=httpx.MockTransport(handler), clock=clock, base_url="https://beta-api.uspto.gov") as c:
        f = c.application("15123456", "meta-data")
    assert f.status == 200 and classify_payload(f.json()).records[0]["applicationNumberText"] == "15123456"
    assert clock.sleeps == [5.0]  # at least RetryPolicy.min_429_wait, no pacing wait on the first request


def test_faults_are_retried_with_the_right_waits():
    body = (ODP / "patent-dev/raw/get_patent_adjustment.json").read_bytes()
    faults = [
        lambda: httpx.Response(429, json={"message": "Too Many Requests"}),   # no Retry-After: >= 5 s
        lambda: httpx.Response(429, headers={"Retry-After": "7"}, json={}),  # honoured exactly
        lambda: httpx.Response(503, text="Service Unavailable"),
        httpx.ReadTimeout("timed out"),
        httpx.ReadError("connection reset by peer"),
        lambda: httpx.Response(200, content=b""),                          # empty 200
        lambda: httpx.Response(200, content=body[: len(body) // 2]),        # truncated JSON
        lambda: httpx.Response(200, content=body),
    ]
    calls = []

    def handler(request):
        calls.append(request)
        f = faults.pop(0)
        if isinstance(f, Exception):
            raise f
        return f()

    clock = FakeClock()
    with OdpClient(KEY, transport=httpx.MockTransport(handler), clock=clock, policy=RetryPolicy(attempts=8)) as c:
        f = c.application("17248024", "adjustment")
    assert f.content == body and len(calls) == 8
    assert clock.sleeps == [5.0, 7.0, 4.0, 8.0, 16.0, 32.0, 64.0]


def test_gives_up_with_a_clear_message():
    clock = FakeClock()
    c = OdpClient(KEY, transport=httpx.MockTransport(lambda r: httpx.Response(429, json={"message": "Too Many Requests"})),
                  clock=clock, policy=RetryPolicy(attempts=3))
    with pytest.raises(OdpError, match="quota"):
        c.search_page({"q": "x"})
    c = OdpClient(KEY, transport=httpx.MockTransport(lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused"))),
                  clock=clock, policy=RetryPolicy(attempts=2))
    with pytest.raises(OdpError, match="did not answer"):
        c.application("17248024")


def test_pacing_one_request_at_a_time():
    clock = FakeClock()
    server = FakeOdp(real_records())
    with client_for(server, clock) as c:
        for _ in range(3):
            c.application("15123456", "assignment")
    assert clock.sleeps == [0.25, 0.25]


def test_auth_errors_name_the_variable_not_the_key():
    server = FakeOdp(real_records())
    with OdpClient("wrong-key-value", transport=httpx.MockTransport(server), clock=FakeClock()) as c:
        with pytest.raises(OdpAuthError) as ei:
            c.application("17248024")
    assert "USPTO_ODP_API_KEY" in str(ei.value) and "wrong-key-value" not in str(ei.value)
    assert ei.value.exit_code == 2


# ------------------------------------------------------------------------------- paging

def test_no_hits_404_is_an_empty_result():
    server = FakeOdp(real_records())
    with client_for(server) as c:
        assert plan_slices(c, "q", dt.date(1990, 1, 1), dt.date(1999, 12, 31)) == []
        f = c.search_page({"rangeFilters": [{"valueFrom": "1990-01-01", "valueTo": "1990-12-31"}],
                           "pagination": {"offset": 0, "limit": 5}})
    assert f.status == 404 and classify_payload(f.json(), f.status).kind == "no_hits"


def test_slices_split_under_the_cap_and_pages_shrink_on_413():
    server = FakeOdp(real_records(), max_page=2)
    logs = []
    with client_for(server) as c:
        slices = plan_slices(c, "q", dt.date(2000, 1, 1), dt.date(2025, 12, 31), cap=5)
        assert len(slices) > 1 and all(n <= 5 for _, _, n in slices) and sum(n for _, _, n in slices) == 10
        got = []
        for lo, hi, n in slices:
            for page in iter_pages(c, "q", lo, hi, n, limit=5, log=logs.append):
                got.extend(r["applicationNumberText"] for r in page.records)
    assert sorted(got) == sorted(r["applicationNumberText"] for r in real_records())
    assert any("6 MB" in m for m in logs)  # 413 -> the page was halved
    # the five 2023-01-31 filings are one day: under a cap of 4 they cannot be split further
    with client_for(FakeOdp(real_records())) as c:
        tight = plan_slices(c, "q", dt.date(2000, 1, 1), dt.date(2025, 12, 31), cap=4, log=logs.append)
    assert (dt.date(2023, 1, 31), dt.date(2023, 1, 31), 4) in tight and any("paging cap" in m for m in logs)


def test_landscape_query_asks_for_padded_and_compact_cpc():
    q = landscape_query(("H01F1/057", "H01F41/0293"), ("NdFeB", "R-T-B"))
    assert r"applicationMetaData.cpcClassificationBag:H01F\ \ \ 1\/057*" in q
    assert r"applicationMetaData.cpcClassificationBag:H01F1\/057*" in q
    assert r"H01F\ \ 41\/0293*" in q and 'applicationMetaData.inventionTitle:"R-T-B"' in q


def test_patentsearch_health_says_it_plainly():
    def nxdomain(host):
        raise OSError(-2, "Name or service not known")

    ok, msg = patentsearch_health(nxdomain)
    assert not ok and "unreachable" in msg and "2026-03-20" in msg and "ingest bulk" in msg


# ------------------------------------------------------------------------------- live ingest

def content(path: Path) -> dict:
    return warehouse_digest(path, ["publications", "parties", "classifications", "legal_events", "term_inputs", "field_values",
                                   "related_publications", "us_applications", "us_application_events", "us_continuity",
                                   "raw_landing"])


def run_live(wh, land, server, tmp_path, **kw):
    with client_for(server) as c:
        return us_odp.ingest_odp_live(wh, land, c, command="pytest", since=dt.date(2000, 1, 1), until=dt.date(2025, 12, 31),
                                      page_size=2, raw_dir=tmp_path / "raw", **kw)


def test_live_ingest_keeps_landscape_hits_with_term_inputs(tmp_path, magnet_free_landscape):
    wh = tmp_path / "w.duckdb"
    logs = []
    res = run_live(wh, magnet_free_landscape, FakeOdp(real_records()), tmp_path, log=logs.append)
    assert res.rows_read == 5  # 10 records, pages of 2
    con = duckdb.connect(str(wh), read_only=True)
    try:
        apps = [r[0] for r in con.execute("SELECT application_number FROM us_applications ORDER BY 1").fetchall()]
        assert apps == ["14230558", "17248024", "18007478", "18019071", "18162559"]  # H01M / G11C7 only
        assert con.execute("SELECT earliest_us_filing_date, pta_days FROM term_inputs WHERE pub_key = 'US-11646472'").fetchall() == [
            (dt.date(2004, 4, 14), 304)]
        assert con.execute("SELECT count(*) FROM legal_events WHERE pub_key = 'US-9111608' AND effect = 'fee_paid'").fetchall() == [(2,)]
        assert con.execute("SELECT bool_and(in_landscape) FROM publications").fetchall() == [(True,)]
        cur = json.loads(con.execute("SELECT cursor FROM ingest_state WHERE source = 'odp'").fetchall()[0][0])
        assert cur["done"] is True
        # the key is in no stored request, run record or raw file
        stored = " ".join(str(r) for r in con.execute("SELECT request, stored_path FROM raw_landing").fetchall())
        stored += " ".join(str(r) for r in con.execute("SELECT command, message FROM ingest_runs").fetchall())
    finally:
        con.close()
    assert KEY not in stored and all(KEY.encode() not in p.read_bytes() for p in (tmp_path / "raw").rglob("*") if p.is_file())
    assert not any(KEY in m for m in logs)


@pytest.mark.integration
def test_live_ingest_killed_then_rerun_equals_clean_run(tmp_path, magnet_free_landscape, monkeypatch):
    clean = tmp_path / "clean.duckdb"
    run_live(clean, magnet_free_landscape, FakeOdp(real_records()), tmp_path)

    crashy = tmp_path / "crashy.duckdb"
    real_save = us_odp.save_odp
    calls = {"n": 0}

    def dying_save(con, batch, us, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            # half of the batch goes in, then the process dies: the transaction must vanish
            con.execute("BEGIN TRANSACTION").fetchall()
            save._insert(con, "us_applications", us.applications[:1])
            raise KeyboardInterrupt("simulated kill during page 3")
        return real_save(con, batch, us, **kw)

    monkeypatch.setattr(us_odp, "save_odp", dying_save)
    with pytest.raises(KeyboardInterrupt):
        run_live(crashy, magnet_free_landscape, FakeOdp(real_records()), tmp_path)
    monkeypatch.setattr(us_odp, "save_odp", real_save)
    con = duckdb.connect(str(crashy), read_only=True)
    cur = json.loads(con.execute("SELECT cursor FROM ingest_state WHERE source = 'odp'").fetchall()[0][0])
    con.close()
    assert cur["done"] is False and cur["offset"] == 4  # two pages were saved with their cursor
    server = FakeOdp(real_records())
    run_live(crashy, magnet_free_landscape, server, tmp_path)
    offsets = [json.loads(r.content)["pagination"]["offset"] for r in server.calls
               if r.url.path.endswith("/search") and json.loads(r.content).get("fields") is None]
    assert min(offsets) == 4  # resumed at the cursor, pages 1-2 not fetched again
    assert content(crashy) == content(clean)


def test_default_window_starts_at_the_bulk_release(tmp_path):
    from patentscope.warehouse import migrations
    from patentscope.warehouse.connection import writer

    wh = tmp_path / "w.duckdb"
    with writer(wh) as con:
        migrations.apply(con)
        assert us_odp.default_since(con) is None
        con.execute("INSERT INTO ingest_state VALUES ('bulk', $c, now(), 1)",
                    {"c": json.dumps({"release": "x", "counts": {"max_grant_date": "2025-12-30"}})}).fetchall()
        assert us_odp.default_since(con) == dt.date(2025, 12, 30)


def test_cli_odp_show_query_and_load(tmp_path):
    from click.testing import CliRunner

    from patentscope.cli import main

    runner = CliRunner()
    env = {"PATENTSCOPE_CONFIG": "", "PATENTSCOPE_WAREHOUSE": "", "PATENTSCOPE_LANDSCAPE": ""}
    r = runner.invoke(main, ["ingest", "odp", "--show-query"], env=env)
    assert r.exit_code == 0 and "cpcClassificationBag:H01F\\ \\ \\ 1\\/057*" in r.stdout
    wh = tmp_path / "w.duckdb"
    r = runner.invoke(main, ["--warehouse", str(wh), "ingest", "odp", "--load", str(ODP / "patent-dev" / "raw")], env=env)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout[r.stdout.index("{"):])
    assert out["source"] == "odp" and out["rows_read"] == 13 and out["loaded"]["term_inputs"] == 1 and out["loaded"]["us_applications"] == 2
    r = runner.invoke(main, ["--warehouse", str(wh), "ingest", "odp"], env={**env, "USPTO_ODP_API_KEY": ""})
    assert r.exit_code == 2 and "USPTO_ODP_API_KEY is not set" in r.output
