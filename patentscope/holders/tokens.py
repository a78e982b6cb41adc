"""Folding and tokenizing of names, shared by :mod:`.normalize` and :mod:`.legal_forms`
(kept apart so neither imports the other)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


@lru_cache(maxsize=8192)  # a name has few distinct characters; folding one is pure
def _fold_char(c: str) -> str:
    if ord(c) < 0x250:  # Latin letters (with Latin-1 Supplement and Extended-A/B): drop accents
        return "".join(x for x in unicodedata.normalize("NFKD", c) if unicodedata.category(x) != "Mn")
    return c


@lru_cache(maxsize=65536)  # pure; the same names and parts are folded many times
def fold(text: str) -> str:
    """NFKC, Latin accents dropped, upper case, whitespace collapsed."""
    s = unicodedata.normalize("NFKC", text)
    s = "".join(_fold_char(c) for c in s).upper()
    s = "".join(" " if unicodedata.category(c) in ("Zs", "Cc", "Cf", "Zl", "Zp") else c for c in s)
    return " ".join(s.split())


def tokenize(text: str) -> list[str]:
    """Tokens of a name: folded, ``&`` -> AND, dots and apostrophes removed, other punctuation
    -> space. CJK runs stay whole tokens."""
    s = fold(text).replace("&", " AND ")
    s = re.sub(r"[.'’`´]", "", s)
    s = "".join(c if (c.isalnum() or c.isspace()) else " " for c in s)
    return s.split()
