"""Schemas, output columns and the small polars helpers every stage of the expiry engine shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from ...errors import InputError

STATUSES = ("not yet filed", "pending", "in force", "expired by term", "lapsed", "unknown")
GRANTED_TYPES = ("invention", "utility_model", "design", "plant", "reissue")
NO_HOLDER = "(no holder shown)"
ALL_JURISDICTIONS = "ALL"

PUB_SCHEMA: dict[str, Any] = {
    "pub_key": pl.String, "pub_number": pl.String, "country": pl.String, "doc_number": pl.String,
    "kind": pl.String, "kinds_seen": pl.List(pl.String), "priority_date": pl.Date, "filing_date": pl.Date,
    "publication_date": pl.Date, "grant_date": pl.Date, "family_id": pl.String,
}
TERM_INPUT_SCHEMA: dict[str, Any] = {
    "pub_key": pl.String, "source": pl.String, "application_type": pl.String,
    "earliest_us_filing_date": pl.Date, "international_filing_date": pl.Date, "pta_days": pl.Int64,
    "pte_days": pl.Int64, "terminal_disclaimer": pl.Boolean, "disclaimer_expiry_date": pl.Date, "note": pl.String,
}
EVENT_SCHEMA: dict[str, Any] = {
    "pub_key": pl.String, "jurisdiction": pl.String, "event_date": pl.Date, "event_code": pl.String,
    "effect": pl.String, "source": pl.String,
}
PRIORITY_SCHEMA: dict[str, Any] = {
    "pub_key": pl.String, "seq": pl.Int64, "claim_as_written": pl.String, "priority_country": pl.String,
    "priority_date": pl.Date, "claim_type": pl.String,
}
HOLDER_SCHEMA: dict[str, Any] = {"pub_key": pl.String, "holder_group": pl.String}
# priority claims that can never move a US term (35 USC 119(a) foreign priority, 119(e) provisionals)
_NOT_CONTINUITY = ("foreign", "provisional")

_TI_FIELDS = ("application_type", "earliest_us_filing_date", "international_filing_date", "pta_days", "pte_days",
              "terminal_disclaimer", "disclaimer_expiry_date")
_APP_TYPE_TO_DOC = {"utility": "invention", "design": "design", "plant": "plant", "utility_model": "utility_model",
                    "reissue": "reissue"}

# The columns of compute_expiry's result (the warehouse table expiry_results stores these).
EXPIRY_COLUMNS = (
    "pub_key", "pub_number", "jurisdiction", "office", "family_id", "document_type", "rule", "rule_source",
    "base_date", "base_basis", "in_force_from", "in_force_from_basis", "term_expiry", "expiry_date",
    "expiry_earliest", "expiry_latest", "headline_rule",
    "expiry_is_upper_bound", "end_reason", "lapse_periods", "status", "status_date", "status_basis", "status_reason",
    "rests_on_fee_assumption", "status_as_shown", "status_evidence", "status_conflict",
    "flags", "warnings", "missing", "calculation_log",
)
# How the headline expiry_date is chosen inside [expiry_earliest, expiry_latest] (docs/expiry.md).
HEADLINE_RULES = {
    "exact": "the interval is one day: the headline is that day",
    "event": "a recorded legal event fixes the end",
    "latest_admissible_e": "US: the term if the printed filing date were the first US filing, moved to the latest "
                           "first US filing the bounds admit (= the latest end)",
    "upper_bound": "only the latest end is known (earliest unknown): the headline is that latest end",
}
# Status inputs kept on the frame so that status_at() can re-evaluate any date.
_STATUS_INPUTS = ("st_hard", "st_exists_from", "st_end_date", "st_end_status", "st_granted", "st_in_force_from_exact",
                  "st_sure_until", "st_bound_reason", "st_validation_known", "st_potential_end", "st_term_log",
                  "st_fee_assumed_from", "st_conflict_from", "st_exam_after", "st_exam_deadline", "st_exam_requested",
                  "st_exam_note")


# ----------------------------------------------------------------------------------------------
# small helpers


def _conform(df: pl.DataFrame | None, schema: dict[str, Any], name: str) -> pl.DataFrame:
    """Select the schema's columns (nulls for absent ones) with the schema's types."""
    if df is None:
        return pl.DataFrame(schema=schema)
    if "pub_key" not in df.columns:
        raise InputError(f"the {name} frame needs a pub_key column (has: {', '.join(df.columns) or 'none'})")
    cols = []
    for c, t in schema.items():
        if c not in df.columns:
            cols.append(pl.lit(None, dtype=t).alias(c))
        elif t == pl.Date and df.schema[c] == pl.String:
            cols.append(pl.col(c).str.to_date("%Y-%m-%d").alias(c))
        elif df.schema[c] != t:
            cols.append(pl.col(c).cast(t).alias(c))
        else:
            cols.append(pl.col(c))
    try:
        return df.select(cols)
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError) as e:
        raise InputError(f"the {name} frame has a value of the wrong type ({str(e).splitlines()[0]})") from None


def _s(e: pl.Expr) -> pl.Expr:
    """A value for the log: its text, or 'not shown'."""
    return pl.coalesce(e.cast(pl.String), pl.lit("not shown"))


def _line(cond: pl.Expr, template: str, *args: pl.Expr) -> pl.Expr:
    """A log line when ``cond`` holds (null otherwise)."""
    text = pl.format(template, *args) if args else pl.lit(template)
    return pl.when(cond).then(text).otherwise(pl.lit(None, dtype=pl.String))


def _lines(*exprs: pl.Expr) -> pl.Expr:
    """The non-null lines of ``exprs`` as a list."""
    return pl.concat_list(list(exprs)).list.drop_nulls()


def _chain(cases: Sequence[tuple[pl.Expr, pl.Expr]], otherwise: pl.Expr) -> pl.Expr:
    if not cases:
        return otherwise
    out: Any = pl.when(cases[0][0]).then(cases[0][1])
    for c, v in cases[1:]:
        out = out.when(c).then(v)
    return out.otherwise(otherwise)


_NULL_S = pl.lit(None, dtype=pl.String)


@dataclass(frozen=True)
class Cases:
    """A text picked by the first condition that holds (a null condition does not), as
    :func:`_chain` gives it, for :func:`_with_texts`: there each text is built only on the rows
    that pick it. A when/then chain builds every branch's text on every row and keeps one (a
    publication's log has ~15 such chains of up to 15 branches: at 100k SYNTHETIC publications
    most of the engine's time)."""

    cases: tuple[tuple[pl.Expr, pl.Expr], ...]
    otherwise: pl.Expr = _NULL_S

    @classmethod
    def line(cls, cond: pl.Expr, template: str, *args: pl.Expr) -> Cases:
        """:func:`_line` as a case: the text when ``cond`` holds, null otherwise."""
        return cls(((cond, pl.format(template, *args) if args else pl.lit(template)),))


def _cases(cases: Sequence[tuple[pl.Expr, pl.Expr]], otherwise: pl.Expr = _NULL_S) -> Cases:
    """:func:`_chain` as :class:`Cases`."""
    return Cases(tuple(cases), otherwise)


def _text_column(df: pl.DataFrame, item: Cases | pl.Expr, name: str) -> pl.Series:
    """The column ``item`` gives on ``df`` (a :class:`Cases`: each branch on its own rows)."""
    if isinstance(item, pl.Expr):
        return df.select(item.alias(name)).to_series()
    pick = df.select(_chain([(c, pl.lit(i, dtype=pl.Int32)) for i, (c, _) in enumerate(item.cases)],
                            pl.lit(len(item.cases), dtype=pl.Int32))).to_series()
    out = pl.Series(name, dtype=pl.String).extend_constant(None, df.height)
    for i, text in enumerate([*(t for _, t in item.cases), item.otherwise]):
        if text.meta.eq(_NULL_S):
            continue
        rows = (pick == i).arg_true()
        if rows.len() == 0:
            continue
        cols = list(dict.fromkeys(text.meta.root_names()))
        part = df.select(cols)[rows] if cols else pl.DataFrame(height=rows.len())
        values = part.select(text.cast(pl.String).alias(name)).to_series()
        out = out.scatter(rows, values[0] if values.len() == 1 and rows.len() != 1 else values)
    return out


def _with_texts(df: pl.DataFrame, **items: Cases | pl.Expr | Sequence[Cases | pl.Expr]) -> pl.DataFrame:
    """``df`` with a text column per item (a list of items: the list of its non-null lines, as
    :func:`_lines`); the same values as the when/then chains, built branch by branch."""
    out = {}
    for name, item in items.items():
        if isinstance(item, (list, tuple)):
            out[name] = _line_lists([_text_column(df, x, name) for x in item], df.height).alias(name)
        else:
            assert isinstance(item, (Cases, pl.Expr))
            out[name] = _text_column(df, item, name)
    return df.with_columns(**out)


def _line_lists(parts: Sequence[pl.Series], height: int) -> pl.Series:
    """Per row, the values of ``parts`` in order, as a list: of a text part its value unless null
    (as :func:`_lines`), of a list part every element (nulls too, as concat_list keeps them).
    Through a long frame (row, part, text) grouped by row: several times faster than concat_list
    over many columns."""
    row = pl.int_range(height, dtype=pl.UInt32, eager=True).alias("_r")
    pieces = []
    for i, s in enumerate(parts):
        f = pl.DataFrame([row, pl.Series("_i", [i] * height, dtype=pl.UInt16), s.alias("_t")])
        if s.dtype == pl.List(pl.String):
            f = f.filter(pl.col("_t").list.len() > 0).explode("_t")
        else:
            f = f.drop_nulls("_t")
        pieces.append(f)
    long = pl.concat(pieces) if pieces else pl.DataFrame(schema={"_r": pl.UInt32, "_i": pl.UInt16, "_t": pl.String})
    lists = long.sort("_r", "_i", maintain_order=True).group_by("_r", maintain_order=True).agg("_t")
    return row.to_frame().join(lists, on="_r", how="left", maintain_order="left")["_t"] \
        .fill_null(pl.lit([], dtype=pl.List(pl.String)))


def _date_lit(d: dt.date | None) -> pl.Expr:
    return pl.lit(d, dtype=pl.Date)

