"""Property test of the bounded US term (docs/expiry.md "US continuity, bounded").

Random date sets (SYNTHETIC test inputs, numbers 'T...'): for each, every admissible first US
filing E is enumerated day by day -- E >= P, E <= min(filing date, P + 12 months; 14 months for
filings on/after 2013-12-18) (Paris Convention Art. 4C(1), 35 USC 119(a), 119(e)(1) as amended by
the PLTIA) -- and the legal term is computed for each by 35 USC 154(a)(2) and 154(c)(1) (the
greater of grant + 17 years and E + 20 years for filings before 1995-06-08; no revival for grants
on/before 1978-06-08). The engine's interval must be exactly [min, max] of those outcomes and
its headline inside it: an impossible headline cannot be produced.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patentscope.metrics.expiry import compute_expiry

D = dt.date
TODAY = D(2026, 11, 28)


def _add_years(d: dt.date, n: int) -> dt.date:
    try:
        return d.replace(year=d.year + n)
    except ValueError:
        return D(d.year + n, 2, 28)


def _add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    day = d.day
    while True:
        try:
            return D(y, m + 1, day)
        except ValueError:
            day -= 1


def legal_outcomes(f: dt.date, g: dt.date, p: dt.date | None) -> set[dt.date]:
    """Every term end the law allows, one per admissible E."""
    if p is None or p > f:  # no (usable) priority: E is the filing date
        es = [f]
    else:
        hi = min(f, _add_months(p, 14 if f >= D(2013, 12, 18) else 12))
        es = [p + dt.timedelta(days=i) for i in range((hi - p).days + 1)]
    out = set()
    for e in es:
        if f >= D(1995, 6, 8):
            out.add(_add_years(e, 20))
        elif g <= D(1978, 6, 8):
            out.add(_add_years(g, 17))
        else:
            out.add(max(_add_years(g, 17), _add_years(e, 20)))
    return out


@st.composite
def date_set(draw: st.DrawFn) -> tuple[dt.date, dt.date, dt.date | None]:
    f = draw(st.dates(D(1965, 1, 1), D(2024, 12, 31)))
    g = min(f + dt.timedelta(days=draw(st.integers(30, 6 * 365))), TODAY)
    kind = draw(st.sampled_from(["none", "before", "long_before", "same", "after"]))
    p = {"none": None, "same": f,
         "before": f - dt.timedelta(days=draw(st.integers(1, 430))),
         "long_before": f - dt.timedelta(days=draw(st.integers(431, 9 * 365))),
         "after": f + dt.timedelta(days=draw(st.integers(1, 20)))}[kind]
    return f, g, p


def check(sets: list[tuple[dt.date, dt.date, dt.date | None]]) -> None:
    rows = [{"pub_key": f"US-T{i}", "pub_number": f"US-T{i}-B2", "country": "US", "doc_number": f"T{i}", "kind": "B2",
             "kinds_seen": ["B2"], "filing_date": f, "grant_date": g, "priority_date": p}
            for i, (f, g, p) in enumerate(sets)]
    frame = pl.DataFrame(rows, schema_overrides={"kinds_seen": pl.List(pl.String), "priority_date": pl.Date})
    ex = compute_expiry(frame, at=TODAY, today=TODAY)
    got = {r["pub_key"]: r for r in ex.iter_rows(named=True)}
    for i, (f, g, p) in enumerate(sets):
        r = got[f"US-T{i}"]
        outcomes = legal_outcomes(f, g, p)
        assert (r["expiry_earliest"], r["expiry_latest"]) == (min(outcomes), max(outcomes)), (f, g, p, r["calculation_log"])
        assert r["expiry_earliest"] <= r["expiry_date"] <= r["expiry_latest"]
        assert r["expiry_is_upper_bound"] == (len(outcomes) > 1)
        assert r["headline_rule"] == ("exact" if len(outcomes) == 1 else "latest_admissible_e")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(date_set(), min_size=1, max_size=60))
def test_interval_is_exactly_the_set_of_legal_outcomes(sets):
    check(sets)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(date_set(), min_size=1, max_size=60))
def test_interval_is_exactly_the_set_of_legal_outcomes_many(sets):
    check(sets)


def test_hand_worked_cases_of_the_property():
    """The two sample records of issue 14 and a restoration (14-month) case."""
    check([(D(1987, 2, 10), D(1988, 9, 13), D(1982, 8, 21)), (D(1991, 1, 7), D(1991, 12, 31), D(1987, 4, 30)),
           (D(2014, 3, 1), D(2016, 5, 3), D(2013, 1, 15)), (D(1994, 6, 1), D(1996, 1, 2), D(1993, 6, 1))])
    assert legal_outcomes(D(1987, 2, 10), D(1988, 9, 13), D(1982, 8, 21)) == {D(2005, 9, 13)}
    assert max(legal_outcomes(D(2014, 3, 1), D(2016, 5, 3), D(2013, 1, 15))) == D(2034, 3, 1)  # E <= P + 14 months
