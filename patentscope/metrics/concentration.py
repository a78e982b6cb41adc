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
- Thresholds, as an analogy only: the 2023 US DOJ/FTC Merger Guidelines call a market with
  HHI above 1,800 highly concentrated and treat a change above 100 there (or a share above 30%
  with a change above 100) as significant. Patent-family counts are not market shares, so the
  labels say "merger-guideline analogy" and carry no legal conclusion (values and source in
  ``data/concentration.toml``).
- Cells with fewer attributed families than ``[minimum] families`` are labelled "too few to
  judge" and never banded. Every cell reports what it leaves out: families with no holder
  shown, families whose status is unknown, and (where the columns exist) families in force
  only on the assumption that unrecorded fees were paid, and families held by individuals.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import duckdb
import polars as pl

from ..errors import ConfigError
from ..warehouse.connection import transaction

TOO_FEW = "too few to judge"
ABOVE = "above 1,800 (merger-guideline analogy)"
BELOW = "1,800 or below (merger-guideline analogy)"


@dataclass(frozen=True)
class Thresholds:
    highly_concentrated: float
    significant_delta: float
    source: str
    min_families: int = 20
    share_threshold: float = 0.30

    @classmethod
    def load(cls) -> Thresholds:
        path = "patentscope/data/concentration.toml"
        try:
            doc = tomllib.loads(resources.files("patentscope").joinpath("data/concentration.toml").read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML ({e})") from None
        t = doc.get("thresholds", {})
        m = doc.get("minimum", {})

        def num(table: dict[str, object], key: str, where: str, lo: float, hi: float) -> float:
            v = table.get(key)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or not lo <= v <= hi:
                raise ConfigError(f"{path}: {where}.{key}: expected a number from {lo:g} to {hi:g}, got {v!r}")
            return float(v)

        mf = num(m, "families", "minimum", 1, 1_000_000)
        if mf != int(mf):
            raise ConfigError(f"{path}: minimum.families: expected a whole number, got {mf!r}")
        return cls(num(t, "highly_concentrated_hhi", "thresholds", 0, 10_000), num(t, "significant_delta_hhi", "thresholds", 0, 10_000),
                   str(t.get("source", "")), int(mf), num(t, "share_threshold", "thresholds", 0, 1))

    def label(self, hhi: float | None, n_families: float | None = None) -> str | None:
        """The band of an HHI value, as an analogy; "too few to judge" below the minimum count."""
        if n_families is not None and n_families < self.min_families:
            return TOO_FEW
        if hhi is None:
            return None
        return ABOVE if hhi > self.highly_concentrated else BELOW


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
    (0-1, over family counts), ``n_equivalent`` (10,000/HHI), ``label`` (the merger-guideline
    analogy's band, or "too few to judge" below the minimum family count).
    """
    th = thresholds or Thresholds.load()
    h, keys = _scoped(holdings, by or [])
    shares = holder_shares(h, keys, weight)
    fam = h.group_by(keys).agg(pl.col("family_id").n_unique().alias("n_families"))
    stats = _hhi_stats(shares, keys).with_columns(
        pl.col("_fam_list").map_elements(lambda s: gini(list(s)), return_dtype=pl.Float64).alias("gini"),
        (10_000 / pl.col("hhi")).alias("n_equivalent"),
    ).drop("_fam_list")
    out = fam.join(stats, on=keys, how="inner").sort(keys)
    out = out.with_columns(
        pl.when(pl.col("n_families") < th.min_families).then(pl.lit(TOO_FEW))
        .when(pl.col("hhi") > th.highly_concentrated).then(pl.lit(ABOVE))
        .otherwise(pl.lit(BELOW)).alias("label"))
    return out if by else out.drop(_ALL)


def merger_delta(shares: pl.DataFrame, acquirer: str, target: str, by: list[str] | None = None,
                 thresholds: Thresholds | None = None) -> pl.DataFrame:
    """What-if: ``acquirer`` takes over ``target``. Per scope: ``hhi_before``, ``hhi_after``,
    ``delta`` (= 2 * s_a * s_b with shares in percent, on the 0-10,000 scale), ``merged_share``
    and ``crosses_guideline_analogy``: post-merger HHI above the highly-concentrated threshold
    with a delta above the significant-change threshold, or a merged share above the share
    threshold with a delta above it — the 2023 Merger Guidelines' structural thresholds, applied
    to patent-family counts as an analogy only (no legal conclusion follows), and ``basis``
    saying so.

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
    merged_share = merged.filter(pl.col("holder_group") == acquirer).group_by(keys).agg(pl.col("share").sum().alias("merged_share"))
    out = before.join(after, on=keys).with_columns((pl.col("hhi_after") - pl.col("hhi_before")).alias("delta"))
    out = out.join(merged_share, on=keys, how="left").with_columns(pl.col("merged_share").fill_null(0.0))
    big = pl.col("delta") > th.significant_delta
    out = out.with_columns(
        (((pl.col("hhi_after") > th.highly_concentrated) | (pl.col("merged_share") > th.share_threshold)) & big)
        .alias("crosses_guideline_analogy"),
        pl.lit("analogy: 2023 Merger Guidelines structural thresholds applied to patent-family counts; not a legal test")
        .alias("basis"),
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


def _flag_count(f: pl.DataFrame, keys: list[str], col: str, name: str) -> pl.DataFrame:
    """Distinct families per cell with ``col`` true on some row (null when the column is absent)."""
    if col not in f.columns:
        return f.select(keys).unique().with_columns(pl.lit(None, dtype=pl.Int64).alias(name))
    hit = f.filter(pl.col(col).fill_null(False)).group_by(keys).agg(pl.col("family_id").n_unique().cast(pl.Int64).alias(name))
    return f.select(keys).unique().join(hit, on=keys, how="left").with_columns(pl.col(name).fill_null(0))


def stats_table(holdings: pl.DataFrame, segs: pl.DataFrame, period_type: str, weighting: str,
                holder_basis: str, weight: str | None = None, thresholds: Thresholds | None = None,
                unknown: pl.DataFrame | None = None) -> pl.DataFrame:
    """Concentration rows for every scope. ``holdings``: pub_key, family_id, holder_group,
    group_country, jurisdiction, year (+ ``weight``; optional boolean ``fees_not_verified`` and
    ``by_individual`` columns). Families without a holder group count in ``n_unattributed`` and
    are left out of the shares. ``unknown``: rows of the same shape for publications whose
    status is unknown; their families (when not counted in the cell otherwise) are
    ``n_status_unknown``, excluded. ``n_fees_not_verified`` / ``n_individual``: families of the
    cell flagged so (null when the input has no such column: not available)."""
    th = thresholds or Thresholds.load()
    rows = []
    unknown_frames = dict(_scope_frames(unknown, segs)) if unknown is not None and unknown.height else {}
    for scope_type, f in _scope_frames(holdings, segs):
        if f.height == 0:
            continue
        keys = ["scope_value", "year"]
        excl = _flag_count(f, keys, "fees_not_verified", "n_fees_not_verified").join(
            _flag_count(f, keys, "by_individual", "n_individual"), on=keys)
        uf = unknown_frames.get(scope_type)
        if uf is not None:
            un_fams = uf.select([*keys, "family_id"]).unique().join(f.select([*keys, "family_id"]).unique(),
                                                                    on=[*keys, "family_id"], how="anti")
            excl = excl.join(un_fams.group_by(keys).agg(pl.col("family_id").n_unique().cast(pl.Int64).alias("n_status_unknown")),
                             on=keys, how="left").with_columns(pl.col("n_status_unknown").fill_null(0))
        else:
            excl = excl.with_columns(pl.lit(0, dtype=pl.Int64).alias("n_status_unknown"))
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
        st = st.join(excl, on=keys, how="left")
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
    # a cell that is all unattributed has no label yet; below the minimum it is "too few to judge"
    out = out.with_columns(pl.when(pl.col("n_families") < th.min_families).then(pl.lit(TOO_FEW))
                           .otherwise(pl.col("label") if "label" in out.columns else pl.lit(None, dtype=pl.Utf8)).alias("label"),
                           pl.lit(th.min_families).alias("min_families"))
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
    phg_cols = _columns(con, "publication_holder_groups")
    kind = ", holder_kind = 'individual' AS by_individual" if "holder_kind" in phg_cols else ""
    holders = con.sql("SELECT pub_key, group_label AS holder_group, group_country, valid_from, valid_to"
                      f"{kind} FROM publication_holder_groups").pl()
    segs = con.sql("SELECT pub_key, segment FROM publication_segments WHERE segment <> 'unclassified'").pl()
    weights = _centrality_weights(con)
    ex = expiry_frame.join(keep.select("pub_key"), on="pub_key", how="semi")
    if years is None:
        first = ex["in_force_from"].drop_nulls().min()
        y0 = first.year if isinstance(first, dt.date) else today.year
        years = range(y0, today.year + 21)
    live = live_families(ex, holders, years).with_columns(pl.col("group_country").cast(pl.Utf8))
    ys = sorted(set(years))
    unknown = _unknown_status(con, keep, holders, ys)
    if "rests_on_fee_assumption" in _columns(con, "expiry_results"):
        fee = con.sql("SELECT pub_key, jurisdiction, coalesce(rests_on_fee_assumption, false) AS fees_not_verified "
                      "FROM expiry_results").pl()
        live = live.join(fee, on=["pub_key", "jurisdiction"], how="left")
    frames = [stats_table(live, segs, "in_force_stock", "families", "holder_group", unknown=unknown)]
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
        frames.append(stats_table(wlive, segs, "in_force_stock", "centrality", "holder_group", weight="weight", unknown=unknown))
    cols = ["scope_type", "scope_value", "period_type", "year", "weighting", "holder_basis", "n_families",
            "n_unattributed", "n_holders", "hhi", "cr1", "cr4", "cr8", "gini", "n_equivalent", "label",
            "n_status_unknown", "n_fees_not_verified", "n_individual", "min_families"]
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


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = $t",
                                      {"t": table}).fetchall()}


def _unknown_status(con: duckdb.DuckDBPyConnection, keep: pl.DataFrame, holders: pl.DataFrame, years: list[int]) -> pl.DataFrame:
    """Publications whose status the expiry engine could not decide ('unknown'), once per year
    from the year of their family's earliest date (every year when that is unknown), with the
    holder groups they ever had (or '(no holder shown)'). They may be in force in any of those
    years; the concentration cells count their families as excluded, not as in force."""
    if "status" not in _columns(con, "expiry_results"):
        return pl.DataFrame()
    un = con.sql("SELECT DISTINCT pub_key, jurisdiction FROM expiry_results WHERE status = 'unknown'").pl()
    if un.height == 0:
        return pl.DataFrame()
    un = un.join(keep.select("pub_key", "family_id", "earliest"), on="pub_key", how="inner")
    first = un.group_by("family_id").agg(pl.col("earliest").min().dt.year().alias("_y0"))
    grid = un.join(first, on="family_id").join(pl.DataFrame({"year": years}, schema={"year": pl.Int32}), how="cross")
    grid = grid.filter(pl.col("_y0").is_null() | (pl.col("year") >= pl.col("_y0"))).drop("_y0", "earliest")
    h = holders.select("pub_key", "holder_group", pl.col("group_country").cast(pl.Utf8)).unique()
    with_h = grid.join(h, on="pub_key", how="left").with_columns(pl.col("holder_group").fill_null(NO_HOLDER))
    return with_h


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
