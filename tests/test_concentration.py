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
    assert c["label"] == "too few to judge"  # 4 families < the minimum of 20: never banded
    loose = Thresholds(1800, 100, "test", min_families=1)
    assert concentration(HOLD, thresholds=loose).to_dicts()[0]["label"] == "above 1,800 (merger-guideline analogy)"
    m = merger_delta(sh, "A", "B").to_dicts()[0]
    assert (m["hhi_before"], m["hhi_after"], m["delta"], m["merged_share"]) == pytest.approx((4687.5, 7812.5, 3125.0, 0.875))
    assert m["crosses_guideline_analogy"] is True and "analogy" in m["basis"] and "presumed" not in str(m)


def test_by_scope_and_threshold_label():
    c = concentration(HOLD, by=["office"]).to_dicts()
    jp, us = c
    assert jp["office"] == "JP" and jp["hhi"] == pytest.approx(5000.0)  # A and C half each
    # US: A 2 of 3, B 1 of 3 -> 4444.4 + 1111.1
    assert us["hhi"] == pytest.approx(10_000 * (4 / 9 + 1 / 9))
    # ten equal holders: HHI 1000, below 1,800
    even = pl.DataFrame({"family_id": [f"f{i}" for i in range(10)], "holder_group": [f"H{i}" for i in range(10)]})
    e = concentration(even, thresholds=Thresholds(1800, 100, "test", min_families=10)).to_dicts()[0]
    assert e["hhi"] == pytest.approx(1000.0) and e["label"] == "1,800 or below (merger-guideline analogy)"
    assert e["gini"] == pytest.approx(0.0)
    th = Thresholds.load()
    assert th.highly_concentrated == 1800 and th.min_families == 20 and th.share_threshold == 0.30


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


def _cells(n_a=2, n_b=1):
    """Hand-built in-force rows for 2020 in US: A holds n_a families, B n_b (B's are held by an
    individual), one family with no holder shown; A's first family rests on unverified fees."""
    rows = [{"pub_key": f"A{i}", "family_id": f"FA{i}", "holder_group": "A", "group_country": "JP", "jurisdiction": "US",
             "year": 2020, "fees_not_verified": i == 0, "by_individual": False} for i in range(n_a)]
    rows += [{"pub_key": f"B{i}", "family_id": f"FB{i}", "holder_group": "B", "group_country": "US", "jurisdiction": "US",
              "year": 2020, "fees_not_verified": False, "by_individual": True} for i in range(n_b)]
    rows += [{"pub_key": "X", "family_id": "FX", "holder_group": "(no holder shown)", "group_country": None, "jurisdiction": "US",
              "year": 2020, "fees_not_verified": False, "by_individual": False}]
    return pl.DataFrame(rows, schema={"pub_key": pl.Utf8, "family_id": pl.Utf8, "holder_group": pl.Utf8, "group_country": pl.Utf8,
                                      "jurisdiction": pl.Utf8, "year": pl.Int32, "fees_not_verified": pl.Boolean,
                                      "by_individual": pl.Boolean})


SEGS = pl.DataFrame({"pub_key": ["A0", "B0"], "segment": ["sintered", "sintered"]})
UNKNOWN = pl.DataFrame({"pub_key": ["U1", "U2", "A1"], "family_id": ["FU1", "FU2", "FA1"], "holder_group": ["C", "(no holder shown)", "A"],
                        "group_country": ["CN", None, "JP"], "jurisdiction": ["US", "US", "JP"], "year": [2020, 2020, 2020]},
                       schema={"pub_key": pl.Utf8, "family_id": pl.Utf8, "holder_group": pl.Utf8, "group_country": pl.Utf8,
                               "jurisdiction": pl.Utf8, "year": pl.Int32})


def test_every_cell_reports_what_it_excludes_and_too_few_is_never_banded():
    from patentscope.metrics.concentration import stats_table
    th = Thresholds(1800, 100, "test", min_families=3)
    t = stats_table(_cells(), SEGS, "in_force_stock", "families", "holder_group", thresholds=th, unknown=UNKNOWN)
    cell = {(r["scope_type"], r["scope_value"]): r for r in t.to_dicts()}
    us = cell[("jurisdiction", "US")]
    # 3 attributed families (FA0, FA1, FB0); FX has no holder; FU1 and FU2 have unknown status
    assert (us["n_families"], us["n_unattributed"], us["n_status_unknown"]) == (3, 1, 2)
    assert (us["n_fees_not_verified"], us["n_individual"]) == (1, 1)
    assert us["label"] == "above 1,800 (merger-guideline analogy)" and us["min_families"] == 3
    # FA1's unknown JP row is its own cell: JP has no in-force family, so there is no JP row to hold it,
    # while in 'all' it is already counted as in force in the US and not double-counted as unknown
    assert cell[("all", "all")]["n_status_unknown"] == 2
    # the sintered segment holds 2 families (< 3): too few to judge, whatever its HHI
    seg = cell[("segment", "sintered")]
    assert seg["n_families"] == 2 and seg["label"] == "too few to judge" and seg["hhi"] == pytest.approx(5000.0)
    # the JP holder-country cell: 2 families of A -> too few, never "above 1,800"
    assert cell[("holder_country", "JP")]["label"] == "too few to judge"


def test_flags_not_available_are_null_not_zero():
    from patentscope.metrics.concentration import stats_table
    plain = _cells().drop("fees_not_verified", "by_individual")
    t = stats_table(plain, SEGS, "in_force_stock", "families", "holder_group", thresholds=Thresholds(1800, 100, "t", min_families=1))
    us = t.filter((pl.col("scope_type") == "jurisdiction") & (pl.col("scope_value") == "US")).to_dicts()[0]
    assert us["n_fees_not_verified"] is None and us["n_individual"] is None and us["n_status_unknown"] == 0


def test_concentration_toml_errors_name_file_and_key(tmp_path, monkeypatch):
    from importlib import resources

    from patentscope.errors import ConfigError
    bad = tmp_path / "patentscope" / "data"
    bad.mkdir(parents=True)
    (bad / "concentration.toml").write_text('[thresholds]\nhighly_concentrated_hhi = nan\nsignificant_delta_hhi = 100\n'
                                           'share_threshold = 0.3\n[minimum]\nfamilies = 20\n')
    monkeypatch.setattr(resources, "files", lambda pkg: tmp_path / "patentscope")
    with pytest.raises(ConfigError, match=r"concentration.toml: thresholds.highly_concentrated_hhi: expected a number"):
        Thresholds.load()


def _python_cells(rows, segs, unknown, min_families):
    """An independent computation of the concentration cells in plain Python (dicts and loops)."""
    seg_of = {}
    for p, s in segs:
        seg_of.setdefault(p, set()).add(s)

    def scopes(r):
        out = [("all", "all"), ("jurisdiction", r["jurisdiction"]), ("holder_country", r["group_country"] or "unknown")]
        return out + [("segment", s) for s in sorted(seg_of.get(r["pub_key"], ()))]

    cells: dict = {}
    for r in rows:
        for sc in scopes(r):
            c = cells.setdefault((*sc, r["year"]), {"pairs": set(), "fams": set(), "fees": set(), "indiv": set()})
            c["fams"].add(r["family_id"])
            if r["holder_group"] != "(no holder shown)":
                c["pairs"].add((r["family_id"], r["holder_group"]))
            if r.get("fees_not_verified"):
                c["fees"].add(r["family_id"])
            if r.get("by_individual"):
                c["indiv"].add(r["family_id"])
    unk: dict = {}
    for r in unknown:
        for sc in scopes(r):
            unk.setdefault((*sc, r["year"]), set()).add(r["family_id"])
    out = {}
    for key, c in cells.items():
        k: dict = {}
        for f, _h in c["pairs"]:
            k[f] = k.get(f, 0) + 1
        fam_by_h: dict = {}
        for f, h in c["pairs"]:
            fam_by_h[h] = fam_by_h.get(h, 0.0) + 1.0 / k[f]
        n = len(k)
        total = sum(fam_by_h.values())
        shares = sorted((v / total for v in fam_by_h.values()), reverse=True) if total else []
        xs = sorted(fam_by_h.values())
        gini = (sum((2 * i - len(xs) - 1) * x for i, x in enumerate(xs, start=1)) / (len(xs) * sum(xs))) if xs else None
        hhi = 10_000 * sum(s * s for s in shares) if shares else None
        out[key] = {"n_families": n, "n_unattributed": len(c["fams"] - set(k)), "n_holders": len(fam_by_h), "hhi": hhi,
                    "cr1": sum(shares[:1]) if shares else None, "cr4": sum(shares[:4]) if shares else None,
                    "gini": gini, "n_status_unknown": len(unk.get(key, set()) - c["fams"]),
                    "n_fees_not_verified": len(c["fees"]), "n_individual": len(c["indiv"]),
                    "label": "too few to judge" if n < min_families else
                    "above 1,800 (merger-guideline analogy)" if hhi > 1800 else "1,800 or below (merger-guideline analogy)"}
    return out


def test_sql_cells_match_an_independent_python_computation():
    """SYNTHETIC hand-built holdings (no patent data): co-owned families, a family in two
    jurisdictions, publications of one family in two segments, holders valid in some years
    only, families with no holder shown, rows of unknown status; the SQL cells equal a plain
    Python computation of the same definitions."""
    import random

    from patentscope.metrics.concentration import stats_table
    rnd = random.Random(11)
    countries = {"A": "JP", "B": "JP", "C": "US", "D": None, "E": "CN"}
    rows, segs, unknown = [], [], []
    for f in range(60):
        for m in range(rnd.choice([1, 1, 2])):
            pub = f"P{f}-{m}"
            jur = rnd.choice(["US", "EP", "JP"])
            groups = rnd.sample(list(countries), k=rnd.choice([0, 1, 1, 1, 2]))
            for y in range(2018 + rnd.randint(0, 2), 2023):
                held = [g for g in groups if g != "B" or y >= 2020]  # B holds from 2020 on: k changes within a span
                for g in held or ["(no holder shown)"]:
                    rows.append({"pub_key": pub, "family_id": f"F{f}", "holder_group": g,
                                 "group_country": countries.get(g), "jurisdiction": jur, "year": y,
                                 "fees_not_verified": rnd.random() < 0.2, "by_individual": g == "E"})
            for s in rnd.sample(["sintered", "bonded", "hot_deformed"], k=rnd.choice([0, 1, 2])):
                segs.append((pub, s))
        if f % 7 == 0:
            unknown.append({"pub_key": f"U{f}", "family_id": f"F{f}" if f % 14 else f"FU{f}", "holder_group": "C",
                            "group_country": "US", "jurisdiction": "US", "year": 2020})
    for y in (2018, 2021):  # a cell with no family, and a holder with none, in 2019 and 2020: no rows there
        rows.append({"pub_key": "P99-0", "family_id": "F99", "holder_group": "Z", "group_country": "JP",
                     "jurisdiction": "KR", "year": y, "fees_not_verified": False, "by_individual": False})
    schema = {"pub_key": pl.Utf8, "family_id": pl.Utf8, "holder_group": pl.Utf8, "group_country": pl.Utf8,
              "jurisdiction": pl.Utf8, "year": pl.Int32}
    th = Thresholds(1800, 100, "test", min_families=8)
    frame = pl.DataFrame(rows, schema={**schema, "fees_not_verified": pl.Boolean, "by_individual": pl.Boolean})
    seg_frame = pl.DataFrame(segs, schema={"pub_key": pl.Utf8, "segment": pl.Utf8}, orient="row")
    t = stats_table(frame, seg_frame, "in_force_stock", "families", "holder_group", thresholds=th,
                    unknown=pl.DataFrame(unknown, schema=schema))
    want = _python_cells(rows, segs, unknown, 8)
    got = {(r["scope_type"], r["scope_value"], r["year"]): r for r in t.to_dicts()}
    assert set(got) == set(want) and len(want) > 40
    for key, w in want.items():
        g = got[key]
        for col, v in w.items():
            if isinstance(v, float):
                assert g[col] == pytest.approx(v, abs=1e-8), (key, col)
            else:
                assert g[col] == v, (key, col, g[col], v)
    assert {w["label"] for w in want.values()} >= {"too few to judge", "above 1,800 (merger-guideline analogy)"}
    assert any(w["n_status_unknown"] for w in want.values()) and any(w["n_unattributed"] for w in want.values())
