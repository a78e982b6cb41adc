"""Citation centrality per patent family: which families are the basic, "unavoidable" ones.

Functions with polars frames in and out (the sparse kernels are in ``graph_sparse.py``; the
family graph is built by DuckDB SQL, over registered frames or the warehouse tables), plus
:func:`refresh`, which builds the graph from the warehouse tables through a given writable
connection and replaces the centrality tables in one transaction. Definitions:
``docs/centrality.md``.

The graph (:func:`build_family_graph`)
    Nodes are families: ``publications.family_id``; a cited number that is not a publication
    in the warehouse is its own family ``'PUB:' || cited_pub_key`` (as the warehouse does for
    publications without a family id). An edge *citing family -> cited family* carries
    ``links``: the number of distinct (citing publication, cited publication) pairs between
    the two families, over every source (the same reference printed by two sources counts
    once; two members citing the same family count twice: multi-edges are counted). Citations
    inside one family are dropped. References without a canonical ``cited_pub_key`` cannot be
    placed and are counted in the statistics only. Citations from and to families outside
    the landscape are kept (forward citations count the whole corpus loaded).

Dates
    ``family_date`` is the earliest filing of the family (min over members of the priority
    and filing dates; basis ``'filing'``); else the earliest publication or grant date
    (``'publication'``); else, for families known only as cited numbers, 1 July of the
    earliest year the citing pages printed for them (``'cited_year'``). ``cohort_year`` is
    its year.

Units
    forward/backward citations: counts of citation links; percentiles: 0-100; PageRank, HITS
    authority and hub: shares summing to 1 over the graph's families; rescaled PageRank: a
    dimensionless z-score; search path counts: counts (normalised: 0-1).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import numpy as np
import polars as pl

from ..errors import WarehouseError
from ..warehouse.connection import register, tables, transaction
from . import graph_sparse as gs

# defaults (docs/centrality.md explains the choices)
ALPHA = 0.5             # PageRank damping, as in the rescaled-PageRank papers on citation data
TOL = 1e-10             # certified absolute L1 error bound of PageRank
RESCALE_WINDOW = 1000   # families per age window (capped at the number of dated families)
KEY_ROUTES = 10         # key routes of the main path
WINDOWS = (5, 10)       # forward-citation windows, years

_PUB_COLUMNS = ["pub_key", "family_id", "priority_date", "filing_date", "publication_date", "grant_date", "in_landscape"]
_CIT_COLUMNS = ["citing_pub_key", "cited_pub_key", "cited_year"]


# ----------------------------------------------------------------------------------------------
# the family graph


@dataclass(frozen=True)
class FamilyGraph:
    """``nodes``: node (Int32, 0..n-1, in family_id order), family_id, in_warehouse, in_landscape,
    n_publications, family_date, date_basis, cohort_year. ``edges``: citing_node, cited_node
    (Int32), links, sorted by (cited_node, citing_node) without duplicates -- the order in which
    the PageRank kernel takes them without a sort. ``as_of``: the latest date any publication
    shows (None if none)."""

    nodes: pl.DataFrame
    edges: pl.DataFrame
    as_of: dt.date | None
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.nodes.height

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (self.edges["citing_node"].to_numpy(), self.edges["cited_node"].to_numpy(),
                self.edges["links"].to_numpy().astype(np.float64))


_GRAPH_SQL = """
CREATE TEMP TABLE {t}_pk AS   -- every publication: an integer id, its family and the family's integer id (fid)
WITH p AS (SELECT pub_key, coalesce(family_id, 'PUB:' || pub_key) AS family_id, in_landscape,
                  least(priority_date, filing_date) AS _filing, least(publication_date, grant_date) AS _published
           FROM {pubs}),
f AS (SELECT family_id, (row_number() OVER () - 1)::INTEGER AS fid FROM (SELECT DISTINCT family_id FROM p))
SELECT p.pub_key, (row_number() OVER () - 1)::INTEGER AS pid, f.fid, p.family_id, p.in_landscape, p._filing, p._published
FROM p JOIN f USING (family_id);

CREATE TEMP TABLE {t}_l AS    -- every resolved reference with the ids of its ends (the number where an end is no publication)
SELECT pa.pid AS a, pa.fid AS fa, CASE WHEN pa.pid IS NULL THEN c.citing_pub_key END AS a_key,
       pb.pid AS b, pb.fid AS fb, CASE WHEN pb.pid IS NULL THEN c.cited_pub_key END AS b_key, c.cited_year
FROM {cits} c LEFT JOIN {t}_pk pa ON pa.pub_key = c.citing_pub_key LEFT JOIN {t}_pk pb ON pb.pub_key = c.cited_pub_key
WHERE c.cited_pub_key IS NOT NULL;

CREATE TEMP TABLE {t}_ext AS  -- numbers that are no publication: each in the family 'PUB:' || number (new ids after the others)
WITH k AS (SELECT DISTINCT k FROM (SELECT a_key AS k FROM {t}_l WHERE a_key IS NOT NULL
                                   UNION ALL SELECT b_key FROM {t}_l WHERE b_key IS NOT NULL)),
n AS (SELECT count(*) AS np, coalesce(max(fid), -1) AS nf FROM {t}_pk),
f AS (SELECT k, 'PUB:' || k AS family_id FROM k),
w AS (SELECT family_id, any_value(fid) AS fid FROM {t}_pk WHERE family_id IN (SELECT family_id FROM f) GROUP BY 1)
SELECT f.k AS pub_key, (n.np + row_number() OVER (ORDER BY f.k) - 1)::INTEGER AS pid,
       coalesce(w.fid, (n.nf + dense_rank() OVER (PARTITION BY w.fid IS NULL ORDER BY f.family_id))::INTEGER) AS fid,
       f.family_id, w.fid IS NULL AS new_family
FROM f CROSS JOIN n LEFT JOIN w USING (family_id);

CREATE TEMP TABLE {t}_pairs AS  -- family pairs, links = distinct publication pairs (one BIGINT key per pair)
WITH l AS (
    SELECT coalesce(l.a, ea.pid) AS a, coalesce(l.fa, ea.fid) AS fa, coalesce(l.b, eb.pid) AS b,
           coalesce(l.fb, eb.fid) AS fb, l.cited_year
    FROM {t}_l l LEFT JOIN {t}_ext ea ON ea.pub_key = l.a_key LEFT JOIN {t}_ext eb ON eb.pub_key = l.b_key),
r AS (SELECT fa::BIGINT << 32 | fb AS ff, a::BIGINT << 32 | b AS ab, cited_year FROM l),
e AS (SELECT ff, count(*) AS n, min(cited_year) AS cited_year FROM r GROUP BY ff),
-- a family pair of one reference has one link: publication pairs are told apart only in the
-- pairs of several (one grouping of all references, not two: 2.0 -> 1.1 s at 10M references)
multi AS (SELECT ff, count(DISTINCT ab) AS links FROM r WHERE ff IN (SELECT ff FROM e WHERE n > 1) GROUP BY ff)
SELECT (e.ff >> 32)::INTEGER AS citing_fid, (e.ff & 4294967295)::INTEGER AS cited_fid,
       CASE WHEN e.n = 1 THEN 1 ELSE m.links END AS links, e.cited_year
FROM e LEFT JOIN multi m USING (ff);

CREATE TEMP TABLE {t}_nodes AS
WITH wh AS (
    SELECT fid, any_value(family_id) AS family_id, count(*)::INTEGER AS n_publications, bool_or(in_landscape) AS in_landscape,
           min(_filing) AS _filing, min(_published) AS _published, TRUE AS in_warehouse
    FROM {t}_pk GROUP BY fid),
newf AS (SELECT fid, any_value(family_id) AS family_id FROM {t}_ext WHERE new_family GROUP BY fid),
lo AS (SELECT coalesce(max(fid), -1) AS nf FROM {t}_pk),
ends AS (  -- a family known only as a number is a node when a reference joins it to another family
    SELECT citing_fid AS fid FROM {t}_pairs, lo WHERE citing_fid <> cited_fid AND citing_fid > lo.nf
    UNION SELECT cited_fid FROM {t}_pairs, lo WHERE citing_fid <> cited_fid AND cited_fid > lo.nf),
allf AS (
    SELECT * FROM wh
    UNION ALL
    SELECT e.fid, n.family_id, 0::INTEGER, FALSE, NULL::DATE, NULL::DATE, FALSE FROM ends e JOIN newf n USING (fid)),
undated AS (SELECT fid FROM allf WHERE _filing IS NULL AND _published IS NULL),
cy AS (  -- the earliest year printed for a citation of the family (read with the pairs: one pass over citations)
    SELECT cited_fid AS fid, min(cited_year) AS _cited_year FROM {t}_pairs
    WHERE cited_year IS NOT NULL AND cited_fid IN (SELECT fid FROM undated) GROUP BY 1),
dated AS (
    SELECT a.*, coalesce(_filing, _published,
                         CASE WHEN _cited_year BETWEEN 1790 AND 2100 THEN make_date(_cited_year, 7, 1) END) AS family_date,
           CASE WHEN _filing IS NOT NULL THEN 'filing' WHEN _published IS NOT NULL THEN 'publication'
                WHEN _cited_year BETWEEN 1790 AND 2100 THEN 'cited_year' END AS date_basis
    FROM allf a LEFT JOIN cy USING (fid)
    {where})
SELECT (row_number() OVER (ORDER BY family_id) - 1)::INTEGER AS node, fid, family_id, in_warehouse, in_landscape,
       n_publications, family_date, date_basis, year(family_date)::INTEGER AS cohort_year
FROM dated ORDER BY family_id;
"""

# the integer ids (pid, fid) only make the joins and groupings cheap: the SQL on family_id strings
# took 16.4 s at 1M SYNTHETIC publications / 10M citations, this 12.0 s, with the same nodes and edges
_EDGES_SQL = """
SELECT a.node AS citing_node, b.node AS cited_node, p.links::BIGINT AS links
FROM {t}_pairs p JOIN {t}_nodes a ON a.fid = p.citing_fid JOIN {t}_nodes b ON b.fid = p.cited_fid
WHERE p.citing_fid <> p.cited_fid
ORDER BY cited_node, citing_node
"""

_GRAPH_TABLES = ("pk", "l", "ext", "pairs", "nodes")


def build_family_graph(publications: pl.DataFrame | str, citations: pl.DataFrame | str, *, landscape_only: bool = False,
                       con: duckdb.DuckDBPyConnection | None = None) -> FamilyGraph:
    """Collapse publication citations into the family citation graph (DuckDB SQL).

    ``publications``: pub_key, family_id, priority_date, filing_date, publication_date,
    grant_date (Date), in_landscape (bool). ``citations``: citing_pub_key, cited_pub_key
    (NULL when unresolved), cited_year (int, may be NULL). Polars frames, or -- with ``con`` --
    names of relations on that connection (``refresh`` passes the warehouse tables, so nothing
    is copied into Python but the graph). ``landscape_only``: keep only families with a member
    in the landscape and the citations among them.
    """
    own = con is None
    db = duckdb.connect(":memory:") if con is None else con
    t = f"_patentscope_graph_{os.getpid()}"
    names: list[str] = []
    try:
        rel = {}
        for key, frame, cols in (("pubs", publications, _PUB_COLUMNS), ("cits", citations, _CIT_COLUMNS)):
            if isinstance(frame, str):
                rel[key] = frame
            else:
                view = f"{t}_{key}_in"
                register(db, view, frame.select(cols))
                names.append(view)
                rel[key] = view
        script = _GRAPH_SQL.format(t=t, pubs=rel["pubs"], cits=rel["cits"], where="WHERE in_landscape" if landscape_only else "")
        for statement in script.split(";"):
            if statement.strip():
                db.execute(statement).fetchall()
        nodes = db.sql(f"SELECT * EXCLUDE (fid) FROM {t}_nodes ORDER BY node").pl()
        edges = db.sql(_EDGES_SQL.format(t=t)).pl()
        n_self, n_unresolved, as_of = db.execute(
            f"SELECT (SELECT coalesce(sum(links), 0) FROM {t}_pairs WHERE citing_fid = cited_fid),"
            f" (SELECT count(*) FROM {rel['cits']} WHERE cited_pub_key IS NULL),"
            f" (SELECT max(greatest(priority_date, filing_date, publication_date, grant_date)) FROM {rel['pubs']})"
        ).fetchall()[0]
    finally:
        for suffix in _GRAPH_TABLES:
            db.execute(f"DROP TABLE IF EXISTS {t}_{suffix}").fetchall()
        for view in names:
            db.unregister(view)
        if own:
            db.close()
    stats = {
        "n_links": int(edges["links"].sum() or 0),
        "n_self_links": int(n_self),
        "n_unresolved_references": int(n_unresolved),
    }
    return FamilyGraph(nodes, edges, as_of, stats)


# ----------------------------------------------------------------------------------------------
# counts


def forward_citations(graph: FamilyGraph, *, as_of: dt.date | None = None, windows: tuple[int, ...] = WINDOWS) -> pl.DataFrame:
    """Forward and backward citation counts per family.

    Returns family_id, forward_citations (links received), citing_families (distinct),
    ``forward_citations_{k}y`` for k in ``windows`` (links from families dated at most k years
    after this family; NULL when this family has no date; a citing family without a date is
    not counted), ``window_{k}y_complete`` (family_date + k years <= ``as_of``, default the
    graph's as_of) and backward_citations (links made), one row per node in node order (the
    order of ``graph.nodes``). Units: counts of links.
    """
    as_of = graph.as_of if as_of is None else as_of
    n = graph.n
    # per edge NumPy over the int32 node ids (no join): dates as day numbers, a citing family
    # without a date never falls inside a window
    never = np.iinfo(np.int32).max
    day = graph.nodes["family_date"].cast(pl.Int32).fill_null(never).to_numpy()
    s, d = graph.edges["citing_node"].to_numpy(), graph.edges["cited_node"].to_numpy()
    w = graph.edges["links"].to_numpy()
    cols_np: dict[str, np.ndarray] = {
        "forward_citations": np.bincount(d, weights=w, minlength=n),
        "citing_families": np.bincount(d, minlength=n),
    }
    citing_day = day[s]
    for k in windows:
        end = graph.nodes["family_date"].dt.offset_by(f"{k}y").cast(pl.Int32).fill_null(-never).to_numpy()
        within = citing_day <= end[d]
        cols_np[f"forward_citations_{k}y"] = np.bincount(d[within], weights=w[within], minlength=n)
    del citing_day
    cols_np["backward_citations"] = np.bincount(s, weights=w, minlength=n)
    out = graph.nodes.select("family_id", "family_date").with_columns(
        pl.Series(name, np.rint(v).astype(np.int64)) for name, v in cols_np.items())
    cols: list[pl.Expr] = []
    for k in windows:
        dated = pl.col("family_date").is_not_null()
        cols.append(pl.when(dated).then(pl.col(f"forward_citations_{k}y")).otherwise(None).alias(f"forward_citations_{k}y"))
        done = pl.col("family_date").dt.offset_by(f"{k}y") <= pl.lit(as_of, dtype=pl.Date) if as_of else pl.lit(None, dtype=pl.Boolean)
        cols.append(pl.when(dated).then(done).otherwise(None).alias(f"window_{k}y_complete"))
    out = out.with_columns(cols)
    order = ["family_id", "forward_citations", "citing_families"]
    for k in windows:
        order.append(f"forward_citations_{k}y")
    for k in windows:
        order.append(f"window_{k}y_complete")
    return out.select([*order, "backward_citations"])


def forward_citation_percentiles(counts: pl.DataFrame, segments: pl.DataFrame | None = None) -> pl.DataFrame:
    """Age-normalised forward citations: percentile rank within (cohort_year, segment).

    ``counts``: family_id, cohort_year (NULL rows are skipped), forward_citations.
    ``segments``: optional family_id, segment (a family may be in several; families missing
    from it are in no segment). Without it every family is in segment ``'all'``.
    Percentile rank = 100 * (families with fewer citations + half of those with as many,
    itself included) / cohort size: 0-100, mean 50 in every cohort, 50 for a cohort of one.
    Returns family_id, segment, cohort_year, cohort_size, forward_citations,
    forward_citations_percentile.
    """
    base = counts.filter(pl.col("cohort_year").is_not_null()).select("family_id", "cohort_year", "forward_citations")
    if segments is None:
        base = base.with_columns(pl.lit("all").alias("segment"))
    else:
        base = base.join(segments.select("family_id", "segment").unique(), on="family_id", how="inner")
    grp = ["cohort_year", "segment"]
    lo = pl.col("forward_citations").rank("min").over(grp)
    hi = pl.col("forward_citations").rank("max").over(grp)
    n = pl.len().over(grp)
    return (
        base.with_columns(
            n.cast(pl.Int32).alias("cohort_size"),
            (100.0 * ((lo - 1) + 0.5 * (hi - lo + 1)) / n).alias("forward_citations_percentile"),
        )
        .select("family_id", "segment", "cohort_year", "cohort_size", "forward_citations", "forward_citations_percentile")
        .sort("segment", "cohort_year", "family_id")
    )


# ----------------------------------------------------------------------------------------------
# network measures


def rescale_by_age(scores: pl.DataFrame, *, score: str = "pagerank", window: int = RESCALE_WINDOW) -> tuple[pl.DataFrame, int]:
    """Rescale a score against the families closest in date (Mariani, Medo & Lafond 2018).

    ``scores``: family_id, family_date (Date; NULL rows get NULL), ``score``. Families are
    ordered by (family_date, family_id); each is compared with the ``window`` families around
    it in that order (see ``graph_sparse.rescale_by_age``). Returns (frame of family_id,
    ``{score}_rescaled`` (z-score), ``{score}_window_mean``, ``{score}_window_std``, one row per
    row of ``scores`` in its order; window actually used).
    """
    rows = scores.select("family_id", "family_date", score).with_row_index("_row")
    dated = rows.filter(pl.col("family_date").is_not_null())
    # frames in family_id order (as centrality_table passes them): a stable sort by date alone
    # is the (family_date, family_id) order, without comparing strings
    dated = dated.sort("family_date", maintain_order=True) if dated["family_id"].is_sorted() \
        else dated.sort("family_date", "family_id")
    days = dated["family_date"].cast(pl.Int32).to_numpy()
    z, mu, sd, used = gs.rescale_by_age(dated[score].to_numpy().astype(np.float64), days, window)
    at = dated["_row"]
    empty = pl.Series(values=[None] * scores.height, dtype=pl.Float64)
    out = scores.select("family_id").with_columns(
        empty.scatter(at, z).alias(f"{score}_rescaled"), empty.scatter(at, mu).alias(f"{score}_window_mean"),
        empty.scatter(at, sd).alias(f"{score}_window_std"))
    return out, used


def _in_scope(graph: FamilyGraph, scope: str) -> np.ndarray:
    """Per node: in the main path's scope ('all', or 'landscape': a member in the landscape)."""
    if scope == "all":
        return np.ones(graph.n, dtype=bool)
    return graph.nodes["in_landscape"].fill_null(False).to_numpy()


def main_path_frames(graph: FamilyGraph, *, scope: str = "landscape", key_routes: int = KEY_ROUTES) -> tuple[pl.DataFrame, pl.DataFrame, gs.MainPathResult]:
    """Key-route main path on the landscape DAG (``scope='landscape'``: families with a member
    in the landscape and the citations among them) or on the whole graph (``'all'``).

    Returns (families: family_id, on_main_path (NULL outside the scope), main_path_spc (max
    normalised SPC of its arcs, NULL without arcs), scc_size; arcs on the main path:
    cited_family_id, citing_family_id, spc, log10_spc, spc_normalised; the kernel result).
    Cycles are condensed (every family of a strongly connected component shares its place).
    """
    if scope not in ("landscape", "all"):
        raise ValueError("scope must be 'landscape' or 'all'")
    n = graph.n
    inside = _in_scope(graph, scope)
    m = int(inside.sum())
    loc = np.full(n, -1, dtype=np.int32)
    loc[inside] = np.arange(m, dtype=np.int32)
    fam_ids = graph.nodes.filter(pl.Series(inside))["family_id"]
    s, d = graph.edges["citing_node"].to_numpy(), graph.edges["cited_node"].to_numpy()
    cs, cd = loc[s], loc[d]
    keep = (cs >= 0) & (cd >= 0)
    cs, cd = cs[keep], cd[keep]
    del keep
    res = gs.main_path(m, cs, cd, key_routes=key_routes)
    fams = pl.DataFrame({"family_id": fam_ids}).with_columns(
        pl.Series("on_main_path", res.node_on_main_path, dtype=pl.Boolean),
        pl.Series("main_path_spc", res.node_spc_norm, dtype=pl.Float64).fill_nan(None),
        pl.Series("scc_size", res.component_size, dtype=pl.Int32),
    )
    # family-level arcs realising the condensed main-path arcs (flow: cited -> citing)
    ncomp = max(int(res.component.max()) + 1 if m else 1, 1)
    on = np.flatnonzero(res.arc_on_main_path)
    arc_key = res.arc_tail[on].astype(np.int64) * ncomp + res.arc_head[on]
    by_key = np.argsort(arc_key, kind="stable")
    arc_key, on = arc_key[by_key], on[by_key]
    edge_key = res.component[cd].astype(np.int64) * ncomp + res.component[cs]
    hit = np.zeros(0, dtype=np.int64)
    at = hit
    if arc_key.size:
        at = np.searchsorted(arc_key, edge_key).clip(0, arc_key.size - 1)
        hit = np.flatnonzero(arc_key[at] == edge_key)
    arc = on[at[hit]]
    log_spc = res.arc_log_spc[arc]
    fam_arcs = (
        pl.DataFrame({
            "cited_family_id": fam_ids.gather(cd[hit]),
            "citing_family_id": fam_ids.gather(cs[hit]),
            "spc": np.exp(log_spc),
            "log10_spc": log_spc / np.log(10.0),
            "spc_normalised": res.arc_spc_norm[arc],
        })
        .sort("cited_family_id", "citing_family_id")
    )
    return fams, fam_arcs, res


# ----------------------------------------------------------------------------------------------
# the whole table


@dataclass
class CentralityStats:
    scope: str
    as_of: dt.date | None
    n_families: int
    n_families_in_warehouse: int
    n_edges: int
    n_links: int
    n_self_links: int
    n_unresolved_references: int
    n_cycles: int
    n_families_in_cycles: int
    pagerank_alpha: float
    pagerank_tol: float
    pagerank_error_bound: float
    pagerank_method: str
    pagerank_iterations: int
    hits_iterations: int
    hits_delta: float
    hits_converged: bool
    rescale_window: int
    main_path_scope: str
    key_routes: int
    main_path_families: int
    main_path_arcs: int
    seconds: float = 0.0
    run_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CentralityResult:
    families: pl.DataFrame      # columns of the family_centrality table (without run_id)
    percentiles: pl.DataFrame   # columns of family_cohort_percentiles (without run_id)
    main_path: pl.DataFrame     # columns of centrality_main_path (without run_id)
    stats: CentralityStats


FAMILY_COLUMNS = [
    "family_id", "in_warehouse", "in_landscape", "n_publications", "family_date", "date_basis", "cohort_year",
    "forward_citations", "citing_families", "forward_citations_5y", "forward_citations_10y",
    "window_5y_complete", "window_10y_complete", "backward_citations", "forward_citations_percentile", "cohort_size",
    "pagerank", "pagerank_rescaled", "hits_authority", "hits_hub", "scc_size", "on_main_path", "main_path_spc",
]


def centrality_table(
    publications: pl.DataFrame | str,
    citations: pl.DataFrame | str,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    landscape_only: bool = False,
    segments: pl.DataFrame | None = None,
    alpha: float = ALPHA,
    tol: float = TOL,
    rescale_window: int = RESCALE_WINDOW,
    key_routes: int = KEY_ROUTES,
    main_path_scope: str = "landscape",
    as_of: dt.date | None = None,
) -> CentralityResult:
    """Every centrality measure per family (input columns as in :func:`build_family_graph`).

    ``segments`` (family_id, segment) adds per-segment cohort percentiles to
    ``percentiles``; the family table's percentile is always the all-families one. With
    ``con``, ``publications`` and ``citations`` may name relations on it (see
    :func:`build_family_graph`).
    """
    t0 = time.perf_counter()
    g = build_family_graph(publications, citations, landscape_only=landscape_only, con=con)
    src, dst, w = g.arrays()
    # family dates order families inside citation cycles (most recent first): fewer back edges
    days = g.nodes["family_date"].cast(pl.Int32).cast(pl.Float64).fill_null(np.nan).to_numpy()
    pr = gs.pagerank(g.n, src, dst, w, alpha=alpha, tol=tol, order_key=days)
    hi = gs.hits(g.n, src, dst, w)
    counts = forward_citations(g, as_of=as_of)   # node order, as every per-node frame below
    base = (
        g.nodes.hstack(counts.drop("family_id").get_columns())
        .with_columns(
            pl.Series("pagerank", pr.scores),
            pl.Series("hits_authority", hi.authority),
            pl.Series("hits_hub", hi.hub),
        )
    )
    resc, used = rescale_by_age(base.select("family_id", "family_date", "pagerank"), window=rescale_window)
    cohort_in = base.filter(pl.col("in_warehouse")).select("family_id", "cohort_year", "forward_citations")
    pct_all = forward_citation_percentiles(cohort_in)
    pct = pct_all
    if segments is not None and segments.height:
        pct = pl.concat([pct_all, forward_citation_percentiles(cohort_in, segments.filter(pl.col("segment") != "all"))])
    mp_fams, mp_arcs, mp = main_path_frames(g, scope=main_path_scope, key_routes=key_routes)
    _, comp = gs.strong_components(g.n, src, dst)
    scc = np.bincount(comp, minlength=int(comp.max()) + 1 if comp.size else 0)
    # the main path's frame has the scope's nodes in node order: scattered into place, no join
    inside = np.flatnonzero(_in_scope(g, main_path_scope))
    on_path = pl.Series("on_main_path", [None] * g.n, dtype=pl.Boolean).scatter(inside, mp_fams["on_main_path"])
    path_spc = pl.Series("main_path_spc", [None] * g.n, dtype=pl.Float64).scatter(inside, mp_fams["main_path_spc"])
    families = (
        base.with_columns(resc["pagerank_rescaled"], on_path, path_spc)
        .join(pct_all.select("family_id", "forward_citations_percentile", "cohort_size"), on="family_id", how="left", maintain_order="left")
        .with_columns(pl.Series("scc_size", scc[comp] if comp.size else np.zeros(0, dtype=np.int64)).cast(pl.Int32))
        .select(FAMILY_COLUMNS)
        .sort("family_id")
    )
    stats = CentralityStats(
        scope="landscape" if landscape_only else "all",
        as_of=g.as_of if as_of is None else as_of,
        n_families=g.n,
        n_families_in_warehouse=int(g.nodes["in_warehouse"].sum()),
        n_edges=g.edges.height,
        n_links=g.stats["n_links"],
        n_self_links=g.stats["n_self_links"],
        n_unresolved_references=g.stats["n_unresolved_references"],
        n_cycles=int((scc > 1).sum()),
        n_families_in_cycles=int(scc[scc > 1].sum()),
        pagerank_alpha=alpha,
        pagerank_tol=tol,
        pagerank_error_bound=pr.error_bound,
        pagerank_method=pr.method,
        pagerank_iterations=pr.iterations,
        hits_iterations=hi.iterations,
        hits_delta=hi.delta,
        hits_converged=hi.converged,
        rescale_window=used,
        main_path_scope=main_path_scope,
        key_routes=key_routes,
        main_path_families=int(mp_fams["on_main_path"].sum()),
        main_path_arcs=mp_arcs.height,
    )
    stats.seconds = time.perf_counter() - t0
    return CentralityResult(families, pct.sort("segment", "cohort_year", "family_id"), mp_arcs, stats)


# ----------------------------------------------------------------------------------------------
# basic patents


def basic_patents(
    centrality: pl.DataFrame,
    *,
    top: int = 20,
    expiry: pl.DataFrame | None = None,
    market: str | None = None,
    at: dt.date | None = None,
    holders: pl.DataFrame | None = None,
    landscape_only: bool = True,
) -> pl.DataFrame:
    """The top families by rescaled PageRank: candidate "basic patents".

    ``centrality``: family_id, pagerank_rescaled, pagerank, forward_citations, in_landscape
    (the ``centrality`` view or :attr:`CentralityResult.families`). Families without a rescaled
    score (no date) are left out; ``landscape_only`` keeps families with a member in the
    landscape.

    ``expiry`` (optional; needs ``market`` and ``at``): family_id, jurisdiction, expiry_date
    (Date, NULL = unknown) and optionally in_force_from (Date, e.g. the grant date; NULL =
    not granted). A family qualifies when one of its rows for ``market`` is in force at
    ``at``: in_force_from <= at < expiry_date (an unknown expiry never counts as in force).
    Adds market and in_force_until (the latest such expiry).

    ``holders`` (optional): family_id, holder_group (one row per group; map names to groups
    at the date first). Adds holder_groups (sorted list).

    Returns rank (1 = highest rescaled PageRank among those kept), family_id,
    pagerank_rescaled, pagerank, forward_citations, then the optional columns.
    """
    if top < 1:
        raise ValueError("top must be >= 1")
    c = centrality.filter(pl.col("pagerank_rescaled").is_not_null())
    if landscape_only and "in_landscape" in c.columns:
        c = c.filter(pl.col("in_landscape"))
    cols = ["family_id", "pagerank_rescaled", "pagerank", "forward_citations"]
    c = c.select(cols)
    if expiry is not None:
        if market is None or at is None:
            raise ValueError("filtering by expiry needs both market and at")
        e = expiry.filter(pl.col("jurisdiction") == market)
        start = pl.col("in_force_from") if "in_force_from" in e.columns else pl.lit(at, dtype=pl.Date)
        e = (
            e.filter((start <= pl.lit(at, dtype=pl.Date)) & (pl.col("expiry_date") > pl.lit(at, dtype=pl.Date)))
            .group_by("family_id")
            .agg(pl.col("expiry_date").max().alias("in_force_until"))
            .with_columns(pl.lit(market).alias("market"))
        )
        c = c.join(e, on="family_id", how="inner")
    out = c.sort(["pagerank_rescaled", "family_id"], descending=[True, False]).head(top)
    out = out.with_row_index("rank", offset=1).with_columns(pl.col("rank").cast(pl.Int64))
    if holders is not None:
        h = holders.group_by("family_id").agg(pl.col("holder_group").drop_nulls().unique().sort().alias("holder_groups"))
        out = out.join(h, on="family_id", how="left", maintain_order="left")
    return out


# ----------------------------------------------------------------------------------------------
# the warehouse writer


def _has_relation(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return name in tables(con)


def load_inputs(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """(publications, citations, segments or None) frames with the columns the functions use."""
    pubs = con.sql(f"SELECT {', '.join(_PUB_COLUMNS)} FROM publications").pl()
    cits = con.sql(f"SELECT {', '.join(_CIT_COLUMNS)} FROM citations").pl()
    return pubs, cits, _load_segments(con)


def _load_segments(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    if not _has_relation(con, "segments"):
        return None
    return con.sql("SELECT DISTINCT family_id, segment FROM segments WHERE family_id IS NOT NULL").pl()


def _table_keys(res: CentralityResult) -> list[tuple[str, pl.DataFrame, tuple[str, ...]]]:
    """The tables refresh replaces, their rows and primary keys (migration 0006)."""
    return [("family_centrality", res.families, ("family_id",)),
            ("family_cohort_percentiles", res.percentiles, ("family_id", "segment")),
            ("centrality_main_path", res.main_path, ("cited_family_id", "citing_family_id"))]


def refresh(con: duckdb.DuckDBPyConnection, landscape_only: bool = False, **params: Any) -> CentralityStats:
    """Compute centrality from the warehouse and replace the centrality tables, in one transaction.

    ``con``: a writable connection with migration 0006 applied and no open transaction.
    ``params``: keyword arguments of :func:`centrality_table` (alpha, tol, rescale_window,
    key_routes, main_path_scope, as_of). Running it twice on the same data leaves the same
    rows (only run_id and computed_at change). Returns the run's statistics.
    """
    for name in ("family_centrality", "centrality_runs", "family_cohort_percentiles", "centrality_main_path"):
        if not _has_relation(con, name):
            raise WarehouseError(f"table {name} does not exist; run `patentscope migrate` first")
    registered: list[str] = []
    try:
        with transaction(con):
            segs = _load_segments(con)
            res = centrality_table("publications", "citations", con=con, landscape_only=landscape_only, segments=segs, **params)
            run_id = int(con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM centrality_runs").fetchall()[0][0])
            res.stats.run_id = run_id
            stats = {k: v for k, v in res.stats.as_dict().items() if k != "run_id"}
            con.execute(
                f"INSERT INTO centrality_runs (run_id, computed_at, {', '.join(stats)}) "
                f"VALUES ($run_id, $computed_at, {', '.join('$' + k for k in stats)})",
                {"run_id": run_id, "computed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None), **stats},
            ).fetchall()
            # Upsert on the primary key, then delete the rows of earlier runs: the same rows as
            # DELETE + INSERT, but DuckDB commits a delete and re-insert of the same keys in one
            # transaction very slowly (measured at 100k families: 20 s against under 1 s)
            for table, frame, key in _table_keys(res):
                view = f"_patentscope_{table}"
                register(con, view, frame.with_columns(pl.lit(run_id, dtype=pl.Int64).alias("run_id")))
                registered.append(view)
                update = ", ".join(f"{c} = excluded.{c}" for c in [*frame.columns, "run_id"] if c not in key)
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view} ON CONFLICT DO UPDATE SET {update}").fetchall()
                con.execute(f"DELETE FROM {table} WHERE run_id IS DISTINCT FROM $run_id", {"run_id": run_id}).fetchall()
    finally:
        for view in registered:
            con.unregister(view)
    return res.stats
