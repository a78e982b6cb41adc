"""The states a European patent designates, as records print them (pure, no I/O).

A granted EP publication names the states it designates (INID code 84; the EP bulletin's
``B001EP`` field) and, after a semicolon, the extension states (``extension AL LT LV``). Pages
print the list as ``DE FR GB IT NL SE``, ``DE FR NL (per B001EP tag)`` or
``AT BE ... SE; extension AL LT LV MK RO SI`` (the embedded sample holds all three forms).
An EP patent has effect only in the states it designates (EPC Art. 2(2), 64(1), 79(1)) and,
by an extension agreement, in the extension states; designation alone does not show that it
was validated or kept in force there.
"""

from __future__ import annotations

import re

from .countries import ISO_CODES

_CODE = re.compile(r"\b[A-Z]{2}\b")


def parse_designated_states(text: str | None) -> list[str]:
    """The ISO codes a designated-states text names, in order, each once (designated and
    extension states alike); words that are not upper-case ISO 3166 codes are ignored."""
    seen: list[str] = []
    for code in _CODE.findall(text or ""):
        if code in ISO_CODES and code not in seen:
            seen.append(code)
    return seen
