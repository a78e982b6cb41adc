"""Dates as real pages print them -> ISO ``datetime.date``.

Handles ``Aug 11, 2014``, ``Feb. 25, 2022``, ``Jan 07 1991``, ``Thursday, December 27, 2012``,
``25.11.1999`` (European day-first), ``20030204`` (compact), ``2022-05-30``, ``01 February 1999``
and trailing remarks in parentheses. A truncated or ambiguous value returns None: a date is
never guessed.
"""

from __future__ import annotations

import datetime as dt
import re

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}

_WEEKDAY = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+", re.I)


def parse_date(text: str | None) -> dt.date | None:
    """Parse one printed date; None when empty, truncated or not a real calendar date."""
    if text is None:
        return None
    s = text.strip()
    if not s:
        return None
    s = re.sub(r"\s*\(.*$", "", s).strip()  # "(PCT filing date)", "(page shows ...)"
    s = _WEEKDAY.sub("", s)
    if "..." in s or "\u2026" in s:
        return None
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", s):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{4})(\d{2})(\d{2})", s):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", s):  # EPO/European day-first
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
        if m := re.fullmatch(r"([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})", s):
            mon = _MONTHS.get(m[1].lower())
            return dt.date(int(m[3]), mon, int(m[2])) if mon else None
        if m := re.fullmatch(r"(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})", s):
            mon = _MONTHS.get(m[2].lower())
            return dt.date(int(m[3]), mon, int(m[1])) if mon else None
    except ValueError:  # 2021-02-30 and friends
        return None
    return None


def parse_iso(text: str | None) -> dt.date | None:
    """Strict ISO ``YYYY-MM-DD``; raises ValueError on anything else that is not empty."""
    if text is None or not text.strip():
        return None
    s = text.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        raise ValueError(f"not an ISO date (YYYY-MM-DD): {s!r}")
    return dt.date.fromisoformat(s)
