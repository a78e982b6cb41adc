"""The landscape as EPO OPS CQL (published-data search).

Each query stays within OPS's limits (at most 10 terms per field and 20 in all; one is left for
the date window, :func:`date_term`). ``cpc=/low X`` finds X and its subdivisions, as
:meth:`Landscape.match` reads a code; ``ta=`` searches title and abstract. The hits are
re-checked with :meth:`Landscape.match` before they are kept.
"""

from __future__ import annotations

import datetime as dt

from .model import Landscape


def _term(field_: str, value: str) -> str:
    v = value.replace('"', "")
    return f'{field_}="{v}"' if not v.isalnum() else f"{field_}={v}"


def _cpc(code: str, low: bool) -> str:
    return f"cpc=/low {code}" if low else f"cpc={code}"


def _chunks(items: list[str], n: int) -> list[list[str]]:
    return [items[i:i + n] for i in range(0, len(items), n)] if items else []


def build_queries(landscape: Landscape, *, low: bool = True, per_field: int = 10, max_terms: int = 19) -> list[str]:
    """CQL queries covering the landscape, each within OPS's limits (at most 10 terms per
    field and 20 in all; one is left for the date window).

    - core codes: ``cpc=/low H01F1/057 or cpc=/low H01F41/0293``
    - strong keywords in title/abstract: ``ta="Nd-Fe-B" or ta=NdFeB or ...``
    - context codes with a weak keyword: ``(cpc=/low B22F3 or ...) and (ta=neodymium or ...)``
    """
    out: list[str] = []
    for chunk in _chunks(list(landscape.core_codes), min(per_field, max_terms)):
        out.append(" or ".join(_cpc(c, low) for c in chunk))
    for chunk in _chunks(list(landscape.strong_keywords), min(per_field, max_terms)):
        out.append(" or ".join(_term("ta", k) for k in chunk))
    weak = list(landscape.weak_keywords)
    if landscape.context_codes and weak:
        for kw in _chunks(weak, min(per_field, max_terms - 1)):
            room = min(per_field, max_terms - len(kw))
            for codes in _chunks(list(landscape.context_codes), room):
                out.append(f"({' or '.join(_cpc(c, low) for c in codes)}) and ({' or '.join(_term('ta', k) for k in kw)})")
    return out


def date_term(lo: dt.date, hi: dt.date) -> str:
    """``pd within "2015 2016"`` for whole years, ``pd within "20150101 20150630"`` otherwise."""
    if lo.month == 1 and lo.day == 1 and hi.month == 12 and hi.day == 31:
        return f'pd within "{lo.year} {hi.year}"'
    return f'pd within "{lo:%Y%m%d} {hi:%Y%m%d}"'
