"""SYNTHETIC benchmark of the royalty model (issue 18 item 6): the shipped example scenario
(base + three rate variants, sensitivity, inverse; 2,000 samples) on a portfolio shaped like N
SYNTHETIC publications (N/2 families; max(40, N/30) holder groups Zipf-distributed, about the
number of distinct groups the end-to-end SYNTHETIC warehouse has: 311 at 10k; US/EP/JP/CN/KR,
1-2 segments each, in force from grant for 17-20 years), then the same with a binding cap
(--cap) to time the water-fill. No patent facts.

    python benchmarks/royalty_mc.py [N] [--cap]     # default 100000
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from dataclasses import replace
from importlib import resources
from pathlib import Path

import polars as pl

from patentscope.metrics import royalty


def synthetic_portfolio(n: int, seed: int = 1) -> pl.DataFrame:
    rnd = random.Random(seed)
    ng = max(40, n // 30)
    groups = [f"Synthetic Holder {k:04d} Co., Ltd." for k in range(ng)]
    weights = [1 / (k + 1) for k in range(ng)]
    segs = ["sintered", "grain_boundary_diffusion", "alloy_composition", "bonded", "hot_deformed"]
    rows = []
    for i in range(n):
        g = rnd.choices(groups, weights=weights)[0]
        jur = rnd.choice(["US", "EP", "JP", "CN", "KR"])
        grant = dt.date(1995, 1, 1) + dt.timedelta(days=rnd.randrange(0, 30 * 365))
        end = grant + dt.timedelta(days=rnd.randrange(17 * 365, 20 * 365))
        for s in rnd.sample(segs, rnd.choice([1, 1, 2])):
            rows.append({"family_id": f"SYNF{i // 2}", "holder_group": g, "jurisdiction": jur, "segment": s,
                         "in_force_from": grant, "in_force_to": end, "weight": 1.0})
    return pl.DataFrame(rows)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 100_000
    pf = synthetic_portfolio(n)
    sc = royalty.load_scenario(Path(str(resources.files("patentscope").joinpath("data/royalty/example_scenario.toml"))))
    if "--cap" in sys.argv:
        sc = replace(sc, apportionment="cap", cap=royalty.Dist("uniform", (0.05, 0.15), "apportionment.cap"))
    t0, c0 = time.perf_counter(), time.process_time()
    pf2 = royalty.expand_ep(pf, sc.ep_validated_in)
    rows = royalty.blocking(sc, pf2)
    for _name, v in royalty.variants(sc):
        royalty.simulate(v, None, rows=rows)
    royalty.sensitivity(sc, None, rows=rows)
    royalty.inverse(sc, None, rows=rows)
    print(f"SYNTHETIC royalty model: publications={n} apportionment={sc.apportionment} portfolio_rows={pf2.height} "
          f"pieces={len(rows.row)} samples={sc.samples} "
          f"wall_s={time.perf_counter() - t0:.2f} cpu_s={time.process_time() - c0:.2f}")


if __name__ == "__main__":
    main()
