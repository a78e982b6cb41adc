"""ODP Patent File Wrapper parsing on every real recording in tests/fixtures/uspto_odp/ (see its
PROVENANCE.md), with exact values, the 2024/2025/2026 drift cases and the error bodies."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from patentscope.landscape import load_landscape
from patentscope.normalize.uspto_odp import (
    classify_payload,
    earliest_us_filing,
    is_no_hits,
    merge_applications,
    number_from_request,
    parse_application,
    to_rows,
)
from patentscope.sources.uspto_bulk import parse_product

ODP = Path(__file__).resolve().parent / "fixtures" / "uspto_odp"
CUR = ODP / "current"
V6 = CUR / "patent_client-v6-2025-02" / "bodies"
V5 = CUR / "patent_client-v5.0.17-2024-09" / "fixtures"
RAW = CUR / "patent-dev" / "raw"
BETA = ODP / "beta" / "fixtures"
ALL_JSON = sorted(p for p in ODP.rglob("*.json"))
D = dt.date.fromisoformat


def load(p: Path):
    return json.loads(p.read_text(encoding="utf-8"))


def app_of(p: Path, i: int = 0, number: str | None = None):
    info = classify_payload(load(p))
    assert info.kind == "applications", (p, info.kind)
    a = parse_application(info.records[i], number or number_from_request(p.name))
    assert a is not None
    return a


def expected_kind(p: Path) -> str:
    name = p.name
    if "__403__" in name or "__429__" in name:
        return "error"
    if "__404__" in name:
        return "no_hits"
    if "bulk_product" in name or "datasets_products" in name:
        return "products"
    if name == "get_status_codes.json":
        return "status_codes"
    if name in ("get_patent_documents.json", "documents.json"):
        return "documents"
    return "applications"


def test_fixture_set_is_complete():
    # 13 raw + 3 demo responses + 47 bodies + 4 v5 fixtures + 8 beta fixtures
    assert len(ALL_JSON) == 75
    assert (CUR / "LICENSE.patent-dev-uspto-odp.txt").exists() and (CUR / "LICENSE.patent_client.txt").exists()
    assert (ODP / "beta" / "LICENSE.patent_client.txt").exists() and (ODP / "PROVENANCE.md").exists()


@pytest.mark.parametrize("path", ALL_JSON, ids=lambda p: str(p.relative_to(ODP)))
def test_every_recording_classifies_and_parses(path):
    info = classify_payload(load(path))
    assert info.kind == expected_kind(path)
    if info.kind == "applications":
        for rec in info.records:
            a = parse_application(rec, number_from_request(path.name))
            if a is None:  # beta single-section payloads, a download projected without the number
                assert "applicationNumberText" not in json.dumps(rec)
                continue
            assert a.application_number
            for link in a.continuity:
                assert link.child and link.parent and link.code
            if a.pta is not None:
                assert a.pta.total is not None


# ---------------------------------------------------------------- 2026 (api.uspto.gov)

def test_17248024_full_record_2026():
    a = app_of(RAW / "get_patent.json")
    assert (a.application_number, a.patent_number) == ("17248024", "11646472")
    assert (a.filing_date, a.grant_date) == (D("2021-01-05"), D("2023-05-09"))
    assert a.own_pub_key() == ("US-11646472", None, True)
    # padded 2026 CPC strings, normalised; the as-written form is kept
    assert a.cpc_as_written[:2] == ["H01M  50/46", "H01G  11/06"]
    assert a.cpc[:3] == ["H01M50/46", "H01G11/06", "H01M50/449"] and "H01M2004/027" in a.cpc and len(a.cpc) == 20
    assert a.applicants == [("PolyPlus Battery Company", "US")]
    assert [n for n, _ in a.inventors] == ["Steven J. Visco", "Bruce D. Katz", "Yevgeniy S. Nimon", "Lutgard C. De Jonghe"]
    assert len(a.events) == 61 and a.events[0].code == "EML_NTR"
    assert [e for e in a.events if e.effect != "other"] == []  # no fee, lapse or TD events on this record
    # continuity: 12 links, 9 counted; the DIV parent 10824944 reached through the CON/CIP chain
    assert len(a.continuity) == 12
    assert sum(link.counts_for_term for link in a.continuity) == 9
    ef = earliest_us_filing(a)
    assert (ef.date, ef.via, ef.international_filing_date, ef.connected) == (D("2004-04-14"), "10824944", None, True)
    assert "not counted: PRO" in ef.note
    # effectiveFilingDate (2021-01-05) is not the term date
    assert load(RAW / "get_patent.json")["patentFileWrapperDataBag"][0]["applicationMetaData"]["effectiveFilingDate"] == "2021-01-05"
    # PTA 304 = A 304, identity holds; 2026 adds nonOverlappingDayDelayQuantity
    p = a.pta
    assert (p.a, p.b, p.c, p.overlap, p.applicant, p.total, p.non_overlapping) == (304, 0, 0, 0, 0, 304, 304)
    assert p.identity_holds is True


def test_2026_single_section_payloads():
    c = app_of(RAW / "get_patent_continuity.json")
    ef = earliest_us_filing(c)  # the continuity section alone: the chain gives the date
    assert c.parts == {"continuity"} and (ef.date, ef.via) == (D("2004-04-14"), "10824944")
    merged = merge_applications([app_of(RAW / "get_patent_continuity.json"), app_of(RAW / "get_patent_adjustment.json"),
                                 app_of(RAW / "get_patent_transactions.json")])["17248024"]
    assert merged.parts == {"continuity", "pta", "events"} and merged.pta.total == 304 and len(merged.events) == 61
    asg = app_of(RAW / "get_patent_assignment.json")
    assert asg.application_number == "15000001" and len(asg.assignments) == 1
    x = asg.assignments[0]
    assert (x.reel_frame, x.recorded, x.conveyance) == ("038323/0190", D("2016-04-19"), "ASSIGNMENT OF ASSIGNOR'S INTEREST")
    assert x.assignees == (("SAMSUNG ELECTRONICS CO., LTD", "KR"),) and len(x.assignors) == 9 and x.transfers_ownership
    fp = app_of(RAW / "get_patent_foreign_priority.json")
    assert fp.parts == set() and fp.foreign_priority == []  # the empty case: only applicationNumberText
    info = classify_payload(load(RAW / "get_status_codes.json"))
    assert info.count == 241 and info.records[0] == {"applicationStatusCode": 1,
                                                     "applicationStatusDescriptionText": "Missassigned Application Number"}
    assert classify_payload(load(RAW / "get_patent_documents.json")).count == 45


def test_bulk_product_listings():
    prod = parse_product(load(RAW / "get_bulk_product.json"), "PTGRXML")
    assert prod.product == "PTGRXML" and prod.last_modified == "2024-01-09 00:03:40" and prod.data_to == "2026-06-09"
    assert prod.files and all(f.name and f.size for f in prod.files)
    demo = classify_payload(load(CUR / "patent-dev" / "demo-examples" / "search_bulk_products.response.json"))
    ids = {p["productIdentifier"] for p in demo.records}
    assert {"PVGPATDIS", "PVPGPUBDIS", "PVGPATTXT"} <= ids


# ---------------------------------------------------------------- 2025 (beta host, production shape)

def test_14230558_con_chain_and_fee_payments_2025():
    a = app_of(V6 / "manager_test__test_can_get_old_applications__00__200__patent_applications_14230558.json")
    assert (a.patent_number, a.filing_date, a.grant_date) == ("9111608", D("2014-03-31"), D("2015-08-18"))
    ef = earliest_us_filing(a)
    assert (ef.date, ef.via) == (D("2004-08-20"), "10923421")
    fees = [(e.code, e.date, e.effect) for e in a.events if e.effect != "other"]
    assert fees == [("M1552", D("2023-02-20"), "fee_paid"), ("M1551", D("2019-02-18"), "fee_paid")]
    assert [e for e in a.events if e.code == "M844"][0].effect == "other"  # M-prefixed, not a fee
    assert a.pta.total == 0 and a.pta.identity_holds  # floats 0.0 in 2025
    assert a.cpc == ["G06F13/1689", "G11C7/222", "G11C7/04", "G11C11/4076"]  # 2025: no padding
    latest = max((x for x in a.assignments if x.transfers_ownership), key=lambda x: x.recorded)
    assert latest.assignees == (("K.MIZRA LLC", None),)


def test_16123456_pta_floats_and_fee_2025():
    adj = app_of(V6 / "api_test__test_get_patent_term_adjustment_data__00__200__patent_applications_16123456_adjustment.json")
    p = adj.pta
    assert (p.a, p.b, p.c, p.overlap, p.applicant, p.total) == (142, 0, 0, 0, 15, 127)
    assert p.identity_holds is True and "total = max(0, A+B+C-overlap-applicant)" in p.note()
    full = app_of(V6 / "manager_test__test_get_one_app__02__200__patent_applications_16123456.json")
    assert full.patent_number == "10902286" and full.pta.total == 127
    assert [(e.code, e.date) for e in full.events if e.effect == "fee_paid"] == [("M1551", D("2024-07-10"))]
    assert [(link.direction, link.code, link.child) for link in full.continuity] == [("child", "DIV", "17130468")]
    assert earliest_us_filing(full).date == D("2018-09-06")


def test_pct_numbers_and_nst_2025():
    a = app_of(V6 / "integration_test__TestPatentFileWrapper.test_direct_api_access__00__200__patent_applications_15123456.json")
    assert a.patent_number is None and a.own_pub_key() == ("US-20170071586", "A1", False)
    ef = earliest_us_filing(a)
    assert (ef.date, ef.via, ef.international_filing_date) == (D("2015-04-23"), "PCTUS1527322", D("2015-04-23"))
    pct = app_of(V6 / "manager_test__test_can_get_pct_application__00__200__patent_applications_PCT-US07-19317.json")
    assert pct.application_number == "PCTUS0719317" and pct.own_pub_key()[0] == "WO-2008030442"
    assert pct.type_code is None  # '?' in the record
    page = classify_payload(load(V6 / "integration_test__TestPatentFileWrapper.test_search_range_filter__01__200__patent_applications_search.json"))
    assert page.count == 32437 and len(page.records) == 5
    apps = [parse_application(r) for r in page.records]
    assert [a.application_number for a in apps] == ["18019071", "18162559", "18007478", "18104229", "18162429"]
    # 18104229: applicant delay 92 > A+B+C, total 0: the identity holds with the floor at 0
    assert apps[3].pta.total == 0 and apps[3].pta.applicant == 92 and apps[3].pta.identity_holds


def test_error_bodies():
    e403 = classify_payload(load(V6 / "api_test__test_get_application_basic_data__00__403__patent_applications_15123456_application-data.json"))
    assert (e403.kind, e403.message) == ("error", "Missing Authentication Token")
    e429 = classify_payload(load(V6 / "integration_test__TestPatentFileWrapper.test_direct_api_access__01__429__patent_applications_15123456_meta-data.json"))
    assert (e429.kind, e429.message) == ("error", "Too Many Requests")
    s404 = load(V6 / "manager_test__test_can_get_by_customer_number__00__404__patent_applications_search.json")
    assert s404["code"] == "404" and is_no_hits(404, s404) and is_no_hits(None, s404)  # code as a string
    i404 = load(V6 / "integration_test__TestBulkData.test_search_with_string_filters__02__404__datasets_products_search.json")
    assert i404["code"] == 404 and classify_payload(i404).kind == "no_hits"  # code as an integer
    # the spec's spelling (odp-common-base.yaml Response404 example): error / errorDetails
    spec404 = {"code": 404, "error": "Not Found",
               "errorDetails": "No matching records found, refine your search criteria and try again",
               "requestIdentifier": "07c5c24d-bf8e-458c-9427-a038500d6e98"}
    info = classify_payload(spec404, 404)
    assert info.kind == "no_hits" and "No matching records" in info.message
    assert not is_no_hits(404, {"message": "Missing Authentication Token"})


# ---------------------------------------------------------------- 2024 (beta fixtures)

def test_16330077_pta_1092_2024():
    a = app_of(V5 / "adjustment.json", number="16330077")
    p = a.pta
    assert (p.a, p.b, p.c, p.overlap, p.applicant, p.total) == (750, 511, 0, 81, 88, 1092)
    assert p.ip_office_day_delay == 1180 == p.a + p.b + p.c - p.overlap  # the 2024 field
    assert p.identity_holds is True


def test_14412875_nst_and_m1551_2024():
    c = app_of(V5 / "continuity.json")  # older key claimParentageTypeCodeDescription
    assert c.application_number == "14412875"
    nst = [link for link in c.continuity if link.code == "NST"][0]
    assert (nst.parent, nst.text, nst.other_filing_date) == ("PCT/IB2013/001896", "is a National Stage Entry of", D("2013-07-02"))
    assert len([link for link in c.continuity if link.direction == "child"]) == 3
    t = app_of(V5 / "transactions.json")
    assert len(t.events) == 133 and (t.events[0].code, t.events[0].date, t.events[0].effect) == ("M1551", D("2023-12-04"), "fee_paid")
    merged = merge_applications([c, t])["14412875"]
    ef = earliest_us_filing(merged)
    assert (ef.date, ef.via, ef.international_filing_date) == (D("2013-07-02"), "PCT/IB2013/001896", D("2013-07-02"))
    fp = app_of(V5 / "foreign_priority.json")
    assert fp.foreign_priority == [("GERMANY", "10 2012 013 534.3", D("2012-07-05"))]


def test_beta_shapes_2024():
    cont = app_of(BETA / "continuity.json")  # continuityBag wrapper, filingDate key, 'PCT/US15/27322'
    assert cont.application_number == "15123456"
    ef = earliest_us_filing(cont)
    assert (ef.via, ef.international_filing_date) == ("PCT/US15/27322", D("2015-04-22"))
    full = app_of(BETA / "application.json")  # metadata flat on the record, transactionContentBag
    assert (full.application_number, full.filing_date, full.title) == ("15123456", D("2016-09-02"), "TONGUE RETRACTORS FOR FRENOTOMIES")
    assert full.own_pub_key() == ("US-20170071586", "A1", False)  # 'US 2017-0071586 A1'
    assert full.cpc[0] == "A61B13/00" and full.events and full.assignments
    tx = app_of(BETA / "transactions.json", number="15123456")  # recordedDate / caseActionCode
    assert (tx.events[0].code, tx.events[0].date) == ("IEXX", D("2016-09-02"))
    adj = app_of(BETA / "adjustment.json", number="16123456")
    assert adj.pta.total == 0 and adj.pta.identity_holds is False  # the beta record said 0, the 2025 one 127
    assert "identity FAILS" in adj.pta.note()
    assert parse_application(classify_payload(load(BETA / "transactions.json")).records[0]) is None  # no number anywhere


def test_rows_for_the_warehouse():
    land = load_landscape()
    apps = merge_applications([
        app_of(RAW / "get_patent.json"),
        app_of(V5 / "adjustment.json", number="16330077"),
        app_of(V5 / "continuity.json"), app_of(V5 / "transactions.json"),
        app_of(V6 / "manager_test__test_can_get_old_applications__00__200__patent_applications_14230558.json"),
    ])
    batch, us = to_rows(apps.values(), land, run_id=7)
    assert sorted(p["pub_key"] for p in batch.publications) == ["US-11646472", "US-9111608"]
    assert all(p["in_landscape"] is False for p in batch.publications)  # batteries and memory circuits
    ti = {t["pub_key"]: t for t in batch.term_inputs}
    assert (ti["US-11646472"]["earliest_us_filing_date"], ti["US-11646472"]["pta_days"]) == (D("2004-04-14"), 304)
    assert ti["US-9111608"]["earliest_us_filing_date"] == D("2004-08-20")
    assert {(e["pub_key"], e["event_code"], e["effect"]) for e in batch.legal_events} == {
        ("US-9111608", "M1551", "fee_paid"), ("US-9111608", "M1552", "fee_paid")}
    rows = {r["application_number"]: r for r in us.applications}
    assert rows["16330077"]["pub_key"] is None and rows["16330077"]["pta_days"] == 1092
    assert rows["14412875"]["earliest_us_filing_date"] == D("2013-07-02") and rows["14412875"]["pub_key"] is None
    assert [e["event_code"] for e in us.events if e["application_number"] == "14412875" and e["effect"] == "fee_paid"] == ["M1551"]
    classes = [c for c in batch.classifications if c["pub_key"] == "US-11646472"]
    assert (classes[0]["symbol"], classes[0]["symbol_as_written"], classes[0]["position"]) == ("H01M50/46", "H01M  50/46", 1)
    cont = [r for r in us.continuity if r["application_number"] == "17248024"]
    assert len(cont) == 12 and sum(r["counts_for_term"] for r in cont) == 9


def test_replay_all_recordings_into_the_warehouse(tmp_path):
    from patentscope.ingest.us_odp import replay_odp

    wh = tmp_path / "w.duckdb"
    land = load_landscape()
    res = replay_odp(wh, ODP, land, command="pytest", raw_dir=tmp_path / "raw")
    assert res.rows_read == 75
    con = duckdb.connect(str(wh), read_only=True)
    try:
        q = lambda s: con.execute(s).fetchall()  # noqa: E731
        assert q("SELECT earliest_us_filing_date, pta_days FROM term_inputs WHERE pub_key = 'US-11646472'") == [
            (D("2004-04-14"), 304)]
        assert q("SELECT earliest_us_filing_date, earliest_via FROM us_applications WHERE application_number = '17248024'") == [
            (D("2004-04-14"), "10824944")]
        assert q("SELECT pta_days FROM us_applications WHERE application_number IN ('16330077', '16123456', '17248024') "
                 "ORDER BY application_number") == [(127,), (1092,), (304,)]
        assert q("SELECT event_code, event_date FROM legal_events WHERE pub_key = 'US-9111608' AND effect = 'fee_paid' "
                 "ORDER BY event_date") == [("M1551", D("2019-02-18")), ("M1552", D("2023-02-20"))]
        assert q("SELECT event_code, event_date FROM legal_events WHERE pub_key = 'US-10902286'") == [("M1551", D("2024-07-10"))]
        assert q("SELECT effect, pub_key FROM us_application_events JOIN us_applications USING (application_number, source) "
                 "WHERE application_number = '14412875' AND event_code = 'M1551'") == [("fee_paid", None)]
        assert q("SELECT count(*) FROM raw_landing WHERE source = 'odp'")[0][0] == len({p.read_bytes() for p in ALL_JSON})
        # 4 beta section payloads and 1 projected download carry no application number
        assert q("SELECT count(*) FROM quarantine WHERE source = 'odp'")[0][0] == 5
        cursor = json.loads(q("SELECT cursor FROM ingest_state WHERE source = 'odp-load'")[0][0])
        assert len(cursor["files"]) == 75
    finally:
        con.close()
