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
from ..warehouse.connection import register, tables
from ..warehouse.toolkit import replace_tables

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
NH = "'(no holder shown)'"  # NO_HOLDER as an SQL literal (views take no parameters)
SCOPES = ("all", "jurisdiction", "segment", "holder_country")


COLUMNS = ["scope_type", "scope_value", "period_type", "year", "weighting", "holder_basis", "n_families",
           "n_unattributed", "n_holders", "hhi", "cr1", "cr4", "cr8", "gini", "n_equivalent", "label",
           "n_status_unknown", "n_fees_not_verified", "n_individual", "min_families"]

# The concentration cells in DuckDB SQL (issue 18: no per-scope polars passes, no per-year rows).
# Inputs, as views:
#   _cb (period_type, pub_key, family_id, year_from, year_to, holder_group, group_country,
#        jurisdiction, fees BOOLEAN, indiv BOOLEAN, w DOUBLE): one row per counted (publication,
#        jurisdiction, holder group) and SPAN of years: it counts in every year of the period's
#        list (_cy) from year_from to year_to, both included (metrics.expiry.live_spans);
#        holder_group = NO_HOLDER when none is shown; fees / indiv NULL when not available (then
#        the cell's count is NULL, not 0); w the family weight (NULL = 0);
#   _cu (period_type, pub_key, family_id, year_from, year_to, holder_group, group_country,
#        jurisdiction): spans of unknown status (their families are n_status_unknown in the years
#        where not counted otherwise);
#   _cy (period_type, year): the years of each period; _cs (pub_key, segment): the segments of
#        publications; _cf (family_id), _ch (holder_group): every family and holder group of _cb
#        and _cu (they may hold more); _cw (period_type, weighting): which weightings to report per
#        period ('families' counts each family 1, 'centrality' weights it by w).
# Every scope type sees the same rows: 'all', 'jurisdiction', 'holder_country' (the group's
# country, 'unknown' when not known) and 'segment' (publications with a segment). Families,
# holder groups and cells are numbered first, so the large steps run over integers; each step is
# a TEMP table read by the next (DuckDB would otherwise re-evaluate a shared CTE).
# Years stay intervals until the end: a span is [a, e) in whole years (e = year_to + 1); per
# (period, cell, family) the spans' ends cut the years into segments over which the family's
# holder groups, and so its 1/k split and flags, do not change; the per-year counts come from
# running sums of +/- changes at the segments' ends (the fractions as DECIMAL, so what a segment
# adds its end takes away exactly), expanded to the period's years only at the last step
# (rows: cells x years, and holders x cells x years). At 1M SYNTHETIC publications this is
# ~1.1M in-force spans instead of ~17M publication-years, times four scope types.
CELL_STEPS = [
    """CREATE OR REPLACE TEMP TABLE _c_fam_key AS
       SELECT family_id, (row_number() OVER ())::INTEGER AS f FROM (SELECT DISTINCT family_id FROM _cf)""",
    """CREATE OR REPLACE TEMP TABLE _c_hold_key AS
       SELECT holder_group, (row_number() OVER ())::INTEGER AS h FROM (SELECT DISTINCT holder_group FROM _ch WHERE holder_group <> $no_holder)""",
    """CREATE OR REPLACE TEMP TABLE _c_period_key AS
       SELECT period_type, (row_number() OVER (ORDER BY period_type))::TINYINT AS p FROM (SELECT DISTINCT period_type FROM _cw)""",
    """CREATE OR REPLACE TEMP TABLE _c_yr AS
       SELECT DISTINCT pk.p, y.year::INTEGER AS year FROM _cy y JOIN _c_period_key pk USING (period_type)""",
    """CREATE OR REPLACE TEMP TABLE _c_rows0 AS
       SELECT pk.p, b.pub_key, b.year_from::INTEGER AS a, (b.year_to + 1)::INTEGER AS e, k.f, coalesce(hk.h, 0) AS h,
              b.jurisdiction, coalesce(b.group_country::VARCHAR, 'unknown') AS country, b.fees, b.indiv, b.w
       FROM _cb b JOIN _c_period_key pk USING (period_type) JOIN _c_fam_key k USING (family_id)
       LEFT JOIN _c_hold_key hk USING (holder_group) WHERE b.year_from <= b.year_to""",
    """CREATE OR REPLACE TEMP TABLE _c_unk AS
       SELECT pk.p, u.pub_key, u.year_from::INTEGER AS a, (u.year_to + 1)::INTEGER AS e, k.f, u.jurisdiction,
              coalesce(u.group_country::VARCHAR, 'unknown') AS country
       FROM _cu u JOIN _c_period_key pk USING (period_type) JOIN _c_fam_key k USING (family_id)
       WHERE u.year_from <= u.year_to""",
    """CREATE OR REPLACE TEMP TABLE _c_scope_key AS
       SELECT scope_type, scope_value, (row_number() OVER (ORDER BY scope_type, scope_value))::INTEGER AS c FROM (
           SELECT 'all' AS scope_type, 'all' AS scope_value
           UNION SELECT 'jurisdiction', jurisdiction FROM _c_rows0 UNION SELECT 'jurisdiction', jurisdiction FROM _c_unk
           UNION SELECT 'holder_country', country FROM _c_rows0 UNION SELECT 'holder_country', country FROM _c_unk
           UNION SELECT 'segment', segment FROM _cs)""",
    """CREATE OR REPLACE TEMP TABLE _c_seg AS
       SELECT s.pub_key, k.c FROM _cs s JOIN _c_scope_key k ON k.scope_type = 'segment' AND k.scope_value = s.segment""",
    """CREATE OR REPLACE TEMP TABLE _c_rows AS
       SELECT r.p, r.pub_key, r.a, r.e, r.f, r.h, j.c AS cj, n.c AS cn, r.fees, r.indiv, r.w
       FROM _c_rows0 r JOIN _c_scope_key j ON j.scope_type = 'jurisdiction' AND j.scope_value = r.jurisdiction
       JOIN _c_scope_key n ON n.scope_type = 'holder_country' AND n.scope_value = r.country""",
    # one row per (period, cell, family, holder, span) of the rows behind it
    """CREATE OR REPLACE TEMP TABLE _c_scoped AS
       SELECT p, (SELECT c FROM _c_scope_key WHERE scope_type = 'all') AS c, f, h, a, e, fees, indiv FROM _c_rows
       UNION ALL SELECT p, cj, f, h, a, e, fees, indiv FROM _c_rows
       UNION ALL SELECT p, cn, f, h, a, e, fees, indiv FROM _c_rows
       UNION ALL SELECT r.p, s.c, r.f, r.h, r.a, r.e, r.fees, r.indiv FROM _c_rows r JOIN _c_seg s USING (pub_key)""",
    """CREATE OR REPLACE TEMP TABLE _c_weight AS SELECT p, f, max(coalesce(w, 0.0)) AS w FROM _c_rows GROUP BY ALL""",
    # the segments of each (period, cell, family): between consecutive span ends; a family whose
    # rows there all share one span (most) has that span as its one segment, without the window
    """CREATE OR REPLACE TEMP TABLE _c_fgrp AS
       SELECT p, c, f, min(a) AS a, min(e) AS e, min(a) = max(a) AND min(e) = max(e) AS one FROM _c_scoped GROUP BY ALL""",
    """CREATE OR REPLACE TEMP TABLE _c_segs AS
       WITH several AS (SELECT r.p, r.c, r.f, r.a, r.e FROM _c_scoped r
                        SEMI JOIN _c_fgrp g ON g.p = r.p AND g.c = r.c AND g.f = r.f AND NOT g.one)
       SELECT p, c, f, a AS s, e FROM _c_fgrp WHERE one
       UNION ALL
       SELECT p, c, f, s, e FROM (
           SELECT p, c, f, y AS s, lead(y) OVER (PARTITION BY p, c, f ORDER BY y) AS e
           FROM (SELECT p, c, f, a AS y FROM several UNION SELECT p, c, f, e FROM several))
       WHERE e IS NOT NULL""",
    # per (period, cell, family, segment, holder): the flags of the rows behind it
    """CREATE OR REPLACE TEMP TABLE _c_fsh AS
       SELECT g.p, g.c, g.f, g.s, g.e, r.h, bool_or(r.fees) AS fees, bool_or(r.indiv) AS indiv
       FROM _c_segs g JOIN _c_scoped r ON r.p = g.p AND r.c = g.c AND r.f = g.f AND r.a <= g.s AND g.e <= r.e
       GROUP BY ALL""",
    # per (period, cell, family, segment): its holder groups there (k = 0: no holder shown) and flags
    """CREATE OR REPLACE TEMP TABLE _c_famseg AS
       SELECT p, c, f, s, e, count(*) FILTER (WHERE h <> 0) AS k, bool_or(fees) AS fees, bool_or(indiv) AS indiv
       FROM _c_fsh GROUP BY ALL""",
    # the cells' counts per year: running sums of the segments' changes, on the period's years
    """CREATE OR REPLACE TEMP TABLE _c_cells AS
       WITH d AS (
           SELECT p, c, y, sum(fam) AS fam, sum(orphan) AS orphan, sum(fees) AS fees, sum(fees_known) AS fees_known,
                  sum(indiv) AS indiv, sum(indiv_known) AS indiv_known
           FROM (SELECT p, c, s AS y, (k > 0)::INTEGER AS fam, (k = 0)::INTEGER AS orphan, coalesce(fees, false)::INTEGER AS fees,
                        (fees IS NOT NULL)::INTEGER AS fees_known, coalesce(indiv, false)::INTEGER AS indiv,
                        (indiv IS NOT NULL)::INTEGER AS indiv_known FROM _c_famseg
                 UNION ALL
                 SELECT p, c, e, -(k > 0)::INTEGER, -(k = 0)::INTEGER, -coalesce(fees, false)::INTEGER,
                        -(fees IS NOT NULL)::INTEGER, -coalesce(indiv, false)::INTEGER, -(indiv IS NOT NULL)::INTEGER
                 FROM _c_famseg)
           GROUP BY ALL
       ), run AS (
           SELECT p, c, y, lead(y) OVER w AS y_next, sum(fam) OVER w AS fam, sum(orphan) OVER w AS orphan,
                  sum(fees) OVER w AS fees, sum(fees_known) OVER w AS fees_known, sum(indiv) OVER w AS indiv,
                  sum(indiv_known) OVER w AS indiv_known
           FROM d WINDOW w AS (PARTITION BY p, c ORDER BY y ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
       )
       SELECT r.p, r.c, yr.year, r.fam::BIGINT AS n_families, r.orphan::BIGINT AS n_unattributed,
              CASE WHEN r.fees_known > 0 THEN r.fees::BIGINT END AS n_fees_not_verified,
              CASE WHEN r.indiv_known > 0 THEN r.indiv::BIGINT END AS n_individual
       FROM run r JOIN _c_yr yr ON yr.p = r.p AND yr.year >= r.y AND yr.year < r.y_next
       WHERE r.fam + r.orphan > 0""",
    """CREATE OR REPLACE TEMP TABLE _c_unknown AS
       WITH u AS (
           SELECT p, (SELECT c FROM _c_scope_key WHERE scope_type = 'all') AS c, a, e, f FROM _c_unk
           UNION ALL SELECT u.p, k.c, u.a, u.e, u.f FROM _c_unk u
                 JOIN _c_scope_key k ON k.scope_type = 'jurisdiction' AND k.scope_value = u.jurisdiction
           UNION ALL SELECT u.p, k.c, u.a, u.e, u.f FROM _c_unk u
                 JOIN _c_scope_key k ON k.scope_type = 'holder_country' AND k.scope_value = u.country
           UNION ALL SELECT u.p, s.c, u.a, u.e, u.f FROM _c_unk u JOIN _c_seg s USING (pub_key)
       ), per_year AS (
           SELECT DISTINCT u.p, u.c, yr.year, u.f FROM u JOIN _c_yr yr ON yr.p = u.p AND yr.year >= u.a AND yr.year < u.e
       )
       SELECT p, c, year, count(*) AS n_status_unknown FROM per_year x
       WHERE NOT EXISTS (SELECT 1 FROM _c_famseg m WHERE m.p = x.p AND m.c = x.c AND m.f = x.f AND m.s <= x.year AND x.year < m.e)
       GROUP BY ALL""",
    # each family counts 1/k to each of its k holder groups in the cell: per holder, running sums
    # of the segments' changes (exact in DECIMAL), on the period's years
    """CREATE OR REPLACE TEMP TABLE _c_holder AS
       WITH parts AS (
           SELECT x.p, x.c, x.h, x.s, x.e, (1.0 / m.k)::DECIMAL(38, 28) AS fam,
                  (coalesce(w.w, 0.0) / m.k)::DECIMAL(38, 28) AS wu
           FROM _c_fsh x JOIN _c_famseg m USING (p, c, f, s, e) LEFT JOIN _c_weight w USING (p, f) WHERE x.h <> 0
       ), d AS (
           SELECT p, c, h, y, sum(n) AS n, sum(fam) AS fam, sum(wu) AS wu FROM (
               SELECT p, c, h, s AS y, 1 AS n, fam, wu FROM parts
               UNION ALL SELECT p, c, h, e, -1, -fam, -wu FROM parts)
           GROUP BY ALL
       ), run AS (
           SELECT p, c, h, y, lead(y) OVER w AS y_next, sum(n) OVER w AS n, sum(fam) OVER w AS fam, sum(wu) OVER w AS wu
           FROM d WINDOW w AS (PARTITION BY p, c, h ORDER BY y ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
       )
       SELECT r.p, r.c, yr.year, r.h, r.fam::DOUBLE AS families, r.wu::DOUBLE AS w_units
       FROM run r JOIN _c_yr yr ON yr.p = r.p AND yr.year >= r.y AND yr.year < r.y_next
       WHERE r.n > 0""",
    """CREATE OR REPLACE TEMP TABLE _c_stats AS
       WITH weighted AS (
           SELECT h.*, x.weighting, CASE WHEN x.weighting = 'centrality' THEN h.w_units ELSE h.families END AS units
           FROM _c_holder h JOIN _c_period_key pk USING (p) JOIN _cw x USING (period_type)
       ), shares AS (
           SELECT *, units / sum(units) OVER cell AS share, row_number() OVER (cell ORDER BY units DESC) AS rk,
                  row_number() OVER (cell ORDER BY families) AS up, count(*) OVER cell AS n
           FROM weighted WINDOW cell AS (PARTITION BY p, weighting, c, year)
       )
       SELECT p, weighting, c, year, count(*) AS n_holders, 10000 * sum(share * share) AS hhi,
              sum(share) FILTER (WHERE rk <= 1) AS cr1, sum(share) FILTER (WHERE rk <= 4) AS cr4,
              sum(share) FILTER (WHERE rk <= 8) AS cr8,
              sum((2 * up - n - 1) * families) / (max(n) * sum(families)) AS gini
       FROM shares GROUP BY ALL""",
    """CREATE OR REPLACE TEMP TABLE _c_out AS
       SELECT k.scope_type, k.scope_value, pk.period_type, c.year, x.weighting, 'holder_group' AS holder_basis,
              c.n_families, c.n_unattributed, coalesce(s.n_holders, 0) AS n_holders,
              round(s.hhi, 9) AS hhi, round(s.cr1, 9) AS cr1, round(s.cr4, 9) AS cr4, round(s.cr8, 9) AS cr8,
              round(s.gini, 9) AS gini, round(10000 / s.hhi, 9) AS n_equivalent,
              CASE WHEN c.n_families < $min_families THEN $too_few WHEN s.hhi > $high THEN $above
                   WHEN s.hhi IS NOT NULL THEN $below END AS label,
              coalesce(u.n_status_unknown, 0) AS n_status_unknown, c.n_fees_not_verified, c.n_individual,
              $min_families::BIGINT AS min_families
       FROM _c_cells c JOIN _c_scope_key k USING (c) JOIN _c_period_key pk USING (p) JOIN _cw x USING (period_type)
       LEFT JOIN _c_unknown u USING (p, c, year)
       LEFT JOIN _c_stats s ON s.p = c.p AND s.weighting = x.weighting AND s.c = c.c AND s.year = c.year""",
]
_CELL_TEMPS = ("_c_fam_key", "_c_hold_key", "_c_period_key", "_c_yr", "_c_rows0", "_c_rows", "_c_weight", "_c_unk",
               "_c_scope_key", "_c_seg", "_c_scoped", "_c_fgrp", "_c_segs", "_c_fsh", "_c_famseg", "_c_cells", "_c_unknown", "_c_holder",
               "_c_stats")


def compute_cells(con: duckdb.DuckDBPyConnection, th: Thresholds) -> None:
    """Run :data:`CELL_STEPS` over the views _cb, _cu, _cs, _cw of ``con``: leaves the rows of
    ``concentration_stats`` in the TEMP table ``_c_out`` (the caller drops it)."""
    params = _cell_params(th)
    keep_order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = false").fetchall()  # row order of the TEMP tables is not used
    try:
        for step in CELL_STEPS:
            used = {k: v for k, v in params.items() if f"${k}" in step}
            con.execute(step, used or None).fetchall()
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if keep_order else 'false'}").fetchall()
        for t in _CELL_TEMPS:
            con.execute(f"DROP TABLE IF EXISTS {t}").fetchall()


def _cell_params(th: Thresholds) -> dict[str, object]:
    """The parameters of :data:`CELLS_SQL`."""
    return {"no_holder": NO_HOLDER, "min_families": th.min_families, "too_few": TOO_FEW,
            "high": th.highly_concentrated, "above": ABOVE, "below": BELOW}


# rows of one year each (period_type, pub_key, family_id, year, {cols}) as spans of consecutive
# years of _cy (gaps and islands: a year's rank minus the row's rank is constant along a span)
_SPANS_OF_YEARS = """
    WITH r AS (SELECT DISTINCT period_type, pub_key, family_id, year::INTEGER AS year, {cols} FROM {rows}),
    ranked AS (
        SELECT r.*, y.i - row_number() OVER (PARTITION BY period_type, pub_key, family_id, {cols} ORDER BY r.year) AS island
        FROM r JOIN (SELECT period_type, year, row_number() OVER (PARTITION BY period_type ORDER BY year) AS i FROM _cy) y
             USING (period_type, year))
    SELECT period_type, pub_key, family_id, min(year) AS year_from, max(year) AS year_to, {cols}
    FROM ranked GROUP BY period_type, pub_key, family_id, {cols}, island"""


def stats_table(holdings: pl.DataFrame, segs: pl.DataFrame, period_type: str, weighting: str,
                holder_basis: str, weight: str | None = None, thresholds: Thresholds | None = None,
                unknown: pl.DataFrame | None = None) -> pl.DataFrame:
    """Concentration rows for every scope, from frames (the SQL of :func:`refresh`, run in an
    in-memory DuckDB). ``holdings``: pub_key, family_id, holder_group, group_country,
    jurisdiction, year (+ ``weight``; optional boolean ``fees_not_verified`` and
    ``by_individual`` columns). Families without a holder group count in ``n_unattributed`` and
    are left out of the shares. ``unknown``: rows of the same shape for publications whose
    status is unknown; their families (when not counted in the cell otherwise) are
    ``n_status_unknown``, excluded. ``n_fees_not_verified`` / ``n_individual``: families of the
    cell flagged so (null when the input has no such column: not available)."""
    th = thresholds or Thresholds.load()
    if holdings.height == 0:
        return pl.DataFrame()
    con = duckdb.connect()
    try:
        h = holdings.with_columns(
            pl.col("fees_not_verified").fill_null(False).alias("fees") if "fees_not_verified" in holdings.columns
            else pl.lit(None, dtype=pl.Boolean).alias("fees"),
            pl.col("by_individual").fill_null(False).alias("indiv") if "by_individual" in holdings.columns
            else pl.lit(None, dtype=pl.Boolean).alias("indiv"),
            (pl.col(weight).cast(pl.Float64) if weight else pl.lit(None, dtype=pl.Float64)).alias("w"),
            pl.lit(period_type).alias("period_type"), pl.col("group_country").cast(pl.Utf8))
        register(con, "_h", h)
        if unknown is not None and unknown.height:
            register(con, "_u", unknown.with_columns(pl.col("group_country").cast(pl.Utf8), pl.lit(period_type).alias("period_type")))
        else:
            con.execute("CREATE VIEW _u AS SELECT period_type, pub_key, family_id, year, holder_group, group_country, jurisdiction "
                        "FROM _h WHERE false").fetchall()
        # the years given, and the rows as spans of consecutive ones (the SQL's input shape)
        con.execute("CREATE TABLE _cy AS SELECT DISTINCT period_type, year::INTEGER AS year FROM "
                    "(SELECT period_type, year FROM _h UNION ALL SELECT period_type, year FROM _u)").fetchall()
        con.execute(f"CREATE VIEW _cb AS {_SPANS_OF_YEARS.format(rows='_h', cols='holder_group, group_country, jurisdiction, fees, indiv, w')}").fetchall()
        con.execute(f"CREATE VIEW _cu AS {_SPANS_OF_YEARS.format(rows='_u', cols='holder_group, group_country, jurisdiction')}").fetchall()
        register(con, "_cs", segs.select("pub_key", "segment"))
        con.execute("CREATE VIEW _cf AS SELECT family_id FROM _cb UNION SELECT family_id FROM _cu").fetchall()
        con.execute("CREATE VIEW _ch AS SELECT holder_group FROM _cb").fetchall()
        register(con, "_cw", pl.DataFrame({"period_type": [period_type], "weighting": ["centrality" if weight else weighting]}))
        compute_cells(con, th)
        out = con.sql("SELECT * FROM _c_out").pl()
    finally:
        con.close()
    return out.with_columns(pl.lit(weighting).alias("weighting"), pl.lit(holder_basis).alias("holder_basis")) \
        .sort("scope_type", "scope_value", "year")


def refresh(con: duckdb.DuckDBPyConnection, expiry_frame: pl.DataFrame, *, today: dt.date,
            years: Iterable[int] | None = None, landscape_only: bool = True) -> dict[str, int]:
    """Recompute ``concentration_stats`` in one transaction: in-force stock at each year's
    reference day (from the expiry engine's full frame) and new filings by earliest year, by
    scope, over families, with holder groups at the date (``publication_holder_groups``);
    unweighted, and weighted by PageRank where the centrality table has values. The cells are
    computed in DuckDB SQL (:data:`CELLS_SQL`); only the in-force grid comes from the expiry
    engine (:func:`metrics.expiry.live_families`)."""
    from .expiry import live_spans

    where = "WHERE in_landscape" if landscape_only else ""
    phg_cols = _columns(con, "publication_holder_groups")
    kind = ", holder_kind = 'individual' AS by_individual" if "holder_kind" in phg_cols else ""
    holders = con.sql("SELECT pub_key, group_label AS holder_group, group_country, valid_from, valid_to"
                      f"{kind} FROM publication_holder_groups").pl()
    keep = con.sql(f"SELECT pub_key FROM publications {where}").pl()
    ex = expiry_frame.join(keep, on="pub_key", how="semi")
    if years is None:
        first = ex["in_force_from"].drop_nulls().min()
        y0 = first.year if isinstance(first, dt.date) else today.year
        years = range(y0, today.year + 21)
    ys = sorted(set(years))
    live = live_spans(ex, holders, ys).with_columns(pl.col("group_country").cast(pl.Utf8))
    if "by_individual" not in live.columns:
        live = live.with_columns(pl.lit(None, dtype=pl.Boolean).alias("by_individual"))
    ex_cols = _columns(con, "expiry_results")
    fee = "coalesce(e.rests_on_fee_assumption, false)" if "rests_on_fee_assumption" in ex_cols else "NULL::BOOLEAN"
    indiv = "coalesce(l.by_individual, false)" if kind else "NULL::BOOLEAN"
    weights = _centrality_weights(con)
    th = Thresholds.load()
    register(con, "_c_live", live.select("pub_key", "jurisdiction", "family_id", "year_from", "year_to", "holder_group",
                                       "group_country", "by_individual"))
    register(con, "_c_w", weights)
    register(con, "_c_years", pl.DataFrame({"year": ys}, schema={"year": pl.Int32}))
    views = ["_c_pubs", "_c_holders", "_cb", "_cu", "_cy", "_cs", "_cw", "_cf", "_ch"]
    try:
        con.execute("CREATE OR REPLACE TEMP VIEW _c_pubs AS SELECT pub_key, family_id, "
                    f"least(priority_date, filing_date, publication_date, grant_date) AS earliest FROM publications {where}")
        con.execute("CREATE OR REPLACE TEMP VIEW _c_holders AS SELECT pub_key, group_label AS holder_group, group_country, "
                    "valid_from, valid_to FROM publication_holder_groups")
        # new filings: a family counts in the year of its earliest date, held by its groups then;
        # a family with no group valid then counts, once per member, as unattributed
        con.execute(f"""CREATE OR REPLACE TEMP VIEW _cb AS
            SELECT 'in_force_stock' AS period_type, l.pub_key, l.family_id, l.year_from, l.year_to, l.holder_group,
                   l.group_country, l.jurisdiction, {fee} AS fees, {indiv} AS indiv, w.weight AS w
            FROM _c_live l LEFT JOIN expiry_results e ON e.pub_key = l.pub_key AND e.jurisdiction = l.jurisdiction
            LEFT JOIN _c_w w ON w.family_id = l.family_id
            UNION ALL (
            WITH first AS (SELECT family_id, min(earliest) AS ref FROM _c_pubs WHERE earliest IS NOT NULL GROUP BY ALL),
            members AS (SELECT p.pub_key, p.family_id, f.ref FROM _c_pubs p JOIN first f USING (family_id)),
            held AS (SELECT m.pub_key, m.family_id, m.ref, h.holder_group, h.group_country FROM members m
                     JOIN _c_holders h ON h.pub_key = m.pub_key AND (h.valid_from IS NULL OR h.valid_from <= m.ref)
                                      AND (h.valid_to IS NULL OR m.ref < h.valid_to))
            SELECT 'new_filings', pub_key, family_id, year(ref)::INTEGER, year(ref)::INTEGER, holder_group,
                   group_country::VARCHAR, 'ALL', NULL::BOOLEAN, NULL::BOOLEAN, NULL::DOUBLE FROM held
            UNION ALL
            SELECT 'new_filings', pub_key, family_id, year(ref)::INTEGER, year(ref)::INTEGER, {NH}, NULL::VARCHAR, 'ALL',
                   NULL, NULL, NULL
            FROM members m WHERE NOT EXISTS (SELECT 1 FROM held h WHERE h.family_id = m.family_id))""")
        # unknown status: from the year of the family's earliest date (every year when unknown) to
        # the last, with every holder group the publication ever had
        unknown_sql = (f"""
            WITH un AS (SELECT DISTINCT e.pub_key, e.jurisdiction, p.family_id, p.earliest
                        FROM expiry_results e JOIN _c_pubs p USING (pub_key) WHERE e.status = 'unknown'),
            y0 AS (SELECT family_id, year(min(earliest)) AS y0 FROM un GROUP BY ALL),
            h AS (SELECT DISTINCT pub_key, holder_group, group_country::VARCHAR AS group_country FROM _c_holders)
            SELECT 'in_force_stock' AS period_type, un.pub_key, un.family_id,
                   greatest(coalesce(y0.y0, {ys[0]}), {ys[0]})::INTEGER AS year_from, {ys[-1]}::INTEGER AS year_to,
                   coalesce(h.holder_group, {NH}) AS holder_group, h.group_country, un.jurisdiction
            FROM un JOIN y0 USING (family_id) LEFT JOIN h USING (pub_key)""" if "status" in ex_cols and ys else
                       "SELECT * FROM (SELECT NULL::VARCHAR AS period_type, NULL::VARCHAR AS pub_key, NULL::VARCHAR AS family_id, "
                       "NULL::INTEGER AS year_from, NULL::INTEGER AS year_to, NULL::VARCHAR AS holder_group, "
                       "NULL::VARCHAR AS group_country, NULL::VARCHAR AS jurisdiction) WHERE false")
        con.execute(f"CREATE OR REPLACE TEMP VIEW _cu AS {unknown_sql}")
        # the years of each period: the stock's list; every year new filings start in
        con.execute("""CREATE OR REPLACE TEMP VIEW _cy AS SELECT 'in_force_stock' AS period_type, year FROM _c_years
            UNION ALL SELECT 'new_filings', unnest(generate_series(year(min(earliest)), year(max(earliest))))::INTEGER
                      FROM _c_pubs""")
        con.execute("CREATE OR REPLACE TEMP VIEW _cf AS SELECT DISTINCT family_id FROM _c_pubs WHERE family_id IS NOT NULL")
        con.execute("CREATE OR REPLACE TEMP VIEW _ch AS SELECT DISTINCT holder_group FROM _c_holders")
        con.execute("CREATE OR REPLACE TEMP VIEW _cs AS SELECT pub_key, segment FROM publication_segments "
                    "WHERE segment <> 'unclassified'")
        pairs = "('in_force_stock', 'families'), ('new_filings', 'families')" + (
            ", ('in_force_stock', 'centrality')" if weights.height else "")
        con.execute(f"CREATE OR REPLACE TEMP VIEW _cw AS SELECT * FROM (VALUES {pairs}) v(period_type, weighting)")
        compute_cells(con, th)
        n = replace_tables(con, {"concentration_stats": con.sql(f"SELECT {', '.join(COLUMNS)} FROM _c_out")},
                           what="storing the concentration statistics")["concentration_stats"]
    finally:
        con.execute("DROP TABLE IF EXISTS _c_out").fetchall()
        for v in reversed(views):
            con.execute(f"DROP VIEW IF EXISTS {v}").fetchall()
        for t in ("_c_live", "_c_w", "_c_years"):
            con.unregister(t)
    return {"rows": int(n), "years": len(ys)}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = $t",
                                      {"t": table}).fetchall()}


def _centrality_weights(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per-family weights from the centrality table (PageRank), when it exists and has rows."""
    have = tables(con)
    if "centrality" not in have:
        return pl.DataFrame(schema={"family_id": pl.Utf8, "weight": pl.Float64})
    cols = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'centrality'").fetchall()}
    # raw PageRank (non-negative, sums to 1); the age-rescaled score is a z-score and can be negative
    col = next((c for c in ("pagerank",) if c in cols), None)
    if col is None or "family_id" not in cols:
        return pl.DataFrame(schema={"family_id": pl.Utf8, "weight": pl.Float64})
    return con.sql(f"SELECT family_id, {col}::DOUBLE AS weight FROM centrality WHERE {col} IS NOT NULL").pl()
