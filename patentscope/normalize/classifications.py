"""CPC / IPC symbols: pull them out of the strings pages show, write them one canonical way.

Canonical form has no spaces: ``H01F1/0577`` (PatentsView ``cpc_group`` style). Pages print
``H01F 1/0577``, ODP pads groups (``H01F   1/057``), and Google Patents excerpts concatenate
symbols with no separator (``C22C 38/005C22C 38/002H01F 1/0577``): all parse the same.
"""

from __future__ import annotations

import re

from ..landscape.codes import SYMBOL_RE, matches_code, normalize_symbol

__all__ = ["SYMBOL_RE", "extract_ipc_with_versions", "extract_symbols", "matches_code", "normalize_symbol"]

_VERSION_RE = re.compile(r"\((\d{4}\.\d{2})\)")


def extract_symbols(text: str | None) -> list[str]:
    """Every symbol in a free or concatenated string, canonical, in order, without repeats."""
    if not text:
        return []
    out: list[str] = []
    for m in SYMBOL_RE.finditer(text.upper()):
        sym = f"{m[1]}{m[2]}{m[3]}{int(m[4])}/{m[5]}"
        if sym not in out:
            out.append(sym)
    return out


def extract_ipc_with_versions(text: str | None) -> list[tuple[str, str | None]]:
    """``H01F 1/057 (2006.01); B22F 3/24 (2006.01)`` -> [(symbol, version)]."""
    if not text:
        return []
    out: list[tuple[str, str | None]] = []
    for part in re.split(r"[;|]", text):
        sym = extract_symbols(part)
        if not sym:
            continue
        v = _VERSION_RE.search(part)
        for s in sym:
            if s not in [o[0] for o in out]:
                out.append((s, v.group(1) if v else None))
    return out
