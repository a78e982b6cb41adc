"""Concentration: hand-worked cases and an independent SQL computation."""

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from patentscope.metrics.concentration import Thresholds, concentration, gini, holder_shares, merger_delta

# Hand-worked: families f1,f2 held by A; f3 by B; f4 co-owned by A and C (1/2 each).
# Family counts A 2.5, B 1, C 0.5 of 4 -> shares .625 .25 .125
# HHI = 62.5^2 + 25^2 + 12.5^2 = 3906.25 + 625 + 156.25 = 4687.5 ; CR1 .625 ; CR4 = CR8 = 1
# Gini of (0.5, 1, 2.5): ((2-4)*0.5 + 0*1 + (6-4)*2.5) / (3*4) = 4/12 = 1/3
# A acquires B: (87.5^2 + 12.5^2) = 7812.5 ; delta = 2*62.5*25 = 3125
HOLD = pl.DataFrame({"family_id": ["f1", "f2", "f3", "f4", "f4"], "holder_group": ["A", "A", "B", "C", "A"],
                     "office": ["US", "US", "US", "JP", "JP"]})


def test_hand_worked_case():
    sh = holder_shares(HOLD)
    assert_frame_equal(sh, pl.DataFrame({"holder_group": ["A", "B", "C"], "families": [2.5, 1.0, 0.5], "share": [0.625, 0.25, 0.125]}))
    c = concentration(HOLD).to_dicts()[0]
    assert c["n_families"] == 4 and c["n_holders"] == 3
    assert c["hhi"] == pytest.approx(4687.5)
    assert (c["cr1"], c["cr4"], c["cr8"]) == pytest.approx((0.625, 1.0, 1.0))
    assert c["gini"] == pytest.approx(1 / 3)
    assert c["n_equivalent"] == pytest.approx(10_000 / 4687.5)
    assert c["label"] == "highly concentrated"
    m = merger_delta(sh, "A", "B").to_dicts()[0]
    assert (m["hhi_before"], m["hhi_after"], m["delta"], m["presumed_harmful"]) == pytest.approx((4687.5, 7812.5, 3125.0, True))


def test_by_scope_and_threshold_label():
    c = concentration(HOLD, by=["office"]).to_dicts()
    jp, us = c
    assert jp["office"] == "JP" and jp["hhi"] == pytest.approx(5000.0)  # A and C half each
    # US: A 2 of 3, B 1 of 3 -> 4444.4 + 1111.1
    assert us["hhi"] == pytest.approx(10_000 * (4 / 9 + 1 / 9))
    # ten equal holders: HHI 1000, below 1,800
    even = pl.DataFrame({"family_id": [f"f{i}" for i in range(10)], "holder_group": [f"H{i}" for i in range(10)]})
    e = concentration(even).to_dicts()[0]
    assert e["hhi"] == pytest.approx(1000.0) and e["label"] == "not highly concentrated" and e["gini"] == pytest.approx(0.0)
    assert Thresholds.load().highly_concentrated == 1800


def test_weighted_shares():
    w = HOLD.with_columns(pl.when(pl.col("family_id") == "f3").then(3.0).otherwise(1.0).alias("w"))
    sh = holder_shares(w, weight="w")
    # units: A 1+1+0.5 = 2.5, B 3, C 0.5 of 6
    assert dict(zip(sh["holder_group"], sh["share"], strict=True)) == pytest.approx({"A": 2.5 / 6, "B": 0.5, "C": 0.5 / 6})


def test_against_independent_sql():
    # a larger frame (SYNTHETIC holder assignments, no patent data): compare with DuckDB SQL
    import random
    rnd = random.Random(7)
    rows = []
    for f in range(400):
        for g in rnd.sample(range(30), k=rnd.choice([1, 1, 1, 2])):
            rows.append({"family_id": f"F{f}", "holder_group": f"G{int(g ** 1.5) % 17}", "seg": "a" if f % 3 else "b"})
    df = pl.DataFrame(rows)
    ours = concentration(df, by=["seg"]).select("seg", "hhi", "cr4", "n_holders").sort("seg")
    con = duckdb.connect()
    con.register("h", df.unique())
    sql = con.sql("""
        WITH d AS (SELECT DISTINCT seg, family_id, holder_group FROM h),
        f AS (SELECT seg, family_id, holder_group, 1.0 / count(*) OVER (PARTITION BY seg, family_id) AS frac FROM d),
        s AS (SELECT seg, holder_group, sum(frac) AS fam FROM f GROUP BY ALL),
        t AS (SELECT seg, holder_group, fam / sum(fam) OVER (PARTITION BY seg) AS share,
                     row_number() OVER (PARTITION BY seg ORDER BY fam DESC, holder_group) AS rk FROM s)
        SELECT seg, 10000 * sum(share * share) AS hhi, sum(share) FILTER (WHERE rk <= 4) AS cr4,
               count(*)::UINTEGER AS n_holders
        FROM t GROUP BY seg ORDER BY seg""").pl()
    assert_frame_equal(ours, sql, check_dtypes=False, rel_tol=1e-12)


def test_gini_edge_cases():
    assert gini([]) is None
    assert gini([5]) == pytest.approx(0.0)
    assert gini([0, 0, 10]) == pytest.approx(0.0)  # zero holders are not holders
    assert gini([1, 1, 1, 97]) == pytest.approx((-3 * 1 - 1 * 1 + 1 * 1 + 3 * 97) / (4 * 100))
