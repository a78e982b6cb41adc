"""Licensing model: closed-form cases (hand-worked), Monte Carlo, scenario-file errors.

Portfolios here are SYNTHETIC (holder groups A, B, C; no patent records): they test the
arithmetic of the model, not facts about NdFeB holders.
"""

import datetime as dt
import textwrap

import polars as pl
import pytest

from patentscope.errors import ConfigError
from patentscope.metrics.royalty import (
    coverage,
    inverse,
    load_scenario,
    sensitivity,
    simulate,
    threshold_year,
)


def portfolio(*rows):
    """rows: (group, market, segment, from, to, weight)"""
    return pl.DataFrame(
        [{"family_id": f"F{i}", "holder_group": g, "jurisdiction": m, "segment": s,
          "in_force_from": dt.date.fromisoformat(a) if a else None, "in_force_to": dt.date.fromisoformat(b) if b else None,
          "weight": w} for i, (g, m, s, a, b, w) in enumerate(rows)],
        schema={"family_id": pl.Utf8, "holder_group": pl.Utf8, "jurisdiction": pl.Utf8, "segment": pl.Utf8,
                "in_force_from": pl.Date, "in_force_to": pl.Date, "weight": pl.Float64})


def scenario(tmp_path, body, name="s.toml"):
    base = textwrap.dedent("""
        [scenario]
        name = "test"
        years = [2020, 2022]
        [rates]
        unlicensed = {percent = 0.05}
        licensed = {percent = 0.02}
        [monte_carlo]
        samples = 200
        seed = 7
    """)
    p = tmp_path / name
    p.write_text(base + textwrap.dedent(body), encoding="utf-8")
    return load_scenario(p)


EXPORTER = """
    [[exporter]]
    id = "E"
    home = "CN"
    segments = ["sintered"]
    source = "assumption: test exporter"
    sales = [{market = "US", year = 2020, value = 100.0}, {market = "DE", year = 2020, value = 100.0}]
"""


def row(res, market="US", year=2020, exporter="E"):
    r = res.filter((pl.col("market") == market) & (pl.col("year") == year) & (pl.col("exporter") == exporter)).to_dicts()
    assert len(r) == 1
    return r[0]


def test_single_licensor_fixed_rate(tmp_path):
    sc = scenario(tmp_path, EXPORTER)
    res, det = simulate(sc, portfolio(("A", "US", "sintered", None, None, 1.0)))
    us = row(res)
    assert us["royalties_p50"] == pytest.approx(5.0) and us["burden_p50"] == pytest.approx(0.05)
    assert us["royalties_p5"] == us["royalties_p95"] == pytest.approx(5.0)  # nothing uncertain
    assert row(res, "DE")["royalties_p50"] == 0.0  # no family in force in DE
    allm = row(res, "ALL")
    assert allm["burden_p50"] == pytest.approx(5.0 / 200.0)


def test_two_stacked(tmp_path):
    sc = scenario(tmp_path, EXPORTER + '\n[rates.unlicensed_by_group]\nB = {percent = 0.03}\n'.replace("\n[rates", "\n[rates", 1))
    res, _ = simulate(sc, portfolio(("A", "US", "sintered", None, None, 1.0), ("B", "US", "sintered", None, None, 1.0)))
    assert row(res)["royalties_p50"] == pytest.approx(5.0 + 3.0)
    assert row(res)["n_blocking"] == 2 and row(res)["n_unlicensed"] == 2


def test_cap_split_by_weights(tmp_path):
    sc = scenario(tmp_path, EXPORTER + '\n[apportionment]\nmethod = "cap"\ncap = 0.06\nweights = "families"\n')
    res, det = simulate(sc, portfolio(("A", "US", "sintered", None, None, 3.0), ("B", "US", "sintered", None, None, 1.0)))
    assert row(res)["royalties_p50"] == pytest.approx(6.0)  # min(5% + 5%, 6%) x 100
    split = {r["holder_group"]: r["rate_p50"] for r in det.filter(pl.col("market") == "US").to_dicts()}
    assert split == pytest.approx({"A": 0.045, "B": 0.015})  # 6% split 3:1


def test_expiry_mid_year_prorates(tmp_path):
    sc = scenario(tmp_path, EXPORTER)
    res, _ = simulate(sc, portfolio(("A", "US", "sintered", None, "2020-07-01", 1.0)))
    # 2020 is a leap year: Jan 1 .. Jun 30 = 182 of 366 days in force
    assert row(res)["royalties_p50"] == pytest.approx(5.0 * 182 / 366)


def test_market_outside_licence_territory(tmp_path):
    body = EXPORTER.replace('source = "assumption: test exporter"', 'source = "assumption: test exporter"\nlicences = ["L1"]') + """
    [[licence]]
    id = "L1"
    licensor_group = "A"
    licensee = "E"
    territory = ["DE"]
    segments = ["sintered"]
    start = "2010-01-01"
    source = "test"
    rate = {percent = 0.01}
    """
    sc = scenario(tmp_path, body)
    res, _ = simulate(sc, portfolio(("A", "US", "sintered", None, None, 1.0), ("A", "DE", "sintered", None, None, 1.0)))
    assert row(res, "US")["royalties_p50"] == pytest.approx(5.0) and row(res, "US")["n_unlicensed"] == 1
    assert row(res, "DE")["royalties_p50"] == pytest.approx(1.0) and row(res, "DE")["n_licensed"] == 1


def test_compulsory_licence_from_a_date(tmp_path):
    body = """
    [[exporter]]
    id = "E"
    segments = ["sintered"]
    source = "assumption"
    sales = [{market = "CN", year = 2020, value = 100.0}, {market = "CN", year = 2021, value = 100.0}, {market = "CN", year = 2022, value = 100.0}]
    [[compulsory]]
    holder_group = "A"
    market = "CN"
    rate = {percent = 0.01}
    start = "2021-04-23"
    source = "test"
    """
    sc = scenario(tmp_path, body)
    res, _ = simulate(sc, portfolio(("A", "CN", "sintered", None, None, 1.0)))
    assert row(res, "CN", 2020)["royalties_p50"] == pytest.approx(5.0)
    # 2021: Jan 1 .. Apr 22 (112 days) unlicensed at 5%, Apr 23 .. Dec 31 (253 days) at 1%
    assert row(res, "CN", 2021)["royalties_p50"] == pytest.approx(5.0 * 112 / 365 + 1.0 * 253 / 365)
    assert row(res, "CN", 2022)["royalties_p50"] == pytest.approx(1.0)


def test_own_patents_excluded(tmp_path):
    sc = scenario(tmp_path, EXPORTER.replace('home = "CN"', 'home = "CN"\nholder_group = "A"'))
    res, _ = simulate(sc, portfolio(("A", "US", "sintered", None, None, 1.0), ("B", "US", "sintered", None, None, 1.0)))
    assert row(res)["royalties_p50"] == pytest.approx(5.0) and row(res)["n_blocking"] == 1


def test_other_segments_do_not_block(tmp_path):
    sc = scenario(tmp_path, EXPORTER)
    res, _ = simulate(sc, portfolio(("A", "US", "bonded", None, None, 1.0)))
    assert row(res)["royalties_p50"] == 0.0 and row(res)["n_blocking"] == 0


def test_refusal_gives_sales_at_risk_not_royalties(tmp_path):
    sc = scenario(tmp_path, EXPORTER + """
    [[refusal]]
    holder_group = "A"
    markets = ["US"]
    exclusion_probability = {US = 0.5}
    source = "test"
    """)
    res, _ = simulate(sc, portfolio(("A", "US", "sintered", None, None, 1.0), ("B", "US", "sintered", None, None, 1.0)))
    us = row(res)
    assert us["royalties_p50"] == pytest.approx(5.0)  # only B charges
    assert us["sales_at_risk_p50"] == pytest.approx(50.0) and us["n_refused"] == 1


def test_per_kg_rate(tmp_path):
    body = """
    [[exporter]]
    id = "E"
    segments = ["sintered"]
    source = "assumption"
    sales = [{market = "US", year = 2020, value = 490000.0, tonnes = 10.0}]
    """
    sc = scenario(tmp_path, body.replace("[[exporter]]", "[[exporter]]"))
    sc = type(sc)(**{**sc.__dict__, "unlicensed_rate": type(sc.unlicensed_rate)("per_kg", type(sc.unlicensed_rate.value)("fixed", (1.5,), "x"))})
    res, _ = simulate(sc, portfolio(("A", "US", "sintered", None, None, 1.0)))
    assert row(res)["royalties_p50"] == pytest.approx(1.5 * 10_000)
    assert row(res)["burden_p50"] == pytest.approx(15_000 / 490_000)


def test_monte_carlo_reproducible_and_converging(tmp_path):
    sc = scenario(tmp_path, EXPORTER.replace("[[exporter]]", "[[exporter]]"))
    sc = load_scenario(tmp_path / "s.toml")
    text = (tmp_path / "s.toml").read_text().replace("unlicensed = {percent = 0.05}", "unlicensed = {percent = {uniform = [0.02, 0.08]}}")
    (tmp_path / "u.toml").write_text(text)
    sc = load_scenario(tmp_path / "u.toml")
    pf = portfolio(("A", "US", "sintered", None, None, 1.0))
    a, _ = simulate(sc, pf, samples=500, seed=3)
    b, _ = simulate(sc, pf, samples=500, seed=3)
    assert a.equals(b)
    errs = []
    for n in (50, 500, 20000):
        r, _ = simulate(sc, pf, samples=n, seed=11)
        us = row(r)
        errs.append(abs(us["burden_p5"] - 0.023) + abs(us["burden_p50"] - 0.05) + abs(us["burden_p95"] - 0.077))
    assert errs[2] < errs[0] and errs[2] < 0.002  # P5/P50/P95 of U(2%, 8%) = 2.3%, 5%, 7.7%


def test_sensitivity_ranks_the_uncertain_quantity(tmp_path):
    text = textwrap.dedent("""
        [scenario]
        years = [2020, 2020]
        [rates]
        unlicensed = {percent = {uniform = [0.0, 0.10]}}
        licensed = {percent = {uniform = [0.01, 0.02]}}
        [[exporter]]
        id = "E"
        segments = ["sintered"]
        source = "assumption"
        sales = [{market = "US", year = 2020, value = 100.0}]
    """)
    (tmp_path / "t.toml").write_text(text)
    sc = load_scenario(tmp_path / "t.toml")
    s = sensitivity(sc, portfolio(("A", "US", "sintered", None, None, 1.0)))
    top = s.to_dicts()[0]
    assert top["quantity"] == "rates.unlicensed.percent"
    assert (top["burden_at_low"], top["burden_at_high"]) == pytest.approx((0.005, 0.095))
    assert s.filter(pl.col("quantity") == "rates.licensed.percent")["swing"][0] == 0.0  # no licence held


def test_threshold_year_and_time_path(tmp_path):
    body = """
    [[exporter]]
    id = "E"
    segments = ["sintered"]
    source = "assumption"
    sales = [{market = "US", year = 2020, value = 100.0}, {market = "US", year = 2021, value = 100.0}, {market = "US", year = 2022, value = 100.0}]
    """
    sc = scenario(tmp_path, body)
    res, _ = simulate(sc, portfolio(("A", "US", "sintered", None, "2021-01-01", 1.0), ("B", "US", "sintered", None, "2022-01-01", 1.0)))
    burdens = res.filter(pl.col("market") == "ALL").sort("year")["burden_p50"].to_list()
    assert burdens == pytest.approx([0.10, 0.05, 0.0])
    t = threshold_year(res, 0.06).to_dicts()[0]
    assert t["first_year_below"] == 2021


def test_inverse(tmp_path):
    sc = scenario(tmp_path, EXPORTER)
    inv = inverse(sc, portfolio(("A", "US", "sintered", None, None, 1.0), ("B", "US", "sintered", None, None, 1.0),
                                ("C", "DE", "sintered", None, None, 1.0))).to_dicts()
    r = next(x for x in inv if x["year"] == 2020)
    # S = 200; sum S_m n_m = 100*2 + 100*1 = 300 -> 0.30 * 200 / 300 = 0.20 per licensor
    assert r["required_avg_rate"] == pytest.approx(0.20)
    assert r["avg_blocking_licensors"] == pytest.approx(1.5)
    assert r["licensors_at_benchmark"] == pytest.approx(0.30 / 0.055)


def test_coverage_union_of_intervals():
    cov = coverage(portfolio(("A", "US", "sintered", "2019-01-01", "2020-03-01", 1.0),
                             ("A", "US", "sintered", "2020-02-01", "2020-05-01", 2.0)), (2020, 2020))
    r = cov.to_dicts()[0]
    assert r["coverage"] == pytest.approx(121 / 366)  # Jan 1 .. Apr 30 2020
    assert r["weight"] == 3.0


@pytest.mark.parametrize("bad,message", [
    ('[scenario]\nyears = [2030, 2020]\n', "scenario.years: expected [first_year, last_year]"),
    ('[scenario]\nyears = [2020, 2021]\n[rates]\nlicensed = {percent = 0.02}\n', "rates.unlicensed: expected a rate (missing)"),
    ('[scenario]\nyears = [2020, 2021]\n[rates]\nunlicensed = {percent = 1.5}\nlicensed = {percent = 0.02}\n', "rates.unlicensed.percent: expected values between 0.0 and 1.0"),
    ('[scenario]\nyears = [2020, 2021]\n[rates]\nunlicensed = {percent = {triangular = [0.1, 0.05, 0.2]}}\nlicensed = {percent = 0.02}\n', "low <= mode <= high"),
    ('[scenario]\nyears = [2020, 2021]\n[rates]\nunlicensed = {percent = 0.05}\nlicensed = {percent = 0.02}\n', "exporter: expected at least one [[exporter]] table"),
    ('[scenario]\nyears = [2020, 2021]\n[rates]\nunlicensed = {percent = 0.05}\nlicensed = {percent = 0.02}\n[[exporter]]\nid = "E"\nsegments = ["sintered"]\nsource = "x"\nsales = [{market = "US", year = 2020}]\n', "exporter[0].sales[0]: expected value and/or tonnes"),
    ('[scenario]\nyears = [2020, 2021]\n[rates]\nunlicensed = {percent = 0.05}\nlicensed = {percent = 0.02}\n[[exporter]]\nid = "E"\nsegments = ["sintered"]\nsource = "x"\nlicences = ["NOPE"]\nsales = [{market = "US", year = 2020, value = 1}]\n', "exporter[0].licences: expected ids of [[licence]] tables"),
    ('[scenario]\nyears = [2020, 2021]\n[rates]\nunlicensed = {percent = 0.05}\nlicensed = {percent = 0.02}\n[apportionment]\nmethod = "share"\n', "apportionment.method: expected 'stack' or 'cap'"),
])
def test_scenario_errors_are_precise(tmp_path, bad, message):
    p = tmp_path / "bad.toml"
    p.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_scenario(p)
    assert str(e.value).startswith(f"{p}: ") and message in str(e.value)


def test_shipped_example_scenario_loads():
    from patentscope.ingest.sample import sample_folder
    from patentscope.metrics.royalty import load_scenario as ls
    from patentscope.metrics.royalty import variants
    path = sample_folder().parent / "royalty" / "example_scenario.toml"
    sc = ls(path)
    assert [v for v, _ in variants(sc)] == ["base", "low", "benchmark", "demanded"]
    assert len(sc.licences) == 8 and all(lic.rate is None for lic in sc.licences.values())  # rates are not public
    assert all(lic.source for lic in sc.licences.values())
    ex = {e.id: e for e in sc.exporters}
    assert ex["cn-licensed"].licences == ("HM-ZKSH",)
    assert len(ex["cn-unlicensed"].sales) == 21 * 3


def test_ep_rows_count_in_validated_markets(tmp_path):
    from patentscope.metrics.royalty import expand_ep
    sc = scenario(tmp_path, EXPORTER + '\n[portfolio]\nep_validated_in = ["DE"]\n')
    pf = expand_ep(portfolio(("A", "EP", "sintered", None, None, 1.0)), sc.ep_validated_in)
    res, _ = simulate(sc, pf)
    assert row(res, "DE")["royalties_p50"] == pytest.approx(5.0)
    assert row(res, "US")["royalties_p50"] == 0.0


def test_group_coverage_is_the_union_across_segments_and_weights_count_families(tmp_path):
    body = EXPORTER.replace('segments = ["sintered"]', 'segments = ["sintered", "grain_boundary_diffusion"]')
    sc = scenario(tmp_path, body)
    pf = portfolio(("G", "US", "sintered", None, "2020-07-01", 1.0), ("G", "US", "grain_boundary_diffusion", "2020-07-01", None, 1.0))
    res, det = simulate(sc, pf)
    assert row(res)["royalties_p50"] == pytest.approx(5.0)  # blocked all year: one family, then the other
    # one family in two segments is one family
    same = pl.concat([portfolio(("G", "US", "sintered", None, None, 1.0)),
                      portfolio(("G", "US", "grain_boundary_diffusion", None, None, 1.0))])
    _, det = simulate(sc, same)
    assert det.filter(pl.col("market") == "US")["weight"].to_list() == [1.0]


def test_licence_for_some_segments_does_not_shield_the_others(tmp_path):
    body = EXPORTER.replace('segments = ["sintered"]', 'segments = ["sintered", "grain_boundary_diffusion"]').replace(
        'source = "assumption: test exporter"', 'source = "assumption: test exporter"\nlicences = ["L1"]') + """
    [[licence]]
    id = "L1"
    licensor_group = "A"
    licensee = "E"
    segments = ["sintered"]
    source = "test"
    rate = {percent = 0.01}
    """
    sc = scenario(tmp_path, body)
    only_sintered = simulate(sc, portfolio(("A", "US", "sintered", None, None, 1.0)))[0]
    assert row(only_sintered)["royalties_p50"] == pytest.approx(1.0)
    both = simulate(sc, portfolio(("A", "US", "sintered", None, None, 1.0), ("A", "US", "grain_boundary_diffusion", None, None, 1.0)))[0]
    assert row(both)["royalties_p50"] == pytest.approx(5.0) and row(both)["n_unlicensed"] == 1


def test_price_is_drawn_per_sample(tmp_path):
    body = """
    [[exporter]]
    id = "E"
    segments = ["sintered"]
    source = "assumption"
    sales = [{market = "US", year = 2020, tonnes = 1.0}]
    """
    text = textwrap.dedent("""
        [scenario]
        years = [2020, 2020]
        price_per_kg = {uniform = [20.0, 80.0]}
        [rates]
        unlicensed = {per_kg = 2.0}
        licensed = {percent = 0.02}
        [monte_carlo]
        samples = 4000
        seed = 3
    """) + textwrap.dedent(body)
    (tmp_path / "p.toml").write_text(text)
    sc = load_scenario(tmp_path / "p.toml")
    res, _ = simulate(sc, portfolio(("A", "US", "sintered", None, None, 1.0)))
    us = row(res)
    assert us["royalties_p50"] == pytest.approx(2000.0)           # 2 $/kg x 1,000 kg, whatever the price
    assert us["burden_p5"] == pytest.approx(2.0 / 77.0, rel=0.02)  # 2 / P95 price (77)
    assert us["burden_p95"] == pytest.approx(2.0 / 23.0, rel=0.02)  # 2 / P5 price (23)
    s = sensitivity(sc, portfolio(("A", "US", "sintered", None, None, 1.0)))
    assert s.filter(pl.col("quantity") == "scenario.price_per_kg")["swing"][0] > 0.05
