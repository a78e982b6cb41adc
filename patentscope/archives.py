"""Checks on zip archives before anything is read into the warehouse (bulk releases).

:func:`check_members` runs before the warehouse is opened: for every member a load will read it
checks that the archive opens (a truncated download loses its central directory), that the
member is not encrypted and uses a compression method Python can inflate (stored, deflate,
bzip2, lzma -- not deflate64 or PKWARE implode), that its data lies inside the file, and that
its first megabyte inflates with a good local header. Anything else stops the load with one
message naming the file and the member; nothing is written, not even a run record.

Damage later in a member (a bad CRC, a corrupt deflate block) only shows when the member is
read; :func:`damaged` turns those errors into the same one-line message, and
:func:`first_bad_utf8` names the line and byte offset of the first byte that is not UTF-8 when
a reader refuses the text.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from .errors import InputError

SUPPORTED = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
             zipfile.ZIP_LZMA: "lzma"}
PROBE_BYTES = 1 << 20


def _where(path: Path, member: str | None) -> str:
    return f"{path.name}:{member}" if member else path.name  # as us_bulk labels a table file


def damaged(path: Path, member: str | None, err: BaseException) -> InputError:
    """The one message for a member that cannot be inflated."""
    first = (str(err).splitlines() or [type(err).__name__])[0]
    return InputError(f"{_where(path, member)}: the archive is damaged ({first}); nothing was loaded. "
                      "Download the release again (a resumed download continues where it stopped)")


def check_members(path: str | os.PathLike[str], members: Iterable[str]) -> None:
    """Raise InputError naming file and member unless every member can be read (see module doc)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        z = zipfile.ZipFile(p)
    except zipfile.BadZipFile as e:
        raise InputError(f"{p.name}: not a readable zip archive ({e}); it may be truncated -- download it again. "
                         "Nothing was loaded") from None
    except OSError as e:
        raise InputError(f"{p.name}: cannot open the archive: {e.strerror}") from None
    with z:
        for member in members:
            try:
                info = z.getinfo(member)
            except KeyError:
                raise InputError(f"{_where(p, member)}: no such member in the archive") from None
            if info.flag_bits & 0x1:
                raise InputError(f"{_where(p, member)}: the member is encrypted (password-protected); patentscope "
                                 "reads only unencrypted releases as published. Nothing was loaded")
            if info.compress_type not in SUPPORTED:
                raise InputError(f"{_where(p, member)}: compression method {info.compress_type} is not supported "
                                 f"(supported: {', '.join(SUPPORTED.values())}); re-pack the archive. Nothing was loaded")
            if info.header_offset + info.compress_size > size:
                raise InputError(f"{_where(p, member)}: the member's data runs past the end of the file "
                                 f"({info.header_offset + info.compress_size} > {size} bytes): the archive is "
                                 "truncated; download it again. Nothing was loaded")
            try:
                with z.open(info) as fh:
                    data = fh.read(PROBE_BYTES)
                    if len(data) < min(PROBE_BYTES, info.file_size):
                        raise EOFError(f"only {len(data)} of {info.file_size} bytes could be read")
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError, NotImplementedError) as e:
                raise damaged(p, member, e) from None


def first_bad_utf8(path: str | os.PathLike[str], member: str | None = None, chunk: int = 1 << 20) -> tuple[int, int] | None:
    """(line, byte offset) of the first byte that is not UTF-8 in a file or a zip member, or None."""
    p = Path(path)
    dec = codecs.getincrementaldecoder("utf-8")()
    offset = line = 0
    with contextlib.ExitStack() as stack:
        fh: IO[bytes] = (stack.enter_context(stack.enter_context(zipfile.ZipFile(p)).open(member)) if member
                         else stack.enter_context(open(p, "rb")))
        while True:
            data = fh.read(chunk)
            try:
                dec.decode(data, final=not data)
            except UnicodeDecodeError as e:
                # e.start is relative to the decoder's buffered input: carried bytes come first
                carried = len(e.object) - len(data)
                pos = offset - carried + e.start
                return line + e.object.count(b"\n", 0, e.start) + 1, pos
            if not data:
                return None
            line += data.count(b"\n")
            offset += len(data)


def encoding_error(path: Path, member: str | None) -> InputError:
    """InputError naming the line and byte offset of the first non-UTF-8 byte."""
    where = _where(path, member)
    found = first_bad_utf8(path, member)
    at = f" at line {found[0]}, byte offset {found[1]}" if found else ""
    return InputError(f"{where}: not UTF-8 text{at}; PatentsView tables are UTF-8, so the file is damaged or was "
                      "re-encoded -- download it again, or convert it with `iconv -f cp1252 -t utf-8`. Nothing was loaded")
