"""Citation-centrality kernels (patentscope.metrics.graph_sparse) against networkx, dense linear
algebra and hand-worked cases. Every graph here is SYNTHETIC (made up for the test)."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from patentscope.metrics import graph_sparse as gs


def _nx_graph(n, src, dst, w=None):
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    w = np.ones(len(src)) if w is None else w
    for a, b, x in zip(src, dst, w, strict=True):
        if a == b:
            continue
        if g.has_edge(a, b):
            g[a][b]["weight"] += float(x)
        else:
            g.add_edge(int(a), int(b), weight=float(x))
    return g


def _synthetic(kind: str, seed: int):
    """Small synthetic citation graphs: (n, src, dst, weights)."""
    rng = np.random.default_rng(seed)
    n, m = 40, 120
    s = rng.integers(0, n, m)
    d = rng.integers(0, n, m)
    if kind in ("dag", "dag-multi"):
        s, d = np.maximum(s, d), np.minimum(s, d)      # newer cites older
    if kind == "cycles":
        s, d = np.maximum(s, d), np.minimum(s, d)
        s = np.append(s, [3, 10, 4, 20, 25])            # a few citations back in time: 2- and 3-cycles
        d = np.append(d, [9, 15, 17, 30, 33])
    w = rng.integers(1, 4, s.shape[0]).astype(float) if kind == "dag-multi" else None
    if kind == "dag-multi":                             # repeat some edges: multi-edges are summed
        s, d, w = np.append(s, s[:10]), np.append(d, d[:10]), np.append(w, w[:10])
    return n, s, d, w


CASES = ["dag", "dag-multi", "cycles", "random"]


@pytest.fixture()
def force_triangular(monkeypatch):
    """Make ``auto`` take the triangular solve however cheap the power steps would be (small
    graphs converge in a few dozen steps, so ``auto`` would rightly stay with them)."""
    monkeypatch.setattr(gs, "TRIANGULAR_COST", -1)


def _method(method, request):
    if method == "triangular":
        request.getfixturevalue("force_triangular")
        return "auto"
    return method


@pytest.mark.parametrize("kind", CASES)
@pytest.mark.parametrize("alpha", [0.5, 0.85])
@pytest.mark.parametrize("method", ["auto", "power", "triangular"])
def test_pagerank_equals_networkx(kind, alpha, method, request):
    n, s, d, w = _synthetic(kind, seed=len(kind))
    ref = nx.pagerank(_nx_graph(n, s, d, w), alpha=alpha, tol=1e-14, max_iter=100_000)
    ref = np.array([ref[i] for i in range(n)])
    res = gs.pagerank(n, s, d, w, alpha=alpha, tol=1e-12, method=_method(method, request))
    assert res.converged
    assert np.abs(res.scores - ref).sum() <= 1e-9
    assert res.scores.sum() == pytest.approx(1.0, abs=1e-12)


def test_pagerank_error_bound_is_certified(force_triangular):
    # exact PageRank by a dense solve of (I - alpha P^T) y = 1, x = y / sum(y)
    n, s, d, w = _synthetic("cycles", seed=7)
    alpha = 0.85
    a = np.zeros((n, n))
    np.add.at(a, (s, d), 1.0)
    np.fill_diagonal(a, 0.0)
    out = a.sum(axis=1)
    p = np.divide(a, out[:, None], out=np.zeros_like(a), where=out[:, None] > 0)
    y = np.linalg.solve(np.eye(n) - alpha * p.T, np.ones(n))
    exact = y / y.sum()
    for method in ("auto", "power"):
        for tol in (1e-4, 1e-8, 1e-12):
            r = gs.pagerank(n, s, d, alpha=alpha, tol=tol, method=method)
            err = np.abs(r.scores - exact).sum()
            assert r.error_bound <= tol
            assert err <= r.error_bound + 1e-15, (method, tol, err, r.error_bound)


def test_pagerank_on_a_dag_is_one_triangular_solve(force_triangular):
    n, s, d, _ = _synthetic("dag", seed=3)
    r = gs.pagerank(n, s, d, alpha=0.85, tol=1e-13)
    assert (r.method, r.iterations, r.back_edges) == ("triangular", gs.WARMUP + 1, 0)
    assert r.error_bound < 1e-13


def test_pagerank_cycles_are_back_edges_and_still_exact(force_triangular, monkeypatch):
    monkeypatch.setattr(gs, "MAX_BACK_SHARE", 1.0)      # take the splitting path whatever the cycles
    n, s, d, _ = _synthetic("cycles", seed=5)
    r = gs.pagerank(n, s, d, alpha=0.85, tol=1e-13)
    assert r.method in ("triangular", "triangular+power") and r.back_edges > 0 and r.converged
    ncomp, comp = gs.strong_components(n, s, d)
    assert ncomp < n
    # labels are a topological order of the condensation: citing component first
    inter = comp[s] != comp[d]
    assert np.all(comp[s][inter] < comp[d][inter])


def test_pagerank_and_power_agree_on_a_larger_synthetic_dag():
    rng = np.random.default_rng(11)
    n = 3000
    s = rng.integers(1, n, 30_000)
    d = (s * rng.random(s.shape[0]) ** 0.5).astype(np.int64)     # newer cites older
    perm = rng.permutation(n)
    s, d = perm[s], perm[d]
    a = gs.pagerank(n, s, d, alpha=0.85, tol=1e-12)
    b = gs.pagerank(n, s, d, alpha=0.85, tol=1e-12, method="power")
    assert np.abs(a.scores - b.scores).sum() <= 2e-12
    # auto: the warm-up predicts many more power steps, so one triangular solve finishes it
    assert (a.method, a.iterations) == ("triangular", gs.WARMUP + 1) and b.iterations > 50
    # alpha = 0.5 converges fast: auto stays with power steps
    c = gs.pagerank(n, s, d, alpha=0.5, tol=1e-12)
    assert c.method == "power"


def test_pagerank_many_cycles_falls_back_to_power_and_order_key_helps(force_triangular):
    # SYNTHETIC: a time-ordered DAG plus 2% of citations reversed -> one big cycle
    rng = np.random.default_rng(2)
    n = 2000
    s = rng.integers(1, n, 20_000)
    d = (s * rng.random(s.shape[0])).astype(np.int64)
    flip = rng.random(s.shape[0]) < 0.02
    s[flip], d[flip] = d[flip].copy(), s[flip].copy()
    perm = rng.permutation(n)
    when = np.empty(n)
    when[perm] = np.arange(n)                      # node perm[i] was "born" at time i
    s, d = perm[s], perm[d]
    ref = gs.pagerank(n, s, d, alpha=0.85, tol=1e-14, method="power").scores
    plain = gs.pagerank(n, s, d, alpha=0.85, tol=1e-12)
    dated = gs.pagerank(n, s, d, alpha=0.85, tol=1e-12, order_key=when)
    assert dated.back_edges < plain.back_edges / 5
    for r in (plain, dated):
        assert r.converged and np.abs(r.scores - ref).sum() <= 1e-11
    # without dates the big cycle is in arbitrary order: too many back edges, power steps;
    # with dates few edges point backwards and the splitting iteration finishes it
    assert plain.method == "power" and plain.back_edges > gs.MAX_BACK_SHARE * 20_000
    assert dated.method in ("triangular", "triangular+power")


def test_self_loops_and_zero_weights_are_ignored():
    r1 = gs.pagerank(3, [0, 0, 1, 2], [0, 1, 2, 2], [1, 1, 1, 5])
    r2 = gs.pagerank(3, [0, 1], [1, 2])
    assert r2.method == "power"
    assert np.allclose(r1.scores, r2.scores, atol=1e-14)
    r3 = gs.pagerank(3, [0, 1, 0], [1, 2, 2], [1, 1, 0])
    assert np.allclose(r3.scores, r2.scores, atol=1e-14)


@pytest.mark.parametrize("kind", ["dag", "dag-multi", "random"])
def test_hits_equals_networkx(kind):
    n, s, d, w = _synthetic(kind, seed=21)
    g = _nx_graph(n, s, d, w)
    hubs, auths = nx.hits(g, max_iter=100_000, tol=1e-15)
    ra = np.array([auths[i] for i in range(n)])
    rh = np.array([hubs[i] for i in range(n)])
    r = gs.hits(n, s, d, w)
    assert r.converged
    assert np.abs(r.authority - ra).sum() <= 1e-9
    assert np.abs(r.hub - rh).sum() <= 1e-9
    # the Lanczos restart gives the same vector
    r2 = gs.hits(n, s, d, w, power_first=2)
    assert np.abs(r2.authority - ra).sum() <= 1e-9



def test_hits_lanczos_restart_on_a_larger_graph_equals_networkx(monkeypatch):
    # SYNTHETIC: 2,000 nodes, 12,000 citations newer -> older with a dozen back in time; above
    # the dense size, so the restart vector comes from the Lanczos solver (eigsh, 8 vectors)
    rng = np.random.default_rng(5)
    n, m = 2_000, 12_000
    s, d = rng.integers(0, n, m), rng.integers(0, n, m)
    s, d = np.maximum(s, d), np.minimum(s, d)
    s, d = np.append(s, rng.integers(0, 50, 12)), np.append(d, rng.integers(1_900, n, 12))
    calls = []
    real = gs.eigsh
    monkeypatch.setattr(gs, "eigsh", lambda *a, **k: calls.append(k) or real(*a, **k))
    r = gs.hits(n, s, d, power_first=2)
    assert len(calls) == 1 and calls[0]["ncv"] == 8
    hubs, auths = nx.hits(_nx_graph(n, s, d), max_iter=100_000, tol=1e-15)
    assert r.converged
    assert np.abs(r.authority - np.array([auths[i] for i in range(n)])).sum() <= 1e-9
    assert np.abs(r.hub - np.array([hubs[i] for i in range(n)])).sum() <= 1e-9

def test_empty_and_single_node_graphs():
    e = np.zeros(0, dtype=np.int64)
    for method in ("auto", "power"):
        assert gs.pagerank(0, e, e, method=method).scores.shape == (0,)
        assert gs.pagerank(1, e, e, method=method).scores.tolist() == [1.0]
        assert gs.pagerank(4, e, e, method=method).scores.tolist() == [0.25] * 4
    h = gs.hits(3, e, e)
    assert h.authority.tolist() == [0.0, 0.0, 0.0] and h.converged
    assert gs.hits(0, e, e).authority.shape == (0,)
    mp = gs.main_path(0, e, e)
    assert mp.node_on_main_path.shape == (0,)
    mp = gs.main_path(1, e, e)
    assert mp.node_on_main_path.tolist() == [False] and mp.component_size.tolist() == [1]
    z, mu, sd, used = gs.rescale_by_age(np.zeros(0), np.zeros(0), 10)
    assert z.shape == (0,) and used == 0
    z, _, _, used = gs.rescale_by_age(np.array([0.3]), np.array([5]), 10)
    assert z.tolist() == [0.0] and used == 1
    with pytest.raises(ValueError):
        gs.pagerank(2, [0], [5])


# ----------------------------------------------------------------------------------------------
# main path on a hand-drawn DAG
#
# Drawn in the style of the textbook example of main path analysis (Hummon & Doreian 1989;
# Batagelj 2003; Liu & Lu 2012; the "Main path analysis" Wikipedia article); I could not check
# that figure arc by arc offline, so this is my own DAG and every count is worked by hand.
# Arcs in the direction knowledge flows (cited -> citing):
#
#     A -> C, B -> C, B -> D, C -> E, D -> E, D -> F, E -> G, F -> G, F -> H
#
# Sources (cite nothing): A, B. Sinks (never cited): G, H.
# N-(v), paths from a source to v:  A=1 B=1 C=A+B=2 D=B=1 E=C+D=3 F=D=1 G=E+F=4 H=F=1
# N+(v), paths from v to a sink:    G=1 H=1 E=G=1 F=G+H=2 C=E=1 D=E+F=3 A=C=1 B=C+D=4
# Source-to-sink paths: N+(A) + N+(B) = 5 (= N-(G) + N-(H) = 4 + 1).
# SPC(u, v) = N-(u) * N+(v):
#     A->C 1*1=1   B->C 1*1=1   B->D 1*3=3   C->E 2*1=2   D->E 1*1=1
#     D->F 1*2=2   E->G 3*1=3   F->G 1*1=1   F->H 1*1=1
# (flow is conserved: into D 3 = out of D 1+2; into E 2+1 = out 3; into F 2 = out 1+1.)
# Key-route main path with 1 key route: the highest SPC is 3 (B->D and E->G tie; B->D is the
# first arc in (tail, head) order). Forward from D: D->F (2 beats D->E 1); from F: F->G and
# F->H tie at 1, both followed. Backward from B: B is a source. Main path: B->D->F->{G, H}.
# With 2 key routes E->G is added: forward from G nothing (a sink); backward from E, C->E (2
# beats D->E 1), then A->C and B->C tie at 1, both followed. Every arc but D->E is then on it.

NODES = "ABCDEFGH"
ARCS = [("A", "C"), ("B", "C"), ("B", "D"), ("C", "E"), ("D", "E"), ("D", "F"), ("E", "G"), ("F", "G"), ("F", "H")]
HAND_SPC = {("A", "C"): 1, ("B", "C"): 1, ("B", "D"): 3, ("C", "E"): 2, ("D", "E"): 1,
            ("D", "F"): 2, ("E", "G"): 3, ("F", "G"): 1, ("F", "H"): 1}


def _ids(pairs):
    return np.array([NODES.index(a) for a, _ in pairs]), np.array([NODES.index(b) for _, b in pairs])


def test_search_path_counts_by_hand_and_by_enumeration():
    tail, head = _ids(ARCS)
    log_spc, log_minus, log_total = gs.search_path_counts(len(NODES), tail, head)
    got = {arc: float(np.exp(v)) for arc, v in zip(ARCS, log_spc, strict=True)}
    assert got == pytest.approx(HAND_SPC, rel=1e-12)
    assert np.exp(log_total) == pytest.approx(5.0, rel=1e-12)
    assert np.exp(log_minus).round(9).tolist() == [1, 1, 2, 1, 3, 1, 4, 1]
    # independent check: enumerate every source-to-sink path with networkx
    g = nx.DiGraph(ARCS)
    sources = [v for v in g if g.in_degree(v) == 0]
    sinks = [v for v in g if g.out_degree(v) == 0]
    count = dict.fromkeys(ARCS, 0)
    paths = 0
    for a, b in itertools.product(sources, sinks):
        for path in nx.all_simple_paths(g, a, b):
            paths += 1
            for arc in zip(path, path[1:], strict=False):
                count[arc] += 1
    assert paths == 5 and count == HAND_SPC


def _main_path_arcs(mp):
    """Main-path arcs as node letters (arcs are reported between components; here all are single nodes)."""
    node_of = {int(c): NODES[i] for i, c in enumerate(mp.component)}
    return {(node_of[int(t)], node_of[int(h)]) for t, h, on in zip(mp.arc_tail, mp.arc_head, mp.arc_on_main_path, strict=True) if on}


def test_key_route_main_path_by_hand():
    # citing -> cited is the input direction of main_path(): reverse the flow arcs
    tail, head = _ids(ARCS)
    mp = gs.main_path(len(NODES), head, tail, key_routes=1)
    on_nodes = {NODES[i] for i in np.flatnonzero(mp.node_on_main_path)}
    on_arcs = _main_path_arcs(mp)
    assert on_arcs == {("B", "D"), ("D", "F"), ("F", "G"), ("F", "H")}
    assert on_nodes == {"B", "D", "F", "G", "H"}
    assert mp.node_spc_norm[NODES.index("B")] == pytest.approx(3 / 5)
    assert mp.arc_spc_norm.max() == pytest.approx(3 / 5)
    mp2 = gs.main_path(len(NODES), head, tail, key_routes=2)
    assert _main_path_arcs(mp2) == set(ARCS) - {("D", "E")}


def test_main_path_condenses_cycles():
    # the hand-drawn DAG plus a citation back from C to E (E and C now cite each other):
    # {C, E} becomes one node of the DAG; both are on the main path when it is
    pairs = [*ARCS, ("E", "C")]
    tail, head = _ids(pairs)
    mp = gs.main_path(len(NODES), head, tail, key_routes=3)
    size = dict(zip(NODES, mp.component_size.tolist(), strict=True))
    assert size["C"] == size["E"] == 2 and size["A"] == 1
    assert mp.component[NODES.index("C")] == mp.component[NODES.index("E")]
    assert mp.node_on_main_path[NODES.index("C")] == mp.node_on_main_path[NODES.index("E")]
    with pytest.raises(ValueError, match="cycle"):
        gs.search_path_counts(len(NODES), tail, head)


def test_search_path_counts_do_not_overflow():
    # a synthetic ladder of 1200 rungs has 2**1200 paths: far beyond float64, fine in log space
    k = 1200
    tail, head = [], []
    for i in range(k):
        for a in (2 * i, 2 * i + 1):
            for b in (2 * i + 2, 2 * i + 3):
                tail.append(a)
                head.append(b)
    log_spc, _, log_total = gs.search_path_counts(2 * k + 2, np.array(tail), np.array(head))
    assert log_total == pytest.approx((k + 1) * np.log(2), rel=1e-12)
    assert np.all(np.isfinite(log_spc))


# ----------------------------------------------------------------------------------------------
# age rescaling on a hand-worked cohort
#
# Scores in date order 1, 2, 3, 4, 10 and a window of 3 families:
#   rank 0: window ranks 0-2 {1,2,3}: mean 2, std sqrt(2/3) = 0.816497 -> (1-2)/0.816497 = -1.224745
#   rank 1: window 0-2 {1,2,3} -> (2-2)/0.816497 = 0
#   rank 2: window 1-3 {2,3,4}: mean 3 -> 0
#   rank 3: window 2-4 {3,4,10}: mean 17/3 = 5.666667, E[x^2] = 125/3, var = 125/3 - 289/9
#           = 86/9, std = 3.091206 -> (4 - 17/3)/3.091206 = -0.539164
#   rank 4: window 2-4 (shifted in at the end) -> (10 - 17/3)/3.091206 = 1.401826


def test_rescale_by_age_hand_worked():
    dates = np.array([40, 10, 30, 20, 50])          # deliberately not in date order
    scores = np.array([4.0, 1.0, 3.0, 2.0, 10.0])
    z, mu, sd, used = gs.rescale_by_age(scores, dates, 3)
    assert used == 3
    by_date = np.argsort(dates)
    std3 = np.sqrt(86 / 9)
    expect = [-1 / np.sqrt(2 / 3), 0.0, 0.0, (4 - 17 / 3) / std3, (10 - 17 / 3) / std3]
    assert z[by_date] == pytest.approx(expect, abs=1e-12)
    assert mu[by_date] == pytest.approx([2, 2, 3, 17 / 3, 17 / 3], abs=1e-12)
    assert sd[by_date][3] == pytest.approx(std3, abs=1e-12)


def test_rescale_by_age_equal_window_is_zero_and_window_capped():
    z, _, sd, used = gs.rescale_by_age(np.array([0.1] * 6 + [0.7]), np.arange(7), 3)
    assert used == 3
    assert z[:4].tolist() == [0.0] * 4 and sd[:4].tolist() == [0.0] * 4   # windows of equal scores
    assert z[6] > 0
    z, _, _, used = gs.rescale_by_age(np.array([1.0, 2.0, 3.0]), np.array([1, 2, 3]), 1000)
    assert used == 3
    assert z.tolist() == pytest.approx([-np.sqrt(1.5), 0.0, np.sqrt(1.5)])


def test_rescale_by_age_window_sums_match_direct_sums():
    rng = np.random.default_rng(5)
    x = rng.pareto(1.5, 5000)
    z, mu, sd, _ = gs.rescale_by_age(x, np.arange(x.shape[0]), 301)
    for i in (0, 1, 150, 151, 2500, 4848, 4849, 4999):
        s = min(max(i - 150, 0), x.shape[0] - 301)
        w = x[s:s + 301]
        assert mu[i] == pytest.approx(w.mean(), rel=1e-11)
        assert sd[i] == pytest.approx(w.std(), rel=1e-9)


def test_sorted_unique_equals_numpy_unique():
    import numpy as np

    from patentscope.metrics.graph_sparse import sorted_unique

    rng = np.random.default_rng(3)
    for a in (rng.integers(0, 50, 1000), np.zeros(0, dtype=np.int64), np.array([7]), rng.integers(-5, 5, 17)):
        u, c = np.unique(a, return_counts=True)
        u2, c2 = sorted_unique(a, return_counts=True)
        assert np.array_equal(u, u2) and np.array_equal(c, c2)
        assert np.array_equal(sorted_unique(a), u)


def _plain_scipy_pagerank(n, src, dst, w, alpha, tol=1e-15):
    """The textbook SciPy CSR power iteration (networkx's _pagerank_scipy algorithm), written
    independently of graph_sparse: the baseline of benchmarks/centrality.py."""
    import scipy.sparse as sp

    keep = src != dst
    a = sp.csr_array((w[keep], (src[keep], dst[keep])), shape=(n, n))
    out = np.asarray(a.sum(axis=1)).ravel()
    inv = np.divide(1.0, out, out=np.zeros(n), where=out > 0)
    p = sp.diags_array(inv) @ a
    x = np.full(n, 1.0 / n)
    dangling = out == 0
    for _ in range(100_000):
        last = x
        x = alpha * (p.T @ x) + (alpha * x[dangling].sum() + 1.0 - alpha) / n
        if np.abs(x - last).sum() < tol:
            break
    return x / x.sum()


@pytest.mark.parametrize("cycles", [0, 40])
@pytest.mark.parametrize("alpha", [0.5, 0.85])
@pytest.mark.parametrize("method", ["auto", "power", "triangular"])
def test_pagerank_equals_plain_scipy_on_random_synthetic_graph(cycles, alpha, method, request):
    # SYNTHETIC: 3,000 nodes, 30,000 edges, newer cites older, ~5% duplicate edges, a few
    # self-loops, optionally some citations forward in time (cycles); int32 ids as refresh gives
    rng = np.random.default_rng(18 + cycles)
    n, m = 3_000, 30_000
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    s, d = np.maximum(a, b), np.minimum(a, b)
    s, d = np.append(s, s[:1500]), np.append(d, d[:1500])
    if cycles:
        s, d = np.append(s, d[:cycles]), np.append(d, s[:cycles])
    perm = rng.permutation(n)
    s, d = perm[s].astype(np.int32), perm[d].astype(np.int32)
    born = np.empty(n)
    born[perm] = np.arange(n)             # node ids say nothing about time; the key does
    w = rng.integers(1, 4, s.shape[0]).astype(float)
    ref = _plain_scipy_pagerank(n, s, d, w, alpha)
    res = gs.pagerank(n, s, d, w, alpha=alpha, tol=1e-12, method=_method(method, request), order_key=born)
    assert res.converged and np.abs(res.scores - ref).sum() <= 1e-10
    if method == "triangular":
        assert res.method.startswith("triangular") and (res.back_edges > 0) == bool(cycles)
    # the same graph as refresh passes it: distinct edges sorted by (cited, citing), weights summed
    key = d.astype(np.int64) * n + s
    order = np.argsort(key, kind="stable")
    u, first = np.unique(key[order], return_index=True)
    ws = np.add.reduceat(w[order], first)
    ss, ds = (u % n).astype(np.int32), (u // n).astype(np.int32)
    assert gs._sorted_by_dst_src(ss, ds) and not gs._sorted_by_dst_src(s, d)
    res2 = gs.pagerank(n, ss, ds, ws, alpha=alpha, tol=1e-12, method=_method(method, request), order_key=born)
    assert np.abs(res2.scores - ref).sum() <= 1e-10


def test_pagerank_blocks_do_not_change_the_result(monkeypatch, force_triangular):
    # the blockwise builds (L, back edges, order checks) give the same matrix whatever the block size
    monkeypatch.setattr(gs, "MAX_BACK_SHARE", 1.0)      # take the splitting path whatever the cycles
    n, s, d, w = _synthetic("cycles", seed=5)
    whole = gs.pagerank(n, s, d, w, alpha=0.85, tol=1e-13)
    monkeypatch.setattr(gs, "CHUNK", 7)
    small = gs.pagerank(n, s, d, w, alpha=0.85, tol=1e-13)
    assert whole.back_edges == small.back_edges > 0
    assert np.abs(whole.scores - small.scores).sum() <= 1e-14


def test_main_path_arc_order_and_key_routes_on_random_synthetic_dag():
    # SYNTHETIC DAG with many equal SPCs: the arcs come sorted by their ends' smallest node ids
    # and the key routes are the top SPCs with ties broken by arc position (as a full sort would)
    rng = np.random.default_rng(42)
    n, m = 400, 1600
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    s, d = np.maximum(a, b), np.minimum(a, b)
    r = gs.main_path(n, s, d, key_routes=7)
    order = np.lexsort((r.arc_head, r.arc_tail))          # DAG: components are nodes, rep = node
    rep = np.empty(n, dtype=np.int64)
    rep[r.component] = np.arange(n)
    assert np.array_equal(np.lexsort((rep[r.arc_head], rep[r.arc_tail])), np.arange(r.arc_tail.size))
    assert order.size == r.arc_tail.size == np.unique(np.stack([r.arc_tail, r.arc_head]), axis=1).shape[1]
    ls = np.round(r.arc_log_spc, 1)                          # force ties
    got = gs.key_route_main_path(n, r.arc_tail, r.arc_head, ls, key_routes=7)
    keys = np.lexsort((np.arange(ls.size), -ls))[:7]
    assert got[keys].all()


@pytest.mark.parametrize("kind", CASES)
def test_hits_on_edges_sorted_as_refresh_passes_them(kind):
    n, s, d, w = _synthetic(kind, seed=11)
    w = np.ones(s.shape[0]) if w is None else w
    keep = s != d
    key = d[keep].astype(np.int64) * n + s[keep]
    u, inv = np.unique(key, return_inverse=True)
    ws = np.bincount(inv, weights=w[keep])
    ss, ds = (u % n).astype(np.int32), (u // n).astype(np.int32)
    assert gs._sorted_by_dst_src(ss, ds)
    a, b = gs.hits(n, s, d, w), gs.hits(n, ss, ds, ws)
    assert np.abs(a.authority - b.authority).sum() <= 1e-12 and np.abs(a.hub - b.hub).sum() <= 1e-12


@pytest.mark.parametrize("n_keys", [1, 7, 1000])
def test_group_order_is_the_stable_argsort_and_its_boundaries(n_keys: int) -> None:
    from patentscope.metrics.graph_sparse import group_order

    rng = np.random.default_rng(n_keys)
    for size in (0, 1, 50, 5000):
        keys = rng.integers(0, n_keys, size)
        order, ptr = group_order(keys, n_keys)
        assert np.array_equal(order, np.argsort(keys, kind="stable"))
        assert np.array_equal(ptr, np.searchsorted(keys[order], np.arange(n_keys + 1)))


@pytest.mark.parametrize("parts", [1, 2, 3, 7])
def test_row_blocks_product_is_bit_identical_and_shares_the_matrix(parts):
    # SYNTHETIC sparse matrix with empty rows (at the start, inside and at the end) and rows far
    # heavier than others: the threaded product in row blocks equals SciPy's bit for bit
    rng = np.random.default_rng(3)
    n = 500
    rows = rng.integers(5, n - 5, 4000)
    rows[:600] = 17                                     # one heavy row
    m = gs.sp.csr_array((rng.random(rows.size), (rows, rng.integers(0, n, rows.size))), shape=(n, n))
    x = rng.random(n)
    blocks = gs._RowBlocks(m, parts)
    assert np.array_equal(blocks @ x, m @ x)
    if parts > 1:
        assert len(blocks.blocks) >= 2
        assert [b[0] for b in blocks.blocks][0] == 0 and blocks.blocks[-1][1] == n
        assert all(b[1] == c[0] for b, c in itertools.pairwise(blocks.blocks))   # consecutive, no row twice
        assert all(np.shares_memory(b[2].data, m.data) and np.shares_memory(b[2].indices, m.indices)
                   for b in blocks.blocks)                                      # views, not copies
    # below THREADED_NNZ the default is one block (no threads for small graphs)
    assert len(gs._RowBlocks(m).blocks) == 0


def test_threaded_products_leave_pagerank_and_hits_unchanged(monkeypatch):
    # the kernels with every product split over 3 threads equal the single-threaded ones exactly
    n, s, d, w = _synthetic("cycles", seed=8)
    one_pr = gs.pagerank(n, s, d, w, alpha=0.85, tol=1e-12, method="power")
    one_hits = gs.hits(n, s, d, w)
    monkeypatch.setattr(gs, "THREADED_NNZ", 1)
    monkeypatch.setattr(gs, "_threads", lambda: 3)
    pr = gs.pagerank(n, s, d, w, alpha=0.85, tol=1e-12, method="power")
    hits = gs.hits(n, s, d, w)
    assert np.array_equal(pr.scores, one_pr.scores) and pr.iterations == one_pr.iterations
    assert np.array_equal(hits.authority, one_hits.authority) and np.array_equal(hits.hub, one_hits.hub)


def test_main_path_on_edges_sorted_as_refresh_passes_them_equals_any_order():
    # SYNTHETIC DAG: the same arcs distinct and sorted by (cited, citing) -- the shortcut that
    # skips the sort -- and shuffled with duplicates -- the general path -- give the same result
    rng = np.random.default_rng(9)
    n, m = 300, 1500
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    s, d = np.maximum(a, b), np.minimum(a, b)
    keep = s != d
    u = np.unique(d[keep].astype(np.int64) * n + s[keep])
    ss, ds = (u % n).astype(np.int32), (u // n).astype(np.int32)
    assert gs._sorted_by_dst_src(ss, ds)
    perm = rng.permutation(s.size)
    fast, slow = gs.main_path(n, ss, ds, key_routes=5), gs.main_path(n, s[perm], d[perm], key_routes=5)
    assert not gs._sorted_by_dst_src(s[perm], d[perm])
    for f in ("component", "arc_tail", "arc_head", "arc_log_spc", "arc_on_main_path", "node_on_main_path"):
        assert np.array_equal(getattr(fast, f), getattr(slow, f)), f
    assert np.array_equal(fast.node_spc_norm, slow.node_spc_norm, equal_nan=True)
