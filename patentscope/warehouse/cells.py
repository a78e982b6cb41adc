"""Text cells on their way out of the warehouse: secrets scrubbed, spreadsheet formulas
neutralised (see :mod:`patentscope.warehouse.export` for the rules). Shared by the CSV export,
``--csv`` table output and the read-only SQL runner; it imports nothing of the warehouse, so
every one of them can use it."""

from __future__ import annotations

import os

import polars as pl

from ..redact import REDACTED, secret_literals

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    """``'`` + value when a spreadsheet would read ``value`` as a formula; else value."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def keep_formulas_from_env() -> bool:
    return os.environ.get("PATENTSCOPE_CSV_KEEP_FORMULAS", "").strip().lower() in ("1", "true", "yes")


def scrub_frame(df: pl.DataFrame) -> pl.DataFrame:
    """The frame with the literal secrets (env values, run-time tokens) replaced in every text cell."""
    return neutralise_frame(df, keep_formulas=True)


def neutralise_frame(df: pl.DataFrame, *, keep_formulas: bool | None = None) -> pl.DataFrame:
    """The frame with formula-like text cells quoted (see the module docstring) and secrets
    scrubbed from every text cell: what ``--csv`` output and CSV exports write."""
    keep = keep_formulas_from_env() if keep_formulas is None else keep_formulas
    lits = secret_literals()
    exprs = []
    for name, dtype in df.schema.items():
        if dtype != pl.Utf8:
            continue
        if keep and not lits:
            continue
        e = pl.col(name)
        for lit in lits:
            e = e.str.replace_all(lit, REDACTED, literal=True)
        if not keep:
            e = pl.when(e.str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + e).otherwise(e)
        exprs.append(e.alias(name))
    return df.with_columns(exprs) if exprs else df
