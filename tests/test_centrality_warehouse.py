"""Citation centrality on frames and in the warehouse (patentscope.metrics.citations).

Hand-worked cases use SYNTHETIC publications (office code ZZ, families SYN-*: made up for the
test, not patents); the warehouse tests use the real embedded sample."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import duckdb
import networkx as nx
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from patentscope.metrics import citations as C

D = dt.date


def _pubs(rows):
    schema = {"pub_key": pl.Utf8, "family_id": pl.Utf8, "priority_date": pl.Date, "filing_date": pl.Date,
              "publication_date": pl.Date, "grant_date": pl.Date, "in_landscape": pl.Boolean}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _cits(rows):
    return pl.DataFrame(rows, schema={"citing_pub_key": pl.Utf8, "cited_pub_key": pl.Utf8, "cited_year": pl.Int32}, orient="row")


# SYNTHETIC: six made-up publications in five families
PUBS = _pubs([
    ("ZZ-1", "SYN-F1", None, D(2000, 1, 10), None, None, True),
    ("ZZ-2", "SYN-F1", None, D(2001, 5, 1), None, None, True),
    ("ZZ-3", "SYN-F2", None, D(2003, 1, 1), None, None, True),
    ("ZZ-4", "SYN-F3", D(2008, 6, 1), D(2009, 6, 1), None, None, False),
    ("ZZ-5", "SYN-F4", None, None, D(2012, 3, 1), None, True),
    ("ZZ-6", "SYN-F5", None, None, None, None, True),
])
CITS = _cits([
    ("ZZ-3", "ZZ-1", 2000),     # the same reference printed by two sources: one link
    ("ZZ-3", "ZZ-1", 2000),
    ("ZZ-3", "ZZ-2", 2001),     # a second member of F1 cited by F2: F2 -> F1 carries 2 links
    ("ZZ-2", "ZZ-1", 2000),     # inside family F1: dropped
    ("ZZ-4", "ZZ-1", None),
    ("ZZ-4", "ZZ-3", None),
    ("ZZ-5", "ZZ-3", 2003),
    ("ZZ-5", "ZZ-9", 1995),     # not in the warehouse: family PUB:ZZ-9, dated by the cited year
    ("ZZ-5", None, None),       # unresolved reference
    ("ZZ-6", "ZZ-1", None),     # citing family without any date
])


def test_family_graph_collapses_publications_by_hand():
    g = C.build_family_graph(PUBS, CITS)
    fam = g.nodes["family_id"].to_list()
    assert fam == ["PUB:ZZ-9", "SYN-F1", "SYN-F2", "SYN-F3", "SYN-F4", "SYN-F5"]
    edges = {(fam[a], fam[b]): w for a, b, w in g.edges.iter_rows()}
    assert edges == {("SYN-F2", "SYN-F1"): 2, ("SYN-F3", "SYN-F1"): 1, ("SYN-F3", "SYN-F2"): 1,
                     ("SYN-F4", "SYN-F2"): 1, ("SYN-F4", "PUB:ZZ-9"): 1, ("SYN-F5", "SYN-F1"): 1}
    assert g.stats == {"n_links": 7, "n_self_links": 1, "n_unresolved_references": 1}
    nodes = {r["family_id"]: r for r in g.nodes.iter_rows(named=True)}
    assert (nodes["SYN-F1"]["family_date"], nodes["SYN-F1"]["date_basis"]) == (D(2000, 1, 10), "filing")
    assert (nodes["SYN-F3"]["family_date"], nodes["SYN-F3"]["date_basis"]) == (D(2008, 6, 1), "filing")   # priority
    assert (nodes["SYN-F4"]["family_date"], nodes["SYN-F4"]["date_basis"]) == (D(2012, 3, 1), "publication")
    assert (nodes["PUB:ZZ-9"]["family_date"], nodes["PUB:ZZ-9"]["date_basis"]) == (D(1995, 7, 1), "cited_year")
    assert nodes["SYN-F5"]["family_date"] is None
    assert nodes["SYN-F1"]["n_publications"] == 2 and not nodes["PUB:ZZ-9"]["in_warehouse"]
    assert g.as_of == D(2012, 3, 1)
    # landscape only: F3 (not in the landscape) and the cited-only number drop out
    gl = C.build_family_graph(PUBS, CITS, landscape_only=True)
    assert gl.nodes["family_id"].to_list() == ["SYN-F1", "SYN-F2", "SYN-F4", "SYN-F5"]
    assert gl.edges.height == 3


def test_forward_citations_by_hand():
    # F1 (2000-01-10) is cited by F2 (2003-01-01, 2 links), F3 (2008-06-01) and F5 (no date):
    #   4 links, 3 families; within 5 years (until 2005-01-10): F2 -> 2; within 10 (2010-01-10): +F3 -> 3
    # F2 (2003-01-01) is cited by F3 (2008-06-01: 5.4 years) and F4 (2012-03-01: 9.2 years):
    #   2 links; 5 years: 0; 10 years: 2
    # PUB:ZZ-9 (1995-07-01) is cited by F4 in 2012: 1 link, none within 10 years
    out = C.forward_citations(C.build_family_graph(PUBS, CITS), as_of=D(2010, 6, 1))
    rows = {r["family_id"]: r for r in out.iter_rows(named=True)}
    f1, f2, f5, z9 = rows["SYN-F1"], rows["SYN-F2"], rows["SYN-F5"], rows["PUB:ZZ-9"]
    assert (f1["forward_citations"], f1["citing_families"], f1["forward_citations_5y"], f1["forward_citations_10y"]) == (4, 3, 2, 3)
    assert (f2["forward_citations"], f2["forward_citations_5y"], f2["forward_citations_10y"], f2["backward_citations"]) == (2, 0, 2, 2)
    assert (z9["forward_citations"], z9["forward_citations_5y"], z9["forward_citations_10y"]) == (1, 0, 0)
    assert f5["forward_citations_5y"] is None and f5["window_5y_complete"] is None and f5["backward_citations"] == 1
    # windows complete by 2010-06-01: F1's 10 years (to 2010-01-10) yes, F2's (to 2013) no
    assert (f1["window_5y_complete"], f1["window_10y_complete"]) == (True, True)
    assert (f2["window_5y_complete"], f2["window_10y_complete"]) == (True, False)


def test_percentiles_by_hand_and_by_segment():
    # cohort 2001: citations 0, 1, 1, 3 -> percentile rank 100*(below + half of equal)/4:
    #   0 -> (0 + 0.5)/4 = 12.5; 1 -> (1 + 1)/4 = 50; 3 -> (3 + 0.5)/4 = 87.5; cohort 2002 alone -> 50
    counts = pl.DataFrame({"family_id": ["a", "b", "c", "d", "e", "f"], "cohort_year": [2001, 2001, 2001, 2001, 2002, None],
                           "forward_citations": [0, 1, 1, 3, 7, 9]})
    p = C.forward_citation_percentiles(counts)
    assert dict(zip(p["family_id"], p["forward_citations_percentile"], strict=True)) == {
        "a": 12.5, "b": 50.0, "c": 50.0, "d": 87.5, "e": 50.0}
    assert set(p["segment"]) == {"all"} and p.filter(pl.col("family_id") == "a")["cohort_size"].item() == 4
    # segments: a and d are sintered, d is also bonded; c is in none
    segs = pl.DataFrame({"family_id": ["a", "d", "d", "b"], "segment": ["sintered", "sintered", "bonded", "bonded"]})
    ps = C.forward_citation_percentiles(counts, segs)
    got = {(r["family_id"], r["segment"]): r["forward_citations_percentile"] for r in ps.iter_rows(named=True)}
    assert got == {("a", "sintered"): 25.0, ("d", "sintered"): 75.0, ("b", "bonded"): 25.0, ("d", "bonded"): 75.0}


def test_family_pagerank_and_hits_equal_networkx():
    res = C.centrality_table(PUBS, CITS, alpha=0.85, tol=1e-13)
    g = nx.DiGraph()
    fams = res.families["family_id"].to_list()
    g.add_nodes_from(fams)
    gr = C.build_family_graph(PUBS, CITS)
    for a, b, w in gr.edges.iter_rows():
        g.add_edge(fams[a], fams[b], weight=w)
    pr = nx.pagerank(g, alpha=0.85, tol=1e-15, max_iter=100_000)
    got = dict(zip(fams, res.families["pagerank"], strict=True))
    assert sum(abs(got[f] - pr[f]) for f in fams) <= 1e-9
    hubs, auth = nx.hits(g, tol=1e-15, max_iter=100_000)
    got = dict(zip(fams, res.families["hits_authority"], strict=True))
    assert sum(abs(got[f] - auth[f]) for f in fams) <= 1e-9
    assert res.stats.n_cycles == 0 and res.stats.pagerank_error_bound <= 1e-13


def test_centrality_table_handles_cycles_and_empty_input():
    # SYNTHETIC: F2 cites F1 and a later member of F1 cites F2 back -> one 2-family cycle
    pubs = PUBS.vstack(_pubs([("ZZ-7", "SYN-F1", None, D(2004, 1, 1), None, None, True)]))
    cits = CITS.vstack(_cits([("ZZ-7", "ZZ-3", 2003)]))
    res = C.centrality_table(pubs, cits, alpha=0.85, tol=1e-13)
    rows = {r["family_id"]: r for r in res.families.iter_rows(named=True)}
    assert rows["SYN-F1"]["scc_size"] == rows["SYN-F2"]["scc_size"] == 2
    assert (res.stats.n_cycles, res.stats.n_families_in_cycles) == (1, 2)
    assert res.families["pagerank"].sum() == pytest.approx(1.0, abs=1e-12)
    assert rows["SYN-F1"]["on_main_path"] == rows["SYN-F2"]["on_main_path"]
    empty = C.centrality_table(PUBS.clear(), CITS.clear())
    assert empty.families.height == 0 and empty.main_path.height == 0 and empty.stats.n_families == 0
    one = C.centrality_table(PUBS.head(1), CITS.clear())
    assert one.families["pagerank"].to_list() == [1.0] and one.families["pagerank_rescaled"].to_list() == [0.0]


def test_basic_patents_filters_by_market_and_date():
    cent = pl.DataFrame({
        "family_id": ["SYN-A", "SYN-B", "SYN-C", "SYN-D", "SYN-E", "SYN-F"],
        "pagerank_rescaled": [5.0, 4.0, 3.0, 2.0, 1.0, None],
        "pagerank": [0.3, 0.2, 0.2, 0.1, 0.1, 0.1],
        "forward_citations": [9, 8, 7, 6, 5, 4],
        "in_landscape": [True, True, True, True, False, True],
    })
    top = C.basic_patents(cent, top=3)
    assert top["family_id"].to_list() == ["SYN-A", "SYN-B", "SYN-C"] and top["rank"].to_list() == [1, 2, 3]
    expiry = pl.DataFrame({
        "family_id": ["SYN-A", "SYN-B", "SYN-B", "SYN-C", "SYN-D", "SYN-D", "SYN-A"],
        "jurisdiction": ["US", "US", "DE", "US", "US", "US", "JP"],
        "expiry_date": [D(2005, 1, 1), D(2030, 1, 1), D(2031, 1, 1), None, D(2028, 5, 1), D(2029, 5, 1), D(2040, 1, 1)],
        "in_force_from": [D(1990, 1, 1), D(2012, 1, 1), D(2012, 1, 1), D(2010, 1, 1), D(2011, 1, 1), None, D(2020, 1, 1)],
    })
    holders = pl.DataFrame({"family_id": ["SYN-B", "SYN-B", "SYN-D"], "holder_group": ["Beta Group", "Alpha Group", "Beta Group"]})
    got = C.basic_patents(cent, top=10, expiry=expiry, market="US", at=D(2020, 6, 30), holders=holders)
    # A expired in 2005, C's expiry is unknown, D's second member is not granted; E is outside the landscape
    assert got["family_id"].to_list() == ["SYN-B", "SYN-D"]
    assert got["in_force_until"].to_list() == [D(2030, 1, 1), D(2028, 5, 1)]
    assert got["holder_groups"].to_list() == [["Alpha Group", "Beta Group"], ["Beta Group"]]
    assert set(got["market"]) == {"US"}
    with pytest.raises(ValueError, match="market and at"):
        C.basic_patents(cent, expiry=expiry)


# ----------------------------------------------------------------------------------------------
# the real sample warehouse


@pytest.fixture()
def refreshed(sample_warehouse, tmp_path):
    """A copy of the sample warehouse with centrality computed (the session warehouse stays read-only)."""
    path = tmp_path / "sample.duckdb"
    shutil.copy(sample_warehouse, path)
    con = duckdb.connect(str(path))
    stats = C.refresh(con)
    yield path, con, stats
    con.close()


def test_sample_us4770723_is_cited_and_on_the_main_path(refreshed):
    _, con, stats = refreshed
    # in the sample, US 5,110,374 lists US 4,770,723 among its References Cited
    assert con.execute("SELECT count(*) FROM citations WHERE citing_pub_key = 'US-5110374' AND cited_pub_key = 'US-4770723'"
                       ).fetchall() == [(1,)]
    row = con.sql("SELECT * FROM centrality WHERE list_contains(members, 'US-4770723')").pl().row(0, named=True)
    assert row["forward_citations"] >= 1 and row["citing_families"] >= 1
    assert row["family_date"] == D(1982, 8, 21) and row["date_basis"] == "filing"     # its JP priority
    assert row["forward_citations_10y"] >= 1 and row["on_main_path"] is True
    arcs = con.execute("SELECT cited_family_id, citing_family_id FROM centrality_main_path").fetchall()
    fam = dict(con.execute("SELECT pub_key, family_id FROM publications WHERE pub_key IN ('US-4770723', 'US-5110374')").fetchall())
    assert (fam["US-4770723"], fam["US-5110374"]) in arcs
    assert stats.n_families == con.execute("SELECT count(*) FROM family_centrality").fetchall()[0][0]
    sums = con.execute("SELECT sum(pagerank), sum(hits_authority) FROM family_centrality").fetchall()[0]
    assert sums[0] == pytest.approx(1.0, abs=1e-12) and sums[1] == pytest.approx(1.0, abs=1e-12)
    assert stats.pagerank_error_bound <= 1e-10 and stats.hits_converged


def test_refresh_is_idempotent_and_atomic(refreshed, monkeypatch):
    _, con, first = refreshed
    cols = ", ".join(C.FAMILY_COLUMNS)
    before = con.sql(f"SELECT {cols} FROM family_centrality ORDER BY family_id").pl()
    second = C.refresh(con)
    after = con.sql(f"SELECT {cols} FROM family_centrality ORDER BY family_id").pl()
    assert_frame_equal(before, after)
    assert (first.run_id, second.run_id) == (1, 2)
    assert con.execute("SELECT count(DISTINCT run_id) FROM family_centrality").fetchall() == [(1,)]

    def boom(*a, **k):
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(C, "centrality_table", boom)
    with pytest.raises(RuntimeError, match="simulated"):
        C.refresh(con)
    assert_frame_equal(con.sql(f"SELECT {cols} FROM family_centrality ORDER BY family_id").pl(), after)
    assert con.execute("SELECT max(run_id) FROM centrality_runs").fetchall() == [(2,)]


def test_refresh_leaves_no_rows_of_earlier_runs(refreshed):
    # refresh upserts on the key and deletes the rest: a family (and a main-path arc) that an
    # earlier run wrote but the data no longer has must go
    _, con, first = refreshed
    con.execute("CREATE TEMP TABLE stale AS SELECT * FROM family_centrality LIMIT 1")
    con.execute("UPDATE stale SET family_id = 'SYN-STALE'")
    con.execute("INSERT INTO family_centrality SELECT * FROM stale")
    con.execute("CREATE TEMP TABLE stale_arc AS SELECT * FROM centrality_main_path LIMIT 1")
    con.execute("UPDATE stale_arc SET cited_family_id = 'SYN-STALE'")
    con.execute("INSERT INTO centrality_main_path SELECT * FROM stale_arc")
    second = C.refresh(con)
    assert con.execute("SELECT count(*) FROM family_centrality WHERE family_id = 'SYN-STALE'").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM centrality_main_path WHERE cited_family_id = 'SYN-STALE'").fetchall() == [(0,)]
    assert con.execute("SELECT count(*), min(run_id), max(run_id) FROM family_centrality").fetchall() == [
        (second.n_families, second.run_id, second.run_id)]
    assert con.execute("SELECT count(DISTINCT run_id) FROM family_cohort_percentiles").fetchall() == [(1,)]


def test_refresh_landscape_only_and_missing_migration(refreshed):
    _, con, _ = refreshed
    stats = C.refresh(con, landscape_only=True, alpha=0.85, rescale_window=50)
    assert stats.scope == "landscape" and stats.rescale_window <= 50
    assert con.execute("SELECT bool_and(in_landscape) FROM family_centrality").fetchall() == [(True,)]
    bare = duckdb.connect(":memory:")
    with pytest.raises(Exception, match="patentscope migrate"):
        C.refresh(bare)


def test_centrality_queries_and_command_on_sample(refreshed):
    from patentscope.cli import main
    from patentscope.warehouse.connection import reader
    from patentscope.warehouse.query import load_queries, run_read_only

    path, con, _ = refreshed
    con.close()
    qs = load_queries()
    with reader(path) as ro:
        q = qs["centrality_of_publication"]
        row = run_read_only(ro, q.sql, q.bind({"pub_key": "US-4770723"}))
        assert row.height == 1 and row["forward_citations"].item() >= 1
        q = qs["centrality_top_families"]
        top = run_read_only(ro, q.sql, q.bind({"top": "5"}))
        assert top.height == 5 and top["value"].is_sorted(descending=True)
        assert run_read_only(ro, qs["centrality_main_path"].sql).height >= 1
    runner = CliRunner()
    r = runner.invoke(main, ["--warehouse", str(path), "centrality", "--top", "4", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert len(data) == 4 and all(d_["pagerank_rescaled"] is not None for d_ in data)
    assert [d_["pagerank_rescaled"] for d_ in data] == sorted((d_["pagerank_rescaled"] for d_ in data), reverse=True)
    r = runner.invoke(main, ["--warehouse", str(path), "centrality", "--by", "forward_citations", "--all-families", "--csv"])
    assert r.exit_code == 0 and r.stdout.splitlines()[0].startswith("family_id,")


def test_centrality_command_before_analyze(sample_warehouse):
    from patentscope.cli import main

    r = CliRunner().invoke(main, ["--warehouse", str(sample_warehouse), "centrality"])
    assert r.exit_code == 1
    assert "patentscope analyze" in r.output and "Traceback" not in r.output


def test_kernels_see_the_same_graph_as_the_warehouse(refreshed):
    # PageRank stored by refresh = PageRank recomputed here with the power method (independent path)
    from patentscope.metrics import graph_sparse as gs

    _, con, stats = refreshed
    pubs, cits, _ = C.load_inputs(con)
    g = C.build_family_graph(pubs, cits)
    s, d, w = g.arrays()
    ref = gs.pagerank(g.n, s, d, w, alpha=stats.pagerank_alpha, tol=1e-14, method="power").scores
    stored = con.sql("SELECT pagerank FROM family_centrality ORDER BY family_id").pl()["pagerank"].to_numpy()
    assert np.abs(stored - ref).sum() <= 1e-9


def test_family_graph_sql_equals_a_plain_python_reading_on_random_synthetic_data():
    # SYNTHETIC: 300 publications in ~150 families (office ZZ), 2,000 citation rows with
    # duplicates, in-family citations, numbers outside the warehouse, unresolved references and
    # cited years; the SQL graph must equal a dictionary-by-dictionary reading of the rules
    rng = np.random.default_rng(7)
    n_pubs = 300
    fam = [f"SYN-F{int(x)}" for x in rng.integers(0, 150, n_pubs)]
    day = lambda: None if rng.random() < 0.3 else D(1980, 1, 1) + dt.timedelta(days=int(rng.integers(0, 15000)))  # noqa: E731
    rows = [(f"ZZ-{i}", fam[i], day(), day(), day(), day(), bool(rng.random() < 0.5)) for i in range(n_pubs)]
    # a publication whose family id is the one a number outside the warehouse gets ('PUB:' || number):
    # references to that number land in this family
    rows.append(("ZZ-300", "PUB:ZZ-X1", day(), None, None, None, True))
    pubs = _pubs(rows)
    keys = [f"ZZ-{i}" for i in range(n_pubs + 1)] + [f"ZZ-X{i}" for i in range(40)]
    cit_rows = []
    for _ in range(2000):
        cited = None if rng.random() < 0.05 else keys[int(rng.integers(0, len(keys)))]
        year = None if rng.random() < 0.5 else int(rng.integers(1700, 2150))
        # a few citing numbers outside the warehouse too (references read from another source's page)
        citing = f"ZZ-Y{int(rng.integers(0, 10))}" if rng.random() < 0.02 else f"ZZ-{int(rng.integers(0, n_pubs + 1))}"
        cit_rows.append((citing, cited, year))
    cit_rows.append(("ZZ-Z1", "ZZ-Z1", 2001))  # a number outside citing itself only: a self link, no node
    cits = _cits(cit_rows)
    g = C.build_family_graph(pubs, cits)

    fam_of = {r[0]: r[1] for r in rows}
    family = lambda k: fam_of.get(k, "PUB:" + k)  # noqa: E731
    pairs = {(a, b) for a, b, _ in cit_rows if b is not None}
    links: dict[tuple[str, str], int] = {}
    for a, b in pairs:
        fa, fb = family(a), family(b)
        if fa != fb:
            links[(fa, fb)] = links.get((fa, fb), 0) + 1
    ids = g.nodes["family_id"].to_list()
    assert ids == sorted({f for e in links for f in e} | set(fam))
    got = {(ids[a], ids[b]): w for a, b, w in g.edges.iter_rows()}
    assert got == links
    assert g.stats == {"n_links": sum(links.values()), "n_self_links": sum(1 for a, b in pairs if family(a) == family(b)),
                       "n_unresolved_references": sum(1 for _, b, _ in cit_rows if b is None)}
    edges = g.edges.select("cited_node", "citing_node").rows()
    assert edges == sorted(set(edges))                     # sorted by (cited, citing), distinct
    for r in g.nodes.iter_rows(named=True):
        members = [x for x in rows if x[1] == r["family_id"]]
        filing = min((v for x in members for v in (x[2], x[3]) if v is not None), default=None)
        published = min((v for x in members for v in (x[4], x[5]) if v is not None), default=None)
        years = [y for _, b, y in cit_rows if b is not None and y is not None and family(b) == r["family_id"]]
        cited = D(min(years), 7, 1) if years and 1790 <= min(years) <= 2100 else None
        want = filing or published or cited
        basis = "filing" if filing else "publication" if published else "cited_year" if cited else None
        assert (r["family_date"], r["date_basis"], r["n_publications"], r["in_warehouse"]) == (
            want, basis, len(members), bool(members)), r["family_id"]
        assert r["in_landscape"] == any(x[6] for x in members)
    assert g.as_of == max(v for x in rows for v in x[2:6] if v is not None)
    # landscape only: the families with a member in the landscape, and the links among them
    gl = C.build_family_graph(pubs, cits, landscape_only=True)
    inside = {x[1] for x in rows if x[6]}
    ids = gl.nodes["family_id"].to_list()
    assert ids == sorted(inside)
    assert {(ids[a], ids[b]): w for a, b, w in gl.edges.iter_rows()} == {
        e: w for e, w in links.items() if e[0] in inside and e[1] in inside}


def test_rescale_by_age_frame_order_and_ties_by_family_id():
    # SYNTHETIC scores: many families share a date, so the family_id tie-break decides each
    # window; the frame in family_id order (the stable-sort path) and the same frame shuffled
    # (the full sort) give the same value per family, each row in its input's place, and a
    # direct reading of the rule (sort by (date, family_id), a centred window) agrees
    rng = np.random.default_rng(5)
    n = 400
    ids = [f"SYN-F{i:04d}" for i in range(n)]
    dates = [None if rng.random() < 0.1 else D(2000, 1, 1) + dt.timedelta(days=int(rng.integers(0, 30))) for _ in range(n)]
    frame = pl.DataFrame({"family_id": ids, "family_date": dates, "pagerank": rng.random(n)},
                         schema={"family_id": pl.Utf8, "family_date": pl.Date, "pagerank": pl.Float64})
    sorted_out, used = C.rescale_by_age(frame, window=21)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=3)
    assert not shuffled["family_id"].is_sorted()
    shuffled_out, used2 = C.rescale_by_age(shuffled, window=21)
    assert used == used2 == 21
    assert sorted_out["family_id"].to_list() == ids and shuffled_out["family_id"].to_list() == shuffled["family_id"].to_list()
    assert_frame_equal(shuffled_out.sort("family_id"), sorted_out)
    order = sorted((d, f, i) for i, (f, d) in enumerate(zip(ids, dates, strict=True)) if d is not None)
    scores = np.array([frame["pagerank"][i] for _, _, i in order])
    z, _, _, _ = C.gs.rescale_by_age(scores, np.arange(len(order)), 21)
    want = {ids[i]: v for (_, _, i), v in zip(order, z, strict=True)}
    got = dict(zip(sorted_out["family_id"], sorted_out["pagerank_rescaled"], strict=True))
    assert all(got[f] is None for f, d in zip(ids, dates, strict=True) if d is None)
    assert max(abs(got[f] - v) for f, v in want.items()) == 0.0
