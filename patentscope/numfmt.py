"""Numbers for people: the text-table output of every command (CSV and JSON keep raw values).

- money with its currency and thousands separators: ``USD 6,997,470``;
- shares and rates (fractions) as percentages: ``0.0239718`` -> ``2.40%``;
- floating-point noise shown as 0: ``2.32399e-13`` -> ``0``;
- other numbers with thousands separators and a precision that fits their size.

Which columns are money or shares is decided from the column name (:func:`column_kind`); a
money column takes its currency from a ``currency`` column in the same row, or from a
``_usd``/``_eur``/... suffix of its name. Without either, the amount is shown without a
currency rather than with a guessed one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import polars as pl

NOISE = 1e-9   # |x| below this is floating-point noise around 0 in every quantity patentscope prints

_PERCENT = re.compile(r"(^|_)(share|shares|burden|rate|cr\d+|pct|percent|coverage|precision|recall|probability)(_|$)")
_MONEY = re.compile(r"(^|_)(sales|royalties|royalty|revenue|price|cost|amount|lump_sum|fee|fees)(_|$)|_(usd|eur|jpy|cny|krw|gbp)$")
_PLAIN = re.compile(r"(^|_)(year|years|id|seq|rank|position|version|line|pid)(_|$)")   # years and ids: no separators
_CURRENCY_SUFFIX = re.compile(r"_(usd|eur|jpy|cny|krw|gbp)$")


def is_noise(v: float) -> bool:
    return v != 0 and abs(v) < NOISE


def number(v: float | int) -> str:
    """A plain number: thousands separators; 4 significant digits below 1,000; noise as 0."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if v == 0 or is_noise(v):
        return "0"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if v == int(v):
        return f"{v:.0f}"
    if a >= 1:
        return f"{v:,.2f}".rstrip("0").rstrip(".")
    return f"{v:.3g}"


def money(v: float | int, currency: str | None = None) -> str:
    """``USD 6,997,470`` (whole units from 1,000 up; cents below)."""
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return number(v)
    x = 0.0 if is_noise(float(v)) else float(v)
    text = f"{x:,.0f}" if abs(x) >= 1000 or x == int(x) else f"{x:,.2f}"
    return f"{currency} {text}" if currency else text


def percent(v: float | int, digits: int = 2) -> str:
    """A fraction as a percentage: ``0.0239718`` -> ``2.40%``; small non-zero shares keep two
    significant digits (``0.00058`` -> ``0.058%``) rather than showing as 0."""
    x = float(v)
    if math.isnan(x) or math.isinf(x):
        return number(x)
    if x == 0 or is_noise(x):
        return "0%"
    p = 100 * x
    if abs(p) < 10 ** -digits:
        return f"{p:.2g}%"
    return f"{p:,.{digits}f}%"


def column_kind(name: str, dtype: pl.DataType | None = None) -> str:
    """"percent", "money", "plain" (years, ids), "number" or "text" for a column name (and dtype, when known)."""
    n = name.lower()
    if dtype is not None and not dtype.is_numeric():
        return "text"
    if _PLAIN.search(n):
        return "plain"
    if _PERCENT.search(n):
        return "percent"
    if _MONEY.search(n) and not n.startswith("n_"):
        return "money"
    return "number"


def _money_cell(fixed: str | None, has_currency: bool) -> Callable[[Any, dict[str, Any]], str]:
    def cell(v: Any, row: dict[str, Any]) -> str:
        return money(v, fixed or (row.get("currency") if has_currency else None))
    return cell


def column_formatters(df: pl.DataFrame) -> dict[str, Callable[[Any, dict[str, Any]], str]]:
    """For each numeric column of ``df`` a function (value, row) -> text."""
    out: dict[str, Callable[[Any, dict[str, Any]], str]] = {}
    has_currency = "currency" in df.columns
    for name, dtype in df.schema.items():
        kind = column_kind(name, dtype)
        if kind == "percent":
            out[name] = lambda v, _row: percent(v)
        elif kind == "money":
            suffix = _CURRENCY_SUFFIX.search(name.lower())
            fixed = suffix.group(1).upper() if suffix else None
            out[name] = _money_cell(fixed, has_currency)
        elif kind == "plain":
            out[name] = lambda v, _row: str(v)
        elif kind == "number":
            out[name] = lambda v, _row: number(v)
    return out


def humanize_rows(df: pl.DataFrame) -> Iterator[list[Any]]:
    """The rows of ``df`` with numeric cells as text for people (None stays None)."""
    fmts = column_formatters(df)
    cols = df.columns
    for row in df.iter_rows(named=True):
        yield [fmts[c](row[c], row) if c in fmts and row[c] is not None else row[c] for c in cols]
