"""Reading CSV/TSV records with the line numbers a user needs in an error message.

Limits and checks (every CSV/TSV input goes through :func:`iter_records`):

* **Field size.** Python's csv module refuses fields over 131 072 characters and takes the whole
  file down with it; patentscope raises that limit to :data:`CSV_FIELD_LIMIT` (64 MiB) at import,
  so long abstracts load. A field longer than :data:`MAX_FIELD_CHARS` (1 MiB of text, far above
  any real title, abstract or claim set) quarantines its record with file, line and column; the
  rest of the file loads.
* **Duplicate columns** in a header stop the file, naming them (which of two ``Title`` columns is
  the title cannot be guessed).
* **Unbalanced quotes.** A quote that opens a field and never closes where it should swallows
  the following lines into that field (Python's reader raises nothing). A record is reported as
  unbalanced -- and the file refused, naming the line where the record started -- when one of
  its fields spans lines and the record either has the wrong number of fields, runs to the end
  of the file, or its embedded lines parse as whole records of the header's width.
* **Encodings** (:func:`read_input_text`): UTF-8 with or without BOM, and UTF-16/UTF-32 with a
  BOM, are read; anything else is refused naming the line and byte offset of the first byte
  that is not UTF-8 (and the likely encoding when the bytes decode as Windows-1252).
* **Paths** (:func:`safe_input_path`): a symbolic link is followed only when its target stays
  inside the folder holding the link; special files (FIFOs, devices, sockets) and directories
  are refused, naming the resolved path. The file is opened with ``O_NOFOLLOW`` on the
  resolved path and ``O_NONBLOCK`` (a FIFO swapped in cannot hang the read), then checked
  again with ``fstat``.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError

CSV_FIELD_LIMIT = 64 * 1024 * 1024
MAX_FIELD_CHARS = 1024 * 1024
MAX_INPUT_FILE_BYTES = 2 * 1024 * 1024 * 1024  # 2 GiB: one export/sample file read into memory

csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))


# ------------------------------------------------------------------------------------------------
# opening and decoding


def safe_input_path(path: str | os.PathLike[str], *, what: str = "input file") -> Path:
    """The path to open for ``path``: itself, or a symlink's target when that stays inside the
    link's own folder. Raises InputError for links out of it, special files and directories."""
    p = Path(path)
    try:
        st = os.lstat(p)
    except OSError as e:
        raise InputError(f"cannot read {what} {p}: {e.strerror}") from None
    real = p
    if stat.S_ISLNK(st.st_mode):
        real = p.resolve()
        home = p.parent.resolve()
        if real != home and home not in real.parents:
            raise InputError(f"{what} {p} is a symbolic link to {real}, outside the folder {home} that holds it; "
                             f"patentscope does not follow links out of the folder you named (give the real path "
                             f"if you mean that file)")
        try:
            st = os.stat(real)
        except OSError as e:
            raise InputError(f"cannot read {what} {p} (a link to {real}): {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a special file"
        via = f" (resolved to {real})" if real != p else ""
        raise InputError(f"{what} {p}{via} is {kind}, not a regular file; give the path of a CSV/TSV file")
    return real


def read_input_bytes(path: str | os.PathLike[str], *, what: str = "input file",
                     max_bytes: int = MAX_INPUT_FILE_BYTES) -> bytes:
    """The bytes of an input file, opened safely (see :func:`safe_input_path`)."""
    p = Path(path)
    real = safe_input_path(p, what=what)
    try:
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise InputError(f"cannot read {what} {p}: {e.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{what} {p} is not a regular file; give the path of a CSV/TSV file")
        if st.st_size > max_bytes:
            raise InputError(f"{what} {p} is {st.st_size} bytes; files over {max_bytes} bytes are not read "
                             "into memory (split it)")
        return fh.read()


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_input(data: bytes, name: str) -> str:
    """UTF-8 (BOM optional) or BOM-marked UTF-16/32 text; otherwise InputError naming the offset."""
    enc = next((e for bom, e in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(enc)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        hint = ""
        if enc == "utf-8":
            try:
                data.decode("cp1252")
                hint = " (it looks like Windows-1252/Latin-1: convert with `iconv -f cp1252 -t utf-8`)"
            except UnicodeDecodeError:
                pass
        raise InputError(f"{name}:{line}: not {enc.upper().replace('-SIG', '')} text: byte 0x{data[e.start]:02x} at byte "
                         f"offset {e.start} cannot be decoded{hint}; re-save the file as UTF-8. Nothing from this "
                         "file was loaded") from None


def read_input_text(path: str | os.PathLike[str], *, what: str = "input file") -> str:
    """Read and decode one CSV/TSV input file (safe open, encoding check)."""
    p = Path(path)
    return decode_input(read_input_bytes(p, what=what), str(p))


# ------------------------------------------------------------------------------------------------
# records


def check_header(name: str, header: list[str], line: int = 1) -> None:
    """Refuse a header naming a column twice."""
    seen: dict[str, int] = {}
    for h in header:
        key = h.strip().lower()
        if key:
            seen[key] = seen.get(key, 0) + 1
    dups = [h for h, n in seen.items() if n > 1]
    if dups:
        names = ", ".join(repr(next(x.strip() for x in header if x.strip().lower() == d)) for d in dups)
        raise InputError(f"{name}:{line}: duplicate column(s) {names} in the header; each column must appear once "
                         "(which copy holds the value cannot be guessed). Nothing from this file was loaded")


def _looks_swallowed(cells: list[str], width: int, delimiter: str) -> bool:
    """True when a multi-line field holds lines that parse as whole records of ``width`` fields."""
    whole = 0
    for c in cells:
        if "\n" not in c:
            continue
        for ln in c.split("\n")[1:]:
            if ln.count(delimiter) >= width - 1 >= 1:
                parsed = next(csv.reader([ln], delimiter=delimiter), [])
                if len(parsed) == width:
                    whole += 1
                    if whole >= 2:
                        return True
    return False


def iter_records(name: str, reader: Any, header: list[str], offset: int = 0) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line of the record's first line, row) after the header has been read from ``reader``.

    Multi-line quoted fields keep the first line's number; blank records are skipped; a record
    with the wrong number of fields or an oversized field is yielded as ``{"__error__": reason}``
    (with ``"__column__"`` when one column is at fault) so the caller can quarantine it; a CSV
    syntax error, a duplicate column or an unbalanced quote stops the file (nothing of it is
    loaded). ``offset`` is added to every line number (lines before the text given to the reader).
    See the module docstring for the limits."""
    check_header(name, header, reader.line_num + offset)
    delimiter = getattr(getattr(reader, "dialect", None), "delimiter", ",")
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise InputError(f"{name}:{line + offset}: CSV syntax error ({e}) in the record starting on this line; "
                             "nothing from this file was loaded") from None
        start, line = line, reader.line_num + 1
        if not cells or all(not c.strip() for c in cells):
            continue
        spans = line - start > 1 and any("\n" in c for c in cells)
        raw = getattr(reader, "last_raw", None)
        if spans and (len(cells) != len(header) or _looks_swallowed(cells, len(header), delimiter)
                      or (raw is not None and raw.count('"') % 2 == 1)):
            end = (f"is never closed (the record runs to the end of the file, line {line - 1 + offset})"
                   if raw is not None and raw.count('"') % 2 == 1 else
                   f"does not close until line {line - 1 + offset}, swallowing the lines between")
            raise InputError(
                f"{name}:{start + offset}: unbalanced quote: the record starting on line {start + offset} has a quoted "
                f"field that {end}; check the quotes on line {start + offset}. Nothing from this file was loaded")
        if len(cells) != len(header):
            yield start + offset, {"__error__": f"has {len(cells)} fields, the header has {len(header)}"}
            continue
        big = next((i for i, c in enumerate(cells) if len(c) > MAX_FIELD_CHARS), None)
        if big is not None:
            yield start + offset, {"__error__": f"field of {len(cells[big])} characters; at most {MAX_FIELD_CHARS} "
                                                "are loaded (the record was quarantined)",
                                   "__column__": header[big]}
            continue
        yield start + offset, dict(zip(header, cells, strict=True))


def records_of_text(name: str, text: str, *, delimiter: str = ",", header_index: int = 0
                    ) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """(header, records) of CSV/TSV text whose header is on line ``header_index + 1``."""
    body = "\n".join(text.splitlines()[header_index:]) if header_index else text
    src = io.StringIO(body, newline="")
    reader = csv.reader(src, delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], iter(())
    except csv.Error as e:
        raise InputError(f"{name}:{header_index + 1}: CSV syntax error in the header ({e})") from None
    return header, iter_records(name, RawTrackingReader(reader, src, body), header, header_index)


class RawTrackingReader:
    """A csv reader over a StringIO that also keeps each record's raw text (``last_raw``), so a
    quote left open to the end of the file (an odd number of quote characters) can be seen."""

    def __init__(self, reader: Any, src: io.StringIO, body: str):
        self._reader = reader
        self._src = src
        self._body = body
        self.dialect = reader.dialect
        self.last_raw: str | None = None

    @property
    def line_num(self) -> int:
        return int(self._reader.line_num)

    def __iter__(self) -> RawTrackingReader:
        return self

    def __next__(self) -> list[str]:
        pos = self._src.tell()
        cells = list(next(self._reader))
        self.last_raw = self._body[pos:self._src.tell()]
        return cells
