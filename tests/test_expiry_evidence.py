"""The record's own status evidence against the computed term (docs/expiry.md "Status evidence").

Publications are SYNTHETIC test inputs (numbers 'T...'); the status words are the ones the
sources print (Google Patents, J-PlatPat, CNIPA, KIPRIS; docs/sources.md)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from patentscope.metrics.expiry import compute_expiry
from patentscope.metrics.expiry.evidence import evidence_frame, normalise_status

D = dt.date
TODAY = D(2026, 11, 28)


@pytest.mark.parametrize("text,state", [
    ("Expired - Lifetime", "expired_term"), ("Expired - Fee Related", "lapsed_fee"), ("Ceased", "ended"),
    ("EXPIRED", "ended"), ("Active", "in_force"), ("Granted; Expired - Lifetime (current)", "expired_term"),
    ("Fee status: Paid", "fee_paid"), ("有效", "in_force"), ("失效", "ended"), ("驳回", "abandoned"),
    ("소멸", "ended"), ("등록", "in_force"), ("みなし取下げ", "abandoned"), ("拒絶査定", "abandoned"),
    ("審査請求 未請求", "no_exam_request"), ("Pending", "pending"), ("something new", "unrecognised"),
])
def test_status_words_are_normalised(text, state):
    assert normalise_status(text)[0][0] == state


def test_a_status_about_another_publication_is_not_used():
    got = normalise_status("Granted (application); US7883587B2 Active, adjusted expiration")
    assert [s for s, _ in got] == ["granted", "other_publication"]


def run(pub: dict, shown: list[tuple[str, str]]) -> dict:
    frame = pl.DataFrame([pub], schema_overrides={"kinds_seen": pl.List(pl.String), "priority_date": pl.Date,
                                                  "filing_date": pl.Date, "grant_date": pl.Date})
    fv = pl.DataFrame({"pub_key": [pub["pub_key"]] * len(shown), "field": [f for f, _ in shown],
                       "value": [v for _, v in shown], "source": ["test page"] * len(shown)})
    ex = compute_expiry(frame, at=TODAY, today=TODAY, status_evidence=evidence_frame(fv))
    return ex.row(0, named=True)


def us(key: str, filed: dt.date, granted: dt.date, kind: str = "B2") -> dict:
    return {"pub_key": key, "pub_number": key, "country": key[:2], "doc_number": key[3:], "kind": kind,
            "kinds_seen": [kind], "filing_date": filed, "grant_date": granted}


def test_fee_related_end_before_the_term_end_is_a_lapse_at_the_last_fee_deadline_35_usc_41b():
    """35 USC 41(b), 37 CFR 1.362: fees due 3.5/7.5/11.5 years after grant, lapse at grant + 4/8/12.
    Granted 2010-01-05, term to 2028-01-03; the page shows 'Expired - Fee Related' by 2026-11-28:
    lapsed between grant + 4 (2014-01-05) and the last deadline before the page, grant + 12."""
    r = run(us("US-T1", D(2008, 1, 3), D(2010, 1, 5)), [("status_as_shown", "Expired - Fee Related")])
    assert r["status"] == "lapsed" and r["end_reason"] == "status_evidence"
    assert (r["expiry_earliest"], r["expiry_latest"], r["expiry_date"]) == (D(2014, 1, 5), D(2022, 1, 5), D(2022, 1, 5))
    assert "the record shows 'lapsed_fee'" in r["status_conflict"] and "2022-01-05 at the latest" in r["status_conflict"]
    assert any(line.startswith("CONFLICT: ") for line in r["calculation_log"])
    assert not r["rests_on_fee_assumption"]


def test_lifetime_end_shown_while_computed_in_force_is_a_lapse_with_unknown_start():
    r = run(us("US-T2", D(2012, 3, 1), D(2014, 6, 3)), [("status_as_shown", "Expired - Lifetime")])
    assert r["status"] == "lapsed" and r["expiry_earliest"] is None and r["expiry_latest"] == D(2026, 6, 3)
    assert r["status_conflict"]


def test_active_shown_after_the_computed_term_end_is_flagged_and_status_unknown():
    r = run(us("US-T3", D(1996, 1, 2), D(1998, 5, 5)), [("status_as_shown", "Active")])
    assert r["status"] == "unknown" and r["status_basis"] == "status_conflict"
    assert "the computed term ended 2016-01-02" in r["status_conflict"]


def test_agreeing_evidence_changes_nothing_and_fee_paid_verifies_fees():
    base = run(us("US-T4", D(2012, 3, 1), D(2014, 6, 3)), [])
    assert base["status"] == "in force" and base["rests_on_fee_assumption"]
    r = run(us("US-T4", D(2012, 3, 1), D(2014, 6, 3)), [("status_as_shown", "Active"), ("status_as_shown", "Fee status: Paid")])
    assert r["status"] == "in force" and r["status_conflict"] is None and not r["rests_on_fee_assumption"]
    assert r["expiry_date"] == base["expiry_date"] == D(2032, 3, 1)
    assert "evidence: agrees with the computed status" in "\n".join(r["calculation_log"])


def test_refused_jp_application_ended_and_shown_expiry_outside_the_interval_is_flagged():
    app = {"pub_key": "JP-T5", "pub_number": "JP-T5-A", "country": "JP", "doc_number": "T5", "kind": "A",
           "kinds_seen": ["A"], "filing_date": D(2015, 4, 1), "grant_date": None}
    r = run(app, [("status_as_shown", "拒絶査定")])
    assert r["status"] == "lapsed" and r["status_as_shown"] == "abandoned"
    r = run(us("US-T6", D(2012, 3, 1), D(2014, 6, 3)), [("expiry_as_shown", "Mar 1 2035")])
    assert "outside the legal interval 2032-03-01 .. 2032-03-01" in r["status_conflict"]
    r = run(us("US-T6", D(2012, 3, 1), D(2014, 6, 3)), [("expiry_as_shown", "Mar 1 2035 (est., nominal 20-yr term)")])
    assert r["status_conflict"] is None and "an estimate: not weighed" in r["status_evidence"]
