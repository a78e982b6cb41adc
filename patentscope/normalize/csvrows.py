"""Reading CSV/TSV records with the line numbers a user needs in an error message."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from ..errors import InputError


def iter_records(name: str, reader: Any, header: list[str], offset: int = 0) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line of the record's first line, row) after the header has been read from ``reader``.

    Multi-line quoted fields keep the first line's number; blank records are skipped; a record
    with the wrong number of fields is yielded as ``{"__error__": reason}`` so the caller can
    quarantine it; a CSV syntax error stops the file (nothing of it is loaded). ``offset`` is
    added to every line number (lines before the text given to the reader)."""
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise InputError(f"{name}:{line + offset}: CSV syntax error ({e}); nothing from this file was loaded") from None
        start, line = line, reader.line_num + 1
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            yield start + offset, {"__error__": f"has {len(cells)} fields, the header has {len(header)}"}
            continue
        yield start + offset, dict(zip(header, cells, strict=True))
