"""Benchmark (not a test): landing a SYNTHETIC BigQuery-shaped result vs a bare DuckDB read.

Writes the three result tables of the landscape script (``ps_publications``, ``ps_citations``,
``ps_families``, the exact columns and nested types the script produces) as Parquet, filled
with SYNTHETIC rows (publication numbers US-9xxxxxxx-A, no real record), then times

1. the bare read: DuckDB creating tables from the same Parquet files (``CREATE TABLE AS
   SELECT ... FROM read_parquet``) in a fresh database file;
2. the keyed read: the same into tables with a primary key (publication number; citing and
   cited number), the floor of any landing into the warehouse, whose tables all carry one;
3. the landing: ``patentscope ingest bigquery --from-export`` (staged, mapped in SQL, saved in
   one transaction) into a fresh warehouse, with its time per step.

    python benchmarks/bigquery_landing.py --publications 100000 --edges 1000000
    python benchmarks/bigquery_landing.py                   # 1M publications, 10M edges (about 10 GB of RAM)

Prints the times, rows per second, the ratio landing / bare read (the goal is 1.3) and where
the landing's time goes. Figures: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def synthetic_tables(n_pubs: int, n_edges: int, seed: int = 17) -> dict[str, pa.Table]:
    """SYNTHETIC result tables of the script's shape (see patentscope/sources/bigquery_sql.py)."""
    rng = np.random.default_rng(seed)
    idx = np.arange(n_pubs)
    numbers = [f"US-{90000000 + i}-A" for i in idx]
    fam = (idx // 3).astype(str)
    pub_date = 19900101 + (idx % 30) * 10000 + (idx % 12) * 100 + 1
    member = rng.random(n_pubs) < 0.1
    codes = np.array(["H01F1/0577", "B22F3/16", "C22C38/005", "H02K1/27", "B22F9/04"])
    cpc = [[{"code": str(codes[i % 5]), "inventive": True, "first": True},
            {"code": str(codes[(i + 1) % 5]), "inventive": False, "first": False}] for i in idx]
    party = pa.struct([("name", pa.string()), ("country_code", pa.string())])
    pubs = pa.table({
        "publication_number": pa.array(numbers), "country_code": pa.array(["US"] * n_pubs),
        "kind_code": pa.array(["A"] * n_pubs), "application_number": pa.array([f"US-{10000000 + i}-A" for i in idx]),
        "family_id": pa.array(fam), "publication_date": pa.array(pub_date, pa.int64()),
        "filing_date": pa.array(pub_date - 10000, pa.int64()), "priority_date": pa.array(pub_date - 10000, pa.int64()),
        "grant_date": pa.array(np.zeros(n_pubs, dtype=np.int64)),
        "cpc": pa.array(cpc, pa.list_(pa.struct([("code", pa.string()), ("inventive", pa.bool_()), ("first", pa.bool_())]))),
        "assignee_harmonized": pa.array([[{"name": f"SYNTHETIC HOLDER {i % 997}", "country_code": "JP"}] for i in idx],
                                        pa.list_(party)),
        "inventor_harmonized": pa.array([[{"name": f"SYNTHETIC INVENTOR {i % 5003}", "country_code": "JP"}] for i in idx],
                                        pa.list_(party)),
        "priority_claim": pa.array([[{"publication_number": "", "application_number": f"JP-{20000000 + i}-A",
                                      "filing_date": int(pub_date[i] - 10000)}] for i in idx],
                                   pa.list_(pa.struct([("publication_number", pa.string()),
                                                       ("application_number", pa.string()), ("filing_date", pa.int64())]))),
        "title": pa.array([f"SYNTHETIC sintered Nd-Fe-B magnet {i}" if m else None for i, m in zip(idx, member, strict=True)]),
        "abstract": pa.array([None] * n_pubs, pa.string()),
        "in_landscape": pa.array(member), "match_core": pa.array(member), "match_strong": pa.array(member),
        "match_context": pa.array(np.zeros(n_pubs, dtype=bool)), "in_landscape_family": pa.array(member),
    })
    citing = rng.integers(0, n_pubs, n_edges)
    cited = rng.integers(0, n_pubs, n_edges)
    cites = pa.table({
        "citing_publication_number": pa.array(np.array(numbers, dtype=object)[citing]),
        "citing_publication_date": pa.array(pub_date[citing], pa.int64()),
        "cited_publication_number": pa.array(np.array(numbers, dtype=object)[cited]),
        "cited_application_number": pa.array([""] * n_edges), "npl_text": pa.array([""] * n_edges),
        "type": pa.array(["SEA"] * n_edges), "category": pa.array(["X"] * n_edges),
        "cited_filing_date": pa.array(np.zeros(n_edges, dtype=np.int64)),
        "backward": pa.array(np.ones(n_edges, dtype=bool)), "forward": pa.array(np.zeros(n_edges, dtype=bool)),
    })
    fam_ids = np.unique(fam)
    fams = pa.table({
        "family_id": pa.array(fam_ids), "earliest_priority_date": pa.array(np.full(len(fam_ids), 19890101), pa.int64()),
        "members": pa.array([[numbers[int(f) * 3 + k] for k in range(3) if int(f) * 3 + k < n_pubs] for f in fam_ids]),
        "offices": pa.array([["US"]] * len(fam_ids)),
        "assignees_harmonized": pa.array([[f"SYNTHETIC HOLDER {int(f) % 997}"] for f in fam_ids]),
        "in_landscape": pa.array(np.zeros(len(fam_ids), dtype=bool)),
    })
    return {"publications": pubs, "citations": cites, "families": fams}


def keyed_read(path: Path, exp: Path) -> float:
    """The bare read into tables that carry a primary key, as the warehouse's tables do (the
    citations keyed on citing and cited number, duplicates dropped): the floor of any landing
    into the warehouse, whose child tables all have one."""
    t0 = time.perf_counter()
    con = duckdb.connect(str(path))
    for part, key in (("publications", "publication_number"), ("citations", "citing_publication_number, "
                                                                "cited_publication_number"), ("families", "family_id")):
        src = f"read_parquet('{exp}/ps_{part}-*.parquet')"
        con.execute(f"CREATE TABLE {part} AS SELECT * FROM {src} LIMIT 0")
        con.execute(f"ALTER TABLE {part} ADD PRIMARY KEY ({key})")
        con.execute(f"INSERT INTO {part} SELECT DISTINCT ON ({key}) * FROM {src}")
    con.close()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--publications", type=int, default=1_000_000)
    ap.add_argument("--edges", type=int, default=10_000_000)
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--baselines-only", action="store_true", help="time the two bare reads, not the landing")
    args = ap.parse_args()
    from patentscope.ingest.bigquery import ingest_export
    from patentscope.landscape import load_landscape

    with tempfile.TemporaryDirectory() as tmp:
        work = args.dir or Path(tmp)
        exp = work / "export"
        exp.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        for part, table in synthetic_tables(args.publications, args.edges).items():
            pq.write_table(table, exp / f"ps_{part}-000000000000.parquet")
        print(f"SYNTHETIC result: {args.publications:,} publications, {args.edges:,} citation edges "
              f"(generated in {time.perf_counter() - t0:.1f} s)")
        t0 = time.perf_counter()
        con = duckdb.connect(str(work / "bare.duckdb"))
        for part in ("publications", "citations", "families"):
            con.execute(f"CREATE TABLE {part} AS SELECT * FROM read_parquet('{exp}/ps_{part}-*.parquet')")
        con.close()
        bare = time.perf_counter() - t0
        print(f"bare DuckDB read of the Parquet files: {bare:.2f} s")
        keyed = keyed_read(work / "keyed.duckdb", exp)
        print(f"the same read into tables with primary keys (publication number; citing + cited number): "
              f"{keyed:.2f} s ({keyed / bare:.1f}x the bare read: what maintaining the keys' indexes costs)")
        if args.baselines_only:
            return
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        res = ingest_export(work / "wh.duckdb", exp, load_landscape(), command="benchmark", timings=timings)
        land = time.perf_counter() - t0
        rows = sum(res.counts.values())
        print(f"landing (read, normalize, save in one transaction): {land:.2f} s, {rows:,} warehouse rows, "
              f"{rows / land:,.0f} rows/s")
        print(f"ratio landing / bare read: {land / bare:.1f}x (goal 1.3x)")
        print("where the landing's time goes (s): " + ", ".join(
            f"{k} {v:.2f}" for k, v in sorted(timings.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
