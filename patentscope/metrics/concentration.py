"""Holder concentration over families: shares, HHI, CR-k, Gini, number-equivalent firms.

Units and conventions (docs/metrics.md):

- Shares are over **families**, not documents. A family held by several holder groups at once
  (co-ownership) counts 1/k to each of its k groups, so shares sum to 1 in every scope.
- Weighted shares use a per-family weight (e.g. rescaled PageRank) instead of 1.
- HHI is on the **0-10,000** scale: sum over holders of (share in percent)^2.
- CR1/CR4/CR8: summed share (0-1) of the 1/4/8 largest holders.
- Gini: of the holders' family counts (0 = equal holdings, -> 1 = one holder holds all);
  computed over holders with a non-zero share only.
- Number-equivalent firms: 10,000 / HHI (the number of equal-sized holders giving this HHI).
- Thresholds: 2023 US DOJ/FTC Merger Guidelines, HHI > 1,800 = "highly concentrated"; a merger
  raising HHI by more than 100 points in such a market is presumed to lessen competition
  (values kept in ``data/concentration.toml``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

import polars as pl


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
