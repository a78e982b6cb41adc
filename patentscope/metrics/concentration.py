"""Holder concentration over families: shares, HHI, CR-k, Gini, number-equivalent firms.

Units and conventions (docs/metrics.md):

- Shares are over **families**, not documents. A family held by several holder groups at once
  (co-ownership) counts 1/k to each of its k groups, so shares sum to 1 in every scope.
- Weighted shares use a per-family weight (e.g. rescaled PageRank) instead of 1.
- HHI is on the **0-10,000** scale: sum over holders of (share in percent)^2.
- CR1/CR4/CR8: summed share (0-1) of the 1/4/8 largest holders.
- Gini: of the holders' family counts, over the holders present (0 = equal holdings; it
  approaches 1 when one of many holders holds almost all). A scope with a single holder has
  Gini 0 and HHI 10,000: read Gini together with n_holders and HHI.
- Number-equivalent firms: 10,000 / HHI (the number of equal-sized holders giving this HHI).
- Thresholds: 2023 US DOJ/FTC Merger Guidelines, HHI > 1,800 = "highly concentrated"; a merger
  raising HHI by more than 100 points in such a market is presumed to lessen competition
  (values kept in ``data/concentration.toml``).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import duckdb
import polars as pl

from ..warehouse.connection import transaction


@dataclass(frozen=True)
class Thresholds:
    highly_concentrated: float
    significant_delta: float
    source: str

    @classmethod
    def load(cls) -> Thresholds:
        doc = tomllib.loads(resources.files("patentscope").joinpath("data/concentration.toml").read_text(encoding="utf-8"))
        t = doc["thresholds"]
        return cls(float(t["highly_concentrated_hhi"]), float(t["significant_delta_hhi"]), str(t["source"]))

    def label(self, hhi: float | None) -> str | None:
        if hhi is None:
            return None
        return "highly concentrated" if hhi > self.highly_concentrated else "not highly concentrated"


_ALL = "_scope"


def _scoped(frame: pl.DataFrame, by: list[str]) -> tuple[pl.DataFrame, list[str]]:
    """Group keys, with a constant dummy key when the whole frame is one scope."""
    if by:
        return frame, by
    return frame.with_columns(pl.lit("all").alias(_ALL)), [_ALL]


def holder_shares(holdings: pl.DataFrame, by: list[str] | None = None, weight: str | None = None) -> pl.DataFrame:
    """Shares of each holder group within each scope.

    Input ``holdings``: one row per (family_id, holder_group) held — columns ``family_id``,
    ``holder_group``, the scope columns in ``by`` and optionally a per-family ``weight`` column.
    Output: scope columns, ``holder_group``, ``families`` (fractional family count, co-owned
    families split equally), ``share`` (0-1 within the scope), sorted by scope then share desc.
    """
    h, keys = _scoped(holdings, by or [])
    fam_keys = [*keys, "family_id"]
    h = h.unique(subset=[*fam_keys, "holder_group"])
    h = h.with_columns((1.0 / pl.len().over(fam_keys)).alias("_frac"))
    w = pl.col(weight) if weight else pl.lit(1.0)
    h = h.with_columns((pl.col("_frac") * w).alias("_units"))
    out = h.group_by([*keys, "holder_group"]).agg(pl.col("_frac").sum().alias("families"), pl.col("_units").sum().alias("_units"))
    out = out.with_columns((pl.col("_units") / pl.col("_units").sum().over(keys)).alias("share")).drop("_units")
    out = out.sort([*keys, "share", "holder_group"], descending=[*([False] * len(keys)), True, False])
    return out if by else out.drop(_ALL)


def gini(values: list[float]) -> float | None:
    """Gini coefficient of positive values: sum_i (2i - n - 1) x_(i) / (n * sum x), x sorted ascending."""
    xs = sorted(v for v in values if v > 0)
    n = len(xs)
    if n == 0:
        return None
    total = sum(xs)
    return sum((2 * i - n - 1) * x for i, x in enumerate(xs, start=1)) / (n * total)


def _hhi_stats(shares: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    ranked = shares.with_columns(pl.col("share").rank("ordinal", descending=True).over(keys).alias("_rank"))
    return ranked.group_by(keys).agg(
        pl.len().alias("n_holders"),
        (10_000 * (pl.col("share") ** 2).sum()).alias("hhi"),
        pl.col("share").filter(pl.col("_rank") <= 1).sum().alias("cr1"),
        pl.col("share").filter(pl.col("_rank") <= 4).sum().alias("cr4"),
        pl.col("share").filter(pl.col("_rank") <= 8).sum().alias("cr8"),
        pl.col("families").alias("_fam_list"),
    )


def concentration(holdings: pl.DataFrame, by: list[str] | None = None, weight: str | None = None,
                  thresholds: Thresholds | None = None) -> pl.DataFrame:
    """HHI, CR1/CR4/CR8, Gini and number-equivalent firms per scope.

    Input as :func:`holder_shares`. Output columns: scope columns, ``n_families`` (distinct
    families), ``n_holders``, ``hhi`` (0-10,000), ``cr1``, ``cr4``, ``cr8`` (0-1), ``gini``
    (0-1, over family counts), ``n_equivalent`` (10,000/HHI), ``label`` (merger-guideline band).
    """
    th = thresholds or Thresholds.load()
    h, keys = _scoped(holdings, by or [])
    shares = holder_shares(h, keys, weight)
    fam = h.group_by(keys).agg(pl.col("family_id").n_unique().alias("n_families"))
    stats = _hhi_stats(shares, keys).with_columns(
        pl.col("_fam_list").map_elements(lambda s: gini(list(s)), return_dtype=pl.Float64).alias("gini"),
        (10_000 / pl.col("hhi")).alias("n_equivalent"),
        pl.col("hhi").map_elements(th.label, return_dtype=pl.Utf8).alias("label"),
    ).drop("_fam_list")
    out = fam.join(stats, on=keys, how="inner").sort(keys)
    return out if by else out.drop(_ALL)


def merger_delta(shares: pl.DataFrame, acquirer: str, target: str, by: list[str] | None = None,
                 thresholds: Thresholds | None = None) -> pl.DataFrame:
    """What-if: ``acquirer`` takes over ``target``. Per scope: ``hhi_before``, ``hhi_after``,
    ``delta`` (= 2 * s_a * s_b with shares in percent, on the 0-10,000 scale) and
    ``presumed_harmful`` (post-merger HHI above the highly-concentrated threshold and delta above
    the significant-change threshold).

    Input: output of :func:`holder_shares`.
    """
    th = thresholds or Thresholds.load()
    s, keys = _scoped(shares, by or [])
    hhi = (10_000 * (pl.col("share") ** 2).sum())
    before = s.group_by(keys).agg(hhi.alias("hhi_before"))
    merged = s.with_columns(
        pl.when(pl.col("holder_group") == target).then(pl.lit(acquirer)).otherwise(pl.col("holder_group")).alias("holder_group")
    ).group_by([*keys, "holder_group"]).agg(pl.col("share").sum())
    after = merged.group_by(keys).agg(hhi.alias("hhi_after"))
    out = before.join(after, on=keys).with_columns((pl.col("hhi_after") - pl.col("hhi_before")).alias("delta"))
    out = out.with_columns(
        ((pl.col("hhi_after") > th.highly_concentrated) & (pl.col("delta") > th.significant_delta)).alias("presumed_harmful")
    ).sort(keys)
    return out if by else out.drop(_ALL)


# --------------------------------------------------------------------------------------------
# the warehouse: concentration tables for `patentscope analyze`

NO_HOLDER = "(no holder shown)"
SCOPES = ("all", "jurisdiction", "segment", "holder_country")


def _scope_frames(frame: pl.DataFrame, segs: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    """The same holdings under each scope type, with a ``scope_value`` column."""
    out = [("all", frame.with_columns(pl.lit("all").alias("scope_value"))),
           ("jurisdiction", frame.with_columns(pl.col("jurisdiction").alias("scope_value"))),
           ("holder_country", frame.with_columns(pl.col("group_country").fill_null("unknown").alias("scope_value")))]
    seg = frame.join(segs, on="pub_key", how="inner").with_columns(pl.col("segment").alias("scope_value"))
    out.append(("segment", seg))
    return out


def stats_table(holdings: pl.DataFrame, segs: pl.DataFrame, period_type: str, weighting: str,
                holder_basis: str, weight: str | None = None, thresholds: Thresholds | None = None) -> pl.DataFrame:
    """Concentration rows for every scope. ``holdings``: pub_key, family_id, holder_group,
    group_country, jurisdiction, year (+ ``weight``). Families without a holder group count in
    ``n_unattributed`` and are left out of the shares."""
    th = thresholds or Thresholds.load()
    rows = []
    for scope_type, f in _scope_frames(holdings, segs):
        if f.height == 0:
            continue
        keys = ["scope_value", "year"]
        if weight:
            f = f.with_columns(pl.col(weight).fill_null(0.0))
        attributed = f.filter(pl.col("holder_group") != NO_HOLDER)
        # a family counts as unattributed only when none of its members has a holder group
        orphan = f.filter(pl.col("holder_group") == NO_HOLDER).select([*keys, "family_id"]).unique().join(
            attributed.select([*keys, "family_id"]).unique(), on=[*keys, "family_id"], how="anti")
        un = f.select(keys).unique().join(orphan.group_by(keys).agg(pl.col("family_id").n_unique().alias("n_unattributed")),
                                          on=keys, how="left").with_columns(pl.col("n_unattributed").fill_null(0))
        if attributed.height:
            per_family = attributed.select([*keys, "family_id", "holder_group", *([weight] if weight else [])]).unique()
            st = concentration(per_family, by=keys, weight=weight, thresholds=th)
            st = st.join(un, on=keys, how="full", coalesce=True)
        else:
            st = un
        rows.append(st.with_columns(pl.lit(scope_type).alias("scope_type")))
    if not rows:
        return pl.DataFrame()
    out = pl.concat(rows, how="diagonal_relaxed")
    # summation order inside parallel group-bys varies in the last bits: store 9 decimals so a
    # re-run writes identical rows
    out = out.with_columns([pl.col(c).round(9) for c in ("hhi", "cr1", "cr4", "cr8", "gini", "n_equivalent") if c in out.columns])
    out = out.with_columns(
        pl.lit(period_type).alias("period_type"), pl.lit(weighting).alias("weighting"), pl.lit(holder_basis).alias("holder_basis"),
        pl.col("n_unattributed").fill_null(0), pl.col("n_families").fill_null(0), pl.col("n_holders").fill_null(0))
    return out


def refresh(con: duckdb.DuckDBPyConnection, expiry_frame: pl.DataFrame, *, today: dt.date,
            years: Iterable[int] | None = None, landscape_only: bool = True) -> dict[str, int]:
    """Recompute ``concentration_stats`` in one transaction: in-force stock at each year's
    reference day (from the expiry engine's full frame) and new filings by earliest year, by
    scope, over families, with holder groups at the date (``publication_holder_groups``);
    unweighted, and weighted by PageRank where the centrality table has values."""
    from .expiry import live_families

    pubs = con.sql("SELECT pub_key, family_id, in_landscape, "
                   "least(priority_date, filing_date, publication_date, grant_date) AS earliest FROM publications").pl()
    keep = pubs.filter(pl.col("in_landscape")) if landscape_only else pubs
    holders = con.sql("SELECT pub_key, group_label AS holder_group, group_country, valid_from, valid_to "
                      "FROM publication_holder_groups").pl()
    segs = con.sql("SELECT pub_key, segment FROM publication_segments WHERE segment <> 'unclassified'").pl()
    weights = _centrality_weights(con)
    ex = expiry_frame.join(keep.select("pub_key"), on="pub_key", how="semi")
    if years is None:
        first = ex["in_force_from"].drop_nulls().min()
        y0 = first.year if isinstance(first, dt.date) else today.year
        years = range(y0, today.year + 21)
    live = live_families(ex, holders, years).with_columns(pl.col("group_country").cast(pl.Utf8))
    frames = [stats_table(live, segs, "in_force_stock", "families", "holder_group")]
    # new filings: a family counts in the year of its earliest date, held by its groups then
    fam_first = keep.drop_nulls("earliest").group_by("family_id").agg(pl.col("earliest").min().alias("reference_date"))
    members = keep.select("pub_key", "family_id").join(fam_first, on="family_id")
    valid = (pl.col("valid_from").is_null() | (pl.col("valid_from") <= pl.col("reference_date"))) & \
            (pl.col("valid_to").is_null() | (pl.col("reference_date") < pl.col("valid_to")))
    held = members.join(holders, on="pub_key", how="inner").filter(valid)
    orphans = members.join(held.select("family_id").unique(), on="family_id", how="anti").with_columns(
        pl.lit(NO_HOLDER).alias("holder_group"), pl.lit(None, dtype=pl.Utf8).alias("group_country"))
    nf = pl.concat([held.select("pub_key", "family_id", "reference_date", "holder_group", pl.col("group_country").cast(pl.Utf8)),
                    orphans.select("pub_key", "family_id", "reference_date", "holder_group", "group_country")])
    nf = nf.with_columns(pl.lit("ALL").alias("jurisdiction"), pl.col("reference_date").dt.year().cast(pl.Int32).alias("year"))
    frames.append(stats_table(nf, segs, "new_filings", "families", "holder_group"))
    if weights.height:
        wlive = live.join(weights, on="family_id", how="left")
        frames.append(stats_table(wlive, segs, "in_force_stock", "centrality", "holder_group", weight="weight"))
    cols = ["scope_type", "scope_value", "period_type", "year", "weighting", "holder_basis", "n_families",
            "n_unattributed", "n_holders", "hhi", "cr1", "cr4", "cr8", "gini", "n_equivalent", "label"]
    nonempty = [f for f in frames if f.height]
    table = pl.concat(nonempty, how="diagonal_relaxed") if nonempty else pl.DataFrame({c: [] for c in cols})
    for c in cols:
        if c not in table.columns:
            table = table.with_columns(pl.lit(None).alias(c))
    table = table.select(cols)
    con.register("_conc", table)
    try:
        with transaction(con):
            con.execute("DELETE FROM concentration_stats").fetchall()
            con.execute(f"INSERT INTO concentration_stats ({', '.join(cols)}) SELECT {', '.join(cols)} FROM _conc").fetchall()
    finally:
        con.unregister("_conc")
    return {"rows": table.height, "years": len(list(years))}


def _centrality_weights(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per-family weights from the centrality table (PageRank), when it exists and has rows."""
    have = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    if "centrality" not in have:
        return pl.DataFrame(schema={"family_id": pl.Utf8, "weight": pl.Float64})
    cols = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'centrality'").fetchall()}
    # raw PageRank (non-negative, sums to 1); the age-rescaled score is a z-score and can be negative
    col = next((c for c in ("pagerank",) if c in cols), None)
    if col is None or "family_id" not in cols:
        return pl.DataFrame(schema={"family_id": pl.Utf8, "weight": pl.Float64})
    return con.sql(f"SELECT family_id, {col}::DOUBLE AS weight FROM centrality WHERE {col} IS NOT NULL").pl()
