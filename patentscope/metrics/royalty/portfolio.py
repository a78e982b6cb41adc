"""Royalty model: portfolio -> blocking groups per (market, year) (see the package docstring and docs/royalty.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

PORTFOLIO_COLUMNS = {"family_id": pl.Utf8, "holder_group": pl.Utf8, "jurisdiction": pl.Utf8, "segment": pl.Utf8,
                     "in_force_from": pl.Date, "in_force_to": pl.Date, "weight": pl.Float64}


def expand_ep(portfolio: pl.DataFrame, markets: Iterable[str]) -> pl.DataFrame:
    """Rows of jurisdiction 'EP' (the European bundle as a whole) copied to each market in
    ``markets`` that has no national row of the same family and holder — the scenario's
    assumption that a granted EP is validated there. Where the portfolio carries ``designated``
    (the states the EP grant designates, null when not shown), a market the grant does not
    designate gets no copy: the patent has no effect there (EPC Art. 2(2), 64(1), 79(1))."""
    ms = list(markets)
    if not ms or portfolio.height == 0:
        return portfolio
    ep = portfolio.filter(pl.col("jurisdiction") == "EP")
    copies = []
    for m in ms:
        national = portfolio.filter(pl.col("jurisdiction") == m).select("family_id", "holder_group").unique()
        here = ep if "designated" not in ep.columns else ep.filter(
            pl.col("designated").is_null() | pl.col("designated").list.contains(pl.lit(m)).fill_null(False))
        copies.append(here.join(national, on=["family_id", "holder_group"], how="anti").with_columns(pl.lit(m).alias("jurisdiction")))
    return pl.concat([portfolio, *copies])


def coverage(portfolio: pl.DataFrame, years: tuple[int, int]) -> pl.DataFrame:
    """Per (holder_group, jurisdiction, segment, year): ``coverage`` = fraction of the year during
    which at least one family is in force, and ``weight`` = sum of weights of families in force
    at any time in the year (weighted family count).

    Input: ``portfolio`` with PORTFOLIO_COLUMNS (one row per family x jurisdiction x segment;
    in_force_from null = in force since before the horizon; in_force_to = expiry date, the
    family no longer in force on that day; null = beyond the horizon).
    """
    rows = []
    y0, y1 = years
    p = portfolio.select(list(PORTFOLIO_COLUMNS))
    for grp, jur, seg, start, end, w in p.select("holder_group", "jurisdiction", "segment", "in_force_from",
                                                 "in_force_to", "weight").iter_rows():
        s = start or dt.date(y0, 1, 1)
        e = end or dt.date(y1 + 1, 1, 1)
        for y in range(max(y0, s.year), min(y1, (e - dt.timedelta(days=1)).year) + 1):
            ys, ye = dt.date(y, 1, 1), dt.date(y + 1, 1, 1)
            a, b = max(s, ys), min(e, ye)
            if b <= a:
                continue
            rows.append((grp, jur, seg, y, a, b, float(w if w is not None else 1.0)))
    if not rows:
        return pl.DataFrame(schema={"holder_group": pl.Utf8, "jurisdiction": pl.Utf8, "segment": pl.Utf8, "year": pl.Int64,
                                    "coverage": pl.Float64, "weight": pl.Float64})
    df = pl.DataFrame(rows, schema=["holder_group", "jurisdiction", "segment", "year", "a", "b", "w"], orient="row")
    out = []
    for (grp, jur, seg, y), part in df.group_by(["holder_group", "jurisdiction", "segment", "year"], maintain_order=True):
        days_in_year = (dt.date(int(str(y)) + 1, 1, 1) - dt.date(int(str(y)), 1, 1)).days
        intervals = sorted(zip(part["a"].to_list(), part["b"].to_list(), strict=True))
        covered, cur_a, cur_b = 0, None, None
        for a, b in intervals:  # union of in-force intervals within the year
            if cur_b is None or a > cur_b:
                if cur_b is not None:
                    covered += (cur_b - cur_a).days
                cur_a, cur_b = a, b
            else:
                cur_b = max(cur_b, b)
        if cur_b is not None:
            covered += (cur_b - cur_a).days
        out.append((grp, jur, seg, int(str(y)), covered / days_in_year, float(part["w"].sum())))
    return pl.DataFrame(out, schema=["holder_group", "jurisdiction", "segment", "year", "coverage", "weight"], orient="row")


