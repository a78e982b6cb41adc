"""Expiry engine: every rule branch on hand-worked cases (docs/expiry.md, docs/sources.md).

Publications here are SYNTHETIC test inputs (numbers 'T...'), except the 35 USC 154(c)(1) test
vector US 5,084,115 (filed 1989-09-14, granted 1992-01-28; docs/sources.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

from patentscope.errors import ConfigError, InputError
from patentscope.metrics.expiry import (
    EXPIRY_COLUMNS,
    STATUSES,
    compute_expiry,
    holder_cliffs,
    in_force_stock,
    status_at,
)
from patentscope.metrics.expiry.rules import builtin_rules_path, load_rules

D = dt.date
TODAY = D(2026, 11, 28)
RULES = load_rules()


def pub(key: str, kind: str | None, filed: dt.date | None = None, granted: dt.date | None = None, **kw) -> dict:
    cc, num = key.split("-", 1)
    row = {"pub_key": key, "pub_number": f"{key}-{kind}" if kind else key, "country": cc, "doc_number": num, "kind": kind,
           "kinds_seen": [kind] if kind else None, "filing_date": filed, "grant_date": granted}
    row.update(kw)
    return row


def run(pubs, ti=None, ev=None, pc=None, *, at=TODAY, rules=RULES, markets=()) -> dict:
    frame = pl.DataFrame(pubs, schema_overrides={"kinds_seen": pl.List(pl.String), "filing_date": pl.Date,
                                                 "grant_date": pl.Date, "publication_date": pl.Date,
                                                 "priority_date": pl.Date})
    out = compute_expiry(
        frame,
        pl.DataFrame(ti) if ti else None,
        pl.DataFrame(ev) if ev else None,
        pl.DataFrame(pc) if pc else None,
        at=at, today=TODAY, rules=rules, markets=markets,
    )
    return {(r["pub_key"], r["jurisdiction"]): r for r in out.iter_rows(named=True)}


def one(*args, **kw) -> dict:
    res = run(*args, **kw)
    assert len(res) == 1, res.keys()
    return next(iter(res.values()))


def log(r: dict) -> str:
    return "\n".join(r["calculation_log"])


def ev(key, date, effect, j="US", code="X"):
    return {"pub_key": key, "jurisdiction": j, "event_date": date, "event_code": code, "effect": effect, "source": "test"}


# --- US utility ------------------------------------------------------------------------------


def test_domain_vector_us_5084115():
    r = one([pub("US-5084115", "A", D(1989, 9, 14), D(1992, 1, 28))])
    assert r["expiry_date"] == D(2009, 9, 14)  # max(2009-01-28, 2009-09-14)
    assert r["rule"] == "us_utility:transition_greater_of_17_and_20"
    assert "greater of 17 years from grant = 2009-01-28 and 20 years from 1989-09-14 = 2009-09-14" in log(r)
    assert r["status"] == "expired by term"
    assert one([pub("US-5084115", "A", D(1989, 9, 14), D(1992, 1, 28))], at=D(2009, 9, 13))["status"] == "in force"


def test_us_20_years_from_earliest_us_filing_and_log_says_which():
    p = [pub("US-T1", "B2", D(2005, 3, 1), D(2008, 6, 3))]
    r = one(p, ti=[{"pub_key": "US-T1", "source": "odp", "earliest_us_filing_date": D(2001, 7, 4)}])
    assert r["expiry_date"] == D(2021, 7, 4)
    assert r["base_date"] == D(2001, 7, 4) and "term_inputs.earliest_us_filing_date" in r["base_basis"]
    r = one(p)
    assert r["expiry_date"] == D(2025, 3, 1)
    assert "continuity is unknown" in r["base_basis"]
    assert "PTA/PTE days not known" in log(r)


def test_us_1995_06_08_boundary_both_sides():
    before = one([pub("US-T2", "A", D(1995, 6, 7), D(1999, 1, 5))])
    after = one([pub("US-T3", "B1", D(1995, 6, 8), D(1999, 1, 5))])
    assert before["rule"] == "us_utility:transition_greater_of_17_and_20"
    assert before["expiry_date"] == D(2016, 1, 5)  # grant + 17 beats filing + 20 (2015-06-07)
    assert after["rule"] == "us_utility:20y_from_earliest_filing"
    assert after["expiry_date"] == D(2015, 6, 8)


def test_us_1978_06_08_boundary_no_revival():
    old = [pub("US-T4", "A", D(1975, 1, 2), D(1978, 6, 8))]
    r = one(old, at=D(1995, 6, 8))
    assert r["rule"] == "us_utility:17y_from_grant_no_revival"
    assert r["expiry_date"] == D(1995, 6, 8) and r["status"] == "expired by term"  # not in force on 1995-06-08
    assert one(old, at=D(1995, 6, 7))["status"] == "in force"
    r = one([pub("US-T5", "A", D(1975, 1, 2), D(1978, 6, 9))], at=D(1995, 6, 8))
    assert r["rule"] == "us_utility:transition_greater_of_17_and_20"
    assert r["expiry_date"] == D(1995, 6, 9) and r["status"] == "in force"  # in force on the day: greater term


def test_leap_day_filing_plus_20_years_and_into_a_common_year():
    assert one([pub("US-T6", "B2", D(2000, 2, 29), D(2003, 1, 7))])["expiry_date"] == D(2020, 2, 29)
    design = [pub("US-DT7", "S", D(1999, 5, 3), D(2000, 2, 29))]
    assert one(design)["expiry_date"] == D(2014, 2, 28)  # 14 years from 29 Feb -> 28 Feb (feb28 convention)
    mar1 = dataclasses.replace(RULES, leap_day="mar1")
    assert one(design, rules=mar1)["expiry_date"] == D(2014, 3, 1)


def test_pta_and_pte_add_days_pta_only_after_1995():
    p = [pub("US-T8", "B2", D(2003, 6, 27), D(2007, 1, 9))]
    r = one(p, ti=[{"pub_key": "US-T8", "source": "odp", "pta_days": 278}])
    assert r["expiry_date"] == D(2024, 3, 31)  # 2023-06-27 + 278 days
    assert "+278 days PTA" in log(r)
    r = one(p, ti=[{"pub_key": "US-T8", "source": "odp", "pta_days": 10, "pte_days": 5}])
    assert r["expiry_date"] == D(2023, 6, 27) + dt.timedelta(days=15)
    old = [pub("US-T9", "A", D(1990, 1, 2), D(1992, 3, 3))]
    r = one(old, ti=[{"pub_key": "US-T9", "source": "odp", "pta_days": 100, "pte_days": 7}])
    assert r["expiry_date"] == D(2010, 1, 2) + dt.timedelta(days=7)  # PTE yes, PTA not for a pre-1995 filing
    assert "pta_days 100 not applied" in log(r)
    # the term_inputs line names what the row gives, and says when it gives nothing
    assert "term_inputs (odp): PTA 100 days, PTE 7 days" in log(r)
    r = one(old, ti=[{"pub_key": "US-T9", "source": "odp", "pta_days": None, "note": "read from the page"}])
    assert "term_inputs (odp): no values (how: odp: read from the page)" in log(r)
    assert "term_inputs: none for this publication" in log(one(old))


def test_terminal_disclaimer_caps_or_leaves_upper_bound():
    p = [pub("US-T10", "B2", D(2004, 4, 14), D(2008, 5, 9))]
    r = one(p, ti=[{"pub_key": "US-T10", "source": "odp", "terminal_disclaimer": True,
                    "disclaimer_expiry_date": D(2020, 1, 1)}])
    assert r["expiry_date"] == D(2020, 1, 1) and r["end_reason"] == "terminal_disclaimer"
    assert "override: terminal disclaimer" in log(r)
    r = one(p, ti=[{"pub_key": "US-T10", "source": "odp", "terminal_disclaimer": True,
                    "disclaimer_expiry_date": D(2030, 1, 1)}])
    assert r["expiry_date"] == D(2024, 4, 14) and "no effect" in log(r)
    ti = [{"pub_key": "US-T10", "source": "odp", "terminal_disclaimer": True}]
    r = one(p, ti=ti, at=D(2015, 1, 1))
    assert r["status"] == "unknown" and r["expiry_is_upper_bound"] and r["status_basis"] == "term_range"
    assert any("disclaimer_expiry_date" in m for m in r["missing"])
    assert one(p, ti=ti, at=D(2024, 4, 14))["status"] == "expired by term"
    r = one(p, ev=[ev("US-T10", D(2006, 1, 5), "terminal_disclaimer", code="DIST")], at=D(2015, 1, 1))
    assert r["status"] == "unknown"  # a TD legal event without a date is the same


@pytest.mark.parametrize("years,event_date", [(4, D(2012, 3, 20)), (8, D(2016, 2, 1)), (12, D(2020, 6, 1))])
def test_maintenance_fee_lapse_at_4_8_12_years(years, event_date):
    grant = D(2008, 1, 15)
    p = [pub("US-T11", "B2", D(2005, 1, 10), grant)]
    lapse = grant.replace(year=grant.year + years)
    r = one(p, ev=[ev("US-T11", event_date, "lapse", code="EXP.")])
    assert r["status"] == "lapsed" and r["expiry_date"] == lapse and r["end_reason"] == "lapse"
    assert f"grant 2008-01-15 + {years} years" in log(r)
    assert one(p, ev=[ev("US-T11", event_date, "lapse")], at=lapse - dt.timedelta(days=1))["status"] == "in force"
    # reinstated: in force again after the reinstatement, lapsed in between
    events = [ev("US-T11", event_date, "lapse"), ev("US-T11", event_date + dt.timedelta(days=30), "reinstatement")]
    r = one(p, ev=events)
    assert r["status"] == "expired by term" and r["expiry_date"] == D(2025, 1, 10)
    assert r["lapse_periods"] == [{"start": lapse, "end": event_date + dt.timedelta(days=30)}]
    assert one(p, ev=events, at=event_date)["status"] == "lapsed"
    assert one(p, ev=events, at=event_date + dt.timedelta(days=31))["status"] == "in force"


def test_lapse_recorded_before_first_fee_window_is_flagged_in_the_log():
    p = [pub("US-T12", "B2", D(2005, 1, 10), D(2008, 1, 15))]
    r = one(p, ev=[ev("US-T12", D(2010, 1, 1), "lapse")])
    assert r["expiry_date"] == D(2010, 1, 1) and "before the first fee anniversary" in log(r)


def test_legal_expiry_event_overrides_and_late_lapse_is_flagged():
    p = [pub("US-T13", "B2", D(2005, 1, 10), D(2008, 1, 15))]
    r = one(p, ev=[ev("US-T13", D(2025, 6, 1), "expiry")])
    assert r["expiry_date"] == D(2025, 6, 1) and r["end_reason"] == "expiry_event"
    assert "replaces the computed date 2025-01-10" in log(r)
    r = one(p, ev=[ev("US-T13", D(2025, 6, 1), "revocation")])
    assert r["expiry_date"] == D(2025, 1, 10) and "on/after the term end" in log(r)
    r = one(p, ev=[ev("US-T13", D(2012, 6, 1), "revocation")])
    assert r["status"] == "lapsed" and r["end_reason"] == "revocation"


# --- designs, CN, JP, KR, EP, PCT ------------------------------------------------------------


def test_us_design_14_or_15_years():
    assert one([pub("US-DT14", "S", D(2015, 5, 12), D(2016, 8, 2))])["expiry_date"] == D(2030, 8, 2)
    r = one([pub("US-DT15", "S", D(2015, 5, 13), D(2016, 8, 2))])
    assert r["expiry_date"] == D(2031, 8, 2) and r["rule"] == "us_design:from_grant_alt"
    # no filing date: a grant before the change date still tells 14 years; after it, unknown
    assert one([pub("US-DT16", "S", None, D(2014, 8, 5))])["expiry_date"] == D(2028, 8, 5)
    r = one([pub("US-DT17", "S", None, D(2016, 8, 2))])
    assert r["status"] == "unknown" and any("14 or 15 years" in m for m in r["missing"])


def test_cn_invention_utility_model_and_design():
    r = run([pub("CN-T1", "B", D(2010, 3, 4), D(2014, 1, 1)), pub("CN-T2", "U", D(2018, 3, 1), D(2018, 9, 1)),
             pub("CN-T3", "S", D(2021, 5, 31), D(2021, 9, 1)), pub("CN-T4", "S", D(2021, 6, 1), D(2021, 9, 1))])
    assert r[("CN-T1", "CN")]["expiry_date"] == D(2030, 3, 4)
    assert r[("CN-T2", "CN")]["expiry_date"] == D(2028, 3, 1) and r[("CN-T2", "CN")]["document_type"] == "utility_model"
    assert r[("CN-T3", "CN")]["expiry_date"] == D(2031, 5, 31)
    assert r[("CN-T4", "CN")]["expiry_date"] == D(2036, 6, 1)


def test_jp_kr_adjustments_only_after_their_cutoffs():
    pubs = [pub("JP-T1", "B2", D(2021, 2, 1), D(2023, 5, 6)), pub("KR-T2", "B1", D(2011, 2, 1), D(2013, 5, 6)),
            pub("KR-T3", "B1", D(2013, 2, 1), D(2015, 5, 6))]
    ti = [{"pub_key": k, "source": "x", "pta_days": 30} for k in ("JP-T1", "KR-T2", "KR-T3")]
    r = run(pubs, ti=ti)
    assert r[("JP-T1", "JP")]["expiry_date"] == D(2041, 3, 3)
    assert r[("KR-T2", "KR")]["expiry_date"] == D(2031, 2, 1) and "not applied" in log(r[("KR-T2", "KR")])
    assert r[("KR-T3", "KR")]["expiry_date"] == D(2033, 3, 3)


def test_jp_before_1995_old_term_only_where_it_ended_before_the_1994_amendment():
    """Old Art. 67(1): the earlier of 15 years from the examined publication (kokoku) and 20 from filing;
    Law No. 116 of 1994 gave every patent still in force on 1995-07-01 20 years from filing."""
    pubs = [
        pub("JP-T4", "B2", D(1990, 2, 1), None, publication_date=D(1994, 5, 6)),   # old 2009-05-06: not ended
        pub("JP-T41", "B2", D(1972, 3, 1), None, publication_date=D(1976, 4, 10)),  # old 1991-04-10: ended
        pub("JP-T42", "B2", D(1974, 1, 10), None, publication_date=D(1980, 6, 1)),  # old = the 20-year cap, 1994-01-10
        pub("JP-T43", "B2", D(1976, 1, 1), None, publication_date=D(1980, 7, 1)),   # old ends ON 1995-07-01: new law
        pub("JP-T44", "B", D(1985, 3, 3), D(1992, 6, 1)),                           # no kokoku date, filed after 1980-07-01
        pub("JP-T45", "B", D(1978, 5, 5), D(1984, 2, 2)),                           # no kokoku date, filed before
    ]
    r = {k[0]: v for k, v in run(pubs, at=D(2005, 1, 1)).items()}
    assert {k: v["rule"] for k, v in r.items()} == {k: "jp_invention:jp_pre_1995" for k in r}
    assert {k: (v["expiry_date"], v["expiry_is_upper_bound"]) for k, v in r.items()} == {
        "JP-T4": (D(2010, 2, 1), False), "JP-T41": (D(1991, 4, 10), False), "JP-T42": (D(1994, 1, 10), False),
        "JP-T43": (D(1996, 1, 1), False), "JP-T44": (D(2005, 3, 3), False), "JP-T45": (D(1998, 5, 5), True)}
    assert r["JP-T4"]["status"] == "in force" and "had not ended on 1995-07-01" in log(r["JP-T4"])
    assert "ended before 1995-07-01, so the 1994 amendment did not reach it" in log(r["JP-T41"])
    assert "could not end before 2000-03-03" in log(r["JP-T44"])
    assert "AT THE LATEST" in log(r["JP-T45"]) and "Law No. 116 of 1994" in log(r["JP-T45"])
    assert r["JP-T44"]["status"] == "in force" and r["JP-T45"]["status"] == "expired by term"
    # the interval of JP-T45: in force for sure until 15 years from filing, unknown after, ended after 20
    assert one([pubs[5]], at=D(1993, 5, 4))["status"] == "in force"
    assert one([pubs[5]], at=D(1996, 1, 1))["status"] == "unknown"
    assert one([pubs[1]], at=D(1991, 4, 11))["status"] == "expired by term"


def test_pct_national_phases_count_from_the_international_filing_date():
    pubs = [pub("EP-T1", "B1", D(2007, 1, 5), D(2012, 5, 6)), pub("US-T20", "B2", D(2008, 7, 1), D(2011, 5, 3)),
            pub("JP-T5", "B2", D(2008, 6, 1), D(2011, 5, 3))]
    ti = [{"pub_key": "EP-T1", "source": "ops", "international_filing_date": D(2006, 12, 20)},
          {"pub_key": "US-T20", "source": "odp", "international_filing_date": D(2006, 12, 20)},
          {"pub_key": "JP-T5", "source": "x", "international_filing_date": D(2006, 12, 20)}]
    r = run(pubs, ti=ti)
    for k in (("EP-T1", "EP"), ("US-T20", "US"), ("JP-T5", "JP")):
        assert r[k]["expiry_date"] == D(2026, 12, 20), k
        assert "international filing date" in r[k]["base_basis"]


def test_ep_bundle_national_rows_from_legal_events_and_markets():
    p = [pub("EP-T2", "B1", D(2005, 1, 10), D(2010, 5, 6))]
    events = [ev("EP-T2", D(2015, 3, 1), "lapse", j="DE", code="PG25"), ev("EP-T2", D(2012, 3, 1), "fee_paid", j="FR"),
              ev("EP-T2", D(2011, 1, 1), "fee_paid", j="EP")]
    r = run(p, ev=events, at=D(2016, 1, 1), markets=["GB"])
    assert set(r) == {("EP-T2", "EP"), ("EP-T2", "DE"), ("EP-T2", "FR"), ("EP-T2", "GB")}
    assert r[("EP-T2", "DE")]["status"] == "lapsed" and r[("EP-T2", "DE")]["expiry_date"] == D(2015, 3, 1)
    assert r[("EP-T2", "FR")]["status"] == "in force" and r[("EP-T2", "FR")]["rule"] == "ep_patent:national"
    assert r[("EP-T2", "EP")]["status"] == "in force"
    assert r[("EP-T2", "GB")]["status"] == "unknown" and r[("EP-T2", "GB")]["status_basis"] == "national_unknown"
    assert r[("EP-T2", "GB")]["expiry_date"] == D(2025, 1, 10)
    # an EP-wide revocation ends every part
    r = run(p, ev=[*events, ev("EP-T2", D(2013, 6, 1), "revocation", j="EP")], at=D(2014, 1, 1))
    assert {k[1]: v["status"] for k, v in r.items()} == {"EP": "lapsed", "DE": "lapsed", "FR": "lapsed"}


def test_events_for_another_jurisdiction_are_logged_not_used():
    p = [pub("US-T21", "B2", D(2005, 1, 10), D(2008, 1, 15))]
    r = one(p, ev=[ev("US-T21", D(2012, 3, 1), "lapse", j="DE")])
    assert r["status"] == "expired by term" and "applies to no jurisdiction" in log(r)


def test_applications_wo_and_withdrawal():
    r = run([pub("EP-T3", "A1", D(2010, 1, 4)), pub("US-T22", "A1", D(2003, 1, 4)), pub("WO-T1", "A1", D(2015, 8, 14)),
             pub("EP-T4", "A1", D(2012, 1, 4))], ev=[ev("EP-T4", D(2014, 2, 1), "withdrawal", j="EP")])
    assert r[("EP-T3", "EP")]["status"] == "pending" and r[("EP-T3", "EP")]["expiry_date"] is None
    assert r[("EP-T3", "EP")]["term_expiry"] == D(2030, 1, 4)
    assert r[("US-T22", "US")]["status"] == "unknown" and r[("US-T22", "US")]["status_basis"] == "application_past_term"
    assert r[("WO-T1", "WO")]["status"] == "unknown" and "never in force" in r[("WO-T1", "WO")]["status_reason"]
    assert r[("EP-T4", "EP")]["status"] == "lapsed"


def test_status_before_filing_and_before_grant():
    p = [pub("US-T23", "B2", D(2005, 1, 10), D(2008, 1, 15))]
    assert one(p, at=D(2004, 1, 1))["status"] == "not yet filed"
    assert one(p, at=D(2006, 1, 1))["status"] == "pending"


# --- bad and missing input -------------------------------------------------------------------


def test_missing_inputs_give_unknown_with_what_is_missing():
    r = run([pub("US-T24", "B2"), pub("EP-T5", "B1", None, D(2010, 1, 1)), pub("US-T25", "A", D(1990, 1, 2), None)])
    for k in r:
        assert r[k]["status"] == "unknown" and r[k]["expiry_date"] is None, k
    assert any("filing date" in m for m in r[("US-T24", "US")]["missing"])
    assert any("filing date" in m for m in r[("EP-T5", "EP")]["missing"])
    assert any(m.startswith("grant date: filed before 1995-06-08") for m in r[("US-T25", "US")]["missing"])
    assert "MISSING: " in log(r[("US-T25", "US")])


def test_grant_date_missing_uses_the_grant_document_as_a_bound():
    p = [pub("JP-T6", "B2", D(2022, 5, 30), None, publication_date=D(2024, 6, 25))]
    assert one(p)["status"] == "in force"
    r = one(p, at=D(2023, 1, 1))
    assert r["status"] == "unknown" and r["status_basis"] == "grant_date_bounded"
    p = [pub("JP-T7", "B2", D(2022, 5, 30), None, publication_date=D(2020, 6, 25), kinds_seen=["A", "B2"])]
    assert one(p)["status"] == "unknown"  # the publication date may be the application's


@pytest.mark.parametrize("row,needle", [
    (pub("US-T26", "B2", D(2010, 1, 1), D(2009, 5, 6)), "grant date 2009-05-06 is before the filing date"),
    (pub("US-T27", "B2", D(2010, 1, 1), D(2027, 5, 6)), "grant_date 2027-05-06 is after today"),
    (pub("US-T28", "A1", D(2010, 1, 1), None, publication_date=D(2009, 1, 1)), "filing date 2010-01-01 is after the publication"),
    (pub("US-T30", "B2", D(1700, 1, 1), D(2012, 1, 1)), "is before 1800-01-01"),
    (pub("US-T31", "Q9", D(2010, 1, 1), D(2012, 1, 1)), "kind Q9 is not a known US kind code"),
    (pub("XX-T1", "B2", D(2010, 1, 1), D(2012, 1, 1)), "office XX has no term rules"),
    (pub("EP-T6", None, D(2010, 1, 1), None), "no kind shown and no grant date"),
    (pub("EP-T7", "A1", D(2010, 1, 1), D(2012, 1, 1)), "is an application publication but a grant date"),
    (pub("KR-T32", "S", D(2010, 1, 1), D(2012, 1, 1)), "no term rule for KR design"),
])
def test_impossible_dates_unknown_kinds_and_offices_are_flagged(row, needle):
    r = one([row])
    assert r["status"] == "unknown" and r["status_basis"] == "bad_input" and r["expiry_date"] is None
    assert any(needle in f for f in r["flags"]), r["flags"]
    assert "FLAG: " in log(r)


def test_future_legal_event_and_conflicting_term_inputs_are_flagged():
    p = [pub("US-T33", "B2", D(2005, 1, 10), D(2008, 1, 15))]
    r = one(p, ev=[ev("US-T33", D(2027, 1, 1), "lapse")])
    assert r["status"] == "unknown" and any("after today" in f for f in r["flags"])
    r = one(p, ti=[{"pub_key": "US-T33", "source": "odp", "pta_days": 10}, {"pub_key": "US-T33", "source": "bulk", "pta_days": 12}])
    assert r["status"] == "unknown" and any("disagree on pta_days: 10 / 12" in f for f in r["flags"])


def test_kind_missing_uses_grant_date_and_number_series():
    r = run([pub("US-5009706", None, D(1990, 7, 18), D(1991, 4, 23)), pub("US-20070131309", None, D(2004, 12, 6)),
             pub("US-4710239", None)])
    assert r[("US-5009706", "US")]["document_type"] == "invention" and "number series" not in r[("US-5009706", "US")]["flags"]
    assert "invention series" in log(r[("US-5009706", "US")])
    assert r[("US-20070131309", "US")]["document_type"] == "application"
    assert r[("US-4710239", "US")]["document_type"] == "invention" and r[("US-4710239", "US")]["status"] == "unknown"


def test_continuity_claims_turn_the_us_term_into_a_range():
    p = [pub("US-T34", "B2", D(2009, 2, 2), D(2010, 7, 6))]
    pc = [{"pub_key": "US-T34", "seq": 1, "claim_as_written": "continuation of 11/000,000", "priority_country": "US",
           "priority_date": D(2005, 12, 14), "claim_type": "continuation"}]
    assert one(p, pc=pc, at=D(2025, 1, 1))["status"] == "in force"
    r = one(p, pc=pc)
    assert r["status"] == "unknown" and r["status_basis"] == "term_range" and r["expiry_is_upper_bound"]
    assert "interval: 2025-12-14 .. 2029-02-02" in log(r)
    assert (r["expiry_earliest"], r["expiry_latest"], r["expiry_date"]) == (D(2025, 12, 14), D(2029, 2, 2), D(2029, 2, 2))
    assert r["headline_rule"] == "latest_admissible_e"
    assert one(p, pc=pc, at=D(2029, 2, 2))["status"] == "expired by term"
    foreign = [{**pc[0], "priority_country": "JP", "claim_type": "foreign"}]
    assert one(p, pc=foreign)["status"] == "in force"
    ti = [{"pub_key": "US-T34", "source": "odp", "earliest_us_filing_date": D(2005, 12, 14)}]
    assert one(p, pc=pc, ti=ti)["expiry_date"] == D(2025, 12, 14)
    # a printed priority date bounds the first US filing E: P <= E <= min(filing, P + 12 months)
    r = one([pub("US-T35", "B2", D(2009, 2, 2), D(2010, 7, 6), priority_date=D(2005, 12, 14))])
    assert r["status"] == "unknown" and "1 <= E" not in log(r) and "priority + 12mo) = 2006-12-14" in log(r)
    assert (r["expiry_earliest"], r["expiry_latest"]) == (D(2025, 12, 14), D(2026, 12, 14))


# --- frame contract, stock and cliffs -------------------------------------------------------


def test_output_contract_and_status_at():
    rows = [pub("US-T36", "B2", D(2005, 1, 10), D(2008, 1, 15)), pub("US-T37", "A1", D(2020, 1, 10))]
    frame = pl.DataFrame(rows, schema_overrides={"kinds_seen": pl.List(pl.String)}).with_columns(
        pl.col("filing_date").cast(pl.String))  # ISO strings are accepted
    ex = compute_expiry(frame, at=TODAY, today=TODAY)
    assert tuple(ex.columns[: len(EXPIRY_COLUMNS)]) == EXPIRY_COLUMNS
    assert set(ex["status"]) <= set(STATUSES)
    again = status_at(ex, D(2007, 1, 1))
    assert again["status"].to_list() == ["pending", "not yet filed"]
    assert again["calculation_log"][0][-1].startswith("status at 2007-01-01: pending")
    with pytest.raises(InputError, match="one row per pub_key"):
        compute_expiry(pl.concat([frame, frame]), at=TODAY, today=TODAY)
    with pytest.raises(InputError, match="needs a pub_key column"):
        compute_expiry(frame.drop("pub_key"), at=TODAY, today=TODAY)


def _stock_case():
    pubs = [pub("US-T40", "B2", D(2000, 1, 3), D(2003, 1, 7), family_id="F1"),
            pub("EP-T40", "B1", D(2000, 1, 3), D(2004, 1, 7), family_id="F1"),
            pub("US-T41", "B2", D(2002, 1, 3), D(2004, 1, 7), family_id="F2"),
            pub("US-T42", "B2", D(2010, 1, 3), D(2012, 1, 7), family_id="F3"),
            pub("US-T43", "B2", D(2011, 1, 3), D(2013, 1, 7), family_id="F4"),
            pub("US-T44", "A1", D(2012, 1, 3), None, family_id="F5")]
    holders = pl.DataFrame({"pub_key": ["US-T40", "EP-T40", "US-T41", "US-T42", "US-T43"],
                            "holder_group": ["H", "H", "H", "H", "G"]})
    # the EP bundle needs evidence that it took effect (EPC Art. 65, 141): a renewal-fee event
    events = pl.DataFrame([ev("EP-T40", D(2004, 6, 1), "fee_paid", j="EP")])
    ex = compute_expiry(pl.DataFrame(pubs, schema_overrides={"kinds_seen": pl.List(pl.String)}), legal_events=events,
                        at=TODAY, today=TODAY)
    return ex, holders


def test_in_force_stock_counts_families_not_documents():
    ex, holders = _stock_case()
    st = in_force_stock(ex, holders, [2003, 2005, 2021, 2029], today=TODAY)
    cell = {(r["holder_group"], r["jurisdiction"], r["year"]): r for r in st.iter_rows(named=True)}
    assert cell[("H", "ALL", 2005)]["families_in_force"] == 2          # F1 (US + EP) and F2
    assert cell[("H", "ALL", 2005)]["publications_in_force"] == 3
    assert cell[("H", "US", 2005)]["families_in_force"] == 2 and cell[("H", "EP", 2005)]["families_in_force"] == 1
    assert cell[("H", "ALL", 2003)]["families_in_force"] == 1
    assert cell[("H", "ALL", 2021)]["families_in_force"] == 2 and cell[("G", "US", 2021)]["families_in_force"] == 1
    assert cell[("H", "ALL", 2029)]["projected"] and not cell[("H", "ALL", 2021)]["projected"]
    assert not any(k[0] == "(no holder shown)" for k in cell)  # the pending application never counts
    no_holders = in_force_stock(ex, None, [2005], today=TODAY)
    assert set(no_holders["holder_group"]) == {"(no holder shown)"}


def test_holder_cliff_is_when_half_the_families_have_expired():
    ex, holders = _stock_case()
    c = holder_cliffs(ex, holders, at=D(2015, 1, 1))
    h = c.filter(pl.col("holder_group") == "H").row(0, named=True)
    # families in force: F1 ends 2020-01-03 (US and EP), F2 2022-01-03, F3 2030-01-03 -> 2nd of 3 = 2022
    assert h["families_in_force"] == 3 and h["cliff_date"] == D(2022, 1, 3) and h["cliff_year"] == 2022
    assert h["last_expiry"] == D(2030, 1, 3)
    by_j = holder_cliffs(ex, holders, at=D(2015, 1, 1), by_jurisdiction=True)
    assert set(by_j.filter(pl.col("holder_group") == "H")["jurisdiction"]) == {"US", "EP"}


# --- the rules file --------------------------------------------------------------------------


def test_rules_file_has_a_source_for_every_rule_and_fails_loudly(tmp_path: Path):
    assert all(r.source.strip() for r in RULES.rules)
    assert RULES.rule("us_utility").change_date == D(1995, 6, 8)
    text = builtin_rules_path().read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('leap_day = "feb28"', 'leap_day = "feb30"'), encoding="utf-8")
    with pytest.raises(ConfigError, match="leap_day"):
        load_rules(bad)
    bad.write_text(text.replace('change_date = "1995-06-08"', ""), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml:\d+: rule\[1\]\.change_date: method us_utility needs"):
        load_rules(bad)
    bad.write_text(text.replace('id = "cn_design"', 'id = "cn_design"\nfoo = 1').replace(
        'source = "CN Patent Law Art. 42 (2020 amendment', 'sauce = "x'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml:\d+: rule\[6\]\.source: required key is missing") as e:
        load_rules(bad)
    assert "rule[6].sauce: unknown key; did you mean 'source'?" in str(e.value)  # every problem at once
    assert "rule[6].foo: unknown key" in str(e.value)
    with pytest.raises(ConfigError, match="cannot read"):
        load_rules(tmp_path / "absent.toml")


def test_rules_file_reports_every_problem_with_its_line(tmp_path: Path):
    text = builtin_rules_path().read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('reference_day = "12-31"', 'reference_day = "02-29"')
                   .replace("restored_months = 14", "restored_months = 10")
                   .replace('in_force_on_expiry_date = false', 'in_force_on_expiry_date = "no"'), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_rules(bad)
    msg = str(e.value)
    assert re.search(r"bad\.toml:\d+: stock\.reference_day: .*not a day every year has", msg)
    assert re.search(r"bad\.toml:\d+: us_continuity\.restored_months: .*at least paris_months \(12\)", msg)
    assert re.search(r"bad\.toml:\d+: conventions\.in_force_on_expiry_date: must be", msg)
    twice = text + '\n[[rule]]\nid = "us_again"\noffice = "US"\ndocument = "design"\nmethod = "years_from_grant"\n' \
        'years = 14\nsource = "test"\n'
    bad.write_text(twice, encoding="utf-8")
    with pytest.raises(ConfigError, match="a second rule for US design"):
        load_rules(bad)


def test_stock_follows_holder_groups_that_change_over_time():
    ex, _ = _stock_case()
    lineage = pl.DataFrame({"pub_key": ["US-T41", "US-T41"], "holder_group": ["Old", "New"],
                            "valid_from": [None, D(2007, 4, 1)], "valid_to": [D(2007, 4, 1), None]},
                           schema_overrides={"valid_from": pl.Date, "valid_to": pl.Date})
    st = in_force_stock(ex, lineage, [2005, 2010], today=TODAY, all_jurisdictions=False)
    got = {(r["holder_group"], r["year"]): r["families_in_force"] for r in st.iter_rows(named=True)}
    assert got[("Old", 2005)] == 1 and ("Old", 2010) not in got and got[("New", 2010)] == 1
    assert got[("(no holder shown)", 2005)] == 1  # F1, which the mapping leaves out
    c = holder_cliffs(ex, lineage, at=D(2010, 1, 1))
    assert set(c["holder_group"]) == {"New", "(no holder shown)"}


def test_priority_after_filing_is_a_warning_not_a_fatal_input_35_usc_154a3():
    """35 USC 154(a)(3): no US term counts from a priority date (nor an EP, JP, CN, KR one), so a
    priority printed after the filing date (a typo) is a WARNING and the term stands."""
    r = one([pub("US-T29", "B2", D(2010, 1, 1), D(2012, 1, 1), priority_date=D(2011, 1, 1))])
    assert r["status"] == "in force" and r["expiry_date"] == D(2030, 1, 1) and not r["flags"]
    assert any("priority date 2011-01-01 is after the filing date 2010-01-01: ignored" in w for w in r["warnings"])
    assert "WARNING: priority date 2011-01-01" in log(r)
    for cc, kind in (("EP", "B1"), ("JP", "B2"), ("CN", "B"), ("KR", "B1")):
        r = one([pub(f"{cc}-T1", kind, D(2010, 1, 1), D(2012, 1, 1), priority_date=D(2011, 1, 1))])
        assert r["expiry_date"] == D(2030, 1, 1) and r["warnings"], cc


def test_national_stage_of_a_pct_filed_before_1995_06_08_35_usc_154c_363():
    """35 USC 363: a national stage has the international filing date as its US filing date, so the
    154(c)(1) transition keys on it, not on the 371 date: PCT filed 1995-03-01, 371 entry
    1995-09-15, granted 1999-01-05 -> the greater of grant + 17 (2016-01-05) and PCT + 20 (2015-03-01)."""
    p = [pub("US-T60", "A", D(1995, 9, 15), D(1999, 1, 5))]
    ti = [{"pub_key": "US-T60", "source": "odp", "international_filing_date": D(1995, 3, 1), "pta_days": 100}]
    r = one(p, ti=ti)
    assert r["rule"] == "us_utility:transition_greater_of_17_and_20" and r["expiry_date"] == D(2016, 1, 5)
    assert r["base_date"] == D(1995, 3, 1)
    # no PTA for an application whose (international) filing date is before the change (35 USC 154(b) applies
    # to applications filed on/after 1995-06-08; the AIPA form to those filed on/after 2000-05-29)
    assert "pta_days 100 not applied" in log(r)
    # the same dates as a PCT filed after the change: 20 years from the PCT date only
    ti2 = [{"pub_key": "US-T60", "source": "odp", "international_filing_date": D(1995, 7, 1)}]
    assert one(p, ti=ti2)["expiry_date"] == D(2015, 7, 1)


def test_maintenance_fees_only_for_applications_filed_on_or_after_1980_12_12():
    """Pub. L. 96-517 s. 8(b), 37 CFR 1.362(b): no maintenance fees on patents from applications
    filed before 1980-12-12, so their in-force status rests on no fee assumption."""
    old = one([pub("US-T61", "A", D(1980, 6, 2), D(1983, 1, 4))], at=D(1995, 1, 1))
    new = one([pub("US-T62", "A", D(1981, 6, 2), D(1984, 1, 3))], at=D(1995, 1, 1))
    assert old["status"] == new["status"] == "in force"
    assert not old["rests_on_fee_assumption"] and new["rests_on_fee_assumption"]


@pytest.mark.parametrize("row,want,why", [
    (pub("US-PP9001", "P2", D(1999, 3, 1), D(2001, 2, 6)), D(2019, 3, 1), "35 USC 161, 154(a)(2): plant, 20 years from filing"),
    (pub("US-PP9002", "P2", D(1993, 3, 1), D(1996, 2, 6)), D(2013, 3, 1), "35 USC 154(c)(1): plant, greater of 17/20"),
    (pub("CN-T1", "C", D(1990, 5, 4), D(1994, 1, 5)), D(2005, 5, 4), "CN 1984 Patent Law Art. 45: 15 years (filed before 1993)"),
    (pub("CN-T2", "B", D(1995, 5, 4), D(1998, 1, 5)), D(2015, 5, 4), "CN Patent Law Art. 42: 20 years"),
    (pub("JP-T1", "U", D(2004, 5, 4), D(2004, 9, 5)), D(2010, 5, 4), "JP Utility Model Act Art. 15: 6 years before 2005-04-01"),
    (pub("JP-T2", "U", D(2006, 5, 4), D(2006, 9, 5)), D(2016, 5, 4), "JP Utility Model Act Art. 15: 10 years"),
    (pub("KR-T1", "U", D(2006, 5, 4), D(2007, 9, 5)), D(2016, 5, 4), "KR Utility Model Act Art. 22(1): 10 years"),
    (pub("DE-T1", "B3", D(2006, 5, 4), D(2009, 9, 5)), D(2026, 5, 4), "DE PatG s. 16(1): 20 years"),
    (pub("DE-T2", "U1", D(2006, 5, 4), D(2006, 9, 5)), D(2016, 5, 4), "DE GebrMG s. 23(1): 10 years"),
    (pub("TW-T1", "B", D(2006, 5, 4), D(2009, 9, 5)), D(2026, 5, 4), "TW Patent Act Art. 52(3): 20 years"),
    (pub("TW-T2", "U", D(2006, 5, 4), D(2006, 9, 5)), D(2016, 5, 4), "TW Patent Act Art. 114: 10 years"),
    (pub("TW-T3", "S", D(2018, 5, 4), D(2019, 1, 5)), D(2030, 5, 4), "TW Patent Act Art. 135: design 12 years before 2019-11-01"),
    (pub("TW-T4", "S", D(2020, 5, 4), D(2021, 1, 5)), D(2035, 5, 4), "TW Patent Act Art. 135: design 15 years"),
])
def test_statute_vectors_of_the_added_office_rules(row, want, why):
    r = one([row])
    assert r["expiry_date"] == want and r["expiry_latest"] == want, why


def test_plant_patents_pay_no_maintenance_fees_35_usc_41b3():
    r = one([pub("US-PP9001", "P2", D(1999, 3, 1), D(2001, 2, 6))], at=D(2010, 1, 1))
    assert r["status"] == "in force" and not r["rests_on_fee_assumption"]


def test_cn_term_compensation_keys_on_the_grant_date_art_42_2():
    """CN Patent Law Art. 42(2) (2020 amendment): compensation for patents granted on/after 2021-06-01,
    whatever the filing date."""
    ti = [{"pub_key": "CN-T3", "source": "cnipa", "pta_days": 100}]
    r = one([pub("CN-T3", "B", D(2017, 5, 4), D(2021, 7, 1))], ti=ti)
    assert r["expiry_date"] == D(2037, 5, 4) + dt.timedelta(days=100)
    r = one([pub("CN-T3", "B", D(2017, 5, 4), D(2021, 5, 1))], ti=ti)
    assert r["expiry_date"] == D(2037, 5, 4)


def test_ep_bundle_without_validation_evidence_is_unknown_epc_art_65_141():
    """EPC Art. 64, 65, 141: after grant the EP patent takes effect and is kept per state; with no
    validation, renewal or national event the bundle's status is unknown (its term is still given)."""
    p = [pub("EP-T50", "B1", D(2010, 1, 4), D(2014, 5, 7))]
    r = one(p)
    assert r["status"] == "unknown" and r["status_basis"] == "ep_bundle_unknown" and r["expiry_date"] == D(2030, 1, 4)
    res = run(p, ev=[ev("EP-T50", D(2016, 2, 1), "fee_paid", j="DE")])
    assert res[("EP-T50", "EP")]["status"] == "in force" and res[("EP-T50", "DE")]["status"] == "in force"


def test_texts_built_branch_by_branch_equal_the_when_then_chain():
    """_with_texts (each branch's text built on its own rows) gives what the when/then chain and
    _lines give: null conditions fall through, literal branches, an empty line list, one row."""
    import random

    from patentscope.metrics.expiry.common import _NULL_S, Cases, _cases, _chain, _line, _lines, _with_texts

    rng = random.Random(7)
    n = 500
    df = pl.DataFrame({
        "a": [rng.choice([None, 1, 2, 3]) for _ in range(n)],
        "d": [rng.choice([None, D(2001, 2, 3), D(1999, 12, 31)]) for _ in range(n)],
        "t": [rng.choice([None, "x", "yz"]) for _ in range(n)],
    })
    branches = [(pl.col("a") == 1, pl.format("one {} {}", pl.col("d"), pl.col("t"))),
                (pl.col("a") == 2, pl.lit("two")),
                (pl.col("d") > D(2000, 1, 1), pl.format("late {}", pl.col("d"))),
                (pl.col("a") == 3, _NULL_S)]
    other = pl.format("else {}", pl.col("t"))
    lines = [(pl.col("t") == "x", "x line {}", (pl.col("a"),)), (pl.col("a").is_null(), "no a", ()),
             (pl.col("d").is_not_null(), "d {} {}", (pl.col("d"), pl.col("t")))]
    for frame in (df, df.head(1), df.filter(pl.col("a") == 2)):
        want = frame.select(_chain(branches, other).alias("c"),
                            _lines(*[_line(c, t, *a) for c, t, a in lines]).alias("l"))
        got = _with_texts(frame, c=_cases(branches, other), l=[Cases.line(c, t, *a) for c, t, a in lines])
        assert got.select("c", "l").equals(want)
    assert want.height > 50 and want["l"].list.len().min() == 0
    # list parts keep every element (a null one too) and their order, as concat_list does
    from patentscope.metrics.expiry.common import _line_lists

    lists = pl.Series([rng.choice([[], ["p", None], ["q"], None]) for _ in range(n)], dtype=pl.List(pl.String))
    texts = df.select(pl.when(pl.col("a") == 1).then(pl.lit("t"))).to_series()
    empty = pl.lit([], dtype=pl.List(pl.String))
    want = pl.DataFrame({"x": lists, "t": texts}).select(
        pl.concat_list(pl.col("x").fill_null(empty), _lines(pl.col("t")), pl.col("x").fill_null(empty)).alias("l"))["l"]
    assert _line_lists([lists, texts, lists], n).equals(want) and want.list.len().max() == 5


def test_a_reinstated_lapse_over_a_reference_day_breaks_the_in_force_span():
    """A US patent lapsed on 2012-01-15 (4-year fee) and reinstated on 2014-06-01: not in force on
    the 2012 and 2013 reference days, in force again from 2014 (the spans, the year rows and the
    stock agree), and a lapse between two reference days leaves the span whole."""
    from patentscope.metrics.expiry import live_families, live_spans

    grant = D(2008, 1, 15)
    p = [pub("US-T61", "B2", D(2005, 1, 10), grant), pub("US-T62", "B2", D(2005, 1, 10), grant)]
    events = [ev("US-T61", D(2012, 3, 20), "lapse"), ev("US-T61", D(2014, 6, 1), "reinstatement"),
              ev("US-T62", D(2012, 3, 20), "lapse"), ev("US-T62", D(2012, 6, 1), "reinstatement")]
    frame = pl.DataFrame(p, schema_overrides={"kinds_seen": pl.List(pl.String)})
    ex = compute_expiry(frame, legal_events=pl.DataFrame(events), at=TODAY, today=TODAY)
    assert ex.filter(pl.col("pub_key") == "US-T61")["lapse_periods"].to_list() == [[{"start": D(2012, 1, 15),
                                                                                       "end": D(2014, 6, 1)}]]
    holders = pl.DataFrame({"pub_key": ["US-T61", "US-T62"], "holder_group": ["H", "H"]})
    years = list(range(2008, 2027))
    spans = live_spans(ex, holders, years).sort("pub_key", "year_from")
    assert spans.select("pub_key", "year_from", "year_to").rows() == [
        ("US-T61", 2008, 2011), ("US-T61", 2014, 2024), ("US-T62", 2008, 2024)]
    per_year = live_families(ex, holders, years)
    assert sorted(per_year.filter(pl.col("pub_key") == "US-T61")["year"]) == [*range(2008, 2012), *range(2014, 2025)]
    stock = {r["year"]: r["publications_in_force"] for r in
             in_force_stock(ex, holders, years, today=TODAY).filter(pl.col("jurisdiction") == "ALL").iter_rows(named=True)}
    assert stock[2011] == 2 and stock[2012] == 1 and stock[2013] == 1 and stock[2014] == 2 and 2025 not in stock


def test_term_inputs_of_one_row_read_as_the_merge_of_several_reads_them():
    """A publication with one term_inputs row takes its values as they are (the fast path); the
    same rows given twice go through the merge of several rows and give the same values; a note
    and a conflict read as the merge writes them."""
    import random

    from patentscope.metrics.expiry.common import TERM_INPUT_SCHEMA
    from patentscope.metrics.expiry.prepare import _merge_term_inputs

    rng = random.Random(3)
    rows = [{"pub_key": f"US-{i}", "source": rng.choice(["odp", "patentsview", None]),
             "application_type": rng.choice([None, "utility"]), "earliest_us_filing_date": rng.choice([None, D(2001, 1, 2)]),
             "international_filing_date": None, "pta_days": rng.choice([None, 0, 12]), "pte_days": None,
             "terminal_disclaimer": rng.choice([None, True, False]), "disclaimer_expiry_date": None, "note": None}
            for i in range(60)]
    ti = pl.DataFrame(rows, schema=TERM_INPUT_SCHEMA)
    once = _merge_term_inputs(ti).sort("pub_key")
    twice = _merge_term_inputs(pl.concat([ti, ti])).sort("pub_key")
    assert once.equals(twice) and once.height == 60
    noted = _merge_term_inputs(pl.DataFrame([{**rows[0], "source": "odp", "note": "read from the page"},
                                             {**rows[1], "pub_key": "US-X", "source": "odp", "pta_days": 5},
                                             {**rows[1], "pub_key": "US-X", "source": "patentsview", "pta_days": 7}],
                                            schema=TERM_INPUT_SCHEMA)).sort("pub_key")
    assert noted.row(0, named=True)["ti_notes"] == "odp: read from the page" and noted.row(0, named=True)["ti_conflicts"] == []
    x = noted.row(1, named=True)
    assert x["pta_days"] is None and x["ti_sources"] == "odp, patentsview" and x["ti_notes"] is None
    assert x["ti_conflicts"] == ["term_inputs sources disagree on pta_days: 5 / 7"]
