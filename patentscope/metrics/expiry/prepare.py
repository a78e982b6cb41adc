"""Stage 1: the input frames made ready (term inputs merged per publication, legal events normalised)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from .common import _TI_FIELDS, TERM_INPUT_SCHEMA, _date_lit, _line, _lines


def _merge_term_inputs(ti: pl.DataFrame) -> pl.DataFrame:
    """One row per pub_key; a field two sources give differently is null plus a conflict note."""
    if ti.height == 0:
        return pl.DataFrame(schema={"pub_key": pl.String, "ti_sources": pl.String, "ti_notes": pl.String,
                                    "ti_conflicts": pl.List(pl.String), **{f: TERM_INPUT_SCHEMA[f] for f in _TI_FIELDS}})
    # a publication with one row (most): its values as they are, no per-publication lists
    one = pl.len().over("pub_key") == 1
    single = ti.filter(one).select(
        "pub_key", pl.col("source").fill_null("").alias("ti_sources"),
        pl.format("{}: {}", pl.col("source"), pl.col("note")).alias("ti_notes"),
        pl.lit([], dtype=pl.List(pl.String)).alias("ti_conflicts"),
        *[pl.col(f).cast(TERM_INPUT_SCHEMA[f]) for f in _TI_FIELDS])
    ti = ti.filter(~one)
    agg = ti.sort("source").group_by("pub_key").agg(
        pl.col("source").drop_nulls().unique().sort().str.join(", ").alias("ti_sources"),
        pl.format("{}: {}", pl.col("source"), pl.col("note")).drop_nulls().str.join("; ").alias("ti_notes"),
        *[pl.col(f).drop_nulls().unique().sort().alias(f"{f}__vals") for f in _TI_FIELDS],
    )
    conflicts = [
        _line(pl.col(f"{f}__vals").list.len() > 1, f"term_inputs sources disagree on {f}: {{}}",
              pl.col(f"{f}__vals").cast(pl.List(pl.String)).list.join(" / "))
        for f in _TI_FIELDS
    ]
    several = agg.select(
        "pub_key", "ti_sources", pl.when(pl.col("ti_notes") != "").then(pl.col("ti_notes")).alias("ti_notes"),
        _lines(*conflicts).alias("ti_conflicts"),
        *[pl.when(pl.col(f"{f}__vals").list.len() == 1).then(pl.col(f"{f}__vals").list.first()).alias(f) for f in _TI_FIELDS],
    )
    return pl.concat([single, several.select(single.columns).cast(single.schema)])


def _prepare_events(ev: pl.DataFrame, today: dt.date) -> pl.DataFrame:
    return ev.with_columns(
        pl.col("effect").str.strip_chars().str.to_lowercase(),
        pl.col("jurisdiction").str.strip_chars().str.to_uppercase(),
    ).with_row_index("ev_id").with_columns(ev_future=pl.col("event_date") > _date_lit(today))
