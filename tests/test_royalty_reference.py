"""The royalty engine against stored results of its per-piece predecessor (issue 18 item 6).

The engine was restructured to work on columnar arrays (pieces x samples, one coefficient
matrix for percent rates, a water-fill over all rows at once). These cases pin its outputs to
the numbers the per-piece engine of commit 9852e74 gave, to 1e-12, on SYNTHETIC portfolios
(holder groups G00.., no patent records) and several scenarios: caps (binding and not),
portfolio-share scaling, lump sums, per-kg rates, sales in tonnes valued at a drawn price,
refusals, licences counted by day, compulsory licences for one group and for every group, an
exporter's own group, and the shipped example scenario with its licensor and refusing holder
mapped onto SYNTHETIC groups.

    python tests/test_royalty_reference.py --write   # regenerate tests/fixtures/royalty_reference.json.gz
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
import random
import sys
import textwrap
from dataclasses import replace
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from patentscope.metrics.royalty import expand_ep, inverse, load_scenario, sensitivity, simulate, variants

FIXTURE = Path(__file__).parent / "fixtures" / "royalty_reference.json.gz"
TOL = 1e-12


def synthetic_portfolio(n_families: int = 160, n_groups: int = 12, seed: int = 3) -> pl.DataFrame:
    """SYNTHETIC: families of groups G00.. in US/DE/JP/CN/EP, 1-2 segments, in force 15-20 years
    from a date in 2000-2022 (some open-ended, some with mid-year expiries), weights 1 or 1/2."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n_families):
        g = f"G{min(int(rnd.paretovariate(1.2)) - 1, n_groups - 1):02d}"
        jur = rnd.choice(["US", "DE", "JP", "CN", "EP"])
        start = dt.date(2000, 1, 1) + dt.timedelta(days=rnd.randrange(0, 23 * 365))
        end = None if rnd.random() < 0.1 else start + dt.timedelta(days=rnd.randrange(15 * 365, 20 * 365))
        w = rnd.choice([1.0, 1.0, 0.5])
        for s in rnd.sample(["sintered", "grain_boundary_diffusion", "bonded"], rnd.choice([1, 1, 2])):
            rows.append({"family_id": f"SYN{i}", "holder_group": g, "jurisdiction": jur, "segment": s,
                         "in_force_from": None if rnd.random() < 0.05 else start, "in_force_to": end, "weight": w})
    return pl.DataFrame(rows, schema={"family_id": pl.Utf8, "holder_group": pl.Utf8, "jurisdiction": pl.Utf8,
                                      "segment": pl.Utf8, "in_force_from": pl.Date, "in_force_to": pl.Date,
                                      "weight": pl.Float64})


BASE = """
[scenario]
name = "SYNTHETIC reference"
years = [2018, 2024]
price_per_kg = {triangular = [30.0, 45.0, 70.0]}
[rates]
unlicensed = {percent = {triangular = [0.02, 0.05, 0.10]}}
licensed = {percent = {uniform = [0.01, 0.03]}}
[rates.unlicensed_by_group]
G03 = {percent = {uniform = [0.01, 0.04]}}
G04 = {per_kg = {uniform = [0.5, 2.0]}}
[portfolio]
ep_validated_in = ["DE"]
%(apportionment)s
[[licence]]
id = "L-dated"
licensor_group = "G00"
licensee = "E1"
territory = ["US", "DE"]
segments = ["sintered", "grain_boundary_diffusion"]
start = "2019-03-01"
end = "2022-09-30"
rate = {percent = {triangular = [0.005, 0.01, 0.02]}}
source = "SYNTHETIC"
[[licence]]
id = "L-norate"
licensor_group = "G01"
licensee = "E1"
start = "2020-07-15"
source = "SYNTHETIC"
[[licence]]
id = "L-lump"
licensor_group = "G02"
licensee = "E2"
territory = ["US", "JP"]
start = "2019-01-01"
end = "2023-12-31"
rate = {lump_sum = {uniform = [50000.0, 150000.0]}}
source = "SYNTHETIC"
[[licence]]
id = "L-kg"
licensor_group = "G05"
licensee = "E2"
rate = {per_kg = {fixed = 1.25}}
source = "SYNTHETIC"
[[refusal]]
holder_group = "G06"
markets = ["US", "DE"]
exclusion_probability = {US = {uniform = [0.1, 0.5]}, DE = 0.2}
source = "SYNTHETIC"
[[compulsory]]
holder_group = "*"
market = "CN"
rate = {percent = 0.01}
start = "2020-04-23"
end = "2022-06-30"
source = "SYNTHETIC"
[[compulsory]]
holder_group = "G01"
market = "JP"
rate = {percent = {uniform = [0.005, 0.015]}}
start = "2021-02-01"
source = "SYNTHETIC"
[[exporter]]
id = "E1"
segments = ["sintered", "grain_boundary_diffusion"]
licences = ["L-dated", "L-norate"]
source = "SYNTHETIC"
sales_each_year = {years = [2018, 2024], tonnes = {US = 40.0, DE = 25.0, CN = 10.0}}
[[exporter]]
id = "E2"
holder_group = "G07"
segments = ["sintered", "bonded"]
licences = ["L-lump", "L-kg"]
source = "SYNTHETIC"
sales = [{market = "US", year = 2019, value = 2000000.0}, {market = "US", year = 2020, value = 2500000.0, tonnes = 50.0},
         {market = "JP", year = 2020, value = 1000000.0}, {market = "JP", year = 2021, value = 0.0},
         {market = "CN", year = 2021, value = 500000.0}, {market = "DE", year = 2022, tonnes = 12.0},
         {market = "US", year = 2023, value = 1800000.0}, {market = "JP", year = 2024, value = 900000.0}]
[[variant]]
name = "high"
unlicensed = {percent = {triangular = [0.10, 0.20, 0.30]}}
note = "SYNTHETIC"
[[variant]]
name = "kg"
unlicensed = {per_kg = {uniform = [1.0, 3.0]}}
licensed = {percent = 0.02}
note = "SYNTHETIC"
[monte_carlo]
samples = 301
seed = 11
"""

APPORTIONMENTS = {
    "stack": '[apportionment]\nmethod = "stack"',
    "stack_share": '[apportionment]\nmethod = "stack"\nrate_scaling = "portfolio_share"',
    "cap": '[apportionment]\nmethod = "cap"\ncap = {uniform = [0.04, 0.12]}',
    "cap_loose": '[apportionment]\nmethod = "cap"\ncap = 0.9',
    "cap_share": '[apportionment]\nmethod = "cap"\ncap = {triangular = [0.03, 0.06, 0.10]}\nrate_scaling = "portfolio_share"',
}


def cases(tmp: Path) -> dict[str, tuple[object, pl.DataFrame]]:
    pf = synthetic_portfolio()
    out: dict[str, tuple[object, pl.DataFrame]] = {}
    for name, app in APPORTIONMENTS.items():
        p = tmp / f"{name}.toml"
        p.write_text(textwrap.dedent(BASE) % {"apportionment": app}, encoding="utf-8")
        sc = load_scenario(p)
        out[name] = (sc, expand_ep(pf, sc.ep_validated_in))
    ex = load_scenario(Path(str(resources.files("patentscope").joinpath("data/royalty/example_scenario.toml"))))
    ex = replace(ex, samples=257,
                 licences={k: replace(v, licensor_group="G00") for k, v in ex.licences.items()},
                 refusals=tuple(replace(r, holder_group="G01") for r in ex.refusals))
    big = synthetic_portfolio(n_families=200, n_groups=30, seed=5).with_columns(
        pl.col("segment").replace({"bonded": "alloy_composition"}),
        pl.col("jurisdiction").replace({"JP": "KR"}))
    out["example"] = (ex, expand_ep(big, ex.ep_validated_in))
    return out


def outputs(sc, pf: pl.DataFrame) -> dict[str, pl.DataFrame]:
    frames = {}
    for vname, v in variants(sc):
        res, det = simulate(v, pf)
        frames[f"results/{vname}"] = res
        frames[f"detail/{vname}"] = det
    frames["sensitivity"] = sensitivity(sc, pf)
    frames["inverse"] = inverse(sc, pf)
    return frames


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= TOL * max(1.0, abs(a), abs(b))
    return a == b


@pytest.fixture(scope="module")
def stored():
    return json.loads(gzip.decompress(FIXTURE.read_bytes()))


@pytest.mark.parametrize("case", [*APPORTIONMENTS, "example"])
def test_engine_reproduces_the_per_piece_engine(case, stored, tmp_path):
    sc, pf = cases(tmp_path)[case]
    got = outputs(sc, pf)
    want = stored[case]
    assert sorted(got) == sorted(want)
    for key, frame in got.items():
        rows, wrows = frame.to_dicts(), want[key]["rows"]
        assert list(frame.columns) == want[key]["columns"], key
        assert len(rows) == len(wrows), key
        if key == "sensitivity":  # sorted by swing: swings equal to rounding (0 vs 1e-17) may come in either order
            rows, wrows = sorted(rows, key=lambda r: (r["exporter"], r["quantity"])), sorted(wrows, key=lambda r: (r[0], r[1]))
        for i, (g, w) in enumerate(zip(rows, wrows, strict=True)):
            bad = {c: (g[c], w[j]) for j, c in enumerate(frame.columns) if not _close(g[c], w[j])}
            assert not bad, f"{case} {key} row {i}: {bad}"


def test_reference_cases_exercise_every_status_and_basis(stored):
    """The stored cases are not vacuous: every status occurs, the caps bind in some samples,
    and some burdens differ between the rate variants."""
    statuses = {r[4] for c in stored.values() for k, f in c.items() if k.startswith("detail/") for r in f["rows"]}
    assert statuses == {"licensed", "unlicensed", "refused", "compulsory"}
    base, high = stored["cap"]["results/base"]["rows"], stored["cap"]["results/high"]["rows"]
    assert any(b[14] < h[14] for b, h in zip(base, high, strict=True))  # burden_p95
    stack, cap = stored["stack"]["results/base"]["rows"], stored["cap"]["results/base"]["rows"]
    assert any(c[13] < s[13] - 1e-6 for s, c in zip(stack, cap, strict=True))  # the cap binds (burden_p50)


def write() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        data = {}
        for name, (sc, pf) in cases(Path(d)).items():
            data[name] = {k: {"columns": list(f.columns), "rows": [list(r) for r in f.iter_rows()]}
                          for k, f in outputs(sc, pf).items()}
    FIXTURE.write_bytes(gzip.compress(json.dumps(data, separators=(",", ":")).encode(), mtime=0))
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size:,} bytes)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()


@pytest.mark.parametrize("seed", range(6))
def test_closed_form_cap_equals_the_water_fill(seed):
    """Rows whose pieces all carry one percent quantity are capped in closed form; on random
    rows (ties in a/w, zero weights, zero charges, a row whose weights are all zero, caps that
    bind in some samples only) it gives the water-fill's charges to 1e-12."""
    from types import SimpleNamespace

    import numpy as np

    from patentscope.metrics.royalty.engine import _cap_one_quantity, waterfill

    rng = np.random.default_rng(seed)
    sizes = [1, 2, 5, 17, 40, 3]
    rows = np.repeat(np.arange(len(sizes)), sizes)
    npc, n = len(rows), 300
    coverage = rng.choice([0.0, 0.25, 0.5, 1.0, 1.0], npc)
    weight = rng.choice([0.0, 0.5, 1.0, 1.0, 2.0, 3.0], npc)
    weight[rows == 5] = 0.0  # all zero: split equally
    scale = coverage * rng.choice([1.0, 1.0, 0.5], npc)
    draws = rng.uniform(0.0, 0.2, (1, n))
    cap = rng.uniform(0.02, 0.4, n)
    b = SimpleNamespace(row=rows, coverage=coverage, weight=weight)
    idx = np.arange(npc)
    agg, p50 = np.zeros((len(sizes), n)), np.zeros(npc)
    left = _cap_one_quantity(b, idx, np.zeros(npc, dtype=np.int64), np.zeros(npc, dtype=np.int64), scale, draws, cap, agg, p50)
    assert len(left) == 0
    own = scale[:, None] * draws[0][None, :]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    want = waterfill(own, coverage * weight, cap, starts)
    assert np.abs(np.add.reduceat(want, starts, axis=0) - agg).max() < 1e-12
    assert np.abs(np.median(want, axis=1) - p50).max() < 1e-12
    assert (np.add.reduceat(own, starts, axis=0) > cap).any() and (np.add.reduceat(own, starts, axis=0) <= cap).any()
