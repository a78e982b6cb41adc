"""CPC / IPC codes as the landscape reads them: one canonical symbol form and code coverage.

Canonical form has no spaces: ``H01F1/0577`` (PatentsView ``cpc_group`` style). The
normalizers (``patentscope.normalize.classifications``) build on these; the landscape does
not import the normalizers, so the two packages do not import each other.
"""

from __future__ import annotations

import re

SYMBOL_RE = re.compile(r"([A-HY])\s*(\d{2})\s*([A-Z])\s*(\d{1,4})\s*/\s*(\d{2,6})")


def normalize_symbol(text: str) -> str | None:
    """One symbol -> canonical form, or None if it is not a CPC/IPC group symbol."""
    m = SYMBOL_RE.fullmatch(text.strip().upper()) if text else None
    if not m:
        return None
    return f"{m[1]}{m[2]}{m[3]}{int(m[4])}/{m[5]}"


def matches_code(symbol: str, code: str) -> bool:
    """Whether ``symbol`` falls under landscape code ``code`` (both canonical).

    ``H01F1/057`` covers ``H01F1/057`` and its subdivisions ``H01F1/0571`` .. ``H01F1/0579``
    (CPC subdivides by extending the subgroup digits). A main group ``H01F41/02`` given as
    ``H01F41/02`` covers ``H01F41/0253`` etc. A subclass code (``H01F``) covers everything in it.
    """
    if "/" not in code:
        # "H01F" = a whole subclass; "B22F3" = main group B22F3 with all its subgroups
        return symbol.startswith(code) if len(code) == 4 else symbol.startswith(code + "/")
    return symbol == code or (symbol.startswith(code) and "/" in symbol)
