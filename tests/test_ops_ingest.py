"""`patentscope ingest ops`: a recorded multi-page search replayed end to end, resumability, faults.

The replay is built from the real recorded OPS responses (see tests/test_ops_support.py and
tests/fixtures/epo_ops/PROVENANCE.md). Every run uses a fake clock: pacing and back-off cost no
real time. "Equal" below means equal content hashes of every table (run ids and timestamps aside).
"""

import base64
import json
from pathlib import Path

import duckdb
import httpx
import pytest
from click.testing import CliRunner
from conftest import RUN_COLUMNS, warehouse_digest
from test_ops_support import EP_BIBLIO, EP_LEGAL, FIX, WO_FAMILY, FakeOps, fixture, on_call

from patentscope.cli import main
from patentscope.ingest.ops import OpsOptions, OpsStopped, ingest_ops, load_ops, split_window
from patentscope.landscape.cql import build_queries, date_term
from patentscope.sources._http import FakeClock, RetryPolicy
from patentscope.sources.epo_ops import OpsClient

KEY, SECRET = "test-key-9f2c", "test-secret-4b7d"
OPTS = {"queries": ["cpc=/low H01F1/057"], "page_size": 3, "cap": 4, "group_size": 2}
TABLES = ["publications", "field_values", "parties", "classifications", "citations", "priority_claims", "legal_events",
          "families", "quarantine", "raw_landing"]


def content(path: Path) -> dict:
    return warehouse_digest(path, TABLES, (*RUN_COLUMNS, "stored_path"))


def run(tmp: Path, fake: FakeOps, name: str = "w", log=None, clock=None, **opts):
    clock = clock or FakeClock()
    logs = [] if log is None else log
    with OpsClient(KEY, SECRET, transport=fake.transport(), clock=clock, log=logs.append,
                   policy=RetryPolicy(attempts=4)) as c:
        res = ingest_ops(tmp / f"{name}.duckdb", land(), c, options=OpsOptions(**{**OPTS, **opts}),
                         raw_dir=tmp / f"raw-{name}", log=logs.append)
    return res, logs


_LAND = {}


def land():
    if "l" not in _LAND:
        from patentscope.landscape import load_landscape
        _LAND["l"] = load_landscape()
    return _LAND["l"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """One clean run of the recorded multi-page replay; tests compare against it."""
    tmp = tmp_path_factory.mktemp("clean")
    fake = FakeOps()
    res, logs = run(tmp, fake)
    return tmp / "w.duckdb", res, logs, fake


def q(path, sql):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_recorded_multipage_search_lands_families_cpc_citations_legal_events(clean, tmp_path):
    path, res, logs, fake = clean
    assert res.complete and res.hits == 7 and (res.steps_done, res.steps) == (3, 3) and not res.rejected
    searches = [c for c in fake.calls if "search" in c[1]]
    assert len(searches) == 6 and all("Range=" in c[1] for c in searches)          # several pages of <= 3
    # every count can be made per family
    per_family = q(path, """
        SELECT p.family_id, count(DISTINCT p.pub_key) AS pubs, list_sort(list_distinct(list(p.country))) AS offices,
               (SELECT count(*) FROM classifications c JOIN publications x USING (pub_key)
                 WHERE x.family_id = p.family_id AND c.scheme = 'CPC') AS cpc,
               (SELECT count(*) FROM citations c JOIN publications x ON x.pub_key = c.citing_pub_key
                 WHERE x.family_id = p.family_id) AS cites,
               (SELECT count(*) FROM legal_events e JOIN publications x USING (pub_key)
                 WHERE x.family_id = p.family_id) AS events
        FROM publications p GROUP BY p.family_id ORDER BY p.family_id""")
    assert per_family == [
        ("19768124", 5, ["AT", "DE", "EP", "NL", "US"], 4, 3, 50),
        ("30117972", 1, ["JP"], 17, 2, 0),
        ("35840242", 1, ["US"], 4, 99, 0),
        ("40799763", 16, ["CN", "EP", "JP", "TW", "US", "WO"], 4, 0, 0),
        ("46020268", 1, ["US"], 30, 6, 0),
        ("70284791", 1, ["WO"], 25, 3, 0),
    ]
    assert q(path, "SELECT family_id, id_source, source FROM families ORDER BY 1") == [
        (f, "docdb", "ops") for f in ("19768124", "30117972", "35840242", "40799763", "46020268", "70284791")]
    assert q(path, "SELECT effect, count(*) FROM legal_events GROUP BY 1 ORDER BY 1") == [
        ("fee_paid", 3), ("grant", 3), ("lapse", 25), ("other", 19)]
    assert q(path, "SELECT pub_number, kinds_seen, title IS NOT NULL FROM publications WHERE pub_key = 'EP-1000000'") == [
        ("EP-1000000-B1", ["A1", "B1"], True)]
    # the named query answers the same
    runner = CliRunner()
    r = runner.invoke(main, ["--warehouse", str(path), "query", "families_counts", "--json"])
    assert r.exit_code == 0, r.output
    fam = {row["family_id"]: row for row in json.loads(r.stdout)}
    assert (fam["19768124"]["publications"], fam["19768124"]["legal_events"], fam["19768124"]["lapses"]) == (5, 50, 25)
    # raw payloads landed, the cursor saved with the rows
    assert q(path, "SELECT count(*) FROM raw_landing WHERE source = 'ops'") == [(12,)]
    cursor = json.loads(q(path, "SELECT cursor FROM ingest_state WHERE source = 'ops'")[0][0])
    assert cursor["phase"] == "done" and cursor["next_group"] == 3 and len(cursor["hits"]) == 7
    assert all(Path(p).is_file() for (p,) in q(path, "SELECT stored_path FROM raw_landing"))

    # re-running changes nothing
    before = content(path)
    res2, _ = run(path.parent, FakeOps())
    assert res2.complete and content(path) == before


def test_windows_split_under_the_cap_are_logged_and_kept(clean):
    path, res, logs, _ = clean
    assert res.splits == [
        "query 1 window 1982-01-01..2026-01-01 has 7 results, more than the 4 OPS serves: split into "
        "1982-01-01..2004-12-31 and 2005-01-01..2026-01-01",
        "query 1 window 2005-01-01..2026-01-01 has 5 results, more than the 4 OPS serves: split into "
        "2005-01-01..2015-12-31 and 2016-01-01..2026-01-01"]
    assert any(s in line for line in logs for s in res.splits)
    cursor = json.loads(q(path, "SELECT cursor FROM ingest_state")[0][0])
    assert cursor["finished"] == ["0:1982-01-01:2004-12-31", "0:2005-01-01:2015-12-31", "0:2016-01-01:2026-01-01"]


def test_queries_from_the_landscape_respect_ops_limits():
    qs = build_queries(land())
    assert qs[0] == "cpc=/low H01F1/057 or cpc=/low H01F41/0293"
    assert qs[1].startswith('ta="Nd-Fe-B" or ta=NdFeB or ta=Nd2Fe14B')
    for qq in qs:  # OPS: at most 10 terms per field, 20 in all (one left for the date window)
        assert qq.count("cpc=") <= 10 and qq.count("ta=") <= 10 and qq.count("=") <= 19
    assert date_term(*split_window(__import__("datetime").date(2015, 1, 1), __import__("datetime").date(2016, 12, 31))[0]) == \
        'pd within "2015 2015"'


@pytest.mark.integration
def test_faults_end_with_exactly_the_rows_of_a_clean_run(clean, tmp_path):
    path, *_ = clean
    fake = FakeOps()
    is_biblio = lambda r: r.url.path.endswith("/biblio")  # noqa: E731
    is_search = lambda r: r.url.path.endswith("/search")  # noqa: E731
    is_family = lambda r: "/family/" in r.url.path  # noqa: E731
    fake.faults += [
        on_call(2, lambda r, f: f.xml(503, b"<fault/>", **{"Retry-After": "3"}), when=is_search),
        on_call(1, lambda r, f: f.xml(429, b"<fault/>"), when=is_biblio),
        on_call(2, lambda r, f: f.xml(200, f.biblio(r.content.decode().split("\n"))[:900]), when=is_biblio),  # truncated
        on_call(1, lambda r, f: f.xml(403, b"<fault/>", **{"X-Rejection-Reason": "ThrottlingControlQuota",
                                                          "Retry-After": "45000"}), when=is_family),
        on_call(3, lambda r, f: (_ for _ in ()).throw(httpx.ConnectTimeout("timed out")), when=is_family),
        on_call(9, lambda r, f: (setattr(f, "valid_token", "expired"), f.xml(400, b"<fault><message>invalid_access_token</message></fault>"))[1]),
    ]
    fake.throttle = "busy (images=green:100, inpadoc=red:10, other=green:1000, retrieval=yellow:50, search=green:15)"
    clock = FakeClock()
    res, logs = run(tmp_path, fake, clock=clock)
    assert res.complete and fake.tokens == 2
    assert content(tmp_path / "w.duckdb") == content(path)
    assert 45.0 in [round(s, 3) for s in clock.sleeps] and 3.0 in clock.sleeps and 5.0 in clock.sleeps
    assert min(s for s in clock.sleeps if s > 0) > 0 and sum(clock.sleeps) > 60   # fake time only


@pytest.mark.integration
def test_quota_stop_is_clean_and_resumable(clean, tmp_path):
    path, *_ = clean
    fake = FakeOps()
    fake.faults.append(on_call(12, lambda r, f: f.xml(403, b"<fault/>", **{"X-Rejection-Reason": "RegisteredQuotaPerWeek"}),
                               times=999))
    with pytest.raises(OpsStopped) as e:
        run(tmp_path, fake)
    msg = str(e.value)
    assert "RegisteredQuotaPerWeek" in msg and "run the same command again to resume" in msg and "\n" not in msg
    db = tmp_path / "w.duckdb"
    assert q(db, "SELECT status FROM ingest_runs") == [("failed",)]
    cursor = json.loads(q(db, "SELECT cursor FROM ingest_state")[0][0])
    assert cursor["phase"] == "fetch" and cursor["next_group"] == 1          # one step saved before the stop
    fresh = FakeOps()                                                        # the quota has reset
    res, logs = run(tmp_path, fresh)
    assert res.complete and any("resuming" in line for line in logs)
    assert not any("search" in c[1] for c in fresh.calls)                   # finished work is not redone
    assert content(db) == content(path)


@pytest.mark.integration
@pytest.mark.parametrize("n", [3, pytest.param(11, marks=pytest.mark.slow)], ids=["in-search", "in-fetch"])
def test_kill_mid_run_then_rerun_equals_clean_run(clean, tmp_path, n):
    path, *_ = clean
    fake = FakeOps()
    fake.faults.append(on_call(n, lambda r, f: (_ for _ in ()).throw(KeyboardInterrupt("killed"))))
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, fake)
    assert q(tmp_path / "w.duckdb", "SELECT status FROM ingest_runs") == [("failed",)]
    res, logs = run(tmp_path, FakeOps())
    assert res.complete and any("resuming" in line for line in logs)
    assert content(tmp_path / "w.duckdb") == content(path)


def test_load_replays_saved_responses_through_the_same_path(clean, tmp_path):
    path, *_ = clean
    logs = []
    res = load_ops(tmp_path / "l.duckdb", [path.parent / "raw-w"], land(), raw_dir=tmp_path / "raw", log=logs.append)
    assert not res.rejected
    same = [t for t in TABLES if t not in ("raw_landing",)]
    a, b = content(tmp_path / "l.duckdb"), content(path)
    assert {t: a[t] for t in same} == {t: b[t] for t in same}
    again = content(tmp_path / "l.duckdb")
    load_ops(tmp_path / "l.duckdb", [path.parent / "raw-w"], land(), raw_dir=tmp_path / "raw")
    assert content(tmp_path / "l.duckdb") == again   # idempotent


def test_load_quarantines_bad_files_and_keeps_the_good(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "biblio.xml").write_bytes(fixture(EP_BIBLIO))
    (d / "legal.xml").write_bytes(fixture(EP_LEGAL))
    (d / "family.xml").write_bytes(fixture(WO_FAMILY))
    (d / "cut.xml").write_bytes(fixture(EP_BIBLIO)[:5000])
    (d / "laughs.xml").write_bytes(b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>')
    res = load_ops(tmp_path / "w.duckdb", [d], land())
    bad = sorted((e.file, e.reason) for e in res.rejected)
    assert [f for f, _ in bad] == ["cut.xml", "laughs.xml"]
    assert bad[0][1].startswith("not well-formed XML at line 92, column 1")
    assert bad[1][1].startswith("refused: the XML declares a DTD or entities")
    db = tmp_path / "w.duckdb"
    assert q(db, "SELECT file, line FROM quarantine ORDER BY file") == [("cut.xml", 92), ("laughs.xml", 1)]
    assert q(db, "SELECT count(*) FROM legal_events") == [(50,)]
    assert q(db, "SELECT title FROM publications WHERE pub_key = 'EP-1000000'")[0][0].startswith("Apparatus for manufacturing")
    assert q(db, "SELECT count(*) FROM publications WHERE family_id = '40799763'") == [(16,)]
    assert q(db, "SELECT status FROM ingest_runs") == [("partial",)]


def test_minimal_rows_never_overwrite_full_ones(tmp_path):
    db = tmp_path / "w.duckdb"
    load_ops(db, [FIX / "raw-xml" / "published_fixtures_ep1000000_full_cycle_result.xml"], land())
    before = content(db)
    logs = []
    load_ops(db, [FIX / "raw-xml" / "family_fixtures_family_input.xml"], land(), log=logs.append)  # EP-1000000 only as member
    assert q(db, "SELECT title IS NOT NULL, pub_number FROM publications WHERE pub_key = 'EP-1000000'") == [(True, "EP-1000000-B1")]
    assert q(db, "SELECT count(*) FROM classifications WHERE pub_key = 'EP-1000000'") == [(8,)]
    assert before["classifications"] == content(db)["classifications"]
    assert any("kept the full rows of 1 publication" in line for line in logs)


def test_no_secret_reaches_logs_rows_or_raw_files(clean):
    path, res, logs, fake = clean
    secrets = [KEY, SECRET, base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()] + \
        [f"tok-{i}-secret-token-value" for i in range(1, fake.tokens + 1)]
    con = duckdb.connect(str(path), read_only=True)
    dump = []
    for (t,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall():
        dump.append(str(con.execute(f"SELECT * FROM {t}").fetchall()))
    con.close()
    raw = b"".join(p.read_bytes() for p in (path.parent / "raw-w").rglob("*.xml"))
    text = "\n".join(logs) + "\n".join(dump)
    for s in secrets:
        assert s not in text and s.encode() not in raw


def test_cli_load_and_missing_credentials(tmp_path, monkeypatch):
    runner = CliRunner()
    wh = tmp_path / "w.duckdb"
    r = runner.invoke(main, ["--warehouse", str(wh), "ingest", "ops", "--load", str(FIX / "raw-xml" / "legal_fixtures_example_1.xml")])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["loaded"]["legal_events"] == 50
    assert any((tmp_path / "raw" / "ops").glob("*.xml"))
    monkeypatch.delenv("EPO_OPS_KEY", raising=False)
    monkeypatch.delenv("EPO_OPS_SECRET", raising=False)
    r = runner.invoke(main, ["--warehouse", str(wh), "ingest", "ops"])
    assert r.exit_code == 2 and "EPO_OPS_KEY and EPO_OPS_SECRET not set" in r.output
    r = runner.invoke(main, ["ingest", "ops", "--show-queries"])
    assert r.exit_code == 0 and r.stdout.splitlines()[0] == "cpc=/low H01F1/057 or cpc=/low H01F41/0293"
