"""Licensing model: closed-form cases (hand-worked), Monte Carlo, scenario-file errors.

Portfolios here are SYNTHETIC (holder groups A, B, C; no patent records): they test the
arithmetic of the model, not facts about NdFeB holders.
"""

import datetime as dt
import re
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
    ('[scenario]\nyears = [2030, 2020]\n', "scenario.years: expected [first_year, last_year] as integers"),
    ('[scenario]\nyears = [2020, 2021]\n[rates]\nlicensed = {percent = 0.02}\n', "rates.unlicensed: required key is missing"),
    ('[scenario]\nyears = [2020, 2021]\n[rates]\nunlicensed = {percent = 1.5}\nlicensed = {percent = 0.02}\n', "rates.unlicensed.percent: expected values between 0.0 and 1.0"),
    ('[scenario]\nyears = [2020, 2021]\n[rates]\nunlicensed = {percent = {triangular = [0.1, 0.05, 0.2]}}\nlicensed = {percent = 0.02}\n', "low <= mode <= high"),
    ('[scenario]\nyears = [2020, 2021]\n[rates]\nunlicensed = {percent = 0.05}\nlicensed = {percent = 0.02}\n', "exporter: required key is missing"),
    ('[scenario]\nyears = [2020, 2021]\n[rates]\nunlicensed = {percent = 0.05}\nlicensed = {percent = 0.02}\n[[exporter]]\nid = "E"\nsegments = ["sintered"]\nsource = "x"\nsales = [{market = "US", year = 2020}]\n', "exporter[1].sales[1]: expected value and/or tonnes"),
    ('[scenario]\nyears = [2020, 2021]\n[rates]\nunlicensed = {percent = 0.05}\nlicensed = {percent = 0.02}\n[[exporter]]\nid = "E"\nsegments = ["sintered"]\nsource = "x"\nlicences = ["NOPE"]\nsales = [{market = "US", year = 2020, value = 1}]\n', "exporter[1].licences: expected ids of [[licence]] tables"),
    ('[scenario]\nyears = [2020, 2021]\n[rates]\nunlicensed = {percent = 0.05}\nlicensed = {percent = 0.02}\n[apportionment]\nmethod = "share"\n', "apportionment.method: Input should be 'stack' or 'cap'"),
])
def test_scenario_errors_are_precise(tmp_path, bad, message):
    p = tmp_path / "bad.toml"
    p.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_scenario(p)
    assert str(e.value).startswith(f"{p}:") and message in str(e.value)


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


# --- issue 16: royalty semantics, each case hand-worked (exact to 1e-9) ------------------------

ONE_US_2020 = """
    [[exporter]]
    id = "E"
    segments = ["sintered"]
    source = "assumption: test exporter"
    sales = [{market = "US", year = 2020, value = 1000.0}]
"""


def test_licence_counts_by_day(tmp_path):
    """Licence from 2020-03-01 at 1%, unlicensed 4%, one blocking patent all year, sales 1000:
    Jan 1 .. Feb 29 = 60 of 366 days unlicensed, Mar 1 .. Dec 31 = 306 days licensed ->
    1000 x (60/366 x 4% + 306/366 x 1%) = 14.918..."""
    body = ONE_US_2020.replace('source = "assumption: test exporter"', 'source = "assumption: test exporter"\nlicences = ["L"]') + """
    [[licence]]
    id = "L"
    licensor_group = "A"
    licensee = "E"
    start = "2020-03-01"
    rate = {percent = 0.01}
    source = "test"
    """
    sc = scenario(tmp_path, body)
    sc = type(sc)(**{**sc.__dict__, "unlicensed_rate": type(sc.unlicensed_rate)("percent", type(sc.unlicensed_rate.value)("fixed", (0.04,), "u"))})
    res, det = simulate(sc, portfolio(("A", "US", "sintered", None, None, 1.0)))
    assert abs(row(res)["royalties_p50"] - 1000 * (60 / 366 * 0.04 + 306 / 366 * 0.01)) < 1e-9
    assert round(row(res)["royalties_p50"], 3) == 14.918
    assert sorted(det["status"].to_list()) == ["licensed", "unlicensed"]


def test_compulsory_licence_after_the_patent_ends_covers_nothing(tmp_path):
    """Patent in force until 2021-03-01 (expired that day), compulsory licence from 2021-04-23
    at 1%, else 5%, sales 1000 -> 1000 x 5% x 59/365 = 8.082 (Jan 1 .. Feb 28)."""
    body = """
    [[exporter]]
    id = "E"
    segments = ["sintered"]
    source = "assumption"
    sales = [{market = "CN", year = 2021, value = 1000.0}]
    [[compulsory]]
    holder_group = "A"
    market = "CN"
    rate = {percent = 0.01}
    start = "2021-04-23"
    source = "test"
    """
    res, det = simulate(scenario(tmp_path, body), portfolio(("A", "CN", "sintered", None, "2021-03-01", 1.0)))
    r = row(res, "CN", 2021)
    assert abs(r["royalties_p50"] - 1000 * 0.05 * 59 / 365) < 1e-9 and round(r["royalties_p50"], 3) == 8.082
    assert r["n_compulsory"] == 0 and det["status"].to_list() == ["unlicensed"]


def test_inverse_honours_the_cap(tmp_path):
    """Under a 6% cap with two blockers no per-licensor rate gives 30%: unreachable, and the
    largest burden any rate can give is the cap."""
    sc = scenario(tmp_path, ONE_US_2020 + '\n[apportionment]\nmethod = "cap"\ncap = 0.06\n')
    inv = inverse(sc, portfolio(("A", "US", "sintered", None, None, 1.0), ("B", "US", "sintered", None, None, 1.0))).to_dicts()
    r = inv[0]
    assert r["reachable"] is False and r["required_avg_rate"] is None
    assert abs(r["max_burden"] - 0.06) < 1e-9 and r["why"].startswith("unreachable: under the cap")
    # the same portfolio stacked: 2 licensors x 15% = 30%
    stacked = inverse(scenario(tmp_path, ONE_US_2020, "t.toml"),
                      portfolio(("A", "US", "sintered", None, None, 1.0), ("B", "US", "sintered", None, None, 1.0))).to_dicts()[0]
    assert stacked["reachable"] is True and abs(stacked["required_avg_rate"] - 0.15) < 1e-9
    # a cap of 40% binds only above 20% per licensor: 30% needs 15% each, reachable
    capped = inverse(scenario(tmp_path, ONE_US_2020 + '\n[apportionment]\nmethod = "cap"\ncap = 0.40\n', "u.toml"),
                     portfolio(("A", "US", "sintered", None, None, 1.0), ("B", "US", "sintered", None, None, 1.0))).to_dicts()[0]
    assert capped["reachable"] is True and abs(capped["required_avg_rate"] - 0.15) < 1e-9


def test_cap_that_does_not_bind_leaves_each_groups_own_charge(tmp_path):
    """A 5% all year, B 4% for 182 of 366 days (2020-01-01 .. 2020-06-30), cap 10%:
    5% + 4% x 182/366 = 6.989% < 10%, so A 5.000% and B 1.989% (not split by weights)."""
    body = ONE_US_2020 + '\n[apportionment]\nmethod = "cap"\ncap = 0.10\n[rates.unlicensed_by_group]\nB = {percent = 0.04}\n'
    sc = scenario(tmp_path, body)
    res, det = simulate(sc, portfolio(("A", "US", "sintered", None, None, 1.0), ("B", "US", "sintered", None, "2020-07-01", 1.0)))
    split = {r["holder_group"]: r["rate_p50"] for r in det.to_dicts()}
    assert abs(split["A"] - 0.05) < 1e-9 and abs(split["B"] - 0.04 * 182 / 366) < 1e-9
    assert round(split["B"] * 100, 3) == 1.989
    assert abs(row(res)["royalties_p50"] - 1000 * (0.05 + 0.04 * 182 / 366)) < 1e-9


def test_binding_cap_never_gives_a_licensor_more_than_its_own_charge(tmp_path):
    """Cap 6%, A (weight 3) charges 1%, B (weight 1) 8%: by weights A would get 4.5% > its 1%;
    water-filling gives A its 1% and B the remaining 5%."""
    body = EXPORTER + '\n[apportionment]\nmethod = "cap"\ncap = 0.06\n[rates.unlicensed_by_group]\nA = {percent = 0.01}\nB = {percent = 0.08}\n'
    _res, det = simulate(scenario(tmp_path, body), portfolio(("A", "US", "sintered", None, None, 3.0), ("B", "US", "sintered", None, None, 1.0)))
    split = {r["holder_group"]: r["rate_p50"] for r in det.filter(pl.col("market") == "US").to_dicts()}
    assert abs(split["A"] - 0.01) < 1e-9 and abs(split["B"] - 0.05) < 1e-9


def test_burden_above_sales_is_flagged_infeasible(tmp_path):
    """Eleven licensors at 10% each stack to 110% of sales: flagged, not silently reported."""
    sc = scenario(tmp_path, ONE_US_2020)
    sc = type(sc)(**{**sc.__dict__, "unlicensed_rate": type(sc.unlicensed_rate)("percent", type(sc.unlicensed_rate.value)("fixed", (0.10,), "u"))})
    pf = portfolio(*[(f"G{i}", "US", "sintered", None, None, 1.0) for i in range(11)])
    res, _ = simulate(sc, pf)
    r = row(res)
    assert abs(r["burden_p50"] - 1.10) < 1e-9 and r["infeasible"] is True and r["share_infeasible"] == 1.0
    ok, _ = simulate(sc, portfolio(*[(f"G{i}", "US", "sintered", None, None, 1.0) for i in range(3)]))
    assert row(ok)["infeasible"] is False and row(ok)["share_infeasible"] == 0.0


def test_rate_scaling_by_portfolio_share(tmp_path):
    """'portfolio_share': each licensor charges the rate times its share of the blocking
    families, so A (3 families) and B (1 family) at 5% charge 3.75% and 1.25% (total 5%, as if
    one licensor held all four); 'flat' gives 5% each (total 10%)."""
    pf = portfolio(*[("A", "US", "sintered", None, None, 1.0)] * 3, ("B", "US", "sintered", None, None, 1.0))
    share = scenario(tmp_path, ONE_US_2020 + '\n[apportionment]\nmethod = "stack"\nrate_scaling = "portfolio_share"\n')
    res, det = simulate(share, pf)
    split = {r["holder_group"]: r["rate_p50"] for r in det.to_dicts()}
    assert abs(split["A"] - 0.0375) < 1e-9 and abs(split["B"] - 0.0125) < 1e-9
    assert abs(row(res)["royalties_p50"] - 50.0) < 1e-9
    flat, _ = simulate(scenario(tmp_path, ONE_US_2020, "f.toml"), pf)
    assert abs(row(flat)["royalties_p50"] - 100.0) < 1e-9
    inv = inverse(share, pf).to_dicts()[0]  # 30% = r x (0.75 + 0.25) -> r = 30%
    assert abs(inv["required_avg_rate"] - 0.30) < 1e-9


@pytest.mark.parametrize("bad,message", [
    ('\n[monte_carlo]\nsamples = 0\n', "monte_carlo.samples: Input should be greater than or equal to 1"),
    ('\n[monte_carlo]\nsamples = -5\n', "monte_carlo.samples"),
    ('\n[monte_carlo]\nsamples = 100000000000\n', "monte_carlo.samples"),
    ('\n[apportionment]\nmethod = "stack"\nrate_scaling = "per_family"\n', "apportionment.rate_scaling: Input should be 'flat' or 'portfolio_share'"),
])
def test_bad_monte_carlo_and_scaling_keys(tmp_path, bad, message):
    base = ('[scenario]\nyears = [2020, 2021]\n[rates]\nunlicensed = {percent = 0.05}\nlicensed = {percent = 0.02}\n'
            '[[exporter]]\nid = "E"\nsegments = ["sintered"]\nsource = "x"\nsales = [{market = "US", year = 2020, value = 1}]\n')
    p = tmp_path / "bad.toml"
    p.write_text(base + bad, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_scenario(p)
    assert str(e.value).startswith(f"{p}:") and message in str(e.value)


@pytest.mark.parametrize("bad,message", [
    ('[rates]\nunlicensed = {percent = nan}\nlicensed = {percent = 0.02}\n', "rates.unlicensed.percent: expected finite numbers"),
    ('[rates]\nunlicensed = {percent = 0.05}\nlicensed = {per_kg = inf}\n', "rates.licensed.per_kg: expected finite numbers"),
    ('[rates]\nunlicensed = {percent = 0.05}\nlicensed = {percent = 0.02}\n[[licence]]\nid = "L"\nlicensor_group = "A"\n'
     'licensee = "E"\nstart = "2020-05-01"\nend = "2019-01-01"\nsource = "x"\n', "licence[1].end: expected a date on or after start 2020-05-01"),
])
def test_nan_rates_and_backwards_licences_are_refused(tmp_path, bad, message):
    base = '[scenario]\nyears = [2020, 2021]\n'
    tail = '[[exporter]]\nid = "E"\nsegments = ["sintered"]\nsource = "x"\nsales = [{market = "US", year = 2020, value = 1}]\n'
    p = tmp_path / "bad.toml"
    p.write_text(base + bad + tail, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_scenario(p)
    assert str(e.value).startswith(f"{p}:") and message in str(e.value)


def test_scenario_file_reports_every_problem_with_its_line_and_the_licences_file_its_own(tmp_path):
    p = tmp_path / "two.toml"
    p.write_text('[scenario]\nyears = [2020, 2021]\nprice_per_kg = {uniform = [9, 3]}\n[rates]\n'
                 'unlicensed = {percent = 0.05, per_kg = 1}\nlicensed = {percent = 0.02}\n'
                 '[[exporter]]\nid = "E"\nsegments = ["sintered"]\nsource = "x"\nsales = [{market = "US", year = 2020, value = 1}]\n'
                 'colour = "red"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_scenario(p)
    msg = str(e.value).splitlines()
    assert f"{p}:3: scenario.price_per_kg: expected uniform = [low, high] with low <= high (got a table)" in msg
    assert f"{p}:5: rates.unlicensed: expected exactly one of percent, per_kg, lump_sum (got a table)" in msg
    assert any(line.startswith(f"{p}:12: exporter[1].colour: unknown key") for line in msg)
    lic = tmp_path / "lic.toml"
    lic.write_text('[[licence]]\nid = "L"\nlicensor_group = "A"\nlicensee = "E"\nsource = "x"\nrate = {percent = 2}\n',
                   encoding="utf-8")
    p.write_text('licences_file = "lic.toml"\n[scenario]\nyears = [2020, 2021]\n[rates]\nunlicensed = {percent = 0.05}\n'
                 'licensed = {percent = 0.02}\n[[exporter]]\nid = "E"\nsegments = ["sintered"]\nsource = "x"\n'
                 'sales = [{market = "US", year = 2020, value = 1}]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{re.escape(str(lic))}:6: licence\[1\]\.rate\.percent: expected values between"):
        load_scenario(p)
