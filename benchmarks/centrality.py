"""Benchmark: patentscope's PageRank vs a plain SciPy CSR power iteration vs networkx.

ALL GRAPHS HERE ARE SYNTHETIC. They imitate citation networks (newer nodes cite older ones,
heavy-tailed in-degree, a citation lag of a few "years") and contain no patent data.

For each size the script

1. generates a SYNTHETIC citation DAG with E edges (node ids shuffled, as family ids are),
2. computes a tightly converged reference (plain power iteration until successive iterates
   differ by < 1e-15 in L1, or stop improving),
3. runs each method in a fresh process and reports wall time, peak resident memory of that
   process during the method (Linux VmHWM, reset after the graph is loaded; the graph's own
   arrays are included because they stay resident) and the L1 distance to the reference.

Methods:
  patentscope        patentscope.metrics.graph_sparse.pagerank, method "auto" (power warm-up,
                     then a triangular solve in the order of the strongly connected components
                     when it pays; certified stop), tol = absolute L1 error bound
  patentscope-dates  the same, given the SYNTHETIC birth times as order_key (as refresh gives
                     family dates): orders nodes inside cycles; identical on a DAG
  patentscope-power  the same function with method="power" (certified power iteration)
  patentscope-sorted the same "auto" call on the edges as metrics/citations.py passes them:
                     sorted by (cited, citing), duplicates summed into weights (the sort is
                     done before the timer, as SQL does it for refresh)
  scipy-plain        textbook SciPy CSR power iteration (networkx's _pagerank_scipy algorithm)
                     stopping when ||x_k - x_{k-1}||_1 < tol
  networkx           nx.pagerank with its defaults (tol=1e-6, stops at err < N * tol)
  networkx-tight     nx.pagerank with tol = tol / N (stops at err < tol); graph build timed apart

Usage:
  python benchmarks/centrality.py                       # 1M and 10M edges
  python benchmarks/centrality.py --edges 1000000 --alpha 0.5
  python benchmarks/centrality.py --edges 128000000 --nodes 9000000 --skip scipy-plain
  python benchmarks/centrality.py --cycle-fraction 0.001   # SYNTHETIC back-citations -> cycles
  python benchmarks/centrality.py --edges 4e7 --keep /tmp/graphs   # keep and reuse graph + reference
  python benchmarks/centrality.py --step 100000            # the whole refresh step on a SYNTHETIC
                                                           # warehouse vs SQL read + plain SciPy

Every row prints time, peak RSS and the method's own RSS, each with its ratio to scipy-plain
measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

METHODS = ["patentscope", "patentscope-dates", "patentscope-power", "patentscope-sorted", "scipy-plain",
           "networkx", "networkx-tight"]


# ----------------------------------------------------------------------------------------------
# SYNTHETIC graphs


def synthetic_citation_dag(n_edges: int, n_nodes: int, seed: int,
                           cycle_fraction: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A SYNTHETIC citation graph: (citing, cited) int32 arrays over node ids 0..n_nodes-1, and
    each node's birth time (float64).

    Node i is "born" at time i. Each edge picks a cited node j with probability proportional
    to a Lomax (Pareto II, shape 2) fitness -- heavy-tailed in-degree: at 1M edges the top 1%
    of nodes receive ~19% of citations and ~16% are never cited -- and a citing node i = j + lag, with a
    log-normal lag (median n_nodes / 60, i.e. a few "years" of a ~40-year corpus): newer cites
    older. Edges whose citing node would be born after the end are redrawn. A fraction
    ``cycle_fraction`` of edges is then reversed (older citing newer) to create cycles.
    Node ids are finally shuffled so that id order says nothing about time.
    """
    rng = np.random.default_rng(seed)
    fitness = rng.pareto(2.0, n_nodes)
    cdf = np.cumsum(fitness)
    cdf /= cdf[-1]
    src = np.empty(n_edges, dtype=np.int64)
    dst = np.empty(n_edges, dtype=np.int64)
    filled = 0
    median_lag = max(n_nodes / 60.0, 2.0)
    while filled < n_edges:
        k = int((n_edges - filled) * 1.4) + 1000
        j = np.searchsorted(cdf, rng.random(k))
        lag = np.maximum(1, rng.lognormal(np.log(median_lag), 1.0, k).astype(np.int64))
        i = j + lag
        ok = i < n_nodes
        take = min(int(ok.sum()), n_edges - filled)
        src[filled:filled + take] = i[ok][:take]
        dst[filled:filled + take] = j[ok][:take]
        filled += take
    if cycle_fraction > 0:
        flip = rng.random(n_edges) < cycle_fraction
        src[flip], dst[flip] = dst[flip].copy(), src[flip].copy()
    perm = rng.permutation(n_nodes)
    born = np.empty(n_nodes)
    born[perm] = np.arange(n_nodes, dtype=np.float64)     # node perm[i] was born at time i
    return perm[src].astype(np.int32), perm[dst].astype(np.int32), born


# ----------------------------------------------------------------------------------------------
# the whole centrality step (refresh) on a SYNTHETIC warehouse


def synthetic_warehouse(path: Path, n_families: int, per_family: float, seed: int) -> dict[str, int]:
    """Write a SYNTHETIC warehouse (office code ZZ, families SYN-F*: no patent data): families
    of 1-3 publications dated over 40 "years", a citation DAG between families from
    :func:`synthetic_citation_dag` (each citation from a random member to a random member),
    10% extra citations to numbers outside the warehouse and 1% unreadable references."""
    import duckdb
    import polars as pl

    from patentscope.warehouse import migrations
    from patentscope.warehouse.connection import create

    rng = np.random.default_rng(seed)
    size = 1 + (rng.random(n_families) < 0.3) + (rng.random(n_families) < 0.1)
    fam_of = np.repeat(np.arange(n_families), size)
    n_pubs = int(fam_of.size)
    first = np.concatenate(([0], np.cumsum(size)[:-1]))
    n_edges = int(n_families * per_family)
    src, dst, born = synthetic_citation_dag(n_edges, n_families, seed)
    day0 = np.datetime64("1980-01-01")
    fam_day = (born / n_families * 40 * 365.25).astype(np.int64)
    pub_day = fam_day[fam_of] + rng.integers(0, 400, n_pubs)
    pub_key = np.char.add("ZZ-", np.arange(n_pubs).astype(str))
    pubs = pl.DataFrame({
        "pub_key": pub_key,
        "family_id": np.char.add("SYN-F", fam_of.astype(str)),
        "filing_date": (day0 + pub_day.astype("timedelta64[D]")),
        "publication_date": (day0 + (pub_day + 540).astype("timedelta64[D]")),
        "in_landscape": rng.random(n_pubs) < 0.6,
    }).with_columns(
        pl.col("pub_key").alias("pub_number"), pl.col("pub_key").alias("number_as_received"),
        pl.lit("ZZ").alias("country"), pl.col("pub_key").str.slice(3).alias("doc_number"),
        pl.lit("docdb").alias("family_id_source"), pl.lit("synthetic").alias("source"),
        pl.col("filing_date").cast(pl.Date), pl.col("publication_date").cast(pl.Date),
    )
    n_ext_keys = max(n_families // 5, 1)
    keys = np.concatenate((pub_key, np.char.add("ZZ-X", np.arange(n_ext_keys).astype(str))))
    n_ext = n_edges // 10
    n_unread = n_edges // 100
    citing = np.concatenate((first[src] + rng.integers(0, size[src]), rng.integers(0, n_pubs, n_ext)))
    cited = np.concatenate((first[dst] + rng.integers(0, size[dst]), n_pubs + rng.integers(0, n_ext_keys, n_ext)))
    pair = np.unique(citing.astype(np.int64) * keys.size + cited)
    cited_key = keys[pair % keys.size]
    cits = pl.DataFrame({
        "citing_pub_key": keys[pair // keys.size], "cited_pub_key": cited_key, "cited_as_written": cited_key,
        "cited_year": pl.Series([None] * pair.size, dtype=pl.Int32), "source": ["synthetic"] * pair.size,
    })
    unread = pl.DataFrame({
        "citing_pub_key": pub_key[rng.integers(0, n_pubs, n_unread)],
        "cited_pub_key": pl.Series([None] * n_unread, dtype=pl.Utf8),
        "cited_as_written": np.char.add("SYNTHETIC NPL ", np.arange(n_unread).astype(str)),
        "cited_year": pl.Series([None] * n_unread, dtype=pl.Int32),
        "source": ["synthetic"] * n_unread,
    })
    cits = pl.concat([cits, unread])
    if path.exists():
        path.unlink()
    create(path, setup=migrations.apply)
    con = duckdb.connect(str(path))
    con.register("p", pubs.to_arrow())
    con.execute("INSERT INTO publications BY NAME SELECT * FROM p")
    con.register("c", cits.to_arrow())
    con.execute("INSERT INTO citations BY NAME SELECT * FROM c")
    con.execute("CHECKPOINT")
    con.close()
    return {"families": n_families, "publications": n_pubs, "citations": cits.height}


# ----------------------------------------------------------------------------------------------
# methods (run in a worker process)


def plain_scipy_pagerank(n: int, src: np.ndarray, dst: np.ndarray, alpha: float, tol: float,
                         max_iter: int = 100_000, weight: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Textbook SciPy CSR power iteration (the algorithm of networkx's _pagerank_scipy), with
    an absolute L1 stop on successive iterates."""
    import scipy.sparse as sp

    a = sp.csr_array((np.ones(src.shape[0]) if weight is None else weight, (src, dst)), shape=(n, n))
    s = np.asarray(a.sum(axis=1)).ravel()
    inv = np.zeros(n)
    inv[s != 0] = 1.0 / s[s != 0]
    a = sp.dia_array((inv[None, :], [0]), shape=(n, n)).tocsr() @ a
    x = np.full(n, 1.0 / n)
    p = np.full(n, 1.0 / n)
    dangling = np.flatnonzero(s == 0)
    for it in range(1, max_iter + 1):
        last = x
        x = alpha * (x @ a + x[dangling].sum() * p) + (1 - alpha) * p
        if np.abs(x - last).sum() < tol:
            return x, it
    return x, max_iter


def reference_pagerank(n: int, src: np.ndarray, dst: np.ndarray, alpha: float) -> tuple[np.ndarray, int, float]:
    """Plain power iteration run until ||x_k - x_{k-1}||_1 < 1e-15 or it stops improving."""
    import scipy.sparse as sp

    outw = np.bincount(src, minlength=n).astype(np.float64)
    vals = 1.0 / outw[src]
    pt = sp.csr_array((alpha * vals, (dst, src)), shape=(n, n))
    dang = np.flatnonzero(outw == 0)
    x = np.full(n, 1.0 / n)
    best, stale, it, diff = np.inf, 0, 0, np.inf
    while it < 20_000:
        it += 1
        xn = pt @ x + (alpha * x[dang].sum() + 1 - alpha) / n
        diff = float(np.abs(xn - x).sum())
        x = xn
        if diff < 1e-15:
            break
        if diff < best * 0.999:
            best, stale = diff, 0
        else:
            stale += 1
            if stale >= 30:
                break
    return x / x.sum(), it, diff * alpha / (1 - alpha)


def _status(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return -1


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def sorted_weighted(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct edges sorted by (dst, src), int32, with their multiplicities as float64."""
    key = np.sort(dst.astype(np.int64) << 32 | src.astype(np.int64))
    first = np.empty(key.size, dtype=bool)
    first[:1] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    w = np.diff(np.append(starts, key.size)).astype(np.float64)
    u = key[starts]
    return (u & 0xFFFFFFFF).astype(np.int32), (u >> 32).astype(np.int32), w


def worker(method: str, folder: Path, n: int, alpha: float, tol: float) -> dict[str, object]:
    if method == "patentscope-sorted":
        src, dst, w = sorted_weighted(np.load(folder / "src.npy"), np.load(folder / "dst.npy"))
    else:
        src = np.load(folder / "src.npy")
        dst = np.load(folder / "dst.npy")
    import gc

    from patentscope.metrics import graph_sparse as gs

    gc.collect()
    rss_loaded = _status("VmRSS")
    reset = _reset_peak()
    out: dict[str, object] = {"method": method}
    t0 = time.perf_counter()
    if method == "patentscope":
        r = gs.pagerank(n, src, dst, alpha=alpha, tol=tol)
        x, out["iterations"], out["error_bound"], out["detail"] = r.scores, r.iterations, r.error_bound, r.method
        out["back_edges"] = r.back_edges
    elif method == "patentscope-dates":
        born = np.load(folder / "born.npy")
        r = gs.pagerank(n, src, dst, alpha=alpha, tol=tol, order_key=born)
        x, out["iterations"], out["error_bound"], out["detail"] = r.scores, r.iterations, r.error_bound, r.method
        out["back_edges"] = r.back_edges
    elif method == "patentscope-sorted":
        r = gs.pagerank(n, src, dst, w, alpha=alpha, tol=tol)
        x, out["iterations"], out["error_bound"], out["detail"] = r.scores, r.iterations, r.error_bound, r.method
    elif method == "patentscope-power":
        r = gs.pagerank(n, src, dst, alpha=alpha, tol=tol, method="power")
        x, out["iterations"], out["error_bound"], out["detail"] = r.scores, r.iterations, r.error_bound, r.method
    elif method == "scipy-plain":
        x, out["iterations"] = plain_scipy_pagerank(n, src, dst, alpha, tol)
    elif method == "reference":
        x, out["iterations"], out["error_bound"] = reference_pagerank(n, src, dst, alpha)
    elif method in ("networkx", "networkx-tight"):
        import networkx as nx
        import scipy.sparse as sp

        a = sp.coo_array((np.ones(src.shape[0]), (src, dst)), shape=(n, n)).tocsr().tocoo()  # multi-edges summed
        g = nx.DiGraph()
        g.add_nodes_from(range(n))
        g.add_weighted_edges_from(zip(a.row.tolist(), a.col.tolist(), a.data.tolist(), strict=True))
        del a
        out["build_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        kw = {} if method == "networkx" else {"tol": tol / n, "max_iter": 100_000}
        pr = nx.pagerank(g, alpha=alpha, weight="weight", **kw)
        x = np.fromiter((pr[i] for i in range(n)), dtype=np.float64, count=n)
    else:
        raise SystemExit(f"unknown method {method}")
    out["seconds"] = time.perf_counter() - t0
    out["peak_rss_bytes"] = _status("VmHWM")
    out["peak_rss_is_method_only"] = reset
    out["rss_after_load_bytes"] = rss_loaded
    np.save(folder / f"x_{method}.npy", x)
    return out


STEP_BASELINE_SQL = """
WITH e AS (
    SELECT coalesce(a.family_id, 'PUB:' || c.citing_pub_key) AS src, coalesce(b.family_id, 'PUB:' || c.cited_pub_key) AS dst,
           count(DISTINCT (c.citing_pub_key, c.cited_pub_key)) AS w
    FROM citations c LEFT JOIN publications a ON a.pub_key = c.citing_pub_key
    LEFT JOIN publications b ON b.pub_key = c.cited_pub_key
    WHERE c.cited_pub_key IS NOT NULL GROUP BY ALL HAVING src <> dst),
k AS (SELECT family_id AS k FROM publications UNION SELECT src FROM e UNION SELECT dst FROM e),
ids AS (SELECT k, (row_number() OVER (ORDER BY k) - 1)::INTEGER AS id FROM k)
SELECT i.id AS s, j.id AS d, e.w::DOUBLE AS w, (SELECT count(*) FROM ids) AS n
FROM e JOIN ids i ON i.k = e.src JOIN ids j ON j.k = e.dst
"""


def step_worker(method: str, warehouse: Path) -> dict[str, object]:
    """One run of the whole centrality step (``refresh``) or of its baseline (the family edges
    read by one DuckDB query, then the plain SciPy power iteration), in this fresh process."""
    import gc

    import duckdb

    from patentscope.metrics import citations as C

    gc.collect()
    _reset_peak()
    rss0 = _status("VmRSS")
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    out: dict[str, object] = {"method": method}
    if method == "step":
        con = duckdb.connect(str(warehouse))
        st = C.refresh(con)
        con.close()
        out.update(families=st.n_families, edges=st.n_edges, pagerank_method=st.pagerank_method,
                   pagerank_iterations=st.pagerank_iterations, hits_iterations=st.hits_iterations)
    else:
        con = duckdb.connect(str(warehouse), read_only=True)
        r = con.sql(STEP_BASELINE_SQL).fetchnumpy()
        con.close()
        n = int(r["n"][0]) if r["n"].size else 0
        out["read_seconds"] = time.perf_counter() - t0
        x, out["iterations"] = plain_scipy_pagerank(n, r["s"], r["d"], C.ALPHA, C.TOL, weight=r["w"])
        out.update(families=n, edges=int(r["s"].size))
    out["seconds"] = time.perf_counter() - t0
    out["cpu_seconds"] = time.process_time() - cpu0
    out["peak_rss_bytes"] = _status("VmHWM")
    out["rss_before_bytes"] = rss0
    return out


def run_step(args: argparse.Namespace) -> list[dict[str, object]]:
    results = []
    for fams in args.step:
        folder = args.keep or Path(tempfile.mkdtemp(prefix="patentscope-bench-synthetic-"))
        folder.mkdir(parents=True, exist_ok=True)
        wh = folder / f"SYNTHETIC-centrality-{fams}-{args.citations_per_family:g}-{args.seed}.duckdb"
        if not wh.exists():
            t = time.perf_counter()
            info = synthetic_warehouse(wh, fams, args.citations_per_family, args.seed)
            print(f"SYNTHETIC warehouse {wh.name}: {info} ({time.perf_counter() - t:.1f} s)", flush=True)
        rows = []
        for m in ("step", "baseline"):
            runs = []
            for _ in range(max(args.repeat, 1)):
                cmd = [sys.executable, __file__, "--step-worker", m, "--dir", str(wh)]
                env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
                p = subprocess.run(cmd, capture_output=True, text=True, env=env)
                if p.returncode:
                    raise SystemExit(f"{m} failed: {p.stderr.strip()[-2000:]}")
                runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
            r = dict(runs[-1])
            r["seconds"] = float(np.median([float(x["seconds"]) for x in runs]))
            r["cpu_seconds"] = float(np.median([float(x["cpu_seconds"]) for x in runs]))
            r["peak_rss_bytes"] = max(int(x["peak_rss_bytes"]) for x in runs)
            rows.append(r)
        step, base = rows
        print(f"\ncentrality step on {fams:,} SYNTHETIC families ({step['families']:,} graph families, "
              f"{step['edges']:,} family edges), median of {args.repeat} fresh-process runs:")
        print(f"{'':28} {'wall s':>8} {'CPU s':>8} {'peak RSS':>10}")
        for label, r in (("refresh (whole step)", step), ("baseline: SQL read + SciPy", base)):
            print(f"{label:28} {float(r['seconds']):8.2f} {float(r['cpu_seconds']):8.2f} {fmt_bytes(r['peak_rss_bytes']):>10}")
        ratio = {"wall": float(step["seconds"]) / float(base["seconds"]),
                 "cpu": float(step["cpu_seconds"]) / float(base["cpu_seconds"]),
                 "peak_rss": int(step["peak_rss_bytes"]) / int(base["peak_rss_bytes"])}
        print(f"{'ratio (goal <= 1.5)':28} {ratio['wall']:7.2f}x {ratio['cpu']:7.2f}x {ratio['peak_rss']:9.2f}x", flush=True)
        results.append({"step_families": fams, "step": step, "baseline": base, "ratio": ratio, "synthetic": True})
    return results


# ----------------------------------------------------------------------------------------------
# driver


def run_worker(method: str, folder: Path, n: int, alpha: float, tol: float) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--worker", method, "--dir", str(folder), "--nodes", str(n),
           "--alpha", str(alpha), "--tol", str(tol)]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        return {"method": method, "error": (p.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def fmt_bytes(b: object) -> str:
    return f"{int(b) / 2**20:,.0f} MiB" if isinstance(b, int) and b >= 0 else "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edges", type=float, nargs="+", default=[1e6, 1e7], help="edge counts (SYNTHETIC graphs)")
    ap.add_argument("--nodes", type=int, default=None, help="node count (default edges / 10)")
    ap.add_argument("--alpha", type=float, default=0.85)
    ap.add_argument("--tol", type=float, default=1e-10, help="L1 tolerance given to every method")
    ap.add_argument("--seed", type=int, default=20240607)
    ap.add_argument("--cycle-fraction", type=float, default=0.0, help="share of SYNTHETIC edges reversed to make cycles")
    ap.add_argument("--networkx-max-edges", type=float, default=1e6, help="skip networkx above this size (memory, time)")
    ap.add_argument("--skip", nargs="*", default=[], choices=METHODS)
    ap.add_argument("--repeat", type=int, default=3, help="fresh-process runs per method; median and min time reported")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--keep", type=Path, default=None,
                    help="keep the SYNTHETIC graphs and references in this folder and reuse them on the next run")
    ap.add_argument("--step", type=int, nargs="+", default=None,
                    help="instead: time the whole centrality step (refresh) on SYNTHETIC warehouses of this many families")
    ap.add_argument("--citations-per-family", type=float, default=10.0)
    ap.add_argument("--step-worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        print(json.dumps(worker(args.worker, args.dir, args.nodes, args.alpha, args.tol)))
        return
    if args.step_worker:
        print(json.dumps(step_worker(args.step_worker, args.dir)))
        return
    if args.step:
        res = run_step(args)
        if args.json:
            args.json.write_text(json.dumps(res, indent=1))
        return

    import platform

    print(f"patentscope PageRank benchmark on SYNTHETIC citation DAGs (alpha={args.alpha}, tol={args.tol:g}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()})", flush=True)
    results = []
    for e in args.edges:
        n_edges = int(e)
        n_nodes = args.nodes or max(n_edges // 10, 10)
        with contextlib.ExitStack() as stack:
            if args.keep:
                folder = args.keep / f"e{n_edges}-n{n_nodes}-s{args.seed}-c{args.cycle_fraction:g}"
                folder.mkdir(parents=True, exist_ok=True)
            else:
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="patentscope-bench-synthetic-")))
            t = time.perf_counter()
            if not (folder / "born.npy").exists():
                src, dst, born = synthetic_citation_dag(n_edges, n_nodes, args.seed, args.cycle_fraction)
                np.save(folder / "src.npy", src)
                np.save(folder / "dst.npy", dst)
                np.save(folder / "born.npy", born)
                del src, born
            else:
                dst = np.load(folder / "dst.npy")
            indeg = np.bincount(dst, minlength=n_nodes)
            del dst
            print(f"\nSYNTHETIC graph: {n_nodes:,} nodes, {n_edges:,} edges (generated or loaded in {time.perf_counter() - t:.1f} s); "
                  f"in-degree max {indeg.max():,}, top 1% of nodes receive {np.sort(indeg)[-max(n_nodes // 100, 1):].sum() / n_edges:.0%} "
                  f"of citations, {np.mean(indeg == 0):.0%} never cited", flush=True)
            ref_file = folder / f"reference-a{args.alpha:g}.json"
            if ref_file.exists() and (folder / f"x_reference-a{args.alpha:g}.npy").exists():
                ref = json.loads(ref_file.read_text())
            else:
                ref = run_worker("reference", folder, n_nodes, args.alpha, args.tol)
                if "error" in ref:
                    raise SystemExit(f"reference failed: {ref['error']}")
                os.replace(folder / "x_reference.npy", folder / f"x_reference-a{args.alpha:g}.npy")
                ref_file.write_text(json.dumps(ref))
            xref = np.load(folder / f"x_reference-a{args.alpha:g}.npy")
            print(f"reference: {ref['iterations']} power iterations, {ref['seconds']:.1f} s, "
                  f"certified L1 error <= {ref['error_bound']:.1e}", flush=True)
            rows = []
            for m in METHODS:
                if m in args.skip or (m.startswith("networkx") and n_edges > args.networkx_max_edges):
                    rows.append({"method": m, "skipped": True})
                    continue
                runs = [run_worker(m, folder, n_nodes, args.alpha, args.tol) for _ in range(max(args.repeat, 1))]
                r = next((x for x in runs if "error" in x), None) or runs[-1]
                if "error" not in r:
                    times = sorted(float(x["seconds"]) for x in runs)
                    r["seconds"] = float(np.median(times))
                    r["seconds_min"] = times[0]
                    r["seconds_all"] = times
                    r["peak_rss_bytes"] = max(int(x["peak_rss_bytes"]) for x in runs)
                    r["method_rss_bytes"] = max(int(x["peak_rss_bytes"]) - int(x["rss_after_load_bytes"]) for x in runs)
                    r["l1_to_reference"] = float(np.abs(np.load(folder / f"x_{m}.npy") - xref).sum())
                rows.append(r)
            base = next((r for r in rows if r["method"] == "scipy-plain" and "seconds" in r), None)
            print(f"{'method':18} {'median s':>9} {'min s':>7} {'vs scipy':>9} {'iters':>6} {'peak RSS':>10} {'vs scipy':>9} "
                  f"{'own RSS':>10} {'vs scipy':>9} {'L1 to ref':>10}  note")
            for r in rows:
                if r.get("skipped"):
                    print(f"{r['method']:18} {'skipped':>9}")
                    continue
                if "error" in r:
                    print(f"{r['method']:18} failed: {r['error']}")
                    continue
                ratio = f"{float(r['seconds']) / float(base['seconds']):.2f}x" if base else "-"
                mem_ratio = own_ratio = "-"
                if base:
                    r["time_vs_scipy"] = float(r["seconds"]) / float(base["seconds"])
                    r["peak_rss_vs_scipy"] = int(r["peak_rss_bytes"]) / int(base["peak_rss_bytes"])
                    r["own_rss_vs_scipy"] = int(r["method_rss_bytes"]) / max(int(base["method_rss_bytes"]), 1)
                    mem_ratio = f"{r['peak_rss_vs_scipy']:.2f}x"
                    own_ratio = f"{r['own_rss_vs_scipy']:.2f}x"
                note = []
                if "build_seconds" in r:
                    note.append(f"+{float(r['build_seconds']):.1f} s graph build")
                if "error_bound" in r:
                    note.append(f"certified <= {float(r['error_bound']):.1e}")
                if "detail" in r:
                    note.append(str(r["detail"]))
                if r.get("back_edges"):
                    note.append(f"{int(r['back_edges']):,} back edges")
                print(f"{r['method']:18} {float(r['seconds']):9.2f} {float(r['seconds_min']):7.2f} {ratio:>9} {str(r.get('iterations', '-')):>6} "
                      f"{fmt_bytes(r['peak_rss_bytes']):>10} {mem_ratio:>9} {fmt_bytes(r['method_rss_bytes']):>10} {own_ratio:>9} "
                      f"{float(r['l1_to_reference']):10.1e}  {', '.join(note)}", flush=True)
            results.append({"edges": n_edges, "nodes": n_nodes, "alpha": args.alpha, "tol": args.tol,
                            "cycle_fraction": args.cycle_fraction, "reference": ref, "methods": rows, "synthetic": True})
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(f"\n(times: median and min of {args.repeat} fresh-process runs, method call only; 'vs scipy' compares medians. "
          "peak RSS: the worker's resident-memory high-water mark while the method ran, graph arrays included; "
          "own RSS: that peak minus the resident memory just before the call (the method's own arrays))")


if __name__ == "__main__":
    main()
