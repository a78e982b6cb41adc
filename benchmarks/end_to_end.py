"""Benchmark (not a test): ingest, analyze (per step), royalty and report at 100k or 1M families,
side by side with the plainest correct baselines of issue 18. Every input is SYNTHETIC.

    nice -n 10 python benchmarks/end_to_end.py --scale 100k [--json out.json]
    nice -n 10 python benchmarks/end_to_end.py --scale 1m --steps gen,ingest,analyze,baselines

Scales: ``10k`` (a smoke run), ``100k`` = 100,000 patents (all in the landscape, one family each) and 1,000,000
citation rows; ``1m`` = 1,000,000 patents and 10,000,000 citation rows, as SYNTHETIC
PatentsView-format tables (benchmarks/synthetic_patentsview.py with every patent made
NdFeB-like, so the whole release is the landscape).

Steps (``--steps``, comma separated, in this order): ``gen`` (write the tables, reused when the
folder already holds the same scale), ``ingest`` (``ingest_bulk`` into a fresh warehouse),
``train`` (``segments train``: the classifier's cross-validation and single fit, cached in the
warehouse, which ``analyze`` then only predicts with; without this step analyze fits it),
``analyze`` (every analyze step in one process; per-step wall time, CPU time and sampled peak
RSS), ``royalty`` (the shipped example scenario, stored), ``report`` (the HTML report),
``baselines``: each in a fresh process on the analyzed warehouse,

- ``bare read``: DuckDB reading every table analyze reads into Arrow (nothing else);
- ``SQL stocks``: a hand-written DuckDB SQL for expected expiry (filing + 20 years + PTA) and the
  in-force family stock per holder group and year-end;
- ``SQL concentration``: hand-written DuckDB SQL for HHI, CR4 and Gini per year, over the stock
  and over new filings (the whole landscape only, one holder per family);
- ``SQL concentration, same cells``: one hand-written DuckDB statement for the in-force cells of
  the concentration step (four scope types, the step's years, co-owned families split, HHI, CR4,
  Gini, families with no holder shown), in force by the expiry interval alone;
- ``SciPy PageRank``: read the family citation edges, build a SciPy CSR matrix and run a plain
  power iteration (alpha 0.85, L1 tolerance 1e-10, dangling mass spread uniformly);
- ``single fit``: the segment classifier's TF-IDF + logistic-regression pipeline fitted once on
  the CPC-labelled publications (labels by SQL prefix match) and predicting the rest.

Every measured phase runs in a fresh child process; wall time is measured around it, CPU time
comes from the child's rusage (all threads, DuckDB's included) and peak RSS from its VmHWM. The
ratios printed are the issue's goal lines: each analyze step against its baseline (<= 1.5),
analyze against the bare read (<= 3), ingest + analyze + report (<= 120 s and 8 GB at 1M).
``--compare other.json`` adds time(1m)/time(100k) per step (goal <= 11).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCALES = {"10k": (10_000, 100_000), "100k": (100_000, 1_000_000), "1m": (1_000_000, 10_000_000)}
ALL_STEPS = ("gen", "ingest", "train", "analyze", "royalty", "report", "baselines")
BASELINES = ("bare_read", "sql_stocks", "sql_concentration", "sql_concentration_cells", "scipy_pagerank", "single_fit")
AT = dt.date(2026, 12, 1)
ANALYZE_READS = ("publications", "parties", "classifications", "citations", "term_inputs", "legal_events",
                 "priority_claims", "families", "holder_names")


# ---------------------------------------------------------------------------------------------
# child-side helpers


class RssSampler:
    """Samples this process's resident memory every ``every`` seconds; ``take()`` returns the
    peak since the previous ``take()`` (so an analyze step's peak is its own)."""

    def __init__(self, every: float = 0.05) -> None:
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    @staticmethod
    def rss_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss_mb())
            self._stop.wait(self.every)

    def take(self) -> float:
        p = max(self.peak, self.rss_mb())
        self.peak = 0
        return p

    def stop(self) -> None:
        self._stop.set()
        self._t.join()


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it is not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def work_ingest(wh: Path, data: Path) -> dict[str, Any]:
    from patentscope.ingest.us_bulk import ingest_bulk
    from patentscope.landscape import load_landscape

    res = ingest_bulk(wh, data / "tables", load_landscape(), command="benchmark end_to_end", release="SYNTHETIC-e2e")
    return {"counts": res.counts, "timings": res.timings}


def work_train(wh: Path, data: Path) -> dict[str, Any]:
    from patentscope.metrics.segments import train
    from patentscope.warehouse import migrations
    from patentscope.warehouse.connection import writer

    with writer(wh, command="benchmark end_to_end") as con:
        migrations.apply(con)
        return train(con)


def work_analyze(wh: Path, data: Path) -> dict[str, Any]:
    from patentscope.analyze import analyze

    sampler = RssSampler()
    per: dict[str, dict[str, float]] = {}
    last_cpu = [_cpu()]

    def log(msg: str) -> None:  # called once after each step: "analyze STEP: {...}"
        step = msg.split(":", 1)[0].split()[-1]
        cpu = _cpu()
        per[step] = {"cpu_seconds": round(cpu - last_cpu[0], 2), "peak_rss_mb": round(sampler.take())}
        last_cpu[0] = cpu

    from patentscope.analyze import STEPS

    only = tuple(x for x in os.environ.get("PATENTSCOPE_E2E_ANALYZE_STEPS", "").split(",") if x) or STEPS
    if os.environ.get("PATENTSCOPE_E2E_MODEL_FROM"):
        # the model copied from another scale was fitted on another training set: predict with it
        # (refit = "when_missing") instead of fitting at this scale, which the default would do
        import dataclasses

        from patentscope.metrics import segments

        kept = dataclasses.replace(segments.load_classifier_settings(), refit="when_missing")
        segments.load_classifier_settings = lambda path=None: kept  # type: ignore[assignment]
    sampler.take()
    res = analyze(wh, at=AT, today=AT, steps=only, log=log, progress=False)
    sampler.stop()
    for step, stats in res.items():
        per.setdefault(step, {})["seconds"] = stats.get("seconds", 0.0)
    return {"steps": per}


def work_royalty(wh: Path, data: Path) -> dict[str, Any]:
    from click.testing import CliRunner

    from patentscope.cli import main

    r = CliRunner().invoke(main, ["--warehouse", str(wh), "-q", "royalty", "--format", "csv"], catch_exceptions=False)
    if r.exit_code:
        raise RuntimeError(f"royalty exited {r.exit_code}: {r.output[-2000:]}")
    return {"lines": r.output.count("\n")}


def work_report(wh: Path, data: Path) -> dict[str, Any]:
    from patentscope.landscape import load_landscape
    from patentscope.report import write_report

    out = write_report(wh, load_landscape(), data / "report.html")
    return {"bytes": out.stat().st_size}


def _ro(wh: Path) -> Any:
    import duckdb

    con = duckdb.connect(str(wh), read_only=True)
    con.execute("SET enable_progress_bar = false").fetchall()
    return con


def work_bare_read(wh: Path, data: Path) -> dict[str, Any]:
    con = _ro(wh)
    have = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    rows = {}
    for t in ANALYZE_READS:
        if t in have:
            rows[t] = con.sql(f"SELECT * FROM {t}").fetch_arrow_table().num_rows
    return {"rows": rows}


STOCK_SQL = f"""
CREATE TEMP TABLE b_expiry AS
SELECT p.pub_key, p.family_id, p.filing_date,
       CAST(p.filing_date + INTERVAL 20 YEAR AS DATE) + CAST(coalesce(t.pta_days, 0) AS INTEGER) AS expiry
FROM publications p
LEFT JOIN (SELECT pub_key, max(pta_days) AS pta_days FROM term_inputs GROUP BY pub_key) t USING (pub_key)
WHERE p.in_landscape AND p.is_grant AND p.filing_date IS NOT NULL;
CREATE TEMP TABLE b_holder AS
SELECT DISTINCT p.pub_key, p.name_as_written AS holder FROM parties p WHERE p.role <> 'inventor';
CREATE TEMP TABLE b_stock AS
WITH years AS (SELECT y::INTEGER AS year FROM range(1990, {AT.year + 1}) r(y)),
fam AS (SELECT e.family_id, min(e.filing_date) AS first_filed, max(e.expiry) AS last_expiry,
               min(h.holder) AS holder
        FROM b_expiry e LEFT JOIN b_holder h USING (pub_key) GROUP BY e.family_id)
SELECT y.year, f.holder, count(*) AS families
FROM fam f JOIN years y ON f.first_filed <= make_date(y.year, 12, 31) AND f.last_expiry > make_date(y.year, 12, 31)
GROUP BY ALL;
"""

CONC_SQL = """
CREATE TEMP TABLE b_new AS
SELECT year(min(e.filing_date)) AS year, min(h.holder) AS holder, e.family_id
FROM b_expiry e LEFT JOIN b_holder h USING (pub_key) GROUP BY e.family_id;
CREATE TEMP TABLE b_conc AS
WITH counts AS (
    SELECT 'in_force_stock' AS period, year, holder, families::DOUBLE AS n FROM b_stock WHERE holder IS NOT NULL
    UNION ALL
    SELECT 'new_filings', year, holder, count(*)::DOUBLE FROM b_new WHERE holder IS NOT NULL GROUP BY ALL
), shares AS (
    SELECT period, year, n, n / sum(n) OVER (PARTITION BY period, year) AS s,
           row_number() OVER (PARTITION BY period, year ORDER BY n DESC) AS rk,
           row_number() OVER (PARTITION BY period, year ORDER BY n) AS asc_rk,
           count(*) OVER (PARTITION BY period, year) AS k
    FROM counts
)
SELECT period, year, 10000 * sum(s * s) AS hhi, sum(s) FILTER (WHERE rk <= 4) AS cr4,
       (2 * sum(asc_rk * n) / (max(k) * sum(n))) - (max(k) + 1) / max(k) AS gini, max(k) AS holders
FROM shares GROUP BY ALL;
"""


# The same cells as the concentration step, written plainly in one statement: in force when the
# expiry engine's interval [in_force_from, expiry_date) holds 31 December and the status is not
# unknown (no lapses, no per-year status re-evaluation), holder groups valid that day, the four
# scope types, co-owned families split 1/k, HHI, CR4 and Gini per cell and the families with no
# holder shown. Over the step's years (first grant year to AT + 20).
CELLS_SQL = f"""
CREATE TEMP TABLE b_cells AS
WITH years AS (
    SELECT y::INTEGER AS year, make_date(y::INTEGER, 12, 31) AS d
    FROM range((SELECT year(min(in_force_from)) FROM expiry_results), {AT.year + 21}) r(y)
), live AS (
    SELECT e.pub_key, e.jurisdiction, e.family_id, y.year, y.d
    FROM expiry_results e JOIN publications p USING (pub_key) JOIN years y ON e.in_force_from <= y.d AND y.d < e.expiry_date
    WHERE p.in_landscape AND e.status <> 'unknown'
), held AS (
    SELECT l.*, h.group_label AS holder, h.group_country AS country
    FROM live l LEFT JOIN publication_holder_groups h
      ON h.pub_key = l.pub_key AND (h.valid_from IS NULL OR h.valid_from <= l.d) AND (h.valid_to IS NULL OR l.d < h.valid_to)
), scoped AS (
    SELECT DISTINCT * FROM (
        SELECT 'all' AS scope_type, 'all' AS scope_value, year, family_id, holder FROM held
        UNION ALL SELECT 'jurisdiction', jurisdiction, year, family_id, holder FROM held
        UNION ALL SELECT 'holder_country', coalesce(country, 'unknown'), year, family_id, holder FROM held
        UNION ALL SELECT 'segment', s.segment, year, family_id, holder FROM held JOIN publication_segments s USING (pub_key)
                  WHERE s.segment <> 'unclassified')
), split AS (
    SELECT *, 1.0 / count(*) OVER (PARTITION BY scope_type, scope_value, year, family_id) AS frac
    FROM scoped WHERE holder IS NOT NULL
), per_holder AS (
    SELECT scope_type, scope_value, year, holder, sum(frac) AS n FROM split GROUP BY ALL
), shares AS (
    SELECT *, n / sum(n) OVER c AS s, row_number() OVER (c ORDER BY n DESC) AS rk,
           row_number() OVER (c ORDER BY n) AS up, count(*) OVER c AS k
    FROM per_holder WINDOW c AS (PARTITION BY scope_type, scope_value, year)
), stats AS (
    SELECT scope_type, scope_value, year, 10000 * sum(s * s) AS hhi, sum(s) FILTER (WHERE rk <= 4) AS cr4,
           sum((2 * up - k - 1) * n) / (max(k) * sum(n)) AS gini FROM shares GROUP BY ALL
), orphans AS (
    SELECT scope_type, scope_value, year, count(DISTINCT family_id) FILTER (WHERE holder IS NULL) AS n_unattributed
    FROM scoped GROUP BY ALL
)
SELECT * FROM orphans LEFT JOIN stats USING (scope_type, scope_value, year)
"""


def _local_con(wh: Path) -> Any:
    """An in-memory DuckDB with the warehouse attached read-only (temp tables need a writable catalog)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false").fetchall()
    con.execute(f"ATTACH '{wh}' AS w (READ_ONLY)").fetchall()
    con.execute("USE w").fetchall()
    return con


def _run_script(con: Any, script: str) -> None:
    for stmt in script.split(";"):
        if stmt.strip():
            con.execute(stmt).fetchall()


def work_sql_stocks(wh: Path, data: Path) -> dict[str, Any]:
    con = _local_con(wh)
    _run_script(con, STOCK_SQL)
    return {"stock_rows": con.execute("SELECT count(*) FROM b_stock").fetchall()[0][0]}


def work_sql_concentration(wh: Path, data: Path) -> dict[str, Any]:
    con = _local_con(wh)
    _run_script(con, STOCK_SQL)
    t0 = time.perf_counter()
    _run_script(con, CONC_SQL)
    return {"rows": con.execute("SELECT count(*) FROM b_conc").fetchall()[0][0],
            "concentration_only_seconds": round(time.perf_counter() - t0, 3)}


def work_sql_concentration_cells(wh: Path, data: Path) -> dict[str, Any]:
    con = _local_con(wh)
    t0 = time.perf_counter()
    _run_script(con, CELLS_SQL)
    return {"rows": con.execute("SELECT count(*) FROM b_cells").fetchall()[0][0],
            "concentration_only_seconds": round(time.perf_counter() - t0, 3)}


def work_scipy_pagerank(wh: Path, data: Path) -> dict[str, Any]:
    import numpy as np
    import scipy.sparse as sp

    con = _ro(wh)
    edges = con.sql("""
        SELECT DISTINCT coalesce(a.family_id, c.citing_pub_key) AS src, coalesce(b.family_id, c.cited_pub_key) AS dst
        FROM citations c JOIN publications a ON a.pub_key = c.citing_pub_key
        JOIN publications b ON b.pub_key = c.cited_pub_key
        WHERE coalesce(a.family_id, c.citing_pub_key) <> coalesce(b.family_id, c.cited_pub_key)""").fetch_arrow_table()
    nodes = con.sql("SELECT DISTINCT coalesce(family_id, pub_key) AS k FROM publications ORDER BY k").fetch_arrow_table()
    import pyarrow.compute as pc

    keys = nodes.column("k")
    s = pc.index_in(edges.column("src"), value_set=keys).to_numpy().astype(np.int32)
    d = pc.index_in(edges.column("dst"), value_set=keys).to_numpy().astype(np.int32)
    del edges
    n = len(keys)
    t0 = time.perf_counter()
    outdeg = np.bincount(s, minlength=n).astype(np.float64)
    w = 1.0 / outdeg[s]
    m = sp.csr_array((w, (d, s)), shape=(n, n))  # column-stochastic transpose: x_new = alpha * M x
    del s, d, w
    dangling = outdeg == 0
    x = np.full(n, 1.0 / n)
    alpha, tol = 0.85, 1e-10
    it, err = 0, 1.0
    while err >= tol and it < 1000:
        xn = alpha * (m @ x) + (alpha * x[dangling].sum() + 1 - alpha) / n
        err = float(np.abs(xn - x).sum())
        x, it = xn, it + 1
    return {"nodes": n, "edges": int(m.nnz), "iterations": it, "power_seconds": round(time.perf_counter() - t0, 3)}


def work_single_fit(wh: Path, data: Path) -> dict[str, Any]:
    import numpy as np

    from patentscope.metrics.segments import _model, load_segments

    con = _ro(wh)
    cases = []
    for seg in load_segments():
        for code in seg.cpc:
            c = code.replace(" ", "")
            cases.append(f"SELECT pub_key, '{seg.id}' AS segment FROM classifications "
                         f"WHERE replace(symbol, ' ', '') = '{c}' OR starts_with(replace(symbol, ' ', ''), '{c}')")
    con.execute(f"CREATE TEMP TABLE lab AS SELECT DISTINCT * FROM ({' UNION ALL '.join(cases)})").fetchall()
    train = con.sql("""
        SELECT p.pub_key, trim(coalesce(p.title, '') || ' ' || coalesce(p.abstract, '')) AS text, list(l.segment) AS segs
        FROM publications p JOIN lab l USING (pub_key) WHERE p.in_landscape GROUP BY ALL ORDER BY p.pub_key""").pl()
    rest = con.sql("""
        SELECT trim(coalesce(title, '') || ' ' || coalesce(abstract, '')) AS text FROM publications p
        WHERE in_landscape AND NOT EXISTS (SELECT 1 FROM lab l WHERE l.pub_key = p.pub_key)""").pl()
    segs = sorted({s for ls in train["segs"].to_list() for s in ls})
    y = np.array([[s in ls for s in segs] for ls in train["segs"].to_list()], dtype=np.int8)
    keep = [j for j in range(len(segs)) if 0 < y[:, j].sum() < len(y)]
    model = _model().fit(train["text"].to_list(), y[:, keep])
    pred = model.predict_proba(rest["text"].to_list()) if rest.height else np.zeros((0, len(keep)))
    return {"train": train.height, "predicted": int(pred.shape[0]), "segments": len(keep)}


WORKERS = {"ingest": work_ingest, "train": work_train, "analyze": work_analyze, "royalty": work_royalty, "report": work_report,
           "bare_read": work_bare_read, "sql_stocks": work_sql_stocks, "sql_concentration": work_sql_concentration,
           "sql_concentration_cells": work_sql_concentration_cells,
           "scipy_pagerank": work_scipy_pagerank, "single_fit": work_single_fit}


# ---------------------------------------------------------------------------------------------
# parent side


def run_child(name: str, wh: Path, data: Path) -> dict[str, Any]:
    """Run WORKERS[name] in a fresh process; wall time, CPU time and peak RSS from its rusage."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--worker", name, "--warehouse", str(wh), "--dir", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out_b, err_b = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed (exit {proc.returncode}): {err_b.decode(errors='replace')[-3000:]}")
    res: dict[str, Any] = json.loads(out_b.decode().strip().splitlines()[-1])
    res["seconds"] = round(wall, 2)
    return res


def child_main(name: str, wh: Path, data: Path) -> None:
    t0 = time.perf_counter()
    res = WORKERS[name](wh, data)
    res["inner_seconds"] = round(time.perf_counter() - t0, 2)
    res["cpu_seconds"] = round(_cpu(), 2)  # all threads (DuckDB's too)
    res["peak_rss_mb"] = round(_peak_rss_mb())
    print(json.dumps(res, default=str))


def generate(data: Path, scale: str) -> dict[str, Any]:
    n_pat, n_cit = SCALES[scale]
    stamp = data / "bench.json"
    want = {"scale": scale, "patents": n_pat, "citations": n_cit, "seed": 1}
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        return want
    sys.path.insert(0, str(HERE))
    import synthetic_patentsview as gen

    t0 = time.perf_counter()
    gen.generate(data / "tables", n_cit, seed=1, landscape_share=1.0, n_patents=n_pat, inventors=False,
                 log=lambda m: print(m, file=sys.stderr))
    stamp.write_text(json.dumps(want))
    print(f"generated SYNTHETIC {scale} tables in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return want


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def summarize(res: dict[str, Any]) -> dict[str, Any]:
    steps = res.get("analyze", {}).get("steps", {})
    base = res.get("baselines", {})

    def bs(k: str) -> float | None:
        return base.get(k, {}).get("seconds")

    def st(k: str) -> float | None:
        return steps.get(k, {}).get("seconds")

    analyze_s = res.get("analyze", {}).get("seconds")
    e2e = [res.get(k, {}).get("seconds") for k in ("ingest", "analyze", "report")]
    peaks = [res.get(k, {}).get("peak_rss_mb") for k in ("ingest", "analyze", "report")]
    goals = {
        "segments vs single fit (<= 1.5)": ratio(st("segments"), bs("single_fit")),
        "centrality vs SciPy PageRank (<= 1.5)": ratio(st("centrality"), bs("scipy_pagerank")),
        "expiry vs SQL stocks (<= 1.5)": ratio(st("expiry"), bs("sql_stocks")),
        "concentration vs SQL concentration (<= 1.5)": ratio(st("concentration"), bs("sql_concentration")),
        "concentration vs SQL concentration, same cells": ratio(st("concentration"), bs("sql_concentration_cells")),
        "analyze vs bare read (<= 3)": ratio(analyze_s, bs("bare_read")),
        "ingest+analyze+report seconds (<= 120 at 1m)": round(sum(e2e), 1) if all(x is not None for x in e2e) else None,
        "ingest+analyze+report peak MB (<= 8192 at 1m)": max(peaks) if all(x is not None for x in peaks) else None,
    }
    return goals


def print_table(res: dict[str, Any], goals: dict[str, Any], compare: dict[str, Any] | None) -> None:
    sc = res["scale"]
    print(f"\nSYNTHETIC end-to-end benchmark, scale {sc} ({SCALES[sc][0]:,} families, {SCALES[sc][1]:,} citations); "
          f"{os.cpu_count()} cores; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    hdr = f"{'phase':28} {'wall s':>8} {'CPU s':>8} {'peak MB':>8}"
    if compare:
        hdr += f" {'x vs ' + compare['scale']:>10}"
    print(hdr)
    rows: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    for k in ("ingest", "train", "analyze", "royalty", "report"):
        if k in res:
            rows.append((k, res[k], (compare or {}).get(k)))
            if k == "analyze":
                for s, v in res[k].get("steps", {}).items():
                    rows.append(("  " + s, v, ((compare or {}).get("analyze", {}).get("steps", {}) or {}).get(s)))
    for k, v in res.get("baselines", {}).items():
        rows.append(("baseline " + k, v, ((compare or {}).get("baselines", {}) or {}).get(k)))
    for name, v, c in rows:
        line = f"{name:28} {v.get('seconds', 0):8.1f} {v.get('cpu_seconds', 0):8.1f} {v.get('peak_rss_mb', 0):8.0f}"
        if compare:
            r = ratio(v.get("seconds"), (c or {}).get("seconds"))
            line += f" {r if r is not None else '-':>10}"
        print(line)
    print("\ngoal lines (ratios measured in this run):")
    for k, v in goals.items():
        print(f"  {k:48} {v if v is not None else '-'}")


def copy_model(source: Path, wh: Path) -> None:
    """Put the cached segment model of ``source`` into ``wh`` (so analyze predicts without fitting)."""
    import duckdb

    con = duckdb.connect(str(wh))
    con.execute(f"ATTACH '{source}' AS m (READ_ONLY)").fetchall()
    for t in ("segment_model_scores", "segment_models"):
        con.execute(f"DELETE FROM {t}").fetchall()
        con.execute(f"INSERT INTO {t} SELECT * FROM m.{t}").fetchall()
    con.close()
    print(f"  segment model copied from {source} (not refitted at this scale)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=sorted(SCALES), default="100k")
    ap.add_argument("--steps", default=",".join(ALL_STEPS), help=f"comma-separated subset of {','.join(ALL_STEPS)}")
    ap.add_argument("--baselines", default=",".join(BASELINES), help="comma-separated subset of " + ",".join(BASELINES))
    ap.add_argument("--analyze-steps", default="", help="comma-separated analyze steps (default: all)")
    ap.add_argument("--model-from", type=Path, default=None,
                    help="instead of the train step, copy the cached segment model of this (e.g. the 100k) warehouse")
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: /tmp/patentscope-e2e-SCALE); kept")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--compare", type=Path, default=None, help="JSON of another scale: print time ratios per phase")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--warehouse", type=Path, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    data = a.dir or Path(tempfile.gettempdir()) / f"patentscope-e2e-{a.scale}"
    if a.worker:
        child_main(a.worker, a.warehouse, data)
        return 0
    steps = [s for s in a.steps.split(",") if s]
    bad = [s for s in steps if s not in ALL_STEPS]
    if bad:
        ap.error(f"unknown step(s) {bad}; choose from {ALL_STEPS}")
    os.environ["PATENTSCOPE_E2E_ANALYZE_STEPS"] = a.analyze_steps
    data.mkdir(parents=True, exist_ok=True)
    wh = data / "SYNTHETIC-e2e.duckdb"
    res: dict[str, Any] = {"scale": a.scale, "families": SCALES[a.scale][0], "citations": SCALES[a.scale][1]}
    if "gen" in steps:
        generate(data, a.scale)
    if "ingest" in steps:
        for p in (wh, wh.with_suffix(".duckdb.wal")):
            p.unlink(missing_ok=True)
    for step in ("ingest", "train", "analyze", "royalty", "report"):
        if step == "train" and a.model_from:
            if not {"train", "analyze"} & set(steps):
                continue  # nothing here predicts (and e.g. `--steps gen` has no warehouse to copy into)
            copy_model(a.model_from, wh)
            res["model_from"] = str(a.model_from)
            os.environ["PATENTSCOPE_E2E_MODEL_FROM"] = str(a.model_from)
            continue
        if step in steps:
            res[step] = run_child(step, wh, data)
            print(f"  {step}: {res[step]['seconds']:.1f} s wall, {res[step]['cpu_seconds']:.1f} s CPU, "
                  f"peak {res[step]['peak_rss_mb']} MB", file=sys.stderr, flush=True)
    if "baselines" in steps:
        res["baselines"] = {}
        for b in a.baselines.split(","):
            res["baselines"][b] = run_child(b, wh, data)
            print(f"  baseline {b}: {res['baselines'][b]['seconds']:.1f} s", file=sys.stderr, flush=True)
    goals = summarize(res)
    res["goals"] = goals
    compare = json.loads(a.compare.read_text()) if a.compare else None
    print_table(res, goals, compare)
    if a.json:
        a.json.write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
