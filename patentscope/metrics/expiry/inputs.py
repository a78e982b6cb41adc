"""Term inputs the warehouse shows only as printed text (``field_values``), read for the engine.

The designed path is: an ingestor reads PTA days and PCT filing dates and writes them to
``term_inputs``. The embedded-sample importer does not do that yet; it keeps what pages printed
in ``field_values`` (``pta_as_shown`` e.g. "278 days"; ``pct_data`` e.g. "PCT Filed: June 25,
1996; ... 371 Date: March 19, 1997"). Until it does, :func:`derive_term_inputs` reads the two
fields strictly (anything that does not match exactly is left alone, never guessed) into
term_inputs-shaped rows with source ``field_values``, only for publications that have no
``term_inputs`` row at all, so a real ingestor's values always win and are never mixed.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from ...normalize.dates import parse_date

DERIVED_SOURCE = "field_values"

# the forms sources print term data in ("278 days", "Extension 278 days", "+278 days", "PTA 278 days",
# "Patent term adjustment: 278 days", "term extended or adjusted under 35 U.S.C. 154(b) by 278 days")
_PTA = re.compile(r"^\s*(?:(?:patent\s+term\s+)?(?:extension|adjustment|pta|pte)\s*:?\s*(?:of\s+)?|\+\s*)?"
                  r"(\d{1,5})\s+days?\s*\.?\s*$", re.I)
_PTA_154B = re.compile(r"(?:extended|adjusted)\s+(?:or\s+adjusted\s+)?under\s+35\s+U\.?S\.?C\.?\s+154\s*\(b\)\s+by\s+"
                       r"(\d{1,5})\s+days?", re.I)
_ADJUSTED = re.compile(r"adjusted\s+expiration\s*:?\s*(.+)$", re.I)
_TD = re.compile(r"terminal\s+disclaimer", re.I)
_DATE = r"([A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{4})"
_PCT_FILED = (
    re.compile(r"\bPCT\s+Filed:?\s*" + _DATE, re.I),                       # "PCT Filed: June 25, 1996" / "PCT Filed Nov. 5, 2020"
    re.compile(r"^\s*PCT/[A-Z]{2}\d{2,4}/\d+,?\s+filed\s+on\s+" + _DATE, re.I),  # "PCT/JP2007/74406, filed on Dec. 19, 2007"
)


def parse_pta(text: str | None) -> int | None:
    """'278 days', 'Extension 278 days', '+278 days', 'PTA 278 days', '... under 35 U.S.C. 154(b) by 278
    days' -> 278; anything else -> None."""
    m = _PTA.match(text or "") or _PTA_154B.search(text or "")
    return int(m.group(1)) if m else None


def parse_term_text(text: str | None) -> dict[str, object]:
    """What a printed term line says: {'pta_days': N}, {'adjusted_expiration': date},
    {'terminal_disclaimer': True}, or {'unknown': text} (reported, never dropped silently)."""
    t = (text or "").strip()
    if not t:
        return {}
    days = parse_pta(t)
    if days is not None:
        return {"pta_days": days}
    m = _ADJUSTED.search(t)
    if m and parse_date(m.group(1).strip().rstrip(".")) is not None:
        return {"adjusted_expiration": parse_date(m.group(1).strip().rstrip("."))}
    if _TD.search(t):
        return {"terminal_disclaimer": True}
    return {"unknown": t}


def parse_pct_filing(text: str | None) -> tuple[str, dt.date] | None:
    """The PCT international filing date a page printed, with the matched text; None if absent."""
    for rx in _PCT_FILED:
        m = rx.search(text or "")
        if m:
            d = parse_date(m.group(1))
            if d is not None:
                return m.group(0).strip(), d
    return None


# the field_values fields derive_term_inputs reads
DERIVED_FROM = ("pta_as_shown", "pct_data")


def derive_term_inputs(field_values: pl.DataFrame, term_inputs: pl.DataFrame) -> pl.DataFrame:
    """term_inputs rows derived from field_values (pub_key, field, value, chosen) for the
    publications without a term_inputs row. Columns: pub_key, source, pta_days,
    international_filing_date, note."""
    schema = {"pub_key": pl.String, "source": pl.String, "pta_days": pl.Int64, "international_filing_date": pl.Date,
              "terminal_disclaimer": pl.Boolean, "note": pl.String}
    have = set(term_inputs["pub_key"].to_list()) if term_inputs.height else set()
    fv = field_values.filter(pl.col("field").is_in(list(DERIVED_FROM)) & ~pl.col("pub_key").is_in(sorted(have)))
    if "chosen" in fv.columns:  # one value per field: the one the publications row carries, else the first
        fv = fv.sort("pub_key", "field", pl.col("chosen").not_())
    pta: dict[str, int] = {}
    intl: dict[str, dt.date] = {}
    td: dict[str, bool] = {}
    notes: dict[str, list[str]] = {}
    for r in fv.unique(["pub_key", "field"], keep="first", maintain_order=True).iter_rows(named=True):
        key = r["pub_key"]
        if r["field"] == "pta_as_shown":
            got = parse_term_text(r["value"])
            if "pta_days" in got:
                pta[key] = int(str(got["pta_days"]))
                notes.setdefault(key, []).append(f"pta_days from pta_as_shown {r['value']!r}")
            elif "terminal_disclaimer" in got:
                td[key] = True
                notes.setdefault(key, []).append(f"terminal_disclaimer from pta_as_shown {r['value']!r}")
            elif "adjusted_expiration" in got:
                notes.setdefault(key, []).append(
                    f"pta_as_shown {r['value']!r} is an adjusted expiration date {got['adjusted_expiration']}: not a day "
                    "count, not added (compare it with the computed date)")
            elif "unknown" in got:
                notes.setdefault(key, []).append(f"pta_as_shown {r['value']!r}: form not understood, not used")
        else:
            found = parse_pct_filing(r["value"])
            if found is not None:
                intl[key] = found[1]
                notes.setdefault(key, []).append(f"international_filing_date from pct_data {found[0]!r}")
    out = [
        {"pub_key": k, "source": DERIVED_SOURCE, "pta_days": pta.get(k), "international_filing_date": intl.get(k),
         "terminal_disclaimer": td.get(k), "note": "; ".join(v)}
        for k, v in notes.items()
    ]
    return pl.DataFrame(out, schema=schema)
