"""The landscape as a USPTO ODP patent-search query (``q`` of ``/api/v1/patent/applications/search``).

ODP indexes the CPC codes and the title of each application (no abstract), so the query asks
for what :meth:`Landscape.match` finds in those: a core code, a strong keyword in the title, or
a context code with a weak keyword in the title. CPC strings are stored padded since 2026
(``H01F   1/0577``) and compact before; both forms are asked for, with a trailing wildcard for
subdivisions. Every hit is re-checked with the landscape definition before it is kept, so a
too-wide query costs requests, not wrong rows.
"""

from __future__ import annotations

from .model import Landscape

CPC_FIELD = "applicationMetaData.cpcClassificationBag"
TITLE_FIELD = "applicationMetaData.inventionTitle"


def _padded(code: str) -> str:
    """'H01F1/057' -> 'H01F   1/057' (the 2026 padding: main group right-aligned in 4)."""
    if "/" not in code:
        return code
    sub, rest = code[:4], code[4:]
    group, tail = rest.split("/", 1)
    return f"{sub}{group.rjust(4)}/{tail}"


def _esc(term: str) -> str:
    out = []
    for ch in term:
        if ch in ' +-=&|><!(){}[]^"~*?:\\/':
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _codes(codes: tuple[str, ...]) -> list[str]:
    return [f"{CPC_FIELD}:{_esc(f)}*" for code in codes for f in sorted({code, _padded(code)})]


def _titles(words: tuple[str, ...]) -> list[str]:
    return [f'{TITLE_FIELD}:"{w.replace(chr(34), "")}"' for w in words]


def landscape_query(core_codes: tuple[str, ...], strong_keywords: tuple[str, ...],
                    context_codes: tuple[str, ...] = (), weak_keywords: tuple[str, ...] = ()) -> str:
    """An ODP query string for the landscape's parts (see the module docstring)."""
    parts = _codes(core_codes) + _titles(strong_keywords)
    if context_codes and weak_keywords:
        parts.append(f"(({' OR '.join(_codes(context_codes))}) AND ({' OR '.join(_titles(weak_keywords))}))")
    return " OR ".join(parts)


def odp_query(land: Landscape) -> str:
    """:func:`landscape_query` of a whole landscape."""
    return landscape_query(land.core_codes, land.strong_keywords, land.context_codes, land.weak_keywords)
