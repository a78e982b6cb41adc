"""Benchmark (not a test): a child table's key held by a DuckDB index (the schema before migration
0020_child_keys) against no index plus the save path's check (warehouse.save.require_keys).
Every row is SYNTHETIC (citation-shaped: 10 cited numbers per citing US-9xxxxxx).

    python benchmarks/child_keys.py                 # 10M citation rows
    python benchmarks/child_keys.py --rows 1000000

Each variant inserts the same staged rows into a fresh warehouse file in one transaction and
commits; printed: insert, commit and total seconds, the file size, peak RSS of the variant's
process, and the ratio to the indexed schema.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_variant(variant: str, rows: int, folder: Path) -> dict[str, float]:
    import duckdb

    from patentscope.warehouse import migrations, save

    path = folder / f"{variant}.duckdb"
    con = duckdb.connect(str(path))
    chosen = [m for m in migrations.builtin_migrations() if variant == "check" or m.name < "0020"]
    migrations.apply(con, chosen)
    con.execute(f"""CREATE TEMP TABLE staged AS
        SELECT 'US-' || (9000000 + i // 10)::VARCHAR AS citing_pub_key,
               'US ' || (i * 7919 % 50000000)::VARCHAR AS cited_as_written,
               'US-' || (i * 7919 % 50000000)::VARCHAR AS cited_pub_key, 1990 + i % 30 AS cited_year,
               'bulk' AS source
        FROM range({rows}) t(i)""").fetchall()
    cols = "citing_pub_key, cited_as_written, cited_pub_key, cited_year, source"
    t0 = time.perf_counter()
    con.execute("BEGIN").fetchall()
    if variant == "check":
        save.require_keys(con, "citations", "staged", compare=False)
        order = ""
    else:  # key order: the faster way to fill an indexed table (save._key_order)
        order = "ORDER BY citing_pub_key, cited_as_written, source"
    t_check = time.perf_counter()
    con.execute(f"INSERT INTO citations ({cols}) SELECT {cols} FROM staged {order}").fetchall()
    t1 = time.perf_counter()
    con.execute("COMMIT").fetchall()
    t2 = time.perf_counter()
    con.close()
    return {"check": round(t_check - t0, 2), "insert": round(t1 - t_check, 2), "commit": round(t2 - t1, 2),
            "total": round(t2 - t0, 2), "file_mb": round(path.stat().st_size / 2**20),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--variant", choices=("index", "check"), help=argparse.SUPPRESS)  # the child process
    ap.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.rows, args.dir)))
        return
    with tempfile.TemporaryDirectory(prefix="patentscope-child-keys-") as d:
        out = {}
        for variant in ("index", "check"):  # each in a fresh process: peak RSS is its own
            res = subprocess.run([sys.executable, __file__, "--variant", variant, "--rows", str(args.rows), "--dir", d],
                                 check=True, capture_output=True, text=True, env={**os.environ})
            out[variant] = json.loads(res.stdout.strip().splitlines()[-1])
    print(f"SYNTHETIC citation rows: {args.rows:,}; {os.cpu_count()} cores")
    print(f"{'variant':<34}{'check s':>9}{'insert s':>10}{'commit s':>10}{'total s':>9}{'file MB':>9}{'peak MB':>9}")
    names = {"index": "PRIMARY KEY index (0019 schema)", "check": "no index + require_keys (0020)"}
    for v, r in out.items():
        print(f"{names[v]:<34}{r['check']:>9}{r['insert']:>10}{r['commit']:>10}{r['total']:>9}{r['file_mb']:>9}"
              f"{r['peak_mb']:>9}")
    i, c = out["index"], out["check"]
    print(f"ratio check / index: time {c['total'] / i['total']:.2f}, file {c['file_mb'] / max(i['file_mb'], 1):.2f}, "
          f"peak memory {c['peak_mb'] / i['peak_mb']:.2f}")


if __name__ == "__main__":
    main()
