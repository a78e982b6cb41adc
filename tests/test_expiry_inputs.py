"""Reading printed PTA and PCT data (field_values) into term inputs: strict, never guessed."""

import datetime as dt

import polars as pl
import pytest

from patentscope.metrics.expiry.inputs import derive_term_inputs, parse_pct_filing, parse_pta


@pytest.mark.parametrize("text,days", [("278 days", 278), ("971 days", 971), (" 1 day ", 1), ("about 278 days", None),
                                       ("278", None), ("", None), (None, None), ("Extension 278 days", 278),
                                       ("+278 days", 278), ("PTA 278 days", 278), ("Patent term adjustment: 12 days", 12),
                                       ("term extended or adjusted under 35 U.S.C. 154(b) by 278 days", 278)])
def test_parse_pta(text, days):
    assert parse_pta(text) == days


@pytest.mark.parametrize("text,date", [
    ("PCT Filed: June 25, 1996; PCT NO: PCT/JP96/01745; 371 Date: March 19, 1997", dt.date(1996, 6, 25)),
    ("PCT Filed Nov. 5, 2020, PCT No. PCT/JP2020/041346; § 371(c)(1), (2) Date Apr. 27, 2022", dt.date(2020, 11, 5)),
    ("PCT/JP2007/74406, filed on Dec. 19, 2007 (national phase entry under 35 U.S.C. 371)", dt.date(2007, 12, 19)),
    ("PCT/JP2005/022857; WO 2006/064794 (22.06.2006 Gazette 2006/25)", None),  # a publication date, not the filing
    ("PCT Filed: June 31, 1996", None),
])
def test_parse_pct_filing(text, date):
    got = parse_pct_filing(text)
    assert (got[1] if got else None) == date


def test_derive_only_for_publications_without_term_inputs():
    fv = pl.DataFrame({"pub_key": ["US-A", "US-A", "US-B", "US-C"],
                       "field": ["pta_as_shown", "pct_data", "pta_as_shown", "title"],
                       "value": ["12 days", "PCT Filed: June 25, 1996", "5 days", "x"],
                       "chosen": [True, True, True, True]})
    ti = pl.DataFrame({"pub_key": ["US-B"], "source": ["odp"]})
    out = derive_term_inputs(fv, ti)
    assert out.to_dicts() == [{"pub_key": "US-A", "source": "field_values", "pta_days": 12,
                               "international_filing_date": dt.date(1996, 6, 25), "terminal_disclaimer": None,
                               "note": "international_filing_date from pct_data 'PCT Filed: June 25, 1996'; "
                                       "pta_days from pta_as_shown '12 days'"}]


@pytest.mark.parametrize("text,want", [
    ("Adjusted expiration 2031-07-30", {"adjusted_expiration": dt.date(2031, 7, 30)}),
    ("This patent is subject to a terminal disclaimer.", {"terminal_disclaimer": True}),
    ("PTA: see the file", {"unknown": "PTA: see the file"}),
])
def test_parse_term_text_forms(text, want):
    """35 USC 154(b) (PTA days), 253 (terminal disclaimer): every printed form is read or reported."""
    from patentscope.metrics.expiry.inputs import parse_term_text
    assert parse_term_text(text) == want


def test_unknown_and_non_day_forms_are_reported_not_dropped():
    fv = pl.DataFrame({"pub_key": ["US-A", "US-B", "US-C"], "field": ["pta_as_shown"] * 3,
                       "value": ["PTA: see the file", "Adjusted expiration 2031-07-30", "subject to a terminal disclaimer"],
                       "chosen": [True] * 3})
    out = {r["pub_key"]: r for r in derive_term_inputs(fv, pl.DataFrame({"pub_key": []}, schema={"pub_key": pl.String}))
           .iter_rows(named=True)}
    assert "form not understood, not used" in out["US-A"]["note"] and out["US-A"]["pta_days"] is None
    assert "adjusted expiration date 2031-07-30" in out["US-B"]["note"]
    assert out["US-C"]["terminal_disclaimer"] is True
