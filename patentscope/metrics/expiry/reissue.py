"""US reissue patents: a reissue runs for the unexpired part of the original patent's term
(35 USC 251(a)), so its term is the original's, computed on the original's own row. Without a
link to the original on the record (or without the original in the frame) the term is unknown
and the row says what is missing; it is never guessed."""

from __future__ import annotations

import polars as pl

from .common import _line, _lines

LINK_SCHEMA = {"pub_key": pl.String, "original_pub_key": pl.String}


def _reissues(p: pl.DataFrame, links: pl.DataFrame | None) -> pl.DataFrame:
    """Rows whose rule has method ``with_original`` take the original patent's term, interval,
    first fee window and bound reason; ``links`` is (pub_key, original_pub_key)."""
    is_r = pl.col("method") == "with_original"
    if not p.select(is_r.fill_null(False).any()).item():
        return p
    lk = pl.DataFrame(schema=LINK_SCHEMA) if links is None else links.select(
        pl.col("pub_key").cast(pl.String), pl.col("original_pub_key").cast(pl.String))
    lk = (lk.drop_nulls().unique().group_by("pub_key")
          .agg(pl.col("original_pub_key").sort().alias("_originals"))
          .with_columns(original_pub_key=pl.when(pl.col("_originals").list.len() == 1)
                        .then(pl.col("_originals").list.first())))
    flagged = pl.col("pub_flags").list.len() > 0
    orig = p.select(
        pl.col("pub_key").alias("original_pub_key"), pl.col("pub_number").alias("_o_number"),
        pl.when(~flagged).then(pl.col("term_computed")).alias("_o_term"),
        pl.when(~flagged).then(pl.col("term_lower")).alias("_o_lower"),
        pl.col("fee_first_lapse").alias("_o_fee"), pl.col("bound_reason").alias("_o_bound"),
    )
    # only the reissue rows change (the originals are read from every row): the rest pass as they are
    rows = is_r.fill_null(False)
    others = p.filter(~rows)
    j = p.filter(rows).join(lk, on="pub_key", how="left").join(orig, on="original_pub_key", how="left")
    several = is_r & (pl.col("_originals").list.len() > 1).fill_null(False)
    linked = pl.col("original_pub_key").is_not_null()
    present = pl.col("_o_number").is_not_null()
    known = is_r & pl.col("_o_term").is_not_null()
    missing = _lines(
        _line(is_r & ~linked & ~several, "the original patent: a reissue ends with the original's term (35 USC 251(a)) "
              "and the record links no original (related_publications relation 'reissue_of')"),
        _line(several, "the original patent: the record links several ({}), so which term the reissue ends with is not "
              "clear", pl.col("_originals").list.join(", ")),
        _line(is_r & linked & ~present, "the original patent {}: linked, but not among the publications read",
              pl.col("original_pub_key")),
        _line(is_r & present & pl.col("_o_term").is_null(),
              "the original patent {}'s term: it cannot be computed (see that row's log)", pl.col("_o_number")),
    )
    log = _lines(
        _line(known, "reissue of {}: ends with the original patent's term, {} (35 USC 251(a): 'for the unexpired part of "
              "the term of the original patent')", pl.col("_o_number"), pl.col("_o_term")),
        _line(is_r & ~known & pl.col("grant_known").is_not_null(),
              "reissue: the original was in force when it was reissued on {}, so it ends after that; its end is unknown "
              "without the original's term", pl.col("grant_known")),
    )

    def keep(c: str, v: pl.Expr) -> pl.Expr:
        return pl.when(is_r).then(v).otherwise(pl.col(c)).alias(c)

    out = j.with_columns(
        keep("term_base", pl.col("_o_term")), keep("term_adj", pl.col("_o_term")),
        keep("term_computed", pl.col("_o_term")), keep("term_lower", pl.col("_o_lower")),
        keep("fee_first_lapse", pl.col("_o_fee")),
        keep("bound_reason", pl.when(known & (pl.col("_o_lower").is_null() | (pl.col("_o_lower") != pl.col("_o_term"))))
             .then(pl.format("the original patent {}'s term is a range: {}", pl.col("_o_number"),
                             pl.coalesce(pl.col("_o_bound"), pl.lit("see its log"))))),
        missing=pl.concat_list([pl.col("missing"), missing]),
        pub_log=pl.concat_list([pl.col("pub_log"), log]),
    )
    return pl.concat([others, out.select(others.columns)])
