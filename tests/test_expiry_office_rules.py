"""Expiry engine: the CA term, US reissues and examination-request periods, on vectors worked
from the statutes (docs/sources.md). Publications are SYNTHETIC test inputs (numbers 'T...')."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner
from test_expiry_rules import RULES, TODAY, ev, log, one, pub, run

from patentscope.cli import main
from patentscope.errors import ConfigError
from patentscope.metrics.expiry import compute_expiry, load_inputs, status_at
from patentscope.metrics.expiry.evidence import EVIDENCE_SCHEMA, evidence_frame
from patentscope.metrics.expiry.rules import builtin_rules_path, load_rules
from patentscope.warehouse import migrations

D = dt.date


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema_overrides={"kinds_seen": pl.List(pl.String), "filing_date": pl.Date,
                                                "grant_date": pl.Date, "publication_date": pl.Date, "priority_date": pl.Date})


def shown(key: str, state: str, text: str, date: dt.date | None) -> pl.DataFrame:
    row = {"pub_key": key, "shown_state": state, "shown_text": text, "shown_expiry": None, "shown_expiry_is_estimate": None,
           "shown_fee_paid": None, "shown_date": date, "evidence_text": f"{text} (test)"}
    return pl.DataFrame([row], schema=EVIDENCE_SCHEMA)


def office_row(out: pl.DataFrame, key: str) -> dict:
    return out.filter((pl.col("pub_key") == key) & (pl.col("jurisdiction") == pl.col("office"))).to_dicts()[0]


# --- CA: Patent Act (R.S.C. 1985, c. P-4) ss. 44, 45 ---------------------------------------------


@pytest.mark.parametrize("filed,issued,variant,end", [
    # s. 44: filed on/after 1989-10-01 -> 20 years from the filing date
    (D(1989, 10, 1), D(1994, 1, 4), "filed_on_after_change", D(2009, 10, 1)),
    # s. 45(1): filed before -> 17 years from issue; that term ended before 2001-07-12, so s. 45(2) does not reach it
    (D(1980, 1, 15), D(1983, 6, 7), "issue_before_change", D(2000, 6, 7)),
    (D(1982, 3, 1), D(1984, 7, 11), "issue_before_change", D(2001, 7, 11)),
    # s. 45(2): the 17-year term had not expired before 2001-07-12 -> the later of 17 from issue and 20 from filing
    (D(1982, 3, 1), D(1984, 7, 12), "later_of_issue_and_filing", D(2002, 3, 1)),
    (D(1988, 3, 1), D(1990, 5, 1), "later_of_issue_and_filing", D(2008, 3, 1)),
    (D(1985, 1, 10), D(1992, 8, 4), "later_of_issue_and_filing", D(2009, 8, 4)),
])
def test_ca_term_patent_act_ss_44_45(filed, issued, variant, end):
    r = one([pub("CA-T1", "C" if filed >= D(1989, 10, 1) else "A", filed, issued)])
    assert r["rule"] == f"ca_patent:{variant}" and r["expiry_date"] == end == r["expiry_earliest"] == r["expiry_latest"]
    assert r["status"] == "expired by term" and "Patent Act (R.S.C. 1985, c. P-4) s. 44" in r["rule_source"]
    assert one([pub("CA-T1", "A", filed, issued)], at=end - dt.timedelta(days=1))["status"] == "in force"


def test_ca_missing_dates_and_applications_patent_act_s_44():
    res = run([pub("CA-T2", "A", None, D(1990, 5, 1)), pub("CA-T3", "A", D(1987, 2, 3), None),
               pub("CA-T4", "A1", D(2010, 6, 1), None, publication_date=D(2011, 12, 1))])
    assert res[("CA-T2", "CA")]["status"] == "unknown" and res[("CA-T2", "CA")]["expiry_date"] is None
    assert any("17 years from issue, on/after it 20 years from filing" in m for m in res[("CA-T2", "CA")]["missing"])
    assert any("grant (issue) date" in m for m in res[("CA-T3", "CA")]["missing"])
    app = res[("CA-T4", "CA")]
    assert app["status"] == "pending" and app["term_expiry"] == D(2030, 6, 1)  # a patent on it: 20 years from filing


# --- US reissue: 35 USC 251(a) ----------------------------------------------------------------------


def test_us_reissue_ends_with_the_original_35_usc_251a():
    """35 USC 251(a): reissued 'for the unexpired part of the term of the original patent'. The
    original (filed 2005-01-10, earliest US filing given) ends 2005-01-10 + 20 = 2025-01-10; so does
    its reissue, whatever the reissue's own dates."""
    pubs = frame([pub("US-T40", "B2", D(2005, 1, 10), D(2008, 1, 15)), pub("US-RE40", "E", D(2009, 3, 2), D(2011, 6, 7))])
    ti = pl.DataFrame([{"pub_key": "US-T40", "source": "odp", "earliest_us_filing_date": D(2005, 1, 10)}])
    links = pl.DataFrame({"pub_key": ["US-RE40"], "original_pub_key": ["US-T40"]})
    out = compute_expiry(pubs, ti, at=D(2020, 1, 1), today=TODAY, reissue_of=links)
    r = office_row(out, "US-RE40")
    assert r["rule"] == "us_reissue:with_original" and r["document_type"] == "reissue"
    assert (r["expiry_earliest"], r["expiry_latest"], r["expiry_date"]) == (D(2025, 1, 10),) * 3
    assert r["status"] == "in force" and r["in_force_from"] == D(2011, 6, 7)
    assert "reissue of US-T40-B2: ends with the original patent's term, 2025-01-10" in log(r)
    assert status_at(out, D(2025, 1, 10)).filter(pl.col("pub_key") == "US-RE40")["status"][0] == "expired by term"
    assert status_at(out, D(2010, 1, 1)).filter(pl.col("pub_key") == "US-RE40")["status"][0] == "pending"
    # the original's fee windows: past grant + 4 years with no fee record the status rests on assumed fees
    assert r["rests_on_fee_assumption"]


def test_us_reissue_of_an_original_with_a_term_interval_35_usc_251a_154a2():
    """The original (no earliest US filing given, priority 2005-03-10, filed 2006-03-01): E lies in
    [2005-03-10, 2006-03-01] (35 USC 154(a)(2), 119(a)), so it ends 2025-03-10 .. 2026-03-01; the
    reissue carries the same interval."""
    pubs = frame([pub("US-T41", "B2", D(2006, 3, 1), D(2009, 5, 5), priority_date=D(2005, 3, 10)),
                  pub("US-RE41", "E", D(2010, 2, 1), D(2012, 4, 3))])
    out = compute_expiry(pubs, at=TODAY, today=TODAY,
                         reissue_of=pl.DataFrame({"pub_key": ["US-RE41"], "original_pub_key": ["US-T41"]}))
    o, r = office_row(out, "US-T41"), office_row(out, "US-RE41")
    assert (o["expiry_earliest"], o["expiry_latest"]) == (D(2025, 3, 10), D(2026, 3, 1))
    assert (r["expiry_earliest"], r["expiry_latest"], r["expiry_date"]) == (D(2025, 3, 10), D(2026, 3, 1), D(2026, 3, 1))
    assert r["status"] == "expired by term"
    assert status_at(out, D(2025, 6, 1)).filter(pl.col("pub_key") == "US-RE41")["status_basis"][0] == "term_range"


def test_us_reissue_without_its_original_is_unknown_never_a_guess_35_usc_251a():
    r = one([pub("US-RE42", "E", D(2009, 3, 2), D(2011, 6, 7))])
    assert r["status"] == "unknown" and r["status_basis"] == "missing_input" and r["expiry_date"] is None
    assert any("links no original" in m for m in r["missing"])
    assert "in force when it was reissued on 2011-06-07" in log(r)
    out = compute_expiry(frame([pub("US-RE43", "E", D(2009, 3, 2), D(2011, 6, 7))]), at=TODAY, today=TODAY,
                         reissue_of=pl.DataFrame({"pub_key": ["US-RE43"], "original_pub_key": ["US-T99"]}))
    r = office_row(out, "US-RE43")
    assert r["status"] == "unknown" and any("US-T99: linked, but not among the publications read" in m for m in r["missing"])


# --- examination requests ----------------------------------------------------------------------------


def test_jp_exam_request_3_years_since_2001_10_01_and_7_before_patent_act_art_48_3():
    """JP Patent Act Art. 48-3(1): 3 years from filing for filings on/after 2001-10-01 (7 before).
    With no request and no grant on record the status after the last day is unknown, not pending."""
    cases = {"JP-T10": (D(2015, 3, 2), D(2018, 3, 2)), "JP-T11": (D(2001, 10, 1), D(2004, 10, 1)),
             "JP-T12": (D(2001, 9, 30), D(2008, 9, 30))}
    pubs = [pub(k, "A", f, None, publication_date=f + dt.timedelta(days=550)) for k, (f, _) in cases.items()]
    for key, (_, last) in cases.items():
        on_last = run(pubs, at=last)[(key, "JP")]
        after = run(pubs, at=last + dt.timedelta(days=1))[(key, "JP")]
        assert on_last["status"] == "pending", key
        assert after["status"] == "unknown" and after["status_basis"] == "exam_request_unknown", key
        assert f"last day to request examination {last}" in after["status_reason"] and "48-3" in after["status_reason"]


def test_jp_no_exam_request_on_record_after_the_last_day_is_deemed_withdrawn_art_48_3_4():
    """Art. 48-3(4): no request within the period -> deemed withdrawn. The page shows 審査請求 未請求
    (seen by the run date, after the last day 2018-03-02): withdrawn from 2018-03-03."""
    pubs = frame([pub("JP-T13", "A", D(2015, 3, 2), None, publication_date=D(2016, 9, 1))])
    evidence = evidence_frame(pl.DataFrame({"pub_key": ["JP-T13"], "field": ["status_as_shown"],
                                            "value": ["審査請求 未請求"], "source": ["test"]}))
    out = compute_expiry(pubs, at=TODAY, today=TODAY, status_evidence=evidence)
    r = office_row(out, "JP-T13")
    assert r["status"] == "lapsed" and r["status_basis"] == "no_exam_request" and r["end_reason"] == "no_exam_request"
    assert r["status_reason"].startswith("deemed withdrawn (no examination request on record)")
    assert "deemed withdrawn from 2018-03-03" in log(r)
    assert status_at(out, D(2018, 3, 2))["status"][0] == "pending"
    assert status_at(out, D(2018, 3, 3))["status"][0] == "lapsed"


def test_jp_no_request_seen_before_the_last_day_stays_unknown_art_48_3():
    """A page seen on 2016-01-01 (before the last day 2018-03-02) showing no request cannot tell
    whether one was filed by 2018-03-02: unknown after that day, with the reason."""
    pubs = frame([pub("JP-T14", "A", D(2015, 3, 2), None, publication_date=D(2016, 9, 1))])
    out = compute_expiry(pubs, at=TODAY, today=TODAY,
                         status_evidence=shown("JP-T14", "no_exam_request", "審査請求 未請求", D(2016, 1, 1)))
    r = office_row(out, "JP-T14")
    assert r["status"] == "unknown" and r["status_basis"] == "exam_request_unknown"
    assert "the record showed no request on 2016-01-01, before that day" in r["status_reason"]
    # a page showing the application examined and in force: a request was made
    out = compute_expiry(pubs, at=TODAY, today=TODAY, status_evidence=shown("JP-T14", "in_force", "Active", None))
    r = office_row(out, "JP-T14")
    assert r["status_basis"] != "exam_request_unknown" and "examination request: on record (status shown 'Active')" in log(r)


def test_cn_exam_request_3_years_from_the_priority_or_filing_date_patent_law_art_35():
    """CN Patent Law Art. 35(1): within three years from the date of filing, which is the priority
    date where one is claimed (Implementing Regulations r. 11)."""
    res = run([pub("CN-T10", "A", D(2012, 5, 10), None, priority_date=D(2011, 11, 20)),
               pub("CN-T11", "A", D(2012, 5, 10), None)], at=D(2014, 11, 21))
    assert res[("CN-T10", "CN")]["status_basis"] == "exam_request_unknown"
    assert "36 months from the priority date 2011-11-20" in res[("CN-T10", "CN")]["status_reason"]
    assert res[("CN-T11", "CN")]["status"] == "pending"
    assert run([pub("CN-T11", "A", D(2012, 5, 10), None)], at=D(2015, 5, 11))[("CN-T11", "CN")]["status"] == "unknown"


def test_kr_exam_request_3_years_since_2017_03_01_and_5_before_patent_act_art_59():
    res = run([pub("KR-T10", "A", D(2017, 2, 28), None), pub("KR-T11", "A", D(2017, 3, 1), None)], at=D(2020, 3, 2))
    assert res[("KR-T10", "KR")]["status"] == "pending"  # 5 years: last day 2022-02-28
    assert res[("KR-T11", "KR")]["status_basis"] == "exam_request_unknown"  # 3 years: last day 2020-03-01
    assert run([pub("KR-T10", "A", D(2017, 2, 28), None)], at=D(2022, 3, 1))[("KR-T10", "KR")]["status"] == "unknown"


def test_ep_exam_request_6_months_after_the_search_report_epc_art_94_rule_70_1():
    """EPC Rule 70(1): up to six months after the Bulletin mentions the search report (the A1 date
    here, 2010-06-02 -> 2010-12-02). A 17P event ('REQUEST FOR EXAMINATION FILED') shows a request."""
    pubs = [pub("EP-T10", "A1", D(2008, 12, 1), None, publication_date=D(2010, 6, 2)),
            pub("EP-T11", "A1", D(2008, 12, 1), None, publication_date=D(2010, 6, 2))]
    res = run(pubs, ev=[ev("EP-T11", D(2010, 9, 1), "other", j="EP", code="17P ")], at=D(2010, 12, 3))
    assert res[("EP-T10", "EP")]["status_basis"] == "exam_request_unknown"
    assert "last day to request examination 2010-12-02" in res[("EP-T10", "EP")]["status_reason"]
    assert res[("EP-T11", "EP")]["status"] == "pending" and "examination request: on record (legal event 17P" in log(
        res[("EP-T11", "EP")])
    assert run(pubs, at=D(2010, 12, 2))[("EP-T10", "EP")]["status"] == "pending"
    # an A3 whose record also lists an A2: its date may be the A2's, so the last day is only "not before"
    r = one([pub("EP-T13", "A3", D(2008, 12, 1), None, publication_date=D(2010, 6, 2), kinds_seen=["A2", "A3"])],
            at=D(2010, 12, 3))
    assert r["status_basis"] == "exam_request_unknown" and "not before 2010-12-02" in r["status_reason"]


def test_ep_exam_request_euro_pct_not_before_31_months_epc_rule_159_1_f():
    """Euro-PCT (EPC Art. 150(2), Rule 159(1)(f)): not before 31 months from the priority date
    (2008-05-06 -> 2010-12-06); the search report date is not on record, so no withdrawal is dated."""
    p = [pub("EP-T12", "A1", D(2009, 5, 4), None, publication_date=D(2009, 11, 12), priority_date=D(2008, 5, 6))]
    ti = [{"pub_key": "EP-T12", "source": "ops", "international_filing_date": D(2009, 5, 4)}]
    assert one(p, ti=ti, at=D(2010, 12, 6))["status"] == "pending"
    r = one(p, ti=ti, at=D(2010, 12, 7))
    assert r["status_basis"] == "exam_request_unknown" and "not before 2010-12-06" in r["status_reason"]


def test_exam_request_rules_are_checked_when_loaded(tmp_path: Path):
    text = builtin_rules_path().read_text(encoding="utf-8").replace('from = "priority_or_filing"', 'from = "grant"')
    (tmp_path / "rules.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rules\.toml:\d+: exam_request\[2\]\.from: Input should be 'filing', 'priority_or_filing'"):
        load_rules(tmp_path / "rules.toml")
    assert {e.office for e in RULES.exam_requests} == {"JP", "CN", "KR", "EP"}
    assert all(e.source.strip() for e in RULES.exam_requests)


def test_reissue_link_is_read_from_the_warehouse_and_shown_by_the_cli_35_usc_251a(sample_warehouse, tmp_path):
    """A SYNTHETIC reissue 'US-RE99901' of the real sample patent US 4,770,723 (which ends exactly
    2005-09-13, 35 USC 154(c)(1), docs/expiry.md), linked by related_publications 'reissue_of'."""
    path = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, path)
    with duckdb.connect(str(path)) as con:
        migrations.apply(con)
        con.execute("INSERT INTO publications (pub_key, pub_number, number_as_received, country, doc_number, kind, "
                    "kinds_seen, filing_date, grant_date, family_id, family_id_source, in_landscape, source) VALUES "
                    "('US-RE99901', 'US-RE99901-E', 'USRE99901E', 'US', 'RE99901', 'E', ['E'], DATE '1990-03-01', "
                    "DATE '1991-04-02', 'PUB:US-RE99901', 'publication', false, 'test')")
        con.execute("INSERT INTO related_publications VALUES ('US-RE99901', 'US 4,770,723', 'US-4770723', 'reissue_of', 'test')")
        inp = load_inputs(con, ["US-RE99901"])
        assert set(inp["publications"]["pub_key"]) == {"US-RE99901", "US-4770723"}  # the original is read with it
    res = CliRunner().invoke(main, ["--warehouse", str(path), "expiry", "US-RE99901", "--at", "2026-11-28", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["pub_key"] for r in rows] == ["US-RE99901"]  # the original is not shown
    assert rows[0]["rule"] == "us_reissue:with_original" and rows[0]["expiry_date"] == "2005-09-13"
    assert rows[0]["status"] == "expired by term"
