"""End to end on the real sample: analyze fills every derived table; the royalty model runs on it."""

import datetime as dt
import json
import shutil

import duckdb
import polars as pl
import pytest
from analyzed_sample import analyzed_sample

from patentscope.analyze import STEPS, analyze
from patentscope.metrics.royalty import load_scenario, run_scenario
from patentscope.warehouse.connection import writer


@pytest.fixture(scope="module")
def analyzed(sample_warehouse, tmp_path_factory):
    """The session's analyzed sample (analyzed_sample.py: analyze at 2026-11-28; tests only read it)
    and the per-step seconds its analyze run recorded."""
    wh = analyzed_sample(tmp_path_factory, sample_warehouse)
    con = duckdb.connect(str(wh), read_only=True)
    try:
        message = con.execute("SELECT message FROM ingest_runs WHERE source = 'analyze' AND status = 'ok'").fetchall()
    finally:
        con.close()
    assert len(message) == 1, message
    return wh, json.loads(message[0][0])


def counts(wh, tables):
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}
    finally:
        con.close()


def test_analyze_fills_every_derived_table(analyzed):
    wh, res = analyzed
    assert list(res) == list(STEPS)
    c = counts(wh, ["holder_names", "expiry_results", "in_force_stock", "publication_segments", "family_centrality",
                    "concentration_stats", "publication_holder_groups"])
    assert all(n > 0 for n in c.values()), c
    assert c["expiry_results"] >= 147


def test_analyze_is_idempotent(analyzed, tmp_path):
    wh, _ = analyzed
    copy = tmp_path / "again.duckdb"
    shutil.copy(wh, copy)
    tables = ["expiry_results", "in_force_stock", "publication_segments", "concentration_stats", "holder_groups"]

    def snap(path):
        con = duckdb.connect(str(path), read_only=True)
        try:
            out = {}
            for t in tables:
                cols = [r[0] for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = $t", {"t": t}).fetchall()
                    if r[0] not in ("computed_at", "built_at", "run_id")]
                out[t] = con.execute(f"SELECT count(*), sum(hash({', '.join(cols)})) FROM {t}").fetchall()
            return out
        finally:
            con.close()

    before = snap(copy)
    analyze(copy, at=dt.date(2026, 11, 28), today=dt.date(2026, 11, 28))
    assert snap(copy) == before


def test_concentration_matches_independent_sql(analyzed):
    wh, _ = analyzed
    con = duckdb.connect(str(wh), read_only=True)
    try:
        ours = con.execute("SELECT year, hhi, n_families FROM concentration_stats WHERE scope_type = 'all' AND "
                           "period_type = 'new_filings' AND weighting = 'families' AND hhi IS NOT NULL ORDER BY year").fetchall()
        # independent: families by earliest year, holder groups valid on that date, co-holders split
        sql = con.execute("""
            WITH fam AS (SELECT family_id, min(least(priority_date, filing_date, publication_date, grant_date)) AS d
                         FROM publications WHERE in_landscape GROUP BY family_id HAVING d IS NOT NULL),
            held AS (SELECT DISTINCT f.family_id, f.d, h.group_label
                     FROM fam f JOIN publications p ON p.family_id = f.family_id AND p.in_landscape
                     JOIN publication_holder_groups h ON h.pub_key = p.pub_key
                     WHERE (h.valid_from IS NULL OR h.valid_from <= f.d) AND (h.valid_to IS NULL OR f.d < h.valid_to)),
            frac AS (SELECT year(d) AS y, family_id, group_label, 1.0 / count(*) OVER (PARTITION BY family_id) AS fr FROM held),
            shares AS (SELECT y, group_label, sum(fr) / sum(sum(fr)) OVER (PARTITION BY y) AS s FROM frac GROUP BY y, group_label)
            SELECT y, 10000 * sum(s * s), (SELECT count(DISTINCT family_id) FROM frac f2 WHERE f2.y = shares.y)
            FROM shares GROUP BY y ORDER BY y""").fetchall()
    finally:
        con.close()
    assert len(ours) == len(sql) > 0
    for (y1, h1, n1), (y2, h2, n2) in zip(ours, sql, strict=True):
        assert (y1, n1) == (y2, n2) and h1 == pytest.approx(float(h2), rel=1e-9)


def test_royalty_example_scenario_on_sample(analyzed):
    wh, _ = analyzed
    from patentscope.ingest.sample import sample_folder
    sc = load_scenario(sample_folder().parent / "royalty" / "example_scenario.toml")
    with writer(wh) as con:
        out = run_scenario(con, sc)
    res = out["royalty_results"]
    assert set(res["variant"]) == {"base", "low", "benchmark", "demanded"}
    allm = res.filter(pl.col("market") == "ALL")
    assert (allm["burden_p5"] <= allm["burden_p50"]).all() and (allm["burden_p50"] <= allm["burden_p95"]).all()
    # the licensed exporter never pays more than the unlicensed one (same sales, licence rate <= unlicensed)
    for v in ("base", "benchmark", "low"):
        lic = allm.filter((pl.col("variant") == v) & (pl.col("exporter") == "cn-licensed")).sort("year")["royalties_p50"]
        unl = allm.filter((pl.col("variant") == v) & (pl.col("exporter") == "cn-unlicensed")).sort("year")["royalties_p50"]
        assert (lic <= unl + 1e-6).all()
    # Hitachi Metals' group (Proterial) is resolved and counted as licensor for the licensed exporter
    det = out["royalty_detail"]
    assert det.filter((pl.col("exporter") == "cn-licensed") & (pl.col("status") == "licensed")).height > 0
    con = duckdb.connect(str(wh), read_only=True)
    try:
        n = con.execute("SELECT count(*) FROM royalty_burden WHERE scenario = $s", {"s": sc.name}).fetchall()[0][0]
    finally:
        con.close()
    assert n == res.height


def test_basic_patents_view_and_query(analyzed):
    wh, _ = analyzed
    from patentscope.warehouse.connection import reader
    from patentscope.warehouse.query import get_query, run_read_only
    with reader(wh) as con:
        v = run_read_only(con, "SELECT * FROM basic_patents WHERE market = 'US' ORDER BY basic_rank")
        assert v.height > 0 and v["basic_rank"].min() == 1
        q = get_query("basic_patents_in_force")
        old = run_read_only(con, q.sql, q.bind({"at": "1995-06-08", "market": "US"}))
        # US 4,770,723 (filed 1987, granted 1988) was in force on 1995-06-08
        assert any("US-4770723" in (m or []) for m in old["members"].to_list())


def test_analyze_on_an_empty_warehouse(tmp_path):
    from patentscope.errors import WarehouseError
    from patentscope.warehouse import migrations
    with pytest.raises(WarehouseError, match="no warehouse"):
        analyze(tmp_path / "typo.duckdb")
    assert not (tmp_path / "typo.duckdb").exists()
    wh = tmp_path / "empty.duckdb"
    con = duckdb.connect(str(wh))
    migrations.apply(con)
    con.close()
    res = analyze(wh, at=dt.date(2026, 11, 28), today=dt.date(2026, 11, 28))
    assert res["concentration"]["rows"] == 0


def test_royalty_flags_infeasible_and_inverse_on_sample(analyzed):
    """The demanded variant's stack can exceed sales: every such row is flagged; the inverse
    says reachable or why not, never a rate above 100%."""
    wh, _ = analyzed
    from patentscope.ingest.sample import sample_folder
    sc = load_scenario(sample_folder().parent / "royalty" / "example_scenario.toml")
    con = duckdb.connect(str(wh))
    try:
        out = run_scenario(con, sc, store=False)
    finally:
        con.close()
    res = out["royalty_results"]
    assert (res["infeasible"] == (res["burden_p95"] > 1.0)).all()
    inv = out["royalty_inverse"]
    assert inv.filter(pl.col("reachable"))["required_avg_rate"].max() <= 1.0
    assert inv.filter(~pl.col("reachable"))["required_avg_rate"].null_count() == inv.filter(~pl.col("reachable")).height
    assert set(inv["why"].str.slice(0, 11)) <= {"reachable", "unreachable", "no holder g"}


def test_royalty_command_with_a_mistyped_warehouse_creates_nothing(tmp_path):
    from click.testing import CliRunner

    from patentscope.cli import main
    typo = tmp_path / "typo.duckdb"
    r = CliRunner().invoke(main, ["--warehouse", str(typo), "royalty"])
    assert r.exit_code == 3 and not typo.exists()
    assert "no warehouse at" in r.output and "Traceback" not in r.output
    assert len([ln for ln in r.output.splitlines() if ln.strip()]) == 1


def test_royalty_hints_analyze_only_when_it_has_not_run(tmp_path, sample_warehouse):
    from click.testing import CliRunner

    from patentscope.cli import main
    loaded = tmp_path / "loaded.duckdb"
    shutil.copy(sample_warehouse, loaded)  # publications, not analyzed
    r = CliRunner().invoke(main, ["--warehouse", str(loaded), "royalty"])
    assert r.exit_code == 1 and "run `patentscope analyze` first" in r.output
    wh = tmp_path / "empty.duckdb"
    con = duckdb.connect(str(wh))
    from patentscope.warehouse import migrations
    migrations.apply(con)
    con.close()
    analyze(wh, at=dt.date(2026, 11, 28), today=dt.date(2026, 11, 28))
    r = CliRunner().invoke(main, ["--warehouse", str(wh), "royalty"])
    assert r.exit_code == 1 and "the warehouse is empty" in r.output and "analyze" not in r.output


def test_report_findings_section_and_csv_downloads(analyzed):
    import urllib.parse

    from patentscope.report.charts_findings import csv_link
    from patentscope.report.findings_section import findings_context
    wh, _ = analyzed
    con = duckdb.connect(str(wh), read_only=True)
    try:
        ctx = findings_context(con, dt.date(2014, 7, 8))
    finally:
        con.close()
    assert ctx["available"] and [b["status"] for b in ctx["blocks"]].count("too few to judge") >= 2
    assert set(ctx["charts"]) == {"bands", "countries", "cliffs"}
    text = urllib.parse.unquote(ctx["charts"]["countries"]["csv"].split(",", 1)[1])
    assert text.splitlines()[0] == "holder_country,year,n_families,n_unattributed,n_status_unknown"
    link = csv_link([{"a": '<script>"x",y'}], ["a"])
    assert "<" not in link and urllib.parse.unquote(link.split(",", 1)[1]) == 'a\n"<script>""x"",y"\n'
    empty = duckdb.connect()
    assert findings_context(empty, dt.date(2020, 1, 1))["available"] is False
