"""Report size and build time on SYNTHETIC warehouses (not a test).

    python benchmarks/report_size.py                 # 10k and 100k publications
    python benchmarks/report_size.py --sizes 3000

Every record is SYNTHETIC (patentscope.testing.synthetic). Prints, per size: the time to build
the warehouse, to analyze it, to write the report, and the report's size in bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from patentscope.analyze import analyze
from patentscope.landscape import load_landscape
from patentscope.report import write_report
from patentscope.testing.synthetic import build_warehouse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = ap.parse_args()
    land = load_landscape()
    print("SYNTHETIC warehouses; times in seconds")
    print(f"{'publications':>12} {'build':>7} {'analyze':>8} {'report':>7} {'report bytes':>13}  analyze steps")
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="patentscope-bench-synthetic-") as d:
            wh = Path(d) / "w.duckdb"
            t0 = time.perf_counter()
            build_warehouse(wh, n, seed=1)
            t1 = time.perf_counter()
            steps = analyze(wh, at=dt.date(2026, 11, 28), today=dt.date(2026, 11, 28))
            t2 = time.perf_counter()
            out = write_report(wh, land, Path(d) / "report.html")
            t3 = time.perf_counter()
            per_step = " ".join(f"{k}={v['seconds']:.1f}" for k, v in steps.items())
            print(f"{n:>12,} {t1 - t0:>7.1f} {t2 - t1:>8.1f} {t3 - t2:>7.1f} {out.stat().st_size:>13,}  {per_step}", flush=True)


if __name__ == "__main__":
    main()
