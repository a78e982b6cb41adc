"""Sparse-matrix kernels for citation graphs: PageRank, HITS, age rescaling, main paths.

Pure numpy/SciPy on integer node ids ``0 .. n-1``; no polars, no I/O (``citations.py`` maps
families to ids and back). An edge ``(src, dst, weight)`` means *src cites dst*; a weight is
the number of citation links the edge stands for (multi-edges counted). Self-loops are
ignored everywhere (a family citing itself endorses nothing); duplicate edges are summed.

PageRank (``pagerank``)
    The standard Google-matrix PageRank that networkx computes: with ``P`` the row-stochastic
    transition matrix of the weighted citing -> cited edges, dangling nodes (no references)
    spreading their score uniformly and uniform teleportation,

        x = alpha * P^T x + (alpha * sum(x[dangling]) + 1 - alpha) / n,   sum(x) = 1.

    Every solution is ``x = y / sum(y)`` with ``(I - alpha P^T) y = 1`` (the dangling and
    teleport terms are the same scalar for every node). ``method="auto"`` first takes a few
    power steps; when the observed rate predicts many more (alpha near 1, deep graphs) it
    switches to a direct solve: citation graphs are almost acyclic, so it orders the nodes
    citing-before-cited (strongly connected components from SciPy, whose labels are a reverse
    topological order of the condensation -- checked at run time; inside a cycle by an
    optional date key) and solves the triangular part exactly with one sparse triangular
    solve. Edges inside cycles that still point backwards are handled by iterating the
    regular splitting ``L y_{k+1} = 1 + R y_k`` (a regular splitting of an M-matrix converges
    at least as fast as the power method); when they are many, power steps finish the job.
    On a DAG one solve is exact.

    ``method="power"`` is the textbook SciPy CSR power iteration.

    Both stop on a *certified absolute L1 bound*: for any probability vector x,
    ``||x - x*||_1 <= ||G(x) - x||_1 / (1 - alpha)`` (G is an alpha-contraction in L1), and
    for a power step ``||x_{k+1} - x*||_1 <= alpha/(1-alpha) ||x_{k+1} - x_k||_1``. The result
    carries the bound it reached (``error_bound``), so ``tol`` is a guarantee, not a
    heuristic (networkx stops at ``||x_{k+1} - x_k||_1 < n * tol``, which on millions of nodes
    lets it stop after one or two iterations).

HITS (``hits``)
    Kleinberg's hubs and authorities: power iteration on ``A^T A`` from the uniform vector,
    both vectors normalised to sum 1 (as networkx does), stop when successive authority
    vectors differ by at most ``tol`` in L1; restarted from the Lanczos eigenvector when the
    top eigenvalue is simple and the iteration is slow.

Main path (``search_path_counts``, ``key_route_main_path``, ``main_path``)
    Arcs run in the direction knowledge flows (cited -> citing). Search path count (SPC,
    Batagelj 2003) of an arc (u, v) = N-(u) * N+(v): the number of source-to-sink paths through
    it, with N-(u) the number of paths from any source to u and N+(v) the number from v to any
    sink. Computed in log space level by level (no overflow however many paths). Key-route
    main path (Liu & Lu 2012): from each of the k arcs with the highest SPC, extend forward
    and backward by local (priority-first) search, following every tied maximum. Cycles are
    condensed first: each strongly connected component becomes one node of the DAG.

Age rescaling (``rescale_by_age``)
    Mariani, Medo & Lafond (2018): R_i = (s_i - mu_i) / sigma_i, with mu_i and sigma_i the mean
    and (population) standard deviation of the scores of the ``window`` nodes closest to i in
    date order (i included; a window centred on i, shifted inwards at both ends).
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.ndimage import maximum_filter1d, minimum_filter1d
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh, spsolve_triangular

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.signedinteger]
BoolArray = npt.NDArray[np.bool_]

__all__ = [
    "HitsResult",
    "MainPathResult",
    "PageRankResult",
    "hits",
    "key_route_main_path",
    "longest_path_levels",
    "main_path",
    "pagerank",
    "rescale_by_age",
    "search_path_counts",
    "strong_components",
]


# ----------------------------------------------------------------------------------------------
# input checks


def _edges(n: int, src: npt.ArrayLike, dst: npt.ArrayLike, weight: npt.ArrayLike | None,
           *, need_weights: bool = True) -> tuple[IntArray, IntArray, Any]:
    """Validate; drop self-loops and non-positive weights. Returns int32 ids (int64 beyond 2**31
    nodes) -- the caller's arrays themselves when they already are, no copy -- and float64
    weights; with ``need_weights=False`` and no ``weight``, None instead of a vector of ones."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    s = np.asarray(src)
    d = np.asarray(dst)
    if s.shape != d.shape or s.ndim != 1:
        raise ValueError("src and dst must be 1-d arrays of the same length")
    w = None if weight is None else np.asarray(weight, dtype=np.float64)
    if w is not None and w.shape != s.shape:
        raise ValueError("weight must have the same length as src")
    if s.size:
        lo = min(int(s.min()), int(d.min()))
        hi = max(int(s.max()), int(d.max()))
        if lo < 0 or hi >= n:
            raise ValueError(f"node ids must lie in 0..{n - 1}, got {lo}..{hi}")
        if w is not None and not np.all(np.isfinite(w)):
            raise ValueError("weights must be finite")
    keep = s != d
    if w is not None:
        keep &= w > 0
    if not keep.all():
        s, d = s[keep], d[keep]
        w = None if w is None else w[keep]
    del keep
    it = _index_type(n)
    if w is None and need_weights:
        w = np.ones(s.shape[0], dtype=np.float64)
    return s.astype(it, copy=False), d.astype(it, copy=False), w


def sorted_unique(a: npt.NDArray[Any], *, return_counts: bool = False) -> Any:
    """``np.unique`` (sorted distinct values, optionally their counts) by one sort: NumPy 2.x's
    hash-based ``np.unique`` is about 10x slower on a million integers."""
    b = np.sort(a, kind="stable")
    first = np.empty(b.size, dtype=bool)
    if b.size:
        first[0] = True
        np.not_equal(b[1:], b[:-1], out=first[1:])
    u = b[first]
    if not return_counts:
        return u
    starts = np.flatnonzero(first)
    return u, np.diff(np.append(starts, b.size))


def group_order(keys: npt.NDArray[Any], n_keys: int) -> tuple[IntArray, IntArray]:
    """``(order, ptr)``: ``order`` = ``np.argsort(keys, kind="stable")`` for integer keys in
    0..n_keys-1, and ``ptr`` the group boundaries (``keys[order[ptr[k]:ptr[k+1]]] == k``), by
    SciPy's COO -> CSR conversion: a counting sort, O(len + n_keys) (at 10M arcs and 1.4M keys
    0.48 s against 1.27 s for NumPy's stable argsort). The CSR's column index of each entry is
    its position, so within a key the order is the input's."""
    k = np.asarray(keys)
    e = k.shape[0]
    if e == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(n_keys + 1, dtype=np.int64)
    it = _index_type(max(e, n_keys))
    a = sp.coo_array((np.ones(e, dtype=np.int8), (k.astype(it, copy=False), np.arange(e, dtype=it))),
                     shape=(n_keys, e)).tocsr()
    return a.indices.astype(np.int64, copy=False), a.indptr.astype(np.int64, copy=False)


def _index_type(n: int) -> type[np.signedinteger]:
    """int32 ids while they fit (half the memory traffic; SuperLU wants int32 anyway)."""
    return np.int32 if n < 2**31 - 1 else np.int64


def _adjacency(n: int, s: IntArray, d: IntArray, w: FloatArray) -> sp.csr_array:
    """A[citing, cited] = summed weight (duplicates summed by the COO -> CSR conversion)."""
    a = sp.csr_array((w, (s, d)), shape=(n, n))
    a.sum_duplicates()
    return a


# ----------------------------------------------------------------------------------------------
# strongly connected components and a citing-before-cited order


def strong_components(n: int, src: npt.ArrayLike, dst: npt.ArrayLike) -> tuple[int, IntArray]:
    """Strongly connected components of the directed graph src -> dst.

    Returns ``(n_components, labels)``. Relabelled so that for every edge between two
    components ``labels[src] < labels[dst]``: label order is a topological order of the
    condensation (citing components first). Verified; if SciPy's labelling ever stops being
    a topological order, a level-by-level (Kahn) topological sort of the condensation is used.
    """
    s, d, w = _edges(n, src, dst, None)
    if n == 0:
        return 0, np.zeros(0, dtype=np.int64)
    return _topo_components(n, _adjacency(n, s, d, w), s, d)


def _topo_components(n: int, a: sp.csr_array, s: IntArray, d: IntArray) -> tuple[int, IntArray]:
    """strong_components on a ready adjacency matrix ``a`` whose edges are ``s -> d`` (the
    check of the order runs in blocks of edges: no E-sized temporary)."""
    ncomp, lab = connected_components(a, directed=True, connection="strong")
    labels = lab.astype(_index_type(n), copy=False)
    forwards = backwards = False   # some edge between components with labels[s] < / > labels[d]
    for b in _blocks(s.shape[0]):
        ls, ld = labels[s[b]], labels[d[b]]
        forwards = forwards or bool(np.any(ls < ld))
        backwards = backwards or bool(np.any(ls > ld))   # edges inside a component are neither
        if forwards and backwards:
            break
    if not forwards:                  # SciPy (Pearce's algorithm): sinks first
        return int(ncomp), (ncomp - 1) - labels
    if not backwards:
        return int(ncomp), labels
    # not a topological order: sort the condensation explicitly
    ls, ld = labels[s], labels[d]
    inter = ls != ld
    level = longest_path_levels(int(ncomp), ls[inter], ld[inter])
    rank = np.empty(ncomp, dtype=np.int64)
    rank[np.lexsort((np.arange(ncomp), level))] = np.arange(ncomp)
    return int(ncomp), rank[labels]


def longest_path_levels(n: int, tail: npt.ArrayLike, head: npt.ArrayLike) -> IntArray:
    """Level of each node of a DAG = length of the longest path reaching it from a source.

    Kahn's algorithm one level at a time (vectorised per level). Raises ValueError on a cycle.
    """
    it = _index_type(n)               # int32 ids while they fit: half the memory traffic of the gathers
    t = np.asarray(tail).astype(it, copy=False)
    h = np.asarray(head).astype(it, copy=False)
    level = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return level
    order, indptr = group_order(t, n)
    heads = h[order]
    remaining = np.bincount(h, minlength=n).astype(np.int64)
    frontier = np.flatnonzero(remaining == 0)
    lvl = 0
    while frontier.size:
        level[frontier] = lvl
        starts = indptr[frontier]
        counts = indptr[frontier + 1] - starts
        total = int(counts.sum())
        if total == 0:
            break
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
        targets = heads[offsets + np.arange(total)]
        u, c = sorted_unique(targets, return_counts=True)
        remaining[u] -= c
        frontier = u[remaining[u] == 0]
        lvl += 1
    if (level < 0).any():
        raise ValueError("the graph has a cycle; condense strongly connected components first")
    return level


# ----------------------------------------------------------------------------------------------
# PageRank


@dataclass(frozen=True)
class PageRankResult:
    scores: FloatArray          # sums to 1 over all n nodes
    iterations: int             # triangular solves (auto) or power steps (power)
    error_bound: float          # certified upper bound on ||scores - exact||_1
    method: str                 # 'triangular', 'triangular+power' (switched to power steps) or 'power'
    back_edges: int             # edges inside cycles pointing backwards in the solve order (auto)
    converged: bool


WARMUP = 10            # power steps before deciding whether the triangular solve pays
TRIANGULAR_COST = 50   # its set-up and solve, in matrix-vector products (measured at 1M-10M edges)
SPLIT_STEP_COST = 4    # one splitting step after the first, in matrix-vector products
MAX_BACK_SHARE = 0.05  # more edges than this pointing backwards in the order: stay with power steps
CHUNK = 1 << 18        # edges per block of the O(E) passes that would otherwise need E-sized temporaries


def _blocks(total: int, size: int = CHUNK) -> list[slice]:
    return [slice(a, min(a + size, total)) for a in range(0, total, size)]


# matrix-vector products in row blocks on several threads: SciPy's CSR kernel releases the GIL,
# so blocks run in parallel; each row is summed by the same kernel in the same order, so the
# product is bit-identical to ``m @ x`` (measured at 10M nonzeros on 2 cores: 57 -> 38 ms)
THREADED_NNZ = 1 << 20     # below this many nonzeros one thread is as fast
_POOL: dict[int, ThreadPoolExecutor] = {}   # by process id: a forked child makes its own


def _threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:        # not on Linux
        return max(1, os.cpu_count() or 1)


class _RowBlocks:
    """``m @ x`` for a CSR matrix ``m``, computed in row blocks of about equal nonzeros, one per
    thread. The blocks are views of ``m``'s arrays (no copy of the matrix; only their row
    pointers are new, n + parts integers)."""

    def __init__(self, m: sp.csr_array, parts: int | None = None) -> None:
        self.m = m
        parts = parts or (_threads() if m.nnz >= THREADED_NNZ else 1)
        self.blocks: list[tuple[int, int, sp.csr_array]] = []
        if parts > 1:
            ptr = m.indptr
            cuts = np.unique(np.searchsorted(ptr, np.linspace(0, m.nnz, parts + 1)[1:-1]).clip(0, m.shape[0]))
            rows = [0, *[int(c) for c in cuts if 0 < c < m.shape[0]], m.shape[0]]
            for r0, r1 in zip(rows[:-1], rows[1:], strict=True):
                a, b = int(ptr[r0]), int(ptr[r1])
                # set on an empty matrix: SciPy's constructor copies a view of a much larger array
                block = sp.csr_array((r1 - r0, m.shape[1]), dtype=m.dtype)
                block.data, block.indices = m.data[a:b], m.indices[a:b]
                block.indptr = (ptr[r0:r1 + 1] - ptr[r0]).astype(m.indices.dtype, copy=False)
                block.has_canonical_format = m.has_canonical_format
                self.blocks.append((r0, r1, block))

    def __matmul__(self, x: FloatArray) -> FloatArray:
        if len(self.blocks) < 2:
            return np.asarray(self.m @ x)
        pool = _POOL.get(os.getpid())
        if pool is None:   # a pool inherited through fork has no threads in the child
            _POOL.clear()
            pool = _POOL[os.getpid()] = ThreadPoolExecutor(max_workers=_threads(), thread_name_prefix="patentscope-matvec")
        out = np.empty(self.m.shape[0], dtype=np.result_type(self.m.dtype, x.dtype))

        def part(block: tuple[int, int, sp.csr_array]) -> None:
            r0, r1, b = block
            out[r0:r1] = b @ x

        for f in [pool.submit(part, b) for b in self.blocks]:
            f.result()
        return out


def _sorted_by_dst_src(s: IntArray, d: IntArray) -> bool:
    """Edges strictly increasing in (dst, src): sorted by cited node, no duplicate edges."""
    for b in _blocks(max(s.shape[0] - 1, 0)):
        lo, hi = slice(b.start, b.stop), slice(b.start + 1, b.stop + 1)
        if not np.all((d[hi] > d[lo]) | ((d[hi] == d[lo]) & (s[hi] > s[lo]))):
            return False
    return True


def _rows_by_dst(n: int, s: IntArray, d: IntArray, vals: FloatArray) -> sp.csr_array:
    """CSR matrix M[dst, src] = vals of edges strictly sorted by (dst, src): the source ids are
    its column indices as they are (no copy) and the row pointer a cumulative bincount."""
    indptr = np.zeros(n + 1, dtype=s.dtype)
    np.cumsum(np.bincount(d, minlength=n), out=indptr[1:])
    m = sp.csr_array((vals, s, indptr), shape=(n, n))
    m.has_canonical_format = True
    return m


def _transition_t(n: int, s: IntArray, d: IntArray, w: FloatArray | None, alpha: float) -> tuple[sp.csr_array, BoolArray]:
    """``alpha * P^T`` as CSR (rows = cited, columns = citing; int32 indices, float64 values,
    duplicates summed, sorted), and the dangling mask (nodes citing nothing).

    Edges already strictly sorted by (dst, src) -- as :mod:`patentscope.metrics.citations`
    passes them -- are the matrix as they are: the citing ids are its column indices (no copy)
    and the row pointer is a cumulative bincount; the only new E-sized array is the values.
    Other edges go through SciPy's COO -> CSR counting sort once, whose output arrays are the
    matrix (one temporary: the values in edge order).
    """
    outw = np.bincount(s, weights=w, minlength=n)
    dangling = outw == 0
    scale = np.zeros(n)
    np.divide(alpha, outw, out=scale, where=~dangling)
    del outw
    vals: FloatArray = scale[s]       # alpha / (total weight cited by src), per edge
    if w is not None:
        vals *= w
    del scale
    if _sorted_by_dst_src(s, d):
        return _rows_by_dst(n, s, d, vals), dangling
    apt = sp.csr_array((vals, (d, s)), shape=(n, n))   # sums duplicates, sorts
    return apt, dangling


def pagerank(
    n: int,
    src: npt.ArrayLike,
    dst: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    *,
    alpha: float = 0.85,
    tol: float = 1e-10,
    max_iter: int = 1000,
    method: str = "auto",
    order_key: npt.ArrayLike | None = None,
) -> PageRankResult:
    """PageRank of the graph ``src -> dst`` (src cites dst), as networkx defines it.

    ``weight``: multiplicity of each edge (default 1; duplicates are summed, self-loops
    ignored). ``tol``: absolute L1 bound on the error of the returned vector (certified, see
    the module docstring). ``method``: ``"power"`` (plain power iteration) or ``"auto"``:
    ``WARMUP`` power steps, then, if the observed rate predicts more than ``TRIANGULAR_COST``
    further steps, the triangular solve (exact on DAGs; cycles by the splitting iteration,
    back to power steps if that is slower). ``order_key``: optional, one number per node,
    larger = more recent (e.g. days since 1970, NaN = unknown); orders nodes inside cycles so
    that few edges point backwards. Output: one score per node, summing to 1 (a probability:
    the stationary share of a random reader following citations).

    Memory: int32 ids are used as they are (no copy); the matrix is built once (see
    ``_transition_t``); edges sorted by (dst, src) without duplicates need no sort at all.
    """
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"alpha must be in [0, 1), got {alpha}")
    if tol <= 0:
        raise ValueError("tol must be > 0")
    if method not in ("auto", "power"):
        raise ValueError(f"method must be 'auto' or 'power', got {method!r}")
    s, d, w = _edges(n, src, dst, weight, need_weights=False)
    key = None
    if order_key is not None:
        key = np.asarray(order_key, dtype=np.float64)
        if key.shape != (n,):
            raise ValueError("order_key must have one value per node")
    if n == 0:
        return PageRankResult(np.zeros(0), 0, 0.0, method, 0, True)
    if n == 1 or s.size == 0:
        return PageRankResult(np.full(n, 1.0 / n), 0, 0.0, method, 0, True)
    apt, dangling = _transition_t(n, s, d, w, alpha)
    del w
    dang = np.flatnonzero(dangling)
    del dangling
    if method == "power":
        x, it, bound, _ = _power_steps(apt, dang, alpha, tol, np.full(n, 1.0 / n), 0, max_iter)
        return PageRankResult(x / x.sum(), it, bound, "power", 0, bound <= tol)
    # the matrix travels in a list the callee empties, so that nothing here keeps it alive
    # once the triangular factor is built (memory: see benchmarks/centrality.py)
    held = [apt]
    del apt
    return _pagerank_auto(n, s, d, held, dang, alpha, tol, max_iter, key)


def _power_steps(apt: sp.csr_array, dang: IntArray, alpha: float, tol: float, x: FloatArray,
                 it: int, until: int) -> tuple[FloatArray, int, float, list[float]]:
    """Power steps ``x <- alpha P^T x + (alpha sum(x[dangling]) + 1 - alpha) / n`` from ``x``
    (consumed: its buffer is reused) until the certified bound is <= tol or ``until`` steps."""
    n = x.shape[0]
    factor = alpha / (1.0 - alpha) if alpha > 0 else 0.0
    bound = np.inf
    diffs: list[float] = []
    mv = _RowBlocks(apt)
    while it < until:
        it += 1
        xn = mv @ x
        xn += (alpha * x[dang].sum() + 1.0 - alpha) / n
        np.subtract(xn, x, out=x)
        diff = float(np.abs(x, out=x).sum())
        x = xn
        diffs.append(diff)
        bound = factor * diff   # ||x_new - x*|| <= alpha / (1 - alpha) * ||x_new - x_old||
        if bound <= tol:
            break
    return x, it, bound, diffs


def _permuted_identity_minus(held: list[sp.csr_array], pos: IntArray) -> sp.csr_array:
    """``I - m`` with rows and columns renumbered by ``pos`` (CSR, int32 when it fits, column
    indices sorted within each row), ``m`` taken out of ``held``.

    O(nnz) gathers in blocks of about ``CHUNK`` entries straight into the result's arrays (no
    E-sized temporary): row ``pos[i]`` is row ``i`` of ``m`` with its column ids mapped
    through ``pos`` and a unit diagonal entry; SciPy then sorts each row in place. The column
    indices are built first and ``m``'s are let go before the values are gathered, so that
    when nothing else holds ``m`` the peak is ``m``'s values plus the result, not both whole
    matrices.
    """
    m = held.pop()
    n = m.shape[0]
    total = int(m.nnz)
    old_ptr, old_idx, old_data = m.indptr, m.indices, m.data
    del m
    it = _index_type(total + n)
    order = np.empty(n, dtype=it)
    order[pos] = np.arange(n, dtype=it)
    lens = np.diff(old_ptr)[order].astype(it, copy=False)
    indptr = np.zeros(n + 1, dtype=it)
    np.cumsum(lens + 1, out=indptr[1:])
    # row blocks holding about CHUNK entries each
    cuts = [int(c) for c in np.unique(np.append(np.searchsorted(indptr, np.arange(0, total + n, CHUNK)), n)) if c > 0]

    def gather(source: npt.NDArray[Any], target: npt.NDArray[Any], mapped: IntArray | None) -> None:
        r0 = 0
        for r1 in cuts:
            ln = lens[r0:r1]
            k = int(ln.sum())
            if k:
                excl = np.cumsum(ln, dtype=np.int64) - ln
                src = np.repeat(old_ptr[order[r0:r1]].astype(np.int64) - excl, ln) + np.arange(k)
                dest = np.repeat(indptr[r0:r1].astype(np.int64) + 1 - excl, ln) + np.arange(k)
                target[dest] = source[src] if mapped is None else mapped[source[src]]
            r0 = r1

    indices = np.empty(total + n, dtype=it)
    indices[indptr[:-1]] = np.arange(n, dtype=it)
    gather(old_idx, indices, pos)
    del old_idx
    data = np.empty(total + n)
    data[indptr[:-1]] = -1.0
    gather(old_data, data, None)
    del old_data
    np.negative(data, out=data)
    out = sp.csr_array((data, indices, indptr), shape=(n, n))
    out.sort_indices()      # in place, row by row
    return out


def _drop_upper(lower: sp.csr_array) -> sp.csr_array | None:
    """Move the entries above the diagonal of the sorted CSR ``lower`` out of it, in place
    (blockwise compaction: no E-sized temporary). Returns them, negated (``R`` of the
    splitting ``L - R``), or None when there are none."""
    n = lower.shape[0]
    indptr, indices, data = lower.indptr, lower.indices, lower.data
    rows_b: list[IntArray] = []
    cols_b: list[IntArray] = []
    vals_b: list[FloatArray] = []
    counts = np.zeros(n, dtype=np.int64)
    write = 0
    cuts = np.unique(np.append(np.searchsorted(indptr, np.arange(0, int(indptr[-1]), CHUNK)), n))
    r0 = 0
    for r1 in (int(c) for c in cuts if c > 0):
        a, b = int(indptr[r0]), int(indptr[r1])
        rows = np.repeat(np.arange(r0, r1, dtype=indices.dtype), np.diff(indptr[r0:r1 + 1]))
        up = indices[a:b] > rows
        if up.any():
            rows_b.append(rows[up])
            cols_b.append(indices[a:b][up])
            vals_b.append(-data[a:b][up])
        keep = ~up
        counts[r0:r1] = np.bincount(rows[keep] - r0, minlength=r1 - r0)
        k = int(keep.sum())
        indices[write:write + k] = indices[a:b][keep]
        data[write:write + k] = data[a:b][keep]
        write += k
        r0 = r1
    if not rows_b:
        return None
    np.cumsum(counts, out=indptr[1:])
    lower.indices, lower.data = indices[:write], data[:write]
    lower.has_canonical_format = True
    return sp.csr_array((np.concatenate(vals_b), (np.concatenate(rows_b), np.concatenate(cols_b))), shape=(n, n))


def _pagerank_auto(n: int, s: IntArray, d: IntArray, held: list[sp.csr_array], dang: IntArray,
                   alpha: float, tol: float, max_iter: int, key: FloatArray | None) -> PageRankResult:
    apt: sp.csr_array | None = held.pop()          # alpha * P^T, rows = cited
    assert apt is not None

    # 1. a few power steps; keep going if the observed rate says the rest is cheap
    x, it, bound, diffs = _power_steps(apt, dang, alpha, tol, np.full(n, 1.0 / n), 0, min(WARMUP, max_iter))
    rate = 1.0
    if len(diffs) >= 6 and diffs[-6] > 0:
        rate = (diffs[-1] / diffs[-6]) ** 0.2
    if bound <= tol or it >= max_iter or (0 < rate < 1 and np.log(tol / bound) / np.log(rate) <= TRIANGULAR_COST):
        if bound > tol and it < max_iter:
            x, it, bound, _ = _power_steps(apt, dang, alpha, tol, x, it, max_iter)
        return PageRankResult(x / x.sum(), it, bound, "power", 0, bound <= tol)

    # 2. order citing before cited: components in topological order, inside a cycle by
    # order_key (most recent first), then by id; edges that still point backwards go into R
    ncomp, comp = _topo_components(n, apt, s, d)   # same components; edges reversed
    if ncomp == n:            # a DAG: the component order is already a node order
        pos = comp
    else:
        # edges between components always point forwards; inside one, citing must come first
        # in (key descending, id) order. Count the others before paying for the sort.
        k = np.zeros(n) if key is None else np.nan_to_num(key, nan=-np.inf)
        backwards = 0
        for b in _blocks(s.shape[0]):
            sb, db = s[b], d[b]
            same = comp[sb] == comp[db]
            ss, dd = sb[same], db[same]
            backwards += int(np.count_nonzero((k[ss] < k[dd]) | ((k[ss] == k[dd]) & (ss > dd))))
        if backwards > MAX_BACK_SHARE * s.shape[0]:
            # big cycles in an arbitrary order: splitting steps would be worth little
            x, it, bound, _ = _power_steps(apt, dang, alpha, tol, x, it, max_iter)
            return PageRankResult(x / x.sum(), it, bound, "power", backwards, bound <= tol)
        pos = np.empty(n, dtype=comp.dtype)
        pos[np.lexsort((np.arange(n), -k, comp))] = np.arange(n, dtype=comp.dtype)
    # L = I - alpha P^T renumbered (CSR, rows = cited): lower triangular with a unit diagonal,
    # except for back edges (citing placed after cited), which are moved into R
    if ncomp == n:
        # a DAG: the solve is exact, the power steps are not needed again; alpha * P^T goes
        # while L is built
        held.append(apt)
        apt = None
        lower = _permuted_identity_minus(held, pos)
    else:
        lower = _permuted_identity_minus([apt], pos)
    back = _drop_upper(lower) if ncomp < n else None
    n_back = 0 if back is None else int(back.nnz)
    if back is None:
        apt = None
    # rows are sorted and lower triangular: the diagonal is each row's last entry. The solver
    # takes the CSR as the transpose of a CSC matrix without copying it (overwrite_A) and
    # rewrites the stored diagonal, which is set back to 1 before every product with L
    diag = lower.indptr[1:] - 1
    dang_p = pos[dang]
    ones = np.ones(n)
    # warm start for the splitting: y* = x* / c with c = (alpha * sum(x*[dangling]) + 1 - alpha) / n
    xp = np.empty(n)
    xp[pos] = x
    y = xp * n / (alpha * x[dang].sum() + 1.0 - alpha)
    method = "triangular"
    last = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sp.SparseEfficiencyWarning)
        while it < max_iter:
            it += 1
            rhs = ones.copy() if back is None else ones + back @ y
            y = spsolve_triangular(lower, rhs, lower=True, unit_diagonal=True,
                                   overwrite_A=True, overwrite_b=True)
            xp = y / y.sum()
            # certified: ||x - x*|| <= ||G(x) - x|| / (1 - alpha), G(x) - x = c - L x + R x
            lower.data[diag] = 1.0
            resid = lower @ xp
            np.subtract((alpha * xp[dang_p].sum() + 1.0 - alpha) / n, resid, out=resid)
            if back is not None:
                resid += back @ xp
            last, bound = bound, float(np.abs(resid, out=resid).sum()) / (1.0 - alpha)
            if bound <= tol:
                break
            if apt is not None and it >= WARMUP + 2 and bound > last * rate ** SPLIT_STEP_COST:
                # the cycles make a splitting step worth less than the power steps it costs
                method = "triangular+power"
                del lower
                x, it, bound, _ = _power_steps(apt, dang, alpha, tol, xp[pos], it, max_iter)
                return PageRankResult(x / x.sum(), it, bound, method, n_back, bound <= tol)
    out = xp[pos] / xp.sum()
    return PageRankResult(out, it, bound, method, n_back, bound <= tol)


# ----------------------------------------------------------------------------------------------
# HITS


@dataclass(frozen=True)
class HitsResult:
    authority: FloatArray   # sums to 1 (all zeros when the graph has no edges)
    hub: FloatArray         # sums to 1 (all zeros when the graph has no edges)
    iterations: int
    delta: float            # L1 change of the authority vector in the last iteration
    converged: bool


def hits(
    n: int,
    src: npt.ArrayLike,
    dst: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    *,
    tol: float = 1e-12,
    max_iter: int = 10_000,
    power_first: int = 10,
) -> HitsResult:
    """HITS authorities and hubs of ``src -> dst`` (src cites dst: citing nodes are hubs).

    Power iteration ``a <- A^T A a`` from the uniform vector (Kleinberg's), L1-normalised,
    until the authority vector changes by at most ``tol`` (L1). When ``power_first`` iterations
    are not enough, the two largest eigenvalues of ``A^T A`` are computed (Lanczos, or dense
    for small graphs): if the largest is simple, the power iteration resumes from its
    eigenvector (the unique answer); if it is (nearly) repeated -- e.g. several identical
    components -- HITS has no unique answer and the iteration simply continues, converging to
    the projection of the uniform start, which treats identical components alike. Output:
    authority and hub scores, each summing to 1. A graph without edges gives zeros.
    """
    s, d, w = _edges(n, src, dst, weight)
    if n == 0 or s.size == 0:
        return HitsResult(np.zeros(n), np.zeros(n), 0, 0.0, True)
    if _sorted_by_dst_src(s, d):      # as refresh passes them: A^T is the edge list itself
        at_m = _rows_by_dst(n, s, d, w)
        a_m = at_m.T.tocsr()
    else:
        a_m = _adjacency(n, s, d, w)
        at_m = a_m.T.tocsr()
    a, at = _RowBlocks(a_m), _RowBlocks(at_m)   # products in threads, same values
    auth = np.full(n, 1.0 / n)
    delta = np.inf
    it = 0
    lanczos_done = False
    while it < max_iter:
        it += 1
        nxt = at @ (a @ auth)
        nxt /= nxt.sum()
        delta = float(np.abs(nxt - auth).sum())
        auth = nxt
        if delta <= tol:
            break
        if it == power_first and not lanczos_done:
            lanczos_done = True
            v = _dominant_simple_eigenvector(a, at, auth)
            if v is not None:
                auth = v
    hub = a @ auth
    hub /= hub.sum()
    return HitsResult(auth, hub, it, delta, delta <= tol)


def _dominant_simple_eigenvector(a: _RowBlocks, at: _RowBlocks, start: FloatArray,
                                 gap: float = 1e-6) -> FloatArray | None:
    """Nonnegative L1-normalised dominant eigenvector of A^T A, or None when the top eigenvalue
    is not separated from the next by a relative ``gap`` (or the solver fails)."""
    n = a.m.shape[0]
    try:
        if n <= 500:
            ata = (at.m @ a.m).toarray()
            vals, vecs = np.linalg.eigh(ata)
            top, second, v = vals[-1], (vals[-2] if n > 1 else 0.0), vecs[:, -1]
        else:
            op = LinearOperator((n, n), matvec=lambda x: at @ (a @ x), dtype=np.float64)
            # 8 Lanczos vectors, not SciPy's default 20: the re-orthogonalisation over n-vectors is
            # what costs here (1.4M nodes / 10M edges SYNTHETIC: 2.5-3.4 -> 1.8-1.9 s, the resumed
            # power iteration ends at the same vector to 2e-18; a vector that does not converge
            # within maxiter falls back to the power iteration below)
            vals, vecs = eigsh(op, k=2, which="LA", v0=start, tol=1e-12, maxiter=10_000, ncv=8)
            i = int(np.argmax(vals))
            top, second, v = vals[i], vals[1 - i], vecs[:, i]
    except (ArpackNoConvergence, np.linalg.LinAlgError):
        return None
    if not top > 0 or second >= top * (1.0 - gap):
        return None
    v = np.abs(v)
    return v / v.sum() if v.sum() > 0 else None


# ----------------------------------------------------------------------------------------------
# age rescaling


def rescale_by_age(scores: npt.ArrayLike, dates: npt.ArrayLike, window: int) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    """Rescale each score against the ``window`` nodes closest in date (Mariani et al. 2018).

    ``dates``: sortable numbers (e.g. days since 1970); ties are broken by input position.
    Node at rank r (in date order) is compared with ranks ``[r - window//2, r - window//2 +
    window)``, shifted inwards at both ends; the window is capped at the number of nodes.
    Returns ``(rescaled, mean, std, window_used)``: rescaled = (score - mean) / std, a
    dimensionless z-score; 0 where the window's scores are all equal.
    """
    x = np.asarray(scores, dtype=np.float64)
    t = np.asarray(dates)
    m = x.shape[0]
    if t.shape != x.shape:
        raise ValueError("scores and dates must have the same length")
    if window < 1:
        raise ValueError("window must be >= 1")
    if m == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0), 0
    win = min(int(window), m)
    order = np.lexsort((np.arange(m), t))
    v = x[order]
    start = np.clip(np.arange(m) - win // 2, 0, m - win)
    wmean, wstd = _window_moments(v, win)
    mean_v, std_v = wmean[start], wstd[start]
    z = np.zeros(m)
    ok = std_v > 0
    z[ok] = (v[ok] - mean_v[ok]) / std_v[ok]
    out_z = np.empty(m)
    out_mean = np.empty(m)
    out_std = np.empty(m)
    out_z[order] = z
    out_mean[order] = mean_v
    out_std[order] = std_v
    return out_z, out_mean, out_std, win


_EXACT_WINDOW_WORK = 50_000_000   # window positions x window size up to which moments are computed directly


def _window_moments(v: FloatArray, win: int) -> tuple[FloatArray, FloatArray]:
    """Mean and population std of ``v[s : s + win]`` for every start s in 0 .. len(v) - win.

    Directly (two passes per window, exact to rounding) while that is cheap; otherwise from
    suffix + prefix sums inside blocks of ``win`` values (each window sum accumulates only the
    window's own values, so an outlier elsewhere cannot swamp it), centred on the median. A
    window whose values are all equal has std 0 exactly either way.
    """
    m = v.shape[0]
    nwin = m - win + 1
    if nwin * win <= _EXACT_WINDOW_WORK:
        mean = np.empty(nwin)
        std = np.empty(nwin)
        views = np.lib.stride_tricks.sliding_window_view(v, win)
        step = max(1, 4_000_000 // win)     # bound the temporary to ~32 MB
        for a in range(0, nwin, step):
            chunk = views[a:a + step]
            mean[a:a + step] = chunk.mean(axis=1)
            std[a:a + step] = np.sqrt(((chunk - mean[a:a + step, None]) ** 2).mean(axis=1))
    else:
        centre = float(np.median(v))
        u = v - centre
        mu = _window_sums(u, win) / win
        var = np.maximum(_window_sums(u * u, win) / win - mu * mu, 0.0)
        mean = mu + centre
        std = np.sqrt(var)
    # rounding must not invent spread where there is none
    idx = np.arange(nwin) + win // 2
    flat = minimum_filter1d(v, size=win, mode="nearest")[idx] == maximum_filter1d(v, size=win, mode="nearest")[idx]
    std[flat] = 0.0
    mean[flat] = v[:nwin][flat]
    return mean, std


def _window_sums(u: FloatArray, win: int) -> FloatArray:
    """sum(u[s : s + win]) for every start s in 0 .. len(u) - win (van Herk / Gil-Werman blocks).

    With blocks of ``win`` values, a window is a suffix of one block plus a prefix of the next;
    both partial sums are accumulated from the block boundary outwards, over window values only.
    """
    m = u.shape[0]
    nb = -(-m // win) + 1
    padded = np.zeros(nb * win)
    padded[:m] = u
    blocks = padded.reshape(nb, win)
    prefix = np.cumsum(blocks, axis=1).ravel()
    suffix = np.cumsum(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    starts = np.arange(m - win + 1)
    inner = (starts % win) != 0
    return suffix[starts] + np.where(inner, prefix[starts + win - 1], 0.0)


# ----------------------------------------------------------------------------------------------
# main path analysis


def _logsumexp_grouped(vals: FloatArray, starts: IntArray) -> FloatArray:
    counts = np.diff(np.append(starts, vals.shape[0]))
    mx = np.maximum.reduceat(vals, starts)
    tot = np.add.reduceat(np.exp(vals - np.repeat(mx, counts)), starts)
    return mx + np.log(tot)


def search_path_counts(m: int, tail: npt.ArrayLike, head: npt.ArrayLike) -> tuple[FloatArray, FloatArray, float]:
    """Search path counts on a DAG with arcs ``tail -> head`` (knowledge flow: cited -> citing).

    Duplicate arcs must be removed by the caller. Returns ``(log_spc per arc,
    log_n_minus per node, log_total)``: natural logs of SPC(u, v) = N-(u) * N+(v), of N-(u)
    (paths from any source to u) and of the number of source-to-sink paths. The normalised SPC
    of an arc is ``exp(log_spc - log_total)``, in (0, 1].
    """
    it = _index_type(m)
    t = np.asarray(tail).astype(it, copy=False)
    h = np.asarray(head).astype(it, copy=False)
    if t.size == 0:
        return np.zeros(0), np.zeros(m), -np.inf
    level = longest_path_levels(m, t, h)
    log_minus = np.zeros(m)   # sources: one path (the empty one)
    log_plus = np.zeros(m)    # sinks: one path
    # forward: heads in increasing level
    # arcs by (level of head, head): nodes ranked by (level, id), then a counting sort by rank
    rank = np.empty(m, dtype=np.int64)
    rank[np.lexsort((np.arange(m), level))] = np.arange(m)
    ordf, _ = group_order(rank[h], m)
    th, hh = t[ordf], h[ordf]
    lh = level[hh]
    bounds = np.searchsorted(lh, np.arange(level.max() + 2))
    for lvl in range(1, level.max() + 1):
        a, b = bounds[lvl], bounds[lvl + 1]
        if a == b:
            continue
        hs = hh[a:b]
        starts = np.flatnonzero(np.concatenate(([True], hs[1:] != hs[:-1])))
        log_minus[hs[starts]] = _logsumexp_grouped(log_minus[th[a:b]], starts)
    # backward: tails in decreasing level
    ordb, _ = group_order(rank[t], m)                              # by (level of tail, tail)
    tt, ht = t[ordb], h[ordb]
    lt = level[tt]
    bounds = np.searchsorted(lt, np.arange(level.max() + 2))
    for lvl in range(level.max(), -1, -1):
        a, b = bounds[lvl], bounds[lvl + 1]
        if a == b:
            continue
        ts = tt[a:b]
        starts = np.flatnonzero(np.concatenate(([True], ts[1:] != ts[:-1])))
        log_plus[ts[starts]] = _logsumexp_grouped(log_plus[ht[a:b]], starts)
    indeg = np.bincount(h, minlength=m)
    outdeg = np.bincount(t, minlength=m)
    sources = np.flatnonzero((indeg == 0) & (outdeg > 0))
    vals = log_plus[sources]
    mx = float(vals.max())
    log_total = mx + float(np.log(np.exp(vals - mx).sum()))
    return log_minus[t] + log_plus[h], log_minus, log_total


def key_route_main_path(m: int, tail: npt.ArrayLike, head: npt.ArrayLike, log_spc: npt.ArrayLike,
                        key_routes: int = 10, rel_tie: float = 1e-9) -> BoolArray:
    """Key-route main path (Liu & Lu 2012) with local (priority-first) search.

    Takes the ``key_routes`` arcs of highest SPC (ties broken by arc position) and extends
    each forward from its head, always along the outgoing arc(s) of highest SPC, until a sink,
    and backward from its tail along the incoming arc(s) of highest SPC until a source; arcs
    whose SPC is within ``rel_tie`` (relative) of the maximum all count as the maximum.
    Returns a boolean mask over the arcs: on the main path or not.
    """
    t = np.asarray(tail, dtype=np.int64)
    h = np.asarray(head, dtype=np.int64)
    ls = np.asarray(log_spc, dtype=np.float64)
    on = np.zeros(t.shape[0], dtype=bool)
    if t.size == 0 or key_routes < 1:
        return on
    out_order, out_ptr = group_order(t, m)
    in_order, in_ptr = group_order(h, m)
    tie = float(np.log1p(rel_tie))
    # the key_routes highest SPCs, ties by arc position (a partition, then a sort of the few)
    cand = np.arange(t.shape[0])
    if key_routes < t.shape[0]:
        cand = np.flatnonzero(ls >= np.partition(ls, t.shape[0] - key_routes)[t.shape[0] - key_routes])
    keys = cand[np.lexsort((cand, -ls[cand]))][:key_routes]
    on[keys] = True

    def walk(starts: list[int], ptr: IntArray, arcs_of: IntArray, nxt: IntArray) -> None:
        seen: set[int] = set()
        stack = list(starts)
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            arcs = arcs_of[ptr[node]:ptr[node + 1]]
            if arcs.size == 0:
                continue
            best = ls[arcs].max()
            chosen = arcs[ls[arcs] >= best - tie]
            on[chosen] = True
            stack.extend(int(x) for x in nxt[chosen])

    walk([int(x) for x in h[keys]], out_ptr, out_order, h)   # forward to sinks
    walk([int(x) for x in t[keys]], in_ptr, in_order, t)     # backward to sources
    return on


@dataclass(frozen=True)
class MainPathResult:
    component: IntArray        # per node: its strongly connected component (DAG node)
    component_size: IntArray   # per node: size of its component (1 = in no cycle)
    arc_tail: IntArray         # condensed DAG arcs (components), knowledge flow cited -> citing
    arc_head: IntArray
    arc_log_spc: FloatArray
    arc_spc_norm: FloatArray   # SPC / number of source-to-sink paths, in (0, 1]
    arc_on_main_path: BoolArray
    node_on_main_path: BoolArray      # per node (its component is on the main path)
    node_spc_norm: FloatArray         # per node: max normalised SPC of the arcs touching it; NaN if none
    log_total_paths: float


def main_path(n: int, citing: npt.ArrayLike, cited: npt.ArrayLike, *, key_routes: int = 10) -> MainPathResult:
    """Key-route main path of the citation graph ``citing -> cited`` on node ids 0..n-1.

    Cycles are condensed: each strongly connected component becomes one DAG node and a family
    is on the main path when its component is. Multi-edges count once. Arcs are reported in
    the knowledge-flow direction (cited component -> citing component).
    """
    s, d, _ = _edges(n, citing, cited, None)
    ncomp, comp = strong_components(n, s, d)
    size = np.bincount(comp, minlength=ncomp)[comp] if n else np.zeros(0, dtype=np.int64)
    # arcs in the order of their ends' smallest node ids, so that ties between key routes are
    # broken by node id (family_id order upstream), not by the arbitrary component labels
    if ncomp == n:                     # no cycles: every node is its own component
        rep = np.empty(n, dtype=np.int64)
        rep[comp] = np.arange(n, dtype=np.int64)
    else:                              # the first node of each component in a stable sort
        by_comp = np.argsort(comp, kind="stable")
        first = np.flatnonzero(np.diff(comp[by_comp], prepend=-1) != 0)
        rep = by_comp[first].astype(np.int64)
    # one sort: distinct arcs keyed (rep[tail], rep[head]) come out in that order; a
    # representative's component is its component (flow: cited -> citing)
    if ncomp == n and _sorted_by_dst_src(s, d):
        # a DAG whose edges come distinct and sorted by (cited, citing), as refresh passes them:
        # every node is its own representative, so the keys below are d * n + s, already sorted
        tail, head = comp[d].astype(np.int64), comp[s].astype(np.int64)
    else:
        inter = comp[s] != comp[d]
        key = sorted_unique(rep[comp[d][inter]] * max(n, 1) + rep[comp[s][inter]])
        del inter
        tail = comp[key // max(n, 1)].astype(np.int64)
        head = comp[key % max(n, 1)].astype(np.int64)
    log_spc, _, log_total = search_path_counts(ncomp, tail, head)
    spc_norm = np.exp(log_spc - log_total) if tail.size else np.zeros(0)
    on_arc = key_route_main_path(ncomp, tail, head, log_spc, key_routes)
    comp_on = np.zeros(ncomp, dtype=bool)
    comp_on[tail[on_arc]] = True
    comp_on[head[on_arc]] = True
    comp_spc = np.full(ncomp, np.nan)
    if tail.size:                      # max over the arcs touching each component (unbuffered, no sort)
        best = np.full(ncomp, -np.inf)
        np.maximum.at(best, tail, spc_norm)
        np.maximum.at(best, head, spc_norm)
        touched = best > -np.inf
        comp_spc[touched] = best[touched]
    return MainPathResult(comp, size.astype(np.int64), tail, head, log_spc, spc_norm, on_arc,
                          comp_on[comp], comp_spc[comp], log_total)
